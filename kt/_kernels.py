"""Numba kernels of log building (``kt.log.build_log``, ``kt.io.read_log``).

Private: call them only through ``kt.log`` / ``kt.io``, which validate and convert inputs.
Every kernel has a plain NumPy twin in ``tests/kt/test_io_kernels.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dense_codes(values, lo, width):
    """Dense int32 codes of integers in ``lo .. lo+width-1`` (sorted numerically).

    values: int64 (n,), every value in range. Returns (codes int32 (n,): rank of each value
    among the distinct values, distinct int64 (u,): the distinct values, ascending).
    """
    n = values.shape[0]
    table = np.zeros(width, dtype=np.int32)
    for i in range(n):
        table[values[i] - lo] = 1
    u = 0
    for j in range(width):
        u += table[j]
    distinct = np.empty(u, dtype=np.int64)
    u = 0
    for j in range(width):
        if table[j]:
            distinct[u] = lo + j
            table[j] = u
            u += 1
    codes = np.empty(n, dtype=np.int32)
    for i in range(n):
        codes[i] = table[values[i] - lo]
    return codes, distinct


@njit(cache=True, nogil=True)
def sort_events(learner, order, skill, item, outcome, n_learners, n_skills, use_item):
    """Stable sort by (learner, order) *in place*, then event ids and the repeated-key check.

    learner: int32 (n,) codes 0..n_learners-1; order: int64 (n,); skill: int32 (n,) codes
    0..n_skills-1; item: int32 (n,); outcome: int8 (n,); use_item: compare items (else order
    keys) to recognise skill copies of one answer. The five arrays are reordered in place
    (pass arrays you own; fewer fresh pages than new sorted copies).

    The permutation equals ``np.lexsort((order, learner))``: a stable counting sort by
    learner, then a stable merge sort of the order keys of any learner whose rows are not
    already in order. Row ``i`` (sorted) continues the event of row ``i-1`` when both have
    the same learner and outcome, the same item (or order key) and row ``i``'s skill is not
    yet in that event (``kt.log.assign_events``).

    Returns (perm int64 (n,): sorted row j was input row perm[j], event int64 (n,), bad int64:
    the first sorted row whose order key repeats the previous row's within a learner while it
    starts a new event, or -1).
    """
    n = learner.shape[0]
    start = np.zeros(n_learners + 1, dtype=np.int64)
    for i in range(n):
        start[learner[i] + 1] += 1
    for k in range(n_learners):
        start[k + 1] += start[k]
    fill = start[:n_learners].copy()
    perm = np.empty(n, dtype=np.int64)
    identity = True
    for i in range(n):
        k = learner[i]
        j = fill[k]
        perm[j] = i
        fill[k] = j + 1
        if j != i:
            identity = False
    # reorder the columns in place through one scratch array (later the event ids); the
    # order keys first, so each learner's block is checked (and sorted) contiguously
    event = np.empty(n, dtype=np.int64)
    if not identity:
        for j in range(n):
            event[j] = order[perm[j]]
    else:
        event[:] = order
    for k in range(n_learners):
        a = start[k]
        b = start[k + 1]
        ordered = True
        for j in range(a + 1, b):
            if event[j] < event[j - 1]:
                ordered = False
                break
        if not ordered:
            identity = False
            idx = np.argsort(event[a:b], kind="mergesort")
            keys = event[a:b].copy()
            block = perm[a:b].copy()
            for j in range(b - a):
                perm[a + j] = block[idx[j]]
                event[a + j] = keys[idx[j]]
    if not identity:
        order[:] = event
        for k in range(n_learners):  # sorted by learner: block k holds learner k
            learner[start[k]:start[k + 1]] = k
        for j in range(n):
            event[j] = skill[perm[j]]
        for j in range(n):
            skill[j] = event[j]
        for j in range(n):
            event[j] = item[perm[j]]
        for j in range(n):
            item[j] = event[j]
        for j in range(n):
            event[j] = outcome[perm[j]]
        for j in range(n):
            outcome[j] = event[j]
    # stamp[k] = the last event holding skill k (row j may join event e only if stamp != e)
    stamp = np.full(n_skills, -1, dtype=np.int64)
    e = 0
    bad = -1
    if n > 0:
        stamp[skill[0]] = 0
        event[0] = 0
    for j in range(1, n):
        sj = skill[j]
        same_learner = learner[j] == learner[j - 1]
        same_order = order[j] == order[j - 1]
        if use_item:
            same_answer = item[j] == item[j - 1]
        else:
            same_answer = same_order
        if not (same_learner and same_answer and outcome[j] == outcome[j - 1]
                and stamp[sj] != e):
            e += 1
            if bad < 0 and same_learner and same_order:
                bad = j
        stamp[sj] = e
        event[j] = e
    return perm, event, bad


@njit(cache=True, nogil=True)
def int_labels(values, width):
    """Decimal text of integers as UCS4 code points, one row per value (NUL padded).

    values: int64 (u,), each in (-2**63, 2**63); width: >= the longest text (sign included).
    Returns uint32 (u, width); ``.view(f"<U{width}")`` gives the same strings as
    ``values.astype(str)``.
    """
    u = values.shape[0]
    out = np.zeros((u, width), dtype=np.uint32)
    digits = np.empty(20, dtype=np.uint32)
    for r in range(u):
        v = values[r]
        neg = v < 0
        if neg:
            v = -v
        k = 0
        while True:
            digits[k] = 48 + v % 10
            k += 1
            v //= 10
            if v == 0:
                break
        pos = 0
        if neg:
            out[r, 0] = 45  # "-"
            pos = 1
        for j in range(k):
            out[r, pos + j] = digits[k - 1 - j]
    return out
