"""Worker lists for the EM kernel: a partition of the tasks, balanced, and result-neutral."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kt.bkt import schedule


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=60), st.integers(1, 8))
def test_balance_partitions_tasks_within_the_lpt_bound(costs, n_workers):
    tasks = np.arange(100, 100 + len(costs), dtype=np.int64)
    cost = np.array(costs, dtype=np.float64)
    order, start = schedule.balance(tasks, cost, n_workers)
    w = min(n_workers, len(costs))
    assert len(start) == w + 1 and start[0] == 0 and start[-1] == len(costs)
    assert np.all(np.diff(start) >= 0)
    assert sorted(order.tolist()) == tasks.tolist()  # every task exactly once
    loads = np.array([cost[order[a:b] - 100].sum() for a, b in zip(start[:-1], start[1:], strict=True)])
    # greedy least-loaded assignment: no worker exceeds the mean load by more than one task
    assert loads.max() <= cost.sum() / w + cost.max() + 1e-9
    for a, b in zip(start[:-1], start[1:], strict=True):  # largest first inside each list
        assert np.all(np.diff(cost[order[a:b] - 100]) <= 0)


def test_balance_splits_a_skewed_set_evenly():
    # one big task and many small ones: a split by count would give one worker 75% of the work
    cost = np.array([600.0] + [10.0] * 60)
    order, start = schedule.balance(np.arange(61), cost, 2)
    loads = [cost[order[a:b]].sum() for a, b in zip(start[:-1], start[1:], strict=True)]
    assert sorted(loads) == [600.0, 600.0]


def test_balance_is_deterministic_and_checks_lengths():
    cost = np.array([5, 5, 3, 3, 1, 1], dtype=np.float64)
    first = schedule.balance(np.arange(6), cost, 3)
    again = schedule.balance(np.arange(6), cost, 3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    with pytest.raises(ValueError, match="one cost per task"):
        schedule.balance(np.arange(3), np.ones(2), 2)
