"""The experiment harness on simulated schools where the true effect is known
(:mod:`engine.experiment.simulate`: the harness's own stratified assignment and analysis,
outcome = class effect + learner noise + the true effect for the second arm, a fresh
randomisation per replication, fixed seeds). Over 400 replications per case:

* with a real effect equal to the registered minimum detectable effect, the rejection rate is
  the planned power (two-sided binomial test against it, p > 0.001);
* with no effect, the rejection rate is alpha (binomial test against 0.05);
* under class randomisation with ICC 0.1 the class-level analysis keeps alpha and reaches the
  planned power, while a naive learner-level test of the same data does not keep alpha (the
  reason the harness analyses class means).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.experiment.analysis import welch
from engine.experiment.design import Design, design_from_dict
from engine.experiment.simulate import rejection_rate, school

REPS = 400
P_FLOOR = 0.001


def _design(unit: str, **sample) -> Design:
    return design_from_dict({
        "id": "sim", "arms": [{"name": "A"}, {"name": "B", "planner": "greedy"}], "unit": unit,
        "start": "2026-01-05", "end": "2026-03-27", "target_skills": ["k"],
        "sample": {"alpha": 0.05, "power": 0.8, **sample}})


LEARNER = _design("learner", mde=0.4)  # 100 learners per arm, classes of 20, stratified by class
CLASS = _design("class", mde=0.4, icc=0.1, class_size=20)  # 16 classes of 20 per arm


def _consistent(rate: float, target: float, reps: int = REPS) -> bool:
    return stats.binomtest(round(rate * reps), reps, target).pvalue > P_FLOOR


def test_the_simulated_schools_have_the_planned_sample():
    assert LEARNER.sample.n_per_arm == 100 and len(school(LEARNER)) == 200
    assert CLASS.sample.clusters_per_arm == 16 and len({u.class_id for u in school(CLASS)}) == 32


def test_learner_randomised_finds_a_real_effect_at_the_planned_power():
    rate = rejection_rate(LEARNER, effect=0.4, icc=0.0, reps=REPS, seed=1).rate
    assert _consistent(rate, 0.8), f"power {rate:.3f}, planned 0.80"


def test_learner_randomised_null_rejects_at_alpha():
    rate = rejection_rate(LEARNER, effect=0.0, icc=0.0, reps=REPS, seed=2).rate
    assert _consistent(rate, 0.05), f"false-positive rate {rate:.3f}, alpha 0.05"


def test_learner_randomised_within_classes_keeps_alpha_with_class_effects():
    # stratified by class, so class effects cancel between arms: the test may be conservative
    rate = rejection_rate(LEARNER, effect=0.0, icc=0.2, reps=REPS, seed=3).rate
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / REPS), f"false-positive rate {rate:.3f}"


def test_class_randomised_finds_a_real_effect_at_the_planned_power():
    rate = rejection_rate(CLASS, effect=0.4, icc=0.1, reps=REPS, seed=4).rate
    assert _consistent(rate, 0.8), f"power {rate:.3f}, planned 0.80"


def test_class_randomised_null_keeps_alpha_with_intra_class_correlation():
    rate = rejection_rate(CLASS, effect=0.0, icc=0.1, reps=REPS, seed=5).rate
    assert _consistent(rate, 0.05), f"false-positive rate {rate:.3f}, alpha 0.05"


def _naive(design, units, arms, y):
    treated = np.array([arms[u.learner_id] == "B" for u in units])
    return welch(y[~treated], y[treated]).p_value


def test_naive_learner_test_of_class_randomised_data_does_not_keep_alpha():
    """On the same data a learner-level test rejects a true null far more often than alpha:
    its SE misses the design effect 1 + 19 * 0.1 = 2.9, so the rate is about
    P(|Z| > 1.96 / sqrt(2.9)) = 0.25 (0.238 over 1,000 replications)."""
    rate = rejection_rate(CLASS, effect=0.0, icc=0.1, reps=200, seed=6, analyse=_naive).rate
    assert rate > 2 * 0.05, f"naive false-positive rate {rate:.3f}"


def test_an_underpowered_design_is_seen_as_such():
    """Half the planned effect: power well below the planned 0.8 (about 0.29)."""
    rate = rejection_rate(LEARNER, effect=0.2, icc=0.0, reps=REPS, seed=7).rate
    assert _consistent(rate, 0.29) and rate < 0.4, f"power {rate:.3f}"


@pytest.mark.parametrize("design", [LEARNER, CLASS], ids=["learner", "class"])
def test_replications_are_deterministic(design):
    assert (rejection_rate(design, 0.2, 0.1, reps=20, seed=9)
            == rejection_rate(design, 0.2, 0.1, reps=20, seed=9))
