"""``pathwise experiment``: does the planner help our students? A pre-registered comparison.

    pathwise experiment sample-size --mde 0.3 [--alpha 0.05] [--power 0.8] [--unit class --icc 0.1 --class-size 20]
    pathwise experiment simulate --file design.json --effect 0.3 [--icc 0.1] [--reps 200]
    pathwise experiment create --file design.json      # register (immutable from then on)
    pathwise experiment list | show ID | start ID | stop ID
    pathwise experiment assignment ID                  # learner, class, arm (CSV on stdout)
    pathwise experiment report ID [--out report.md] [--json] [--interim]

The design file is the API body of ``POST /v1/experiments`` (see docs/experiments.md). The
report is refused until the registered window has ended (or the experiment is stopped) and
the planned sample has outcomes; ``--interim`` takes a flagged, recorded interim look
(alpha spending).
"""

from __future__ import annotations

import argparse
import json
import sys

from service.cli._common import operator, store_flags

FIELDS = ("mde", "alpha", "power", "icc", "class_size", "unit")


def register(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="compare planner variants (or the teacher's sequence) "
                                                 "in a pre-registered randomised experiment",
                              description="Register, run and report a randomised comparison of two "
                                          "planner arms. See docs/experiments.md.")
    sub = p.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    s = sub.add_parser("sample-size", help="learners (or classes) per arm for an effect, alpha and power")
    s.add_argument("--mde", type=float, required=True, help="minimum detectable effect, Cohen's d (e.g. 0.3)")
    s.add_argument("--alpha", type=float, default=0.05)
    s.add_argument("--power", type=float, default=0.8)
    s.add_argument("--unit", choices=["learner", "class"], default="learner")
    s.add_argument("--icc", type=float, default=0.1, help="intra-class correlation (class randomisation)")
    s.add_argument("--class-size", type=float, default=20.0, help="learners per class (class randomisation)")
    s.set_defaults(handler=_sample_size)
    sim = sub.add_parser("simulate", help="check a design on simulated schools with a known effect "
                                          "(rejection rate = power, or the false-positive rate at effect 0)")
    sim.add_argument("--file", required=True, metavar="FILE", help="the design (JSON, the API body)")
    sim.add_argument("--effect", type=float, required=True, help="true effect, Cohen's d (0 = none)")
    sim.add_argument("--icc", type=float, default=0.0, help="true intra-class correlation in [0, 1)")
    sim.add_argument("--reps", type=int, default=200, help="simulated experiments (default 200)")
    sim.add_argument("--seed", type=int, default=0)
    sim.set_defaults(handler=_simulate)
    c = sub.add_parser("create", help="register an experiment from a JSON design file")
    store_flags(c)
    c.add_argument("--file", required=True, metavar="FILE", help="the design (JSON, the API body)")
    c.set_defaults(handler=_create)
    for name, helptext, fn in (("show", "print one experiment", _show), ("start", "assign arms and start", _start),
                               ("stop", "stop (planning returns to normal)", _stop),
                               ("assignment", "each learner's arm as CSV", _assignment)):
        a = sub.add_parser(name, help=helptext)
        store_flags(a)
        a.add_argument("experiment_id", metavar="ID")
        a.set_defaults(handler=fn)
    ls = sub.add_parser("list", help="list experiments")
    store_flags(ls)
    ls.set_defaults(handler=_list)
    r = sub.add_parser("report", help="write the report (refused before the planned sample)")
    store_flags(r)
    r.add_argument("experiment_id", metavar="ID")
    r.add_argument("--out", metavar="FILE", default=None, help="write the markdown report here (default stdout)")
    r.add_argument("--json", action="store_true", help="print the JSON report instead of markdown")
    r.add_argument("--interim", action="store_true",
                   help="take a flagged interim look while it runs (recorded; the final analysis then "
                        "uses the alpha left by O'Brien-Fleming-type spending)")
    r.set_defaults(handler=_report)


def _call(args, method: str, *a):
    """Run one SchoolApp method as the console admin; engine conflicts become exit-1 errors."""
    from engine.errors import ConflictError

    with operator(args) as (school, by):
        try:
            return getattr(school, method)(by, *a)
        except ConflictError as exc:
            raise ValueError(str(exc)) from None


def _sample_size(args: argparse.Namespace) -> int:
    from engine.experiment.design import plan_sample

    try:
        plan = plan_sample(args.unit, alpha=args.alpha, power=args.power, mde=args.mde, icc=args.icc,
                           class_size=args.class_size)
    except ValueError as exc:
        msg = str(exc)
        for name in FIELDS:  # 'alpha=2.0; ...' -> '--alpha=2.0; ...'
            if msg.startswith(name + "="):
                msg = "--" + name.replace("_", "-") + msg[len(name):]
        raise ValueError(msg) from None
    if args.unit == "class":
        print(f"{plan.clusters_per_arm} classes per arm (about {plan.n_per_arm} learners per arm) to detect "
              f"d = {args.mde} with power {args.power} at alpha {args.alpha}, ICC {args.icc}, "
              f"{args.class_size:g} learners per class")
    else:
        print(f"{plan.n_per_arm} learners per arm to detect d = {args.mde} with power {args.power} "
              f"at alpha {args.alpha}")
    return 0


def _design_file(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        try:
            body = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--file {path!r} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"--file {path!r} must hold one JSON object (the design)")
    return body


def _simulate(args: argparse.Namespace) -> int:
    from engine.experiment.design import design_from_dict
    from engine.experiment.simulate import rejection_rate

    if not 1 <= args.reps <= 100_000:
        raise ValueError(f"--reps={args.reps}; simulate 1 to 100000 experiments")
    if not 0 <= args.icc < 1:
        raise ValueError(f"--icc={args.icc}; the true intra-class correlation must be in [0, 1)")
    design = design_from_dict(_design_file(args.file))
    res = rejection_rate(design, args.effect, args.icc, reps=args.reps, seed=args.seed)
    lo, hi = res.interval()
    what = "power" if args.effect else "false-positive rate"
    print(f"{what}: {res.rate:.3f} (95% interval {lo:.3f}-{hi:.3f}) over {res.reps} simulated experiments "
          f"of {res.learners} learners in {res.classes} classes, true effect d = {args.effect:g}, "
          f"ICC {args.icc:g}; planned: power {design.sample.power} at alpha {design.sample.alpha}"
          + (f" for d = {design.sample.mde}" if design.sample.mde else ""))
    return 0


def _create(args: argparse.Namespace) -> int:
    out = _call(args, "create_experiment", _design_file(args.file))
    print(f"registered {out['id']}: {out['sample']['n_per_arm']} learners per arm planned"
          + (f", {out['sample']['clusters_per_arm']} classes" if out["unit"] == "class" else ""))
    return 0


def _print(doc: dict) -> None:
    json.dump(doc, sys.stdout, indent=2, default=str)
    print()


def _show(args) -> int:
    _print(_call(args, "get_experiment", args.experiment_id))
    return 0


def _start(args) -> int:
    out = _call(args, "start_experiment", args.experiment_id)
    print(f"{out['id']} is running")
    for warning in out.get("warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _stop(args) -> int:
    out = _call(args, "stop_experiment", args.experiment_id)
    print(f"{out['id']} is stopped")
    return 0


def _list(args) -> int:
    for e in _call(args, "list_experiments"):
        print(f"{e['id']}\t{e['status']}\t{e['start']}..{e['end']}\t{e['title']}")
    return 0


def _assignment(args) -> int:
    print("learner_id,class_id,arm,how")
    for r in _call(args, "experiment_assignment", args.experiment_id):
        print(f"{r['learner_id']},{r['class_id']},{r['arm']},{r['how']}")
    return 0


def _report(args) -> int:
    from engine.errors import ConflictError

    with operator(args) as (school, by):
        try:
            out = school.experiment_report(by, args.experiment_id, interim=args.interim)
        except ConflictError as exc:
            raise ValueError(str(exc)) from None
    text = json.dumps({k: v for k, v in out.items() if k != "markdown"}, indent=2) if args.json else out["markdown"]
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0
