"""Simulation benchmark of the planner in a family of worlds it does not know (issue 15).

    python -m benchmarks.planner_sim [--seeds N] [--learners S] [--worlds a,b] [--jobs J]
                                     [--order side_by_side|one_by_one]

Each world (``planner.simulate.family.WORLDS``) differs from the planner's assumptions in
one way (or all at once): wrong prerequisite edges, per-learner learn rate/guess/slip,
activity quality the catalog does not know, partly wrong declared preferences, forgetting,
fatigue, rubric-only or absent evidence, unsupported accommodations, graph shape, session
length, the à la carte class. Pathwise is called as the engine calls it
(``planner.playlist.plan.plan_playlist`` with the request and learner the engine builds,
beliefs from observed evidence only, and the engine's defaults: forgetting protection on once
the school's own retention checks show forgetting, learned activity effectiveness once its
exit tickets show activities teaching the same skill differ,
``planner.simulate.baselines.engine_default``;
the ablation's "pathwise" reference is the plain planner) and compared with fair baselines on the same catalog,
beliefs and hard filters (``planner.simulate.baselines``).

The learners of a world are taught side by side, session by session for the whole class, as
a school does (``--order one_by_one``: each learner's whole horizon before the next's, the
order before the tenth session); only the policies that learn from evidence notice.

E_p = skills truly mastered per learner at the end of the horizon minus without any
instruction (same random numbers); mean over learners, then mean ± 95 % CI (Student t)
over seeds. "blind" = share of Pathwise's items that work on a skill whose true
prerequisite the learner does not know (random ready's in brackets).

Targets (averaged over the worlds): >= 1.4x lowest-mastery-first, >= 1.2x greedy, >= 2x
one-size-fits-all, 0 hard-constraint violations, better than every baseline in every world.
Also printed: students choosing on choice boards by their true preferences against the
assigned playlist, per world (paired by seed).
Default run: 13 worlds x 3 seeds x 40 learners, a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

BASES = ("random_ready", "lowest_mastery_first", "greedy", "one_size_fits_all")
TARGETS = {"lowest_mastery_first": 1.4, "greedy": 1.2, "one_size_fits_all": 2.0}
CHOOSING = "students_choosing"
"""The engine's default playlist (``GatedChoosing``) with the simulated student picking on every
choice board by their true preferred formats (``planner.choices.choosing_policy``), reported
against the assigned one."""


LEARNED_ROWS = ("+learn (Thompson)", "+learn (mean)", "+learn (mean) no formats",
                "+learn (mean) per skill", "+learn (mean) per skill (when shown)", "oracle quality",
                "+spacing (fitted)", "+protect +spacing (fitted)", "+protect (school forgets)",
                "+protect +spacing (school forgets)", "+protect at school half-life (school forgets)")
"""Ablation rows of the learned models: Thompson-sampled effectiveness (the simulator's
``LearningPathwise``), the engine's posterior-mean relative multipliers (with the learners'
format multipliers, without them, and ranked and grouped per skill: each activity against
the other activities on its first skill; the engine's default, that one gated by the school's
activities-differ test, ``EffectivenessModel.differ_test``), the ceiling of all of them
(``oracle quality``: pathwise told the true activity quality), fitted forgetting, fitted forgetting with what review
protects (``protect`` 1); the same two gated by the school's forgetting test
(``ForgettingModel.forgets``: plain pathwise until the school's checks show forgetting; the
fitted half-lives then centred on the school's own)."""


class GatedChoosing:
    """Students choosing on choice boards (``choose``: ``planner.choices.choosing_policy``)
    from the playlist the engine's default would assign: with ``protect`` 1 and the school's
    fitted half-life once ``gate`` (``engine_default()``, fed every exit ticket) finds that the
    school forgets. The boards are built from the catalog's learn probabilities, not the
    learned ones (the default's learned effectiveness is not applied here)."""

    def __init__(self, gate, choose) -> None:
        self.gate, self.choose = gate, choose

    def observe(self, *args, **kwargs) -> None:
        self.gate.observe(*args, **kwargs)

    def __call__(self, world, learner, request, session, seed):
        learner, request = self.gate.forgetting.adjusted(world, learner, request)
        return self.choose(world, learner, request, session, seed)


def ablation_policies(rows=None) -> dict:
    """Name -> policy of the ablation rows (``rows``: names to keep, None = all; "pathwise"
    is always kept)."""
    from planner.simulate.baselines import (
        ABLATIONS,
        LearningPathwise,
        SpacingPathwise,
        oracle_quality,
        pathwise_with,
    )

    makers = {n: (lambda w=w: pathwise_with(**w)) for n, w in ABLATIONS.items()}
    makers["+learn (Thompson)"] = LearningPathwise
    # the engine's variant (engine.planning._learned): posterior mean, relative multipliers
    makers["+learn (mean)"] = lambda: LearningPathwise(thompson=False, relative=True)
    makers["+learn (mean) no formats"] = lambda: LearningPathwise(thompson=False, relative=True,
                                                                   formats=False)
    makers["+learn (mean) per skill"] = lambda: LearningPathwise(thompson=False, relative=True,
                                                                   per_skill=True)
    makers["+learn (mean) per skill (when shown)"] = lambda: LearningPathwise(
        thompson=False, relative=True, per_skill=True, gate=True)
    makers["oracle quality"] = lambda: oracle_quality  # the ceiling of learned effectiveness
    makers["+spacing (fitted)"] = SpacingPathwise
    makers["+protect +spacing (fitted)"] = lambda: SpacingPathwise(protect=1.0)
    makers["+protect (school forgets)"] = lambda: SpacingPathwise(gate=True, fitted=False,
                                                                  protect=1.0)
    makers["+protect +spacing (school forgets)"] = lambda: SpacingPathwise(gate=True, protect=1.0)
    makers["+protect at school half-life (school forgets)"] = lambda: SpacingPathwise(
        gate=True, fitted=False, school_half_life=True, protect=1.0)
    keep = set(rows or makers) | {"pathwise"}
    return {n: make() for n, make in makers.items() if n in keep}


def _one(args):
    spec, seed, ablation, rows, order = args
    from planner.simulate.family import run_world

    policies = None
    if ablation:
        policies = ablation_policies(rows)
    else:
        from planner.choices import choosing_policy
        from planner.simulate.baselines import POLICIES, engine_default

        # "pathwise" as the engine plans by default: protection once the school shows forgetting
        policies = {**POLICIES, "pathwise": engine_default(),
                    CHOOSING: GatedChoosing(engine_default(), choosing_policy())}
    return spec.name, seed, run_world(spec, seed, policies, order=order)


def run(specs, seeds, jobs: int, ablation: bool = False, rows=None,
        order: str = "side_by_side") -> dict:
    """{world: {policy: [WorldResult per seed]}} (``rows``: ablation rows to run, None =
    all; ``order``: the learners' order, ``planner.simulate.family.run_world``)."""
    tasks = [(spec, seed, ablation, rows, order) for spec in specs for seed in seeds]
    out: dict = {s.name: {} for s in specs}
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            results = list(ex.map(_one, tasks))
    else:
        results = [_one(t) for t in tasks]
    for name, _seed, res in results:
        for pol, r in res.items():
            out[name].setdefault(pol, []).append(r)
    return out


def report(specs, out, print_=print) -> bool:
    """Print the per-world table and the averaged ratios; True when every target is met."""
    from planner.simulate.family import mean_ci

    pols = ("pathwise", *BASES)
    print_("| world | " + " | ".join(pols) + " | blind % pathwise (random) | violations |")
    print_("|---|" + "---:|" * (len(pols) + 2))
    ratios: dict[str, list[float]] = {b: [] for b in BASES}
    beaten_everywhere = True
    violations = 0
    for spec in specs:
        res = out[spec.name]
        cells = []
        for p in pols:
            m, hw = mean_ci([r.mean for r in res[p]])
            cells.append(f"{m:.2f} ± {hw:.2f}")
        pw = sum(r.mean for r in res["pathwise"]) / len(res["pathwise"])
        for b in BASES:
            bm = sum(r.mean for r in res[b]) / len(res[b])
            ratios[b].append(pw / bm if bm > 0 else float("inf"))
            beaten_everywhere &= pw > bm
        blind = sum(r.blind_rate for r in res["pathwise"]) / len(res["pathwise"])
        blind_r = sum(r.blind_rate for r in res["random_ready"]) / len(res["random_ready"])
        v = sum(r.violations for r in res["pathwise"])
        violations += v
        print_(f"| {spec.name} | " + " | ".join(cells) +
               f" | {100 * blind:.1f} ({100 * blind_r:.1f}) | {v} |")
    print_("\nper-world ratio pathwise / baseline:")
    for spec_i, spec in enumerate(specs):
        print_(f"  {spec.name:18s} " + "  ".join(
            f"{b}={ratios[b][spec_i]:.2f}x" for b in BASES))
    ok = True
    print_(f"\naveraged over {len(specs)} worlds:")
    for b in BASES:
        avg = sum(ratios[b]) / len(ratios[b])
        t = TARGETS.get(b)
        verdict = ""
        if t is not None:
            hit = avg >= t
            ok &= hit
            verdict = f"  (target >= {t:g}x: {'met' if hit else 'MISSED'})"
        print_(f"  pathwise / {b}: {avg:.2f}x{verdict}")
    print_(f"pathwise hard-constraint violations: {violations} (target 0: "
           f"{'met' if violations == 0 else 'MISSED'})")
    print_("better than every baseline in every world: "
           f"{'met' if beaten_everywhere else 'MISSED'}")
    print_(f"at least 8 worlds: {'met' if len(specs) >= 8 else 'MISSED'}")
    return ok and violations == 0 and beaten_everywhere and len(specs) >= 8


def report_choice(specs, out, print_=print) -> None:
    """Students choosing on choice boards vs the assigned playlist, per world: E_p of each and
    the paired difference (same world and seed) with its 95 % CI over seeds."""
    from planner.simulate.family import mean_ci

    print_("\nstudents choosing on choice boards (true preferred formats) vs assigned playlists:")
    print_("| world | assigned | choosing | choosing - assigned (paired) |")
    print_("|---|---:|---:|---:|")
    diffs = []
    for spec in specs:
        res = out[spec.name]
        a = [r.mean for r in res["pathwise"]]
        c = [r.mean for r in res[CHOOSING]]
        d = [y - x for x, y in zip(a, c, strict=True)]
        diffs.append(sum(d) / len(d))
        (am, ah), (cm, ch), (dm, dh) = mean_ci(a), mean_ci(c), mean_ci(d)
        print_(f"| {spec.name} | {am:.2f} ± {ah:.2f} | {cm:.2f} ± {ch:.2f} | {dm:+.3f} ± {dh:.3f} |")
    print_(f"averaged over {len(specs)} worlds: choosing - assigned {sum(diffs) / len(diffs):+.3f} "
           "skills per learner")


def report_ablation(specs, out, print_=print) -> None:
    """E_p of Pathwise with each objective term switched off, per world and averaged."""
    from planner.simulate.baselines import ABLATIONS
    from planner.simulate.family import mean_ci

    ran = out[specs[0].name]
    names = [n for n in (*ABLATIONS, *LEARNED_ROWS) if n in ran]
    print_("| world | " + " | ".join(names) + " |")
    print_("|---|" + "---:|" * len(names))
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for spec in specs:
        res = out[spec.name]
        full = sum(r.mean for r in res["pathwise"]) / len(res["pathwise"])
        cells = []
        for n in names:
            m, hw = mean_ci([r.mean for r in res[n]])
            cells.append(f"{m:.2f} ± {hw:.2f}")
            ratios[n].append(full / m if m > 0 else float("inf"))
        print_(f"| {spec.name} | " + " | ".join(cells) + " |")
    print_("\naveraged ratio full pathwise / variant (> 1 for a switched-off term: it pays; "
           "< 1 for a '+' variant: the added term pays); ± = 95 % interval over seeds of the "
           "per-seed ratio of world-averaged E_p (paired: same seeds, same random numbers)")
    for n in names[1:]:
        m, hw = mean_ci(seed_ratios(specs, out, n))
        print_(f"  pathwise / {n}: {sum(ratios[n]) / len(ratios[n]):.3f}x; "
               f"per seed {m:.3f}x ± {hw:.3f}")
    if "+spacing (fitted)" in names and "+protect +spacing (fitted)" in names:
        m, hw = mean_ci(seed_ratios(specs, out, "+protect +spacing (fitted)",
                                    full="+spacing (fitted)"))
        print_(f"  +spacing (fitted) / +protect +spacing (fitted): per seed {m:.3f}x ± {hw:.3f}")
    for spec in specs if len(specs) > 1 else ():
        for n in names[1:]:
            m, hw = mean_ci(seed_ratios([spec], out, n))
            print_(f"    {spec.name:18s} pathwise / {n}: per seed {m:.3f}x ± {hw:.3f}")


def seed_ratios(specs, out, variant: str, full: str = "pathwise") -> list[float]:
    """Per seed: E_p of ``full`` averaged over the worlds ÷ that of ``variant``; shape (seeds,).
    ``out`` is {world: {policy: [result with .mean, one per seed, in seed order]}}."""
    n_seeds = len(out[specs[0].name][full])
    ratios = []
    for i in range(n_seeds):
        a = sum(out[s.name][full][i].mean for s in specs) / len(specs)
        b = sum(out[s.name][variant][i].mean for s in specs) / len(specs)
        ratios.append(a / b if b > 0 else float("inf"))
    return ratios


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.planner_sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="seeds per world (default 3)")
    ap.add_argument("--seed0", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--learners", type=int, default=40, help="learners per world (default 40)")
    ap.add_argument("--sessions", type=int, default=None,
                    help="sessions per horizon (default: each world's own)")
    ap.add_argument("--worlds", default="", help="comma-separated world names (default all)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--ablation", action="store_true",
                    help="compare Pathwise with each objective term switched off instead")
    ap.add_argument("--rows", default="",
                    help="with --ablation: comma-separated rows to run (default all), e.g. "
                         "'+protect,+spacing (fitted),+protect +spacing (fitted)'")
    ap.add_argument("--order", default="side_by_side", choices=("side_by_side", "one_by_one"),
                    help="learners side by side, session by session as a school teaches them "
                         "(default), or one learner's whole horizon after another's (the order "
                         "before the tenth session); matters only to policies that learn")
    args = ap.parse_args(argv)

    from planner.simulate.family import WORLDS

    by_name = {w.name: w for w in WORLDS}
    names = [n.strip() for n in args.worlds.split(",") if n.strip()] or list(by_name)
    for n in names:
        if n not in by_name:
            ap.error(f"unknown world {n!r} in --worlds; choose from {', '.join(by_name)}")
    if args.seeds < 1 or args.learners < 1:
        ap.error("--seeds and --learners must be >= 1")
    specs = [replace(by_name[n], n_learners=args.learners) for n in names]
    if args.sessions is not None:
        specs = [replace(s, sessions=max(1, args.sessions)) for s in specs]
    seeds = list(range(args.seed0, args.seed0 + args.seeds))
    rows = [r.strip() for r in args.rows.split(",") if r.strip()] or None
    if rows:
        known = ablation_policies()
        for r in rows:
            if r not in known:
                ap.error(f"unknown ablation row {r!r} in --rows; choose from {', '.join(known)}")
    out = run(specs, seeds, max(1, args.jobs), args.ablation, rows, args.order)
    print(f"\nplanner in {len(specs)} worlds: {args.learners} learners x {len(seeds)} seeds "
          f"per world, learners {args.order.replace('_', ' ')}; E_p = skills mastered per learner "
          "beyond no instruction, mean ± 95 % CI over seeds\n")
    for s in specs:
        print(f"  {s.name}: {s.description} ({s.sessions} x {s.session_minutes:g} min)")
    print()
    if args.ablation:
        report_ablation(specs, out)
        return 0
    ok = report(specs, out)
    report_choice(specs, out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
