"""``pathwise replay``: leakage-safe online evaluation of a historical log (``kt.replay``).

Only argparse is imported at module level; the replay protocol loads inside the handler.
"""

from __future__ import annotations

import argparse

from kt.cli_args import add_log_options, fraction, int_at_least

MODELS_HELP = "bkt,bkt-f,bkt-item,elo,pfa,best-lr,r-best-lr,r-best-lr-elo,r-best-lr-elo-transfer"


def register(subparsers) -> None:
    """Add ``replay`` to ``subparsers``."""
    p = subparsers.add_parser(
        "replay",
        help="replay a log through the online models and write an evaluation report",
        description=(
            "Split learners into folds (or hold out the latest events), fit each model on the "
            "training part, replay held-out learners in time order predicting each question "
            "before updating, and write report.md, metrics.json, PNG plots and "
            "predictions.parquet to --report."
        ),
    )
    add_log_options(p, drop_option=False)  # rows without a skill are skipped and counted
    p.add_argument("--models", default=MODELS_HELP, metavar="NAMES",
                   help=f"comma-separated model names from {MODELS_HELP} (default: all)")
    p.add_argument("--folds", type=int_at_least(1), default=5, metavar="K",
                   help="number of learner folds, >= 2 (default 5; ignored with --temporal)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold split and fits (default 0)")
    p.add_argument("--report", required=True, metavar="DIR", help="output directory of the report")
    p.add_argument("--temporal", type=fraction, default=None, metavar="FRACTION",
                   help="temporal hold-out: fit on the first FRACTION of events (in (0, 1)), "
                        "score the rest")
    p.add_argument("--dask", default=None, metavar="SCHEDULER",
                   help="run on Dask: a scheduler address, or 'local' for a LocalCluster")
    p.add_argument("--include-pybkt", action="store_true",
                   help="also run pyBKT's BKT in its own environment ($PATHWISE_PYBKT_PYTHON, "
                        "default .peer/pybkt/bin/python); skipped with a reason when missing")
    p.add_argument("--bootstrap", type=int_at_least(0), default=200, metavar="N",
                   help="learner bootstrap resamples for AUC intervals (default 200; 0: none)")
    p.add_argument("--protocol", choices=("every-answer", "pykt", "both"), default="every-answer",
                   help="every-answer (default): one prediction per question, skill copies "
                        "combined by the model; pykt: pyKT-style expanded skill rows, each "
                        "predicted before its question, late fusion (mean) per question, "
                        "reported as 'MODEL [pykt]'; both: the two on the same folds")
    p.add_argument("--min-events", type=int_at_least(1), default=1, metavar="N",
                   help="drop learners with fewer answers than this (default 1: keep all)")
    p.set_defaults(handler=run)


def _models(args: argparse.Namespace) -> tuple[str, ...]:
    from kt.models import MODEL_NAMES
    from kt.replay import protocol

    models = protocol.model_list(args.models)
    for name in models:  # fail before reading anything
        if name not in MODEL_NAMES:
            raise ValueError(f"--models: unknown model {name!r}; choose from "
                             f"{', '.join(MODEL_NAMES)}")
    return models


def _with_pybkt(models: tuple[str, ...], notes: list[str]) -> tuple[str, ...]:
    import sys

    from kt.replay import protocol
    from kt.replay.pybkt_peer import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"pyBKT skipped: {reason}", file=sys.stderr)
        notes.append(f"pyBKT skipped: {reason}")
        return models
    return models + (protocol.PYBKT,)


def _run_protocol(args, log, config, n_fits: int):
    """``protocol.run`` with a tqdm bar over the fits, locally or on Dask."""
    from tqdm import tqdm

    from kt.replay import protocol

    bar = tqdm(total=n_fits, desc="replay", unit="fit")

    def progress(msg: str) -> None:
        bar.set_postfix_str(msg)
        if progress.started:
            bar.update(1)
        progress.started = True

    progress.started = False
    fit_fn = replay_fn = client = None
    if args.dask:
        from kt.replay.distributed import DaskRunner, connect

        client = connect(args.dask)
        runner = DaskRunner(client)
        fit_fn, replay_fn = runner.fit, runner.replay
    try:
        return protocol.run(log, config, fit_fn=fit_fn, replay_fn=replay_fn, progress=progress)
    finally:
        bar.update(1)
        bar.close()
        if client is not None:
            client.close()


def _data_description(args, raw, cleaning) -> dict:
    from pathlib import Path

    return {
        "file": str(Path(args.log).resolve()),
        "preset": args.preset or "detected from the header",
        "source": raw.source,
        "rows / questions / learners in": f"{cleaning.rows_in} / {cleaning.events_in} / {raw.n_learners}",
        "removed": cleaning.removed_text(),
        "kept": cleaning.kept_text(),
        "warnings": cleaning.warnings(),
        "cleaning": cleaning.as_dict(),
    }


def _print_table(doc: dict) -> None:
    def f(v, w):
        return f"{v:{w}.4f}" if v is not None else f"{'-':>{w}}"

    w = max([13, *(len(name) for name in doc["models"])])  # "r-best-lr-elo [pykt]" fits
    print(f"{'model':<{w}} {'AUC':>7} {'RMSE':>7} {'logloss':>8} {'acc':>7} {'skillAUC':>8}")
    for name, m in sorted(doc["models"].items(), key=lambda kv: -(kv[1]["auc"] or 0)):
        print(f"{name:<{w}} {f(m['auc'], 7)} {f(m['rmse'], 7)} {f(m['log_loss'], 8)} "
              f"{f(m['accuracy'], 7)} {f(m['per_skill_auc']['mean'], 8)}")


def run(args: argparse.Namespace) -> int:
    import time

    from kt.cli_log import read_cli_log
    from kt.replay import protocol
    from kt.replay.data import clean_log
    from kt.replay.report import write_report

    models = _models(args)
    if args.folds < 2 and args.temporal is None:
        raise ValueError(f"--folds {args.folds}: use 2 or more folds, or --temporal FRACTION")
    notes: list[str] = []
    if args.include_pybkt:
        models = _with_pybkt(models, notes)
    t0 = time.perf_counter()
    raw = read_cli_log(args, missing_skill="drop")
    log, cleaning = clean_log(raw, min_events=args.min_events)
    print(cleaning.summary())
    config = protocol.ReplayConfig(models=models, folds=args.folds, seed=args.seed,
                                   temporal=args.temporal, n_boot=args.bootstrap,
                                   protocol=args.protocol)
    protocol.check_log(log)
    protocol.validate(log, config)
    n_plans = 1 if args.temporal is not None else args.folds
    result = _run_protocol(args, log, config, n_plans * len(models))
    result.notes.extend(notes)
    doc = write_report(result, args.report, data_desc=_data_description(args, raw, cleaning))
    _print_table(doc)
    print(f"report written to {args.report} in {time.perf_counter() - t0:.1f} s")
    return 0
