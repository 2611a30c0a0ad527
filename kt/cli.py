"""kt's ``pathwise`` sub-commands: ``fit``, ``predict``, ``evaluate`` (BKT on observation log
files), ``replay`` (``kt.cli_replay``) and ``demo`` (``kt.cli_demo``).

``register(subparsers)`` adds them to the ``pathwise`` dispatcher (``service.cli``). Only
argparse is imported at module level; numpy, pyarrow and Numba load inside the handlers, so
``pathwise --help`` stays instant. The work itself is library code: ``kt.io.read_log``,
``kt.fitting`` (fits with a progress bar, model documents), ``kt.predictions`` (prediction
tables and their writer).
"""

from __future__ import annotations

import argparse

from kt import cli_demo, cli_replay
from kt.cli_args import add_log_options, add_unknown_option, columns_option, positive_int

METRIC_NAMES = ("auc", "rmse", "accuracy", "log_loss")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fit``, ``predict``, ``evaluate``, ``replay`` and ``demo`` to ``subparsers``."""
    _register_fit(subparsers)
    _register_predict(subparsers)
    _register_evaluate(subparsers)
    cli_replay.register(subparsers)
    cli_demo.register(subparsers)


def _register_fit(subparsers) -> None:
    fit = subparsers.add_parser(
        "fit",
        help="fit a BKT model to an observation log and save it as JSON",
        description=(
            "Fit Bayesian Knowledge Tracing (one model per skill, Baum-Welch EM with random "
            "restarts) to LOG and write the fitted parameters to MODEL.json. Variants combine "
            "as in pyBKT; at most one of --multilearn / --multiprior / --multipair."
        ),
    )
    add_log_options(fit)
    fit.add_argument(
        "--forgets", action="store_true", help="also learn p_forget (default: fixed at 0)"
    )
    fit.add_argument(
        "--multigs", metavar="COL",
        help="guess/slip per class of column COL (KT-IDEM), e.g. template_id or problem_id",
    )
    fit.add_argument(
        "--multilearn", metavar="COL", help="learn (and forget) per class of column COL"
    )
    fit.add_argument(
        "--multiprior", action="store_true",
        help="one prior per group of learners, grouped by their first answer (KT-PPS)",
    )
    fit.add_argument(
        "--multipair", metavar="COL",
        help="learn per ordered pair (previous class, current class) of column COL "
        "(item-order effect)",
    )
    fit.add_argument(
        "--num-fits", type=positive_int, default=5, metavar="N",
        help="random restarts per skill; the best log-likelihood is kept (default: 5)",
    )
    fit.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    fit.add_argument(
        "--max-iter", type=positive_int, default=100, metavar="N",
        help="maximum EM iterations per restart (default: 100)",
    )
    fit.add_argument(
        "--tol", type=float, default=None, metavar="T",
        help="stop EM when the log-likelihood improves by less than T (default: the "
        "estimator's default; 0 runs exactly --max-iter iterations)",
    )
    fit.add_argument(
        "--out", required=True, metavar="MODEL.json", help="where to write the fitted model"
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    fit.set_defaults(handler=_fit)


def _register_predict(subparsers) -> None:
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
    add_log_options(predict)
    predict.add_argument("--model", required=True, metavar="MODEL.json",
                         help="fitted model (written by pathwise fit)")
    predict.add_argument(
        "--out", required=True, metavar="PRED.csv|PRED.parquet",
        help="output file; the extension (.csv, .parquet) chooses the format",
    )
    add_unknown_option(predict)
    predict.set_defaults(handler=_predict)


def _register_evaluate(subparsers) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help="score a fitted model on a log (AUC, RMSE, ...)",
        description="Print the chosen metrics of the model's P(correct) on LOG's outcomes.",
    )
    add_log_options(evaluate)
    evaluate.add_argument("--model", required=True, metavar="MODEL.json",
                          help="fitted model (written by pathwise fit)")
    evaluate.add_argument(
        "--metric", nargs="+", default=list(METRIC_NAMES), metavar="NAME",
        choices=METRIC_NAMES,
        help="metrics to print: auc rmse accuracy log_loss (default: all four)",
    )
    add_unknown_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)


# --- handlers -------------------------------------------------------------------------------


def _read(args: argparse.Namespace, classes: list[str]):
    from kt.io import read_log

    return read_log(
        args.log,
        preset=args.preset,
        columns=columns_option(args.column),
        classes=[c for c in dict.fromkeys(classes) if c],
        missing_skill="drop" if args.drop_missing_skills else "error",
    )


def _model_class_columns(model) -> list[str]:
    """The log columns a fitted BKT reads its item/learner classes from."""
    cols = []
    for name in ("multigs", "multilearn", "multipair", "multiprior"):
        value = getattr(model, name, None)
        if isinstance(value, str):
            cols.append(value)
    return cols


def _fit(args: argparse.Namespace) -> int:
    import math
    import sys
    import time

    from kt.bkt import BKT
    from kt.fitting import fit_with_progress

    if sum(bool(x) for x in (args.multilearn, args.multiprior, args.multipair)) > 1:
        raise ValueError(
            "choose at most one of --multilearn, --multiprior, --multipair (pyBKT's rule)"
        )
    if args.tol is not None and args.tol < 0:
        raise ValueError(f"--tol {args.tol}: use a tolerance >= 0")
    t0 = time.perf_counter()
    log = _read(args, [args.multigs, args.multilearn, args.multipair])
    t_read = time.perf_counter() - t0
    hyper = dict(forgets=args.forgets, multigs=args.multigs, multilearn=args.multilearn,
                 multiprior=args.multiprior, multipair=args.multipair,
                 num_fits=args.num_fits, seed=args.seed, max_iter=args.max_iter)
    if args.tol is not None:
        hyper["tol"] = args.tol
    t0 = time.perf_counter()
    model = fit_with_progress(BKT(**hyper), log, progress=not args.quiet)
    t_fit = time.perf_counter() - t0
    model.save(args.out)
    if not args.quiet:
        lls = [v for v in model.log_likelihood_.values() if v is not None and math.isfinite(v)]
        print(
            f"fitted {len(model.skill_names_)} skills on {len(log):,} observations of "
            f"{log.n_learners:,} learners (read {t_read:.2f} s, fit {t_fit:.2f} s); "
            f"summed log-likelihood {sum(lls):.1f}",
            file=sys.stderr,
        )
        print(f"model written to {args.out}", file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from kt.bkt import BKT
    from kt.predictions import prediction_table, table_format, write_table

    try:
        table_format(args.out)  # fail before reading anything
    except ValueError:
        raise ValueError(f"--out {args.out!r}: use a .csv or .parquet file name") from None
    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    table = prediction_table(log, model.predict(log, unknown=args.unknown))
    write_table(table, args.out)
    print(f"{len(log):,} predictions written to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from kt.bkt import BKT

    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    scores = model.evaluate(log, metrics=list(args.metric), unknown=args.unknown)
    width = max(len(str(k)) for k in scores)
    for name, value in scores.items():
        print(f"{str(name):<{width}}  {float(value):.6f}")
    return 0

