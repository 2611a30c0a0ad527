"""Interim looks with alpha spending: the boundaries spend exactly the O'Brien-Fleming-type
alpha (checked by Monte Carlo on the joint normal of the looks' z statistics, an independent
computation), and on simulated schools looks at 1/3, 2/3 and the end keep the overall false-
positive rate at alpha while plain peeking (p < 0.05 at every look) does not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.errors import ValidationError
from engine.experiment.design import design_from_dict
from engine.experiment.sequential import boundaries, level, spent
from engine.experiment.simulate import sequential_rejection_rate

LEARNER = design_from_dict({
    "id": "seq", "arms": [{"name": "A"}, {"name": "B", "planner": "greedy"}], "start": "2026-01-05",
    "end": "2026-03-27", "target_skills": ["k"], "sample": {"mde": 0.4}})


def test_one_look_is_the_plain_test_and_spending_is_o_brien_fleming():
    assert boundaries([1.0], 0.05) == [pytest.approx(1.959964)]
    assert spent(1.0, 0.05) == 0.05 and spent(0.25, 0.05) == pytest.approx(2 - 2 * stats.norm.cdf(1.959964 / 0.5))
    c = boundaries([0.5, 1.0], 0.05)
    assert c[0] == pytest.approx(1.959964 / np.sqrt(0.5), rel=1e-5) and 1.96 < c[1] < 2.0
    assert level(1.959964) == pytest.approx(0.05, rel=1e-5)


@pytest.mark.parametrize("fractions", [[0.5, 1.0], [1 / 3, 2 / 3, 1.0], [0.2, 0.45, 0.7, 1.0]])
def test_boundaries_spend_alpha_by_monte_carlo(fractions):
    """Z_k = S(t_k) / sqrt(t_k) for a Brownian motion S: the cumulative crossing probability
    at each look equals the spending function (400,000 paths, 3 SE)."""
    c = np.array(boundaries(fractions, 0.05))
    rng = np.random.default_rng(0)
    t = np.array(fractions)
    steps = rng.standard_normal((400_000, len(t))) * np.sqrt(np.diff(np.r_[0.0, t]))
    z = np.cumsum(steps, axis=1) / np.sqrt(t)
    crossed = np.cumsum(np.abs(z) >= c, axis=1) > 0
    for k, tk in enumerate(t):
        want = spent(tk, 0.05)
        se = np.sqrt(want * (1 - want) / len(z))
        assert abs(crossed[:, k].mean() - want) < 3 * se + 1e-5, (k, crossed[:, k].mean(), want)


def test_bad_fractions_are_refused():
    with pytest.raises(ValidationError, match="increase strictly"):
        boundaries([0.5, 0.5], 0.05)


def test_looks_with_spending_keep_alpha_and_peeking_does_not():
    spend = sequential_rejection_rate(LEARNER, 0.0, [1 / 3, 2 / 3, 1.0], reps=400, seed=1)
    assert stats.binomtest(spend.rejections, spend.reps, 0.05).pvalue > 0.001, spend.rate
    peek = sequential_rejection_rate(LEARNER, 0.0, [1 / 3, 2 / 3, 1.0], reps=400, seed=1, spend=False)
    assert peek.rate > 0.075, peek.rate  # about 0.107 in theory for three looks
    # power stays near the planned 0.8 (theory about 0.79 with these looks); 1,000 replications
    # because 400 vary by +-0.06 at 3 SE
    power = sequential_rejection_rate(LEARNER, 0.4, [1 / 3, 2 / 3, 1.0], reps=1000, seed=5)
    assert stats.binomtest(power.rejections, power.reps, 0.79).pvalue > 0.001, power.rate
