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
from kt.cli_args import (
    add_log_options,
    add_unknown_option,
    bounds_spec,
    positive_int,
    prior_spec,
)

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
    _add_em_options(fit)
    fit.add_argument(
        "--out", required=True, metavar="MODEL.json", help="where to write the fitted model"
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    fit.set_defaults(handler=_fit, fast_exit=True)  # service.cli._exit_now


def _add_em_options(fit) -> None:
    """``fit``'s EM stopping, bounds and prior options."""
    fit.add_argument(
        "--max-iter", type=positive_int, default=None, metavar="N",
        help="cap on EM iterations per restart (default: 5000, which fewer than 1%% of skills "
        "reach on the public logs tried; skills that reach it are counted and warned)",
    )
    fit.add_argument(
        "--rtol", type=float, default=None, metavar="R",
        help="stop EM when the log-likelihood gains at most R times its size (default: 1e-6)",
    )
    fit.add_argument(
        "--tol", type=float, default=None, metavar="T",
        help="also stop when it gains at most T (absolute; default 0; --tol 0 --rtol 0 runs "
        "exactly --max-iter iterations; pyBKT: --tol 0.001 --rtol 0 --max-iter 100)",
    )
    fit.add_argument(
        "--bounds", action="append", type=bounds_spec, default=[],
        metavar="PARAM=LOW:HIGH|none",
        help="clip a parameter (guess, slip, learn, forget) to [LOW, HIGH]; repeatable. "
        "Defaults: guess 0:0.5, slip 0:0.45 (so a wrong answer never raises mastery), learn "
        "0:1, forget 0:0.25; 'none' fits every parameter in [0, 1] as pyBKT does",
    )
    fit.add_argument(
        "--prior", action="append", type=prior_spec, default=[],
        metavar="default|PARAM=ALPHA:BETA",
        help="MAP fit with Beta priors, for skills with little data: 'default' = guess 2:4, "
        "slip 2:6, learn 2:6, forget 1:11, init 2:2 (alpha:beta); PARAM=ALPHA:BETA replaces "
        "one of them (PARAM: guess, slip, learn, forget, init)",
    )
    fit.add_argument(
        "--no-nested-start", action="store_true",
        help="with --forgets, do not start from (and fall back to) the fit without forgetting "
        "(pyBKT's behaviour; by default a forgets fit never ends below it)",
    )


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
    predict.set_defaults(handler=_predict, fast_exit=True)  # service.cli._exit_now


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
    evaluate.set_defaults(handler=_evaluate, fast_exit=True)  # service.cli._exit_now


# --- handlers -------------------------------------------------------------------------------


def _read(args: argparse.Namespace, classes: list[str]):
    from kt.cli_log import read_cli_log

    return read_cli_log(args, classes)


def _model_class_columns(model) -> list[str]:
    """The log columns a fitted BKT reads its item/learner classes from."""
    cols = []
    for name in ("multigs", "multilearn", "multipair", "multiprior"):
        value = getattr(model, name, None)
        if isinstance(value, str):
            cols.append(value)
    return cols


def _hyperparameters(args: argparse.Namespace) -> dict:
    """``BKT`` hyperparameters from ``pathwise fit``'s flags (unset flags: the defaults)."""
    from kt.cli_args import bounds_value, prior_value

    if sum(bool(x) for x in (args.multilearn, args.multiprior, args.multipair)) > 1:
        raise ValueError(
            "choose at most one of --multilearn, --multiprior, --multipair (pyBKT's rule)"
        )
    for flag, value in (("--tol", args.tol), ("--rtol", args.rtol)):
        if value is not None and not value >= 0:
            raise ValueError(f"{flag} {value}: use a tolerance >= 0")
    hyper = dict(forgets=args.forgets, multigs=args.multigs, multilearn=args.multilearn,
                 multiprior=args.multiprior, multipair=args.multipair,
                 num_fits=args.num_fits, seed=args.seed, bounds=bounds_value(args.bounds),
                 prior=prior_value(args.prior), nested_start=not args.no_nested_start)
    for name in ("max_iter", "tol", "rtol"):
        if getattr(args, name) is not None:
            hyper[name] = getattr(args, name)
    return hyper


def _report_fit(model, log, args, t_read: float, t_fit: float) -> None:
    import math
    import sys

    from kt.bkt.diagnostics import counts

    lls = [v for v in model.log_likelihood_.values() if v is not None and math.isfinite(v)]
    n = len(model.skill_names_)
    print(
        f"fitted {n} skills on {len(log):,} observations of {log.n_learners:,} learners "
        f"(read {t_read:.2f} s, fit {t_fit:.2f} s); summed log-likelihood {sum(lls):.1f}",
        file=sys.stderr,
    )
    print(f"{model.n_at_cap_} of {n} skills stopped at the --max-iter cap of {model.max_iter}"
          + (" (not converged; raise --max-iter)" if model.n_at_cap_ else ""), file=sys.stderr)
    if model.warnings_:
        summary = ", ".join(f"{k} {v}" for k, v in counts(model.warnings_).items())
        print(f"{len(model.warnings_)} warnings ({summary}); first ones:", file=sys.stderr)
        for w in model.warnings_[:10]:
            print(f"  {w.skill}: {w.message}", file=sys.stderr)
        print(f"all warnings are saved in {args.out} ('warnings')", file=sys.stderr)
    print(f"model written to {args.out}", file=sys.stderr)
    from kt import _aot

    if _aot.manifest() is None:
        print("note: the compiled fit kernels are missing or older than the kernel sources, "
              "so Numba compiled or loaded them in this run (about 0.5 s of start-up); build "
              "them once with 'python -m kt._aot_build' (make setup does)", file=sys.stderr)


def _one_blas_thread() -> None:
    """Ask OpenBLAS for one thread when NumPy is not loaded yet (a fresh ``pathwise`` process),
    unless the user chose a count. BKT commands call no BLAS routine (their kernels are
    compiled loops), and OpenBLAS starting its thread pool is most of ``import numpy`` here:
    about 45 of 90 ms on the 2-core benchmark machine. A process that already has NumPy (a
    test calling ``service.cli.main``) and its environment are left alone."""
    import os
    import sys

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _without_cyclic_gc(handler):
    """``handler`` run with Python's cyclic garbage collector off, restored after it (for
    in-process callers). The fit path makes almost no reference cycles, but importing NumPy,
    pyarrow and the fit modules allocates enough objects to trigger many collections:
    about 6 ms of a 180 ms ``pathwise fit`` (alternating runs, medians)."""
    import functools

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        import gc

        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return handler(args)
        finally:
            if was_enabled:
                gc.enable()

    return run


@_without_cyclic_gc
def _fit(args: argparse.Namespace) -> int:
    import time

    _one_blas_thread()
    from kt.bkt import BKT
    from kt.fitting import fit_with_progress

    hyper = _hyperparameters(args)
    t0 = time.perf_counter()
    log = _read(args, [args.multigs, args.multilearn, args.multipair])
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_with_progress(BKT(**hyper), log, progress=not args.quiet)
    t_fit = time.perf_counter() - t0
    model.save(args.out)
    if not args.quiet:
        _report_fit(model, log, args, t_read, t_fit)
    return 0


def _predict(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from kt.bkt import BKT
    from kt.predictions import prediction_table, table_format, write_table

    try:
        table_format(args.out)  # fail before reading anything
    except ValueError:
        raise ValueError(f"--out {args.out!r}: use a .csv or .parquet file name") from None
    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    from kt.cli_log import scoring

    table = prediction_table(log, scoring(model.predict, log, unknown=args.unknown))
    write_table(table, args.out)
    print(f"{len(log):,} predictions written to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from kt.bkt import BKT

    model = BKT.load(args.model)
    log = _read(args, _model_class_columns(model))
    from kt.cli_log import scoring

    scores = scoring(model.evaluate, log, metrics=list(args.metric), unknown=args.unknown)
    width = max(len(str(k)) for k in scores)
    for name, value in scores.items():
        print(f"{str(name):<{width}}  {float(value):.6f}")
    return 0

