"""Issue 15 item 6: every playlist solve reports an honest gap against a valid bound."""

from __future__ import annotations

import math

import pytest

from planner.playlist.plan import GAP_TARGET, solve_candidates
from tests.planner.test_playlist import _brute_force, small_instance


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reported_gap_is_honest_against_brute_force(school, seed):
    c = small_instance(*school, seed)
    best = _brute_force(c)
    enum = solve_candidates(c).playlist
    assert enum.gap == 0.0 and enum.objective == pytest.approx(best, rel=1e-6)
    fast = solve_candidates(c, use_enumeration=False).playlist  # time-limited path
    assert math.isfinite(fast.gap) and 0.0 <= fast.gap <= GAP_TARGET
    # the gap is a valid bound: the true optimum is within it of the reported objective
    assert best <= fast.objective + fast.gap * abs(fast.objective) / (1 - fast.gap) + 1e-6
    assert fast.objective <= best + 1e-9
