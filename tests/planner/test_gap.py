"""Every playlist solve reports its optimality gap, and the gap is a true certificate:
the exact optimum is never more than ``gap`` above the returned plan (issue 15 item 6)."""

from __future__ import annotations

import math

import pytest

from planner.model import PlaylistRequest
from planner.playlist.plan import plan_playlist, relative_gap
from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner


@pytest.fixture(scope="module")
def school():
    g = synthetic_graph(0)
    return g, synthetic_catalog(g, 0)


@pytest.mark.parametrize("seed", range(6))
def test_time_limited_gap_bounds_the_exact_optimum(school, seed):
    g, cat = school
    lr = synthetic_learner(g, seed)
    req = PlaylistRequest(budget_min=120, length_max=10, format_cap=3, time_limit_s=0.01)
    fast = plan_playlist(g, cat, lr, req)
    exact = plan_playlist(g, cat, lr, PlaylistRequest(**{**req.__dict__, "exact": True}))
    assert math.isfinite(fast.gap) and 0.0 <= fast.gap <= 1.0
    assert exact.gap <= 1e-5 and exact.status in ("optimal", "relaxed")
    if not fast.conflicts and not exact.conflicts:
        assert fast.objective >= (1.0 - fast.gap) * exact.objective - 1e-9


def test_tiny_problem_is_proved(fractions_graph, fractions_catalog, fractions_learner):
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner,
                       PlaylistRequest(budget_min=45, length_max=3))
    assert pl.gap == 0.0


def test_relative_gap():
    assert relative_gap(0.9, 1.0) == pytest.approx(0.1)
    assert relative_gap(1.1, 1.0) == 0.0
    assert math.isnan(relative_gap(1.0, float("inf")))
