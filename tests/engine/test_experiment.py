"""Experiment design, assignment, outcomes and analysis: pure functions, checked against
textbook values and independent implementations (scipy)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from scipy import stats

from engine.domain.evidence import MasteryChange, Observation
from engine.errors import ValidationError
from engine.experiment.analysis import compare, hedges_g, icc_anova, shortfall, welch
from engine.experiment.assignment import Unit, assign, late_arm
from engine.experiment.design import clusters_per_arm, design_from_dict, n_per_arm
from engine.experiment.outcome import Outcome, learner_values

BASE = {"id": "e1", "arms": [{"name": "A"}, {"name": "B", "planner": "teacher"}], "start": "2026-01-05",
        "end": "2026-03-27", "target_skills": ["k1", "k2"], "sample": {"n_per_arm": 3}}


def _design(**kw):
    return design_from_dict({**BASE, **kw})


def test_sample_size_matches_textbook_values():
    assert n_per_arm(0.5, 0.05, 0.8) == 64  # Cohen (1988), table 2.4.1
    assert n_per_arm(0.8, 0.05, 0.8) == 26
    assert n_per_arm(0.2, 0.05, 0.9) == 527
    # class randomisation: no ICC and classes of 1 is learner randomisation
    assert clusters_per_arm(0.5, 0.0, 1) == 64
    # an ICC makes more classes necessary than learners / class size
    assert clusters_per_arm(0.4, 0.1, 20) * 20 > n_per_arm(0.4)


def test_stored_design_round_trips_and_sample_is_computed():
    d = _design(unit="class", stratify_by="grade", sample={"mde": 0.4, "icc": 0.1, "class_size": 20})
    assert d.sample.clusters_per_arm == clusters_per_arm(0.4, 0.1, 20) and not d.sample.given
    assert design_from_dict(d.to_dict()) == d


@pytest.mark.parametrize("change, words", [
    ({"arms": [{"name": "A"}]}, "exactly two arms"),
    ({"arms": [{"name": "A"}, {"name": "A", "planner": "greedy"}]}, "different names"),
    ({"arms": [{"name": "A"}, {"name": "B"}]}, "nothing would be compared"),
    ({"arms": [{"name": "A"}, {"name": "B", "planner": "lmf"}]}, "arms[1].planner='lmf'"),
    ({"arms": [{"name": "A"}, {"name": "B", "weights": {"unlok": 0}}]}, "arms[1].weights has 'unlok'"),
    ({"unit": "school"}, "unit='school'"),
    ({"unit": "class", "stratify_by": "class"}, "stratify_by='class'"),
    ({"end": "2026-01-01"}, "is not after start"),
    ({"start": "5 Jan"}, "start='5 Jan'"),
    ({"target_skills": []}, "target_skills"),
    ({"sample": {"mde": 0.3, "n_per_arm": 10}}, "not both"),
    ({"sample": {"mde": 0.3, "alpha": 0.7}}, "alpha=0.7"),
    ({"sample": {"mde": -1}}, "mde=-1"),
    ({"sample": {"n": 3}}, "sample has ['n']"),
    ({"seed": -1}, "seed=-1"),
])
def test_bad_designs_name_the_field(change, words):
    with pytest.raises(ValidationError) as err:
        _design(**change)
    assert words in str(err.value)


def _units(n_classes=4, size=9):
    return [Unit(f"c{c}-{i}", f"c{c}", str(3 + c % 2)) for c in range(n_classes) for i in range(size)]


def test_learner_assignment_is_balanced_within_each_class_and_deterministic():
    units = _units()
    d = _design(seed=7)
    arms = assign(d, units)
    for c in range(4):
        in_b = sum(arms[u.learner_id] == "B" for u in units if u.class_id == f"c{c}")
        assert in_b in (4, 5)
    assert assign(d, list(reversed(units))) == arms  # input order does not matter
    assert assign(_design(seed=8), units) != arms  # the seed does


def test_class_assignment_keeps_classes_whole_and_balances_grades():
    units = _units(8, 5)
    arms = assign(_design(unit="class", seed=3, sample={"clusters_per_arm": 4}), units)
    by_class = {}
    for u in units:
        by_class.setdefault(u.class_id, set()).add(arms[u.learner_id])
    assert all(len(v) == 1 for v in by_class.values())
    for grade in ("3", "4"):
        cls = [c for c in by_class if str(3 + int(c[1:]) % 2) == grade]
        assert sorted(next(iter(by_class[c])) for c in cls) == ["A", "A", "B", "B"]


def test_late_learners_get_a_stable_arm():
    d = _design(seed=5)
    arms = [late_arm(d, f"new-{i}") for i in range(200)]
    assert arms == [late_arm(d, f"new-{i}") for i in range(200)]
    assert 70 < arms.count("A") < 130
    assert late_arm(_design(unit="class", sample={"clusters_per_arm": 2}), "x", class_arm="B") == "B"


def test_welch_and_effect_sizes_match_scipy_and_formulas():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(0.5, 2, 45)
    w = welch(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert w.p_value == pytest.approx(ref.pvalue) and w.diff == pytest.approx(b.mean() - a.mean())
    ci = ref.confidence_interval(0.95)
    assert (w.ci_low, w.ci_high) == pytest.approx((ci.low, ci.high))
    d, g, lo, hi = hedges_g(np.array([1.0, 2, 3]), np.array([3.0, 4, 5]))
    assert d == pytest.approx(2.0) and g == pytest.approx(2.0 * (1 - 3 / 15)) and lo < g < hi


def test_icc_estimate_recovers_the_true_icc():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(300), 20)
    y = np.sqrt(0.2) * rng.standard_normal(300)[groups] + np.sqrt(0.8) * rng.standard_normal(len(groups))
    assert icc_anova(y, groups.astype(str)) == pytest.approx(0.2, abs=0.03)


def test_shortfall_names_how_many_more():
    d = _design(sample={"n_per_arm": 3})
    rows = [Outcome("l1", "c", "A", {"mastery_gain": 0.1}), Outcome("l2", "c", "B", {"mastery_gain": 0.2}),
            Outcome("l3", "c", "B", {"mastery_gain": 0.3}), Outcome("l4", "c", "B", {})]
    assert shortfall(d, rows) == {"A": {"learners": 2}, "B": {"learners": 1}}
    dc = _design(unit="class", sample={"clusters_per_arm": 2})
    assert shortfall(dc, rows) == {"A": {"classes": 1}, "B": {"classes": 1}}
    assert compare(d, rows[1:] + [Outcome("l5", "d", "A", {"mastery_gain": 0.0})] * 2, "mastery_gain").n == (2, 2)


def _t(day, hour=10):
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def test_learner_values_from_history_rows():
    obs = [Observation("o0", "l", "act1", ("k1",), 1.0, _t(2)), Observation("o1", "l", "act1", ("k1",), 1.0, _t(6)),
           Observation("o2", "l", "act2", ("k1", "k2"), 0.0, _t(6, 11)), Observation("o3", "l", "act1", ("k1",), 1, _t(20))]
    hist = [MasteryChange("l", "k1", "o0", 0.2, 0.4, 0.5, _t(2)), MasteryChange("l", "k1", "o1", 0.4, 0.7, 0.5, _t(6)),
            MasteryChange("l", "k1", "o2", 0.7, 0.6, 0.5, _t(6, 11)), MasteryChange("l", "k2", "o2", 0.3, 0.25, 0.5, _t(6, 11)),
            MasteryChange("l", "k1", "o3", 0.6, 0.9, 0.5, _t(20))]
    v = learner_values(hist, obs, ["k1", "k2"], date(2026, 1, 5), date(2026, 1, 10),
                       prior={"k2": 0.1}, minutes={"act1": 15, "act2": 20})
    # k1: 0.4 (after o0, before the window) -> 0.6; k2: 0.3 (before o2) -> 0.25
    assert v["mastery_gain"] == pytest.approx(((0.6 - 0.4) + (0.25 - 0.3)) / 2)
    assert v["time_on_task_min"] == 35 and v["observations"] == 2
    assert learner_values(hist, obs, ["k1"], date(2026, 1, 7), date(2026, 1, 19), prior={}, minutes={}) is None


def test_an_arm_may_switch_diagnostic_checks_on():
    """The diagnostic-check term is off by default (it did not pay in the simulated worlds):
    a school can try it on its own learners as one arm's weight."""
    from dataclasses import replace

    from planner.request import PlanWeights

    d = _design(arms=[{"name": "A"}, {"name": "checks", "weights": {"diagnostic": 1}}])
    assert design_from_dict(d.to_dict()) == d
    weights = dict(d.to_dict()["arms"][1]["weights"])
    assert replace(PlanWeights(), **weights).diagnostic == 1.0


def test_an_arm_may_switch_forgetting_protection_on():
    """What a review protects from forgetting (``planner.protection``) is off by default; a
    school can try it as one arm's weight, and the arm's requests carry it."""
    from dataclasses import replace

    from engine.planning._learned import plan_weights
    from planner.request import PlanWeights

    d = _design(arms=[{"name": "A"}, {"name": "protect", "weights": {"protect": 1, "fitted_forgetting": 1}}])
    assert design_from_dict(d.to_dict()) == d
    weights = plan_weights(dict(d.to_dict()["arms"][1]["weights"]))
    assert weights == {"protect": 1.0}  # the learned-model switch is not a plan weight
    assert replace(PlanWeights(), **weights).protect == 1.0 and PlanWeights().protect == 0.0
