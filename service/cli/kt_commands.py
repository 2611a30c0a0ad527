"""``pathwise fit`` / ``predict`` / ``evaluate``: BKT on observation log files.

Only argparse is imported here; numpy, pyarrow and Numba load inside the handlers.
"""

from __future__ import annotations

import argparse

_LOG_HELP = (
    "observation log: .csv/.tsv/.txt (comma or tab separated) or .parquet. Columns are "
    "detected for the ASSISTments layout (order_id, user_id, skill_name, correct, problem_id; "
    "rows with original != 1 dropped) and the Cognitive Tutor / KDD Cup layout (Row, Anon "
    "Student Id, KC(Default), Correct First Attempt, Problem Name; '~~'-joined skills split)"
)


def _add_log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("log", metavar="LOG", help=_LOG_HELP)
    p.add_argument(
        "--preset",
        choices=("assistments", "kdd"),
        default=None,
        help="column layout of LOG (default: detected from the header)",
    )
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="map a role (learner, skill, item, outcome, order) to a column name; repeatable, "
        "overrides the preset, e.g. --column learner=student --column order=timestamp",
    )
    p.add_argument(
        "--drop-missing-skills",
        action="store_true",
        help="skip rows with an empty skill cell instead of failing",
    )


def _add_unknown_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--unknown",
        choices=("error", "prior"),
        default="error",
        help="a skill or item class the model was not fitted on: 'error' (default) stops "
        "with its name; 'prior' uses population-average parameters for an unknown skill and "
        "the skill's class average for an unknown class",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    fit = subparsers.add_parser(
        "fit",
        help="fit a BKT model to an observation log and save it as JSON",
        description=(
            "Fit Bayesian Knowledge Tracing (one model per skill, Baum-Welch EM with random "
            "restarts) to LOG and write the fitted parameters to MODEL.json. Variants combine "
            "as in pyBKT; at most one of --multilearn / --multiprior / --multipair."
        ),
    )
    _add_log_options(fit)
    fit.add_argument(
        "--forgets", action="store_true", help="also learn p_forget (default: fixed at 0)"
    )
    fit.add_argument(
        "--multigs",
        metavar="COL",
        help="guess/slip per class of column COL (KT-IDEM), e.g. template_id or problem_id",
    )
    fit.add_argument(
        "--multilearn", metavar="COL", help="learn (and forget) per class of column COL"
    )
    fit.add_argument(
        "--multiprior",
        action="store_true",
        help="one prior per group of learners, grouped by their first answer (KT-PPS)",
    )
    fit.add_argument(
        "--multipair",
        metavar="COL",
        help="learn per ordered pair (previous class, current class) of column COL "
        "(item-order effect)",
    )
    fit.add_argument(
        "--num-fits",
        type=int,
        default=5,
        metavar="N",
        help="random restarts per skill; the best log-likelihood is kept (default: 5)",
    )
    fit.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    fit.add_argument(
        "--max-iter",
        type=int,
        default=100,
        metavar="N",
        help="maximum EM iterations per restart (default: 100)",
    )
    fit.add_argument(
        "--tol",
        type=float,
        default=None,
        metavar="T",
        help="stop EM when the log-likelihood improves by less than T (default: the "
        "estimator's default)",
    )
    fit.add_argument(
        "--out", required=True, metavar="MODEL.json", help="where to write the fitted model"
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    fit.set_defaults(handler=_fit)

    predict = subparsers.add_parser(
        "predict",
        help="predict P(correct) and P(mastered) for every row of a log",
        description=(
            "Write one row per observation of LOG (sorted by learner, then order): learner, "
            "skill, item, order, event (rows of one multi-skill answer share it), outcome, the "
            "model's class columns, p_correct (P(correct) before the answer), p_mastered "
            "(P(mastered) before the answer, pyBKT's state prediction) and p_mastered_after "
            "(after the answer and the learn/forget step)."
        ),
    )
    _add_log_options(predict)
    predict.add_argument("--model", required=True, metavar="MODEL.json", help="fitted model")
    predict.add_argument(
        "--out",
        required=True,
        metavar="PRED.csv|PRED.parquet",
        help="output file; the extension chooses the format",
    )
    _add_unknown_option(predict)
    predict.set_defaults(handler=_predict)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="score a fitted model on a log (AUC, RMSE, ...)",
        description="Print the chosen metrics of the model's P(correct) on LOG's outcomes.",
    )
    _add_log_options(evaluate)
    evaluate.add_argument("--model", required=True, metavar="MODEL.json", help="fitted model")
    evaluate.add_argument(
        "--metric",
        nargs="+",
        default=["auc", "rmse", "accuracy", "log_loss"],
        metavar="NAME",
        help="metrics to print: auc rmse accuracy log_loss (default: all four)",
    )
    _add_unknown_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)


# --- handlers -------------------------------------------------------------------------------


def _columns(args: argparse.Namespace) -> dict[str, str] | None:
    out = {}
    for spec in args.column:
        role, sep, name = spec.partition("=")
        if not sep or not role or not name:
            raise ValueError(f"--column {spec!r} must look like ROLE=NAME, e.g. learner=student")
        out[role.strip()] = name
    return out or None


def _read(args: argparse.Namespace, classes: list[str]):
    from kt.io import read_log

    return read_log(
        args.log,
        preset=args.preset,
        columns=_columns(args),
        classes=[c for c in dict.fromkeys(classes) if c],
        missing_skill="drop" if args.drop_missing_skills else "error",
    )


def _model_class_columns(model) -> list[str]:
    cols = []
    for name in ("multigs", "multilearn", "multipair"):
        value = getattr(model, name, None)
        if isinstance(value, str):
            cols.append(value)
    prior = getattr(model, "multiprior", None)
    if isinstance(prior, str):
        cols.append(prior)
    return cols


def _fit(args: argparse.Namespace) -> int:
    import sys
    import time

    if sum(bool(x) for x in (args.multilearn, args.multiprior, args.multipair)) > 1:
        raise ValueError(
            "choose at most one of --multilearn, --multiprior, --multipair (pyBKT's rule)"
        )
    t0 = time.perf_counter()
    log = _read(args, [args.multigs, args.multilearn, args.multipair])
    t_read = time.perf_counter() - t0
    hyper = dict(
        forgets=args.forgets,
        multigs=args.multigs,
        multilearn=args.multilearn,
        multiprior=args.multiprior,
        multipair=args.multipair,
        num_fits=args.num_fits,
        seed=args.seed,
        max_iter=args.max_iter,
    )
    if args.tol is not None:
        hyper["tol"] = args.tol
    t0 = time.perf_counter()
    doc = fit_to_document(hyper, log, progress=not args.quiet)
    t_fit = time.perf_counter() - t0
    import json
    from pathlib import Path

    Path(args.out).write_text(json.dumps(doc, indent=1, allow_nan=False))
    if not args.quiet:
        lls = [sk.get("log_likelihood") for sk in doc["skills"]]
        total = sum(v for v in lls if v is not None)
        print(
            f"fitted {len(doc['skills'])} skills on {len(log):,} observations of "
            f"{log.n_learners:,} learners (read {t_read:.2f} s, fit {t_fit:.2f} s); "
            f"summed log-likelihood {total:.1f}",
            file=sys.stderr,
        )
        print(f"model written to {args.out}", file=sys.stderr)
    return 0


def fit_to_document(hyper: dict, log, *, progress: bool = True) -> dict:
    """Fit ``BKT(**hyper)`` on ``log`` and return its saved-JSON document.

    With ``progress`` a tqdm bar (shown when the fit lasts over a second) advances as
    ``BKT.fit`` reports skills done (it then fits in up to 20 steps; same model).
    """
    from kt.bkt import BKT

    model = BKT(**hyper)
    if not progress:
        return model.fit(log).to_dict()
    from tqdm import tqdm

    bar = tqdm(total=None, unit="skill", desc="fitting", delay=1.0, leave=False)

    def report(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        model.fit(log, progress=report)
    finally:
        bar.close()
    return model.to_dict()


def _predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pyarrow as pa

    from kt.bkt import BKT

    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    pred = model.predict(log, unknown=args.unknown)
    p_correct = np.asarray(pred.p_correct)
    p_mastered = np.asarray(pred.p_mastered)
    columns = {
        "learner": pa.array(log.learner_ids[log.learner]),
        "skill": pa.array(log.skill_names[log.skill]),
        "item": pa.array(log.item_ids[log.item]),
        "order": pa.array(log.order),
        "event": pa.array(log.event),
        "outcome": pa.array(log.outcome),
    }
    for name, codes in log.classes.items():
        columns[name] = pa.array(log.class_vocab[name][codes])
    columns["p_correct"] = pa.array(p_correct)
    columns["p_mastered"] = pa.array(p_mastered)
    after = getattr(pred, "p_mastered_after", None)
    if after is not None:
        columns["p_mastered_after"] = pa.array(np.asarray(after))
    table = pa.table(columns)
    out = str(args.out)
    if out.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    elif out.lower().endswith(".csv"):
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, out)
    else:
        raise ValueError(f"--out {out!r}: use a .csv or .parquet file name")
    print(f"{len(log):,} predictions written to {out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from kt.bkt import BKT

    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    scores = model.evaluate(log, metrics=list(args.metric), unknown=args.unknown)
    if not isinstance(scores, dict):
        scores = dict(
            zip(args.metric, scores if isinstance(scores, list) else [scores], strict=True)
        )
    width = max(len(str(k)) for k in scores)
    for name, value in scores.items():
        print(f"{str(name):<{width}}  {float(value):.6f}")
    return 0
