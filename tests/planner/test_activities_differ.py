"""The school-level test that gates learned effectiveness (planner._differs): on constructed
schools where the truth is known it stays quiet where activities are equal (even when the
learners who reach different skills differ) and fires where one activity is truly better."""

from __future__ import annotations

import numpy as np

from planner.effectiveness import EffectivenessModel
from planner.model import PlanActivity


def _school(seed: int, better: float, n: int = 150, per_skill: bool = True) -> EffectivenessModel:
    """4 skills x 3 activities; learners reaching skill j learn ``rate[j]`` times as fast;
    activity 0 of skill 1 is ``better`` times as good as the catalog says, the rest equal."""
    rng = np.random.default_rng(seed)
    m = EffectivenessModel(relative=True, per_skill=per_skill, refilter=False)
    for j, rate in enumerate((0.5, 0.8, 1.4, 2.2)):
        for i, kind in enumerate(("video", "game", "text")):
            act = PlanActivity(f"s{j}a{i}", "x", ((f"s{j}", 1.0),), kind=kind, formats=(kind,), p_learn=0.2)
            m_true = rate * (better if (j, i) == (1, 0) else 1.0)
            for _ in range(n):
                known = rng.random() < 0.3 + 0.7 * min(m_true * 0.2, 0.999)
                m.observe(act, f"s{j}", 0.3, float(rng.random() < (0.9 if known else 0.2)))
    return m


def test_quiet_where_activities_are_equal_and_fires_where_one_is_better():
    null = [_school(seed, 1.0, n=400).differ_test() for seed in range(20)]
    better = [_school(100 + seed, 3.0, n=400).differ_test() for seed in range(20)]
    assert sum(t["differs"] for t in null) <= 3  # a 5 % test: 1 expected in 20
    assert sum(t["differs"] for t in better) >= 18
    assert all(t["tickets"] == 12 * 400 and t["activities"] == 12 for t in null)
    assert all(0.0 < t["p_value"] <= 1.0 and t["statistic"] >= 0.0 for t in null + better)


def test_the_skills_difference_is_not_activities_differing():
    """Grouped by kind and modality (each kind has one activity per skill) the skills'
    difference between learners would read as activities differing; the permutation within
    strata keeps it in the null, so even then the test does not fire on equal activities."""
    fired = [_school(seed, 1.0, per_skill=False).differ_test()["differs"] for seed in range(10)]
    assert sum(fired) <= 2


def test_nothing_to_compare_is_no_difference():
    m = EffectivenessModel(per_skill=True, refilter=False)
    act = PlanActivity("a", "x", (("k", 1.0),), kind="video", formats=("video",), p_learn=0.2)
    for s in (1.0, 0.0, 1.0):
        m.observe(act, "k", 0.3, s)
    out = m.differ_test()
    assert out == {"differs": False, "statistic": 0.0, "p_value": 1.0, "tickets": 3, "activities": 1}
    assert EffectivenessModel().differ_test()["tickets"] == 0
