"""benchmarks.planner_sim.seed_ratios: the ablation's per-seed ratio of world-averaged E_p,
against hand-worked numbers, and the '+lookahead d=2/3' rows exist."""

from types import SimpleNamespace as NS

import pytest

from benchmarks.planner_sim import seed_ratios
from planner.simulate.baselines import ABLATIONS


def test_per_seed_ratio_of_world_averages_by_hand():
    specs = [NS(name="w1"), NS(name="w2")]
    r = lambda *ms: [NS(mean=m) for m in ms]  # noqa: E731
    out = {"w1": {"pathwise": r(2.0, 3.0), "v": r(1.0, 3.0)},
           "w2": {"pathwise": r(4.0, 1.0), "v": r(2.0, 2.0)}}
    # seed 0: (2 + 4) / 2 = 3 vs (1 + 2) / 2 = 1.5 -> 2.0; seed 1: 2 vs 2.5 -> 0.8
    assert seed_ratios(specs, out, "v") == pytest.approx([2.0, 0.8])


def test_the_ablation_measures_depth_two_and_three():
    assert ABLATIONS["+lookahead d=2"] == {"lookahead_depth": 2}
    assert ABLATIONS["+lookahead d=3"] == {"lookahead_depth": 3}
    assert ABLATIONS["+diagnostic"] == {"diagnostic": 1.0}
