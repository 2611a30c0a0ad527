"""``pathwise demo``: fit BKT on the bundled synthetic log and show what it learned."""

from __future__ import annotations

import argparse

from kt.cli_args import int_at_least, positive_int

DEFAULT_LOG = "data/kt_demo/log.csv"
"""The bundled synthetic log (``kt.synthetic``), relative to the repository root."""


def register(subparsers) -> None:
    """Add ``demo`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "demo",
        help="fit BKT on the bundled synthetic log and print fitted vs true parameters",
        description=(
            "Fit Bayesian Knowledge Tracing on the bundled synthetic log "
            f"({DEFAULT_LOG}: 200 learners x 5 skills, known true parameters), then print the "
            "fitted parameters next to the true ones, the fit quality (AUC, RMSE) and a few "
            "learners' mastery per skill."
        ),
    )
    parser.add_argument("--log", default=None, metavar="LOG",
                        help=f"ASSISTments-layout CSV to fit instead of the bundled {DEFAULT_LOG}")
    parser.add_argument("--learners", type=int_at_least(0), default=3, metavar="N",
                        help="how many learners' mastery to show (default: 3)")
    parser.add_argument("--num-fits", type=positive_int, default=3, metavar="N",
                        help="EM random restarts per skill (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default: 0)")
    parser.set_defaults(handler=run)


def _default_log():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / DEFAULT_LOG


def _print_params(model, true_params) -> None:
    names = ("p_init", "p_learn", "p_guess", "p_slip")
    print(f"{'skill':<12}" + "".join(f"{n:>18}" for n in names))
    print(f"{'':<12}" + "".join(f"{'fitted (true)':>18}" for _ in names))
    for skill in model.skill_names_:
        fitted = model.skill_params(skill)
        true = true_params.get(skill) if true_params is not None else None
        cells = []
        for n in names:
            value = f"{getattr(fitted, n):.3f}"
            if true is not None:
                value += f" ({getattr(true, n):.2f})"
            cells.append(f"{value:>18}")
        print(f"{skill:<12}" + "".join(cells))


def _print_mastery(model, log, n_learners: int) -> None:
    import numpy as np

    print(f"\nmastery after each learner's last answer (first {n_learners} learners):")
    pred = model.predict(log)
    shown = np.unique(log.learner)[:n_learners]
    print(f"{'learner':<10}" + "".join(f"{s:>12}" for s in model.skill_names_))
    for code in shown:
        rows = np.flatnonzero(log.learner == code)
        cells = []
        for skill in model.skill_names_:
            mine = rows[log.skill[rows] == log.skill_code(skill)]
            value = (pred.p_mastered_after[mine[-1]] if len(mine)
                     else model.skill_params(skill).p_init)
            cells.append(f"{value:>12.2f}")
        print(f"{log.learner_ids[code]:<10}" + "".join(cells))


def run(args: argparse.Namespace) -> int:
    import time

    from kt.bkt import BKT
    from kt.fitting import fit_with_progress
    from kt.io import read_log
    from kt.synthetic import DEFAULT_PARAMS

    path = args.log or _default_log()
    log = read_log(path, preset="assistments")
    print(f"log: {path}: {len(log):,} observations, {log.n_learners} learners, "
          f"{log.n_skills} skills")
    start = time.perf_counter()
    model = fit_with_progress(BKT(num_fits=args.num_fits, seed=args.seed), log)
    seconds = time.perf_counter() - start
    print(f"fitted BKT (EM, {args.num_fits} restarts per skill) in {seconds:.2f} s "
          "(first run includes Numba compilation)\n")
    _print_params(model, DEFAULT_PARAMS if args.log is None else None)
    scores = model.evaluate(log, ("auc", "rmse", "accuracy"))
    print("\ntraining fit: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    _print_mastery(model, log, args.learners)
    return 0
