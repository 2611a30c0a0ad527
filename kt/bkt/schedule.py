"""Split EM tasks into one list per worker thread, balanced by work.

Numba splits a ``prange`` into equal *counts* of iterations per thread, so when tasks differ
in size (ASSISTments: the largest skill has 75 times the rows of the median one) one thread
finishes early and idles. ``balance`` assigns tasks greedily, largest first, to the worker
with the least work so far (LPT scheduling: within 4/3 of the best possible split). The
lists decide only which thread runs a task, never its result.
"""

from __future__ import annotations

import heapq

import numpy as np


def balance(tasks: np.ndarray, cost: np.ndarray, n_workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Worker lists for ``tasks`` (int64 (T,)) with work ``cost`` (float or int, (T,), >= 0).

    Returns (order int64 (T,), worker_start int64 (W+1,)): worker w runs
    ``order[worker_start[w]:worker_start[w+1]]``, largest task first. W = min(n_workers, T),
    at least 1. Deterministic: ties go to the lower task position and the lower worker.
    """
    tasks = np.asarray(tasks, dtype=np.int64)
    cost = np.asarray(cost, dtype=np.float64)
    if len(tasks) != len(cost):
        raise ValueError(f"{len(tasks)} tasks but {len(cost)} costs; give one cost per task")
    n_workers = max(1, min(int(n_workers), len(tasks)))
    by_size = np.argsort(-cost, kind="stable")
    if n_workers == 1:
        return tasks[by_size], np.array([0, len(tasks)], dtype=np.int64)
    heap = [(0.0, w) for w in range(n_workers)]
    owner = np.empty(len(tasks), dtype=np.int64)
    for i in by_size.tolist():
        load, w = heapq.heappop(heap)
        owner[i] = w
        heapq.heappush(heap, (load + float(cost[i]), w))
    # group by worker, keeping largest-first order inside each list
    ranked = np.empty(len(tasks), dtype=np.int64)
    ranked[by_size] = np.arange(len(tasks))
    order = np.lexsort((ranked, owner))
    counts = np.bincount(owner, minlength=n_workers)
    worker_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return tasks[order], worker_start
