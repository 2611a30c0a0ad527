"""The experiment harness on simulated schools where the true effect is known.

Each replication builds a school (classes of learners, a class effect with intra-class
correlation ``icc``), registers a design, assigns arms with the harness's own stratified
assignment (seed = replication), draws outcomes with the true effect for arm B and analyses
them with the harness's own analysis. Over many replications:

* with a real effect equal to the registered minimum detectable effect, the rejection rate is
  the planned power (binomial test against it);
* with no effect, the rejection rate is alpha (binomial test against 0.05);
* under class randomisation with ICC > 0 the class-level analysis keeps alpha, while a naive
  learner-level test on the same data does not (the reason the harness analyses classes).

Outcome model: y = sqrt(icc) * u_class + sqrt(1 - icc) * e_learner + effect * [arm B],
u, e ~ N(0, 1), so the outcome SD is 1 and ``effect`` is Cohen's d.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.experiment.analysis import compare, welch
from engine.experiment.assignment import Unit, assign
from engine.experiment.design import Design, design_from_dict
from engine.experiment.outcome import Outcome

REPS = 400
# a rate is accepted when a two-sided binomial test against the planned rate gives p > 0.001
P_FLOOR = 0.001


def _design(unit: str, seed: int, **sample) -> Design:
    return design_from_dict({
        "id": "sim", "arms": [{"name": "A"}, {"name": "B", "planner": "greedy"}], "unit": unit,
        "seed": seed, "start": "2026-01-05", "end": "2026-03-27", "target_skills": ["k"],
        "sample": {"alpha": 0.05, "power": 0.8, **sample}})


def _school(n_classes: int, class_size: int) -> list[Unit]:
    return [Unit(f"c{c}-l{i}", f"c{c}", str(3 + c % 3)) for c in range(n_classes) for i in range(class_size)]


def _replicate(unit: str, effect: float, true_icc: float, *, reps: int = REPS, naive: bool = False,
               **sample) -> float:
    """Rejection rate at alpha over ``reps`` simulated experiments sized as the design plans."""
    plan = _design(unit, 0, **sample).sample
    class_size = int(plan.class_size) if unit == "class" else 20
    n_classes = 2 * plan.clusters_per_arm if unit == "class" else -(-2 * plan.n_per_arm // class_size)
    units = _school(n_classes, class_size)
    cls_idx = np.array([int(u.class_id[1:]) for u in units])
    rng = np.random.default_rng(12345)
    rejections = 0
    for r in range(reps):
        design = _design(unit, r, **sample)
        arms = assign(design, units)
        treated = np.array([arms[u.learner_id] == "B" for u in units])
        y = (np.sqrt(true_icc) * rng.standard_normal(n_classes)[cls_idx]
             + np.sqrt(1 - true_icc) * rng.standard_normal(len(units)) + effect * treated)
        if naive:
            p = welch(y[~treated], y[treated]).p_value
        else:
            outcomes = [Outcome(u.learner_id, u.class_id, arms[u.learner_id], {"mastery_gain": float(v)})
                        for u, v in zip(units, y, strict=True)]
            p = compare(design, outcomes, "mastery_gain").test.p_value
        rejections += p < design.sample.alpha
    return rejections / reps


def _consistent(rate: float, target: float, reps: int = REPS) -> bool:
    return stats.binomtest(round(rate * reps), reps, target).pvalue > P_FLOOR


def test_learner_randomised_finds_a_real_effect_at_the_planned_power():
    rate = _replicate("learner", effect=0.4, true_icc=0.0, mde=0.4)
    assert _consistent(rate, 0.8), f"power {rate:.3f}, planned 0.80"


def test_learner_randomised_null_rejects_at_alpha():
    rate = _replicate("learner", effect=0.0, true_icc=0.0, mde=0.4)
    assert _consistent(rate, 0.05), f"false-positive rate {rate:.3f}, alpha 0.05"


def test_learner_randomised_within_classes_keeps_alpha_with_class_effects():
    # stratified by class, so class effects cancel between arms: the test may be conservative
    rate = _replicate("learner", effect=0.0, true_icc=0.2, mde=0.4)
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / REPS), f"false-positive rate {rate:.3f}"


def test_class_randomised_finds_a_real_effect_at_the_planned_power():
    rate = _replicate("class", effect=0.4, true_icc=0.1, mde=0.4, icc=0.1, class_size=20)
    assert _consistent(rate, 0.8), f"power {rate:.3f}, planned 0.80"


def test_class_randomised_null_keeps_alpha_with_intra_class_correlation():
    rate = _replicate("class", effect=0.0, true_icc=0.1, mde=0.4, icc=0.1, class_size=20)
    assert _consistent(rate, 0.05), f"false-positive rate {rate:.3f}, alpha 0.05"


def test_naive_learner_test_of_class_randomised_data_does_not_keep_alpha():
    """Why the harness analyses class means: on the same data a learner-level test rejects a
    true null far more often than alpha (design effect 1 + 19 * 0.1 = 2.9)."""
    rate = _replicate("class", effect=0.0, true_icc=0.1, reps=200, naive=True, mde=0.4, icc=0.1, class_size=20)
    assert rate > 0.15, f"naive false-positive rate {rate:.3f}"


@pytest.mark.parametrize("unit", ["learner", "class"])
def test_replications_are_deterministic(unit):
    kw = {"icc": 0.1, "class_size": 20} if unit == "class" else {}
    assert _replicate(unit, 0.2, 0.1, reps=20, mde=0.4, **kw) == _replicate(unit, 0.2, 0.1, reps=20, mde=0.4, **kw)
