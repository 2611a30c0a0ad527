"""planner._highs.run_highs: the class plans' silent HiGHS run, checked against known answers
and against scipy's milp (another HiGHS front end) on random small models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_array

from planner._highs import INFEASIBLE, OPTIMAL, run_highs


def test_a_knapsack_by_hand():
    # max 5a + 4b + 3c  s.t. 2a + 3b + c <= 4, binaries: a + c (value 8) is the optimum
    cost = -np.array([5.0, 4.0, 3.0])
    matrix = csc_array(np.array([[2.0, 3.0, 1.0]]))
    run = run_highs(cost, np.zeros(3), np.ones(3), matrix, np.array([-np.inf]), np.array([4.0]),
                    np.ones(3, dtype=bool), time_limit=5.0, gap=1e-9)
    assert run.status == OPTIMAL and run.optimal
    assert np.round(run.x).tolist() == [1.0, 0.0, 1.0]
    assert run.bound == pytest.approx(-8.0)


def test_infeasible_is_reported_without_a_point():
    matrix = csc_array(np.array([[1.0, 1.0]]))
    run = run_highs(np.ones(2), np.zeros(2), np.ones(2), matrix, np.array([3.0]), np.array([np.inf]),
                    np.ones(2, dtype=bool), time_limit=5.0, gap=1e-9)
    assert run.status == INFEASIBLE and run.x is None and not run.optimal


@pytest.mark.parametrize("seed", range(6))
def test_same_optimum_as_scipy_milp(seed):
    rng = np.random.default_rng(seed)
    n, m = 12, 5
    cost = -rng.uniform(0.0, 1.0, n)
    a = rng.uniform(0.0, 1.0, (m, n)) * (rng.random((m, n)) < 0.6)
    hi = a.sum(axis=1) * 0.4
    integer = rng.random(n) < 0.7
    run = run_highs(cost, np.zeros(n), np.ones(n), csc_array(a), np.full(m, -np.inf), hi, integer,
                    time_limit=10.0, gap=1e-9)
    ref = milp(cost, integrality=integer.astype(int), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(a, -np.inf, hi)], options={"mip_rel_gap": 1e-9})
    assert run.status == OPTIMAL and ref.status == 0
    assert float(cost @ run.x) == pytest.approx(ref.fun, abs=1e-7)
    assert np.all(a @ run.x <= hi + 1e-7)

