"""benchmarks.planner_sim.seed_ratios: the ablation's per-seed ratio of world-averaged E_p,
against hand-worked numbers, and the printed report has a row for every ablation."""

from types import SimpleNamespace as NS

import pytest

from benchmarks.planner_sim import LEARNED_ROWS, report_ablation, seed_ratios
from planner.simulate.baselines import ABLATIONS


def test_per_seed_ratio_of_world_averages_by_hand():
    specs = [NS(name="w1"), NS(name="w2")]
    r = lambda *ms: [NS(mean=m) for m in ms]  # noqa: E731
    out = {"w1": {"pathwise": r(2.0, 3.0), "v": r(1.0, 3.0)},
           "w2": {"pathwise": r(4.0, 1.0), "v": r(2.0, 2.0)}}
    # seed 0: (2 + 4) / 2 = 3 vs (1 + 2) / 2 = 1.5 -> 2.0; seed 1: 2 vs 2.5 -> 0.8
    assert seed_ratios(specs, out, "v") == pytest.approx([2.0, 0.8])


def test_the_report_prints_every_ablation_with_its_ratio():
    specs = [NS(name="w1")]
    names = [*ABLATIONS, *LEARNED_ROWS]
    out = {"w1": {n: [NS(mean=2.0), NS(mean=2.0)] for n in names}}
    out["w1"]["+lookahead d=3"] = [NS(mean=1.0), NS(mean=4.0)]
    lines: list[str] = []
    report_ablation(specs, out, print_=lines.append)
    text = "\n".join(lines)
    for n in ("+diagnostic", "+lookahead d=2", "+lookahead d=3", "no-unlock", "+learn (mean)"):
        assert f"pathwise / {n}:" in text
    # world average 2 vs 2.5 -> 0.800x; per seed 2/1 = 2 and 2/4 = 0.5 -> mean 1.250x
    d3 = next(line for line in lines if "pathwise / +lookahead d=3:" in line)
    assert "0.800x" in d3 and "per seed 1.250x" in d3


def test_the_protect_rows_are_run_and_reported():
    from benchmarks.planner_sim import ablation_policies

    assert ABLATIONS["+protect"] == {"protect": 1.0}
    assert set(ablation_policies(["+protect", "+protect +spacing (fitted)"])) == {
        "pathwise", "+protect", "+protect +spacing (fitted)"}
    assert ablation_policies(["+protect +spacing (fitted)"])[
        "+protect +spacing (fitted)"].weights == {"protect": 1.0}
    specs = [NS(name="w1"), NS(name="w2")]
    rows = ("pathwise", "+spacing (fitted)", "+protect +spacing (fitted)")
    out = {w: {n: [NS(mean=2.0), NS(mean=2.0)] for n in rows} for w in ("w1", "w2")}
    lines: list[str] = []
    report_ablation(specs, out, print_=lines.append)
    text = "\n".join(lines)
    assert "+spacing (fitted) / +protect +spacing (fitted): per seed 1.000x" in text
    assert "w2" in text and "+lookahead" not in text  # only the rows that ran
