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


# Kept as one kernel over 60 lines (issue 10 item 9): counting sort, per-learner merge sort and
# event ids share scratch arrays in one compiled pass; helpers would re-pass them (not timed).
@njit(cache=True, nogil=True)
def sort_events(learner, order, skill, item, outcome, n_learners, n_skills, use_item):
    """Stable sort by (learner, order) *in place*, then event ids and the repeated-key check.

    learner: int32 (n,) codes 0..n_learners-1; order: int64 (n,); skill: int32 (n,) codes
    0..n_skills-1; item: int32 (n,) (all equal when the log has no items); outcome: int8 (n,);
    use_item: key groups of one item may join one answer (see :func:`sorted_events`). The
    five arrays are reordered in place (pass arrays you own; fewer fresh pages than new
    sorted copies).

    The permutation equals ``np.lexsort((order, learner))``: a stable counting sort by
    learner, then a stable merge sort of the order keys of any learner whose rows are not
    already in order. Event ids and ``bad`` as in :func:`sorted_events`.

    Returns (perm int64 (n,): sorted row j was input row perm[j], event int64 (n,), bad int64).
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
    bad = sorted_events(learner, order, skill, item, outcome, n_skills, use_item, event)
    return perm, event, bad


@njit(cache=True, nogil=True)
def sorted_events(learner, order, skill, item, outcome, n_skills, use_item, event):
    """Event ids of rows sorted by (learner, order), written into ``event`` (int64 (n,)).

    Rows of one learner with one order key form a *key group*. A key group is one answer:
    its rows share an event, except a row whose skill is already in the event, which is an
    exact duplicate row (same learner, order key, item, outcome and skill) and starts a new
    event. With ``use_item`` a key group also joins the previous key group's event (skill
    copies of one answer under neighbouring order keys, as in ASSISTments 2009) when it has
    the same learner, item and outcome and none of its skills is in that event yet; a whole
    key group always joins or starts together. Skill codes 0..n_skills-1.

    Returns bad (int64): the first row whose order key repeats the previous row's within a
    learner with a different item or outcome (two different answers under one key), or -1.
    """
    n = learner.shape[0]
    stamp = np.full(n_skills, -1, dtype=np.int64)  # last event holding each skill
    e = -1
    bad = -1
    for j in range(n):
        same_key = j > 0 and learner[j] == learner[j - 1] and order[j] == order[j - 1]
        if same_key:
            if item[j] != item[j - 1] or outcome[j] != outcome[j - 1]:
                if bad < 0:
                    bad = j
                e += 1
            elif stamp[skill[j]] == e:
                e += 1  # exact duplicate row: its own event
        else:
            join = (use_item and j > 0 and learner[j] == learner[j - 1]
                    and item[j] == item[j - 1] and outcome[j] == outcome[j - 1])
            k = j
            while join and k < n and learner[k] == learner[j] and order[k] == order[j]:
                if stamp[skill[k]] == e:
                    join = False
                k += 1
            if not join:
                e += 1
        stamp[skill[j]] = e
        event[j] = e
    return bad


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
