"""kt._kernels (log building) against plain NumPy twins."""

from __future__ import annotations

import numpy as np
import pytest

from kt import _kernels


def events_twin(lc, sc, ic, oc, rc, use_item):
    """Plain-Python twin of ``_kernels.sorted_events`` on sorted rows: (event, bad).

    Key group = rows of one learner with one order key. A key group joins the previous
    event only with ``use_item``, the same learner, item and outcome, and no skill of the
    group in that event; inside a key group a repeated skill (exact duplicate) or a
    different item/outcome (bad) starts a new event.
    """
    n = len(lc)
    event = np.zeros(n, np.int64)
    bad, e, skills = -1, -1, set()
    for j in range(n):
        same_key = j > 0 and lc[j] == lc[j - 1] and rc[j] == rc[j - 1]
        if same_key:
            new = ic[j] != ic[j - 1] or oc[j] != oc[j - 1] or sc[j] in skills
            if (ic[j] != ic[j - 1] or oc[j] != oc[j - 1]) and bad < 0:
                bad = j
        else:
            group = [k for k in range(j, n) if lc[k] == lc[j] and rc[k] == rc[j]]
            new = not (use_item and j > 0 and lc[j] == lc[j - 1] and ic[j] == ic[j - 1]
                       and oc[j] == oc[j - 1] and not skills & {sc[k] for k in group})
        if new:
            e, skills = e + 1, set()
        skills.add(sc[j])
        event[j] = e
    return event, bad


def sort_events_twin(learner, order, skill, item, outcome, use_item):
    """Twin of ``_kernels.sort_events``: lexsort, then ``events_twin``."""
    perm = np.lexsort((order, learner))
    lc, sc, ic, oc, rc = learner[perm], skill[perm], item[perm], outcome[perm], order[perm]
    event, bad = events_twin(lc, sc, ic, oc, rc, use_item)
    return perm, lc, sc, ic, oc, rc, event, bad


def random_log(rng, n, n_learners, n_skills, n_items, sorted_learners, order_span):
    learner = rng.integers(0, n_learners, n).astype(np.int32)
    if sorted_learners:
        learner.sort()
    order = rng.integers(0, order_span, n).astype(np.int64)
    skill = rng.integers(0, n_skills, n).astype(np.int32)
    item = rng.integers(0, n_items, n).astype(np.int32)
    outcome = rng.integers(0, 2, n).astype(np.int8)
    # skill copies: repeat some rows right after themselves with another (or the same) skill
    dup = np.flatnonzero(rng.random(n) < 0.3)
    idx = np.sort(np.concatenate([np.arange(n), dup, dup[: len(dup) // 2]]))
    learner, order, item, outcome = learner[idx], order[idx], item[idx], outcome[idx]
    skill = rng.integers(0, n_skills, len(idx)).astype(np.int32)
    return learner, order, skill, item, outcome


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("use_item", [True, False])
def test_sort_events_matches_numpy_twin(seed, use_item):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    n_learners = int(rng.integers(1, 12))
    n_skills = int(rng.integers(1, 5))
    cols = random_log(rng, n, n_learners, n_skills, int(rng.integers(1, 4)), seed % 2 == 0,
                      int(rng.integers(2, 10_000)))
    want = sort_events_twin(*cols, use_item)
    sorted_in_place = [c.copy() for c in cols]
    perm, event, bad = _kernels.sort_events(*sorted_in_place, n_learners, n_skills, use_item)
    np.testing.assert_array_equal(perm, want[0])
    # learner, order, skill, item, outcome reordered in place
    for got, w in zip(sorted_in_place, (want[1], want[5], want[2], want[3], want[4]),
                      strict=True):
        np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(event, want[6])
    assert bad == want[7]


def test_sort_events_detects_repeated_order_key():
    learner = np.array([0, 0, 1, 1], np.int32)
    order = np.array([5, 5, 1, 2], np.int64)
    skill = np.array([0, 0, 0, 0], np.int32)
    item = np.array([3, 4, 3, 3], np.int32)  # two items under key 5: two answers
    outcome = np.ones(4, np.int8)
    _, event, bad = _kernels.sort_events(learner, order, skill, item, outcome, 2, 1, True)
    assert bad == 1
    np.testing.assert_array_equal(event, [0, 1, 2, 3])
    item[:] = 3
    outcome[1] = 0  # one item, two outcomes under key 5: two answers
    _, event, bad = _kernels.sort_events(learner, order, skill, item, outcome, 2, 1, True)
    assert bad == 1


def test_exact_duplicate_row_is_its_own_event_not_an_error():
    # same learner, key, item, outcome and skill twice (ct.csv has one such row)
    learner = np.zeros(3, np.int32)
    order = np.array([5, 5, 6], np.int64)
    skill = np.zeros(3, np.int32)
    item = np.zeros(3, np.int32)
    outcome = np.ones(3, np.int8)
    _, event, bad = _kernels.sort_events(learner, order, skill, item, outcome, 1, 1, True)
    assert bad == -1
    np.testing.assert_array_equal(event, [0, 1, 2])


def test_multi_skill_step_after_a_step_of_its_skill_keeps_its_key_group_whole():
    # ct_2020_multiskill: step (key 1, skill B), then a '~~' step (key 2, skills A and B) of
    # the same problem and outcome. The key-2 group is one answer; B is in the open event,
    # so the whole group starts a new event (was: A joined, B split off -> "different answers")
    learner = np.zeros(3, np.int32)
    order = np.array([1, 2, 2], np.int64)
    skill = np.array([1, 0, 1], np.int32)
    item = np.zeros(3, np.int32)
    outcome = np.ones(3, np.int8)
    _, event, bad = _kernels.sort_events(learner, order, skill, item, outcome, 1, 2, True)
    assert bad == -1
    np.testing.assert_array_equal(event, [0, 1, 1])


def test_sort_events_splits_run_at_repeated_skill():
    # one learner answers item 7 three times in a row tagged A, B, A: events {A, B}, {A}
    learner = np.zeros(3, np.int32)
    order = np.array([1, 2, 3], np.int64)
    skill = np.array([0, 1, 0], np.int32)
    item = np.full(3, 7, np.int32)
    outcome = np.ones(3, np.int8)
    _, event, bad = _kernels.sort_events(learner, order, skill, item, outcome, 1, 2, True)
    np.testing.assert_array_equal(event, [0, 0, 1])
    assert bad == -1


@pytest.mark.parametrize("seed", range(6))
def test_dense_codes_matches_unique(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(-50, 10_000, int(rng.integers(1, 3000))).astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    codes, distinct = _kernels.dense_codes(values, lo, hi - lo + 1)
    want_distinct, want_codes = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(distinct, want_distinct)
    np.testing.assert_array_equal(codes, want_codes)
    assert codes.dtype == np.int32


def test_int_labels_matches_astype_str():
    values = np.array([0, 5, -7, 10, 196456, -1234567890123, 2**62, -(2**62), 99], np.int64)
    width = max(len(str(v)) for v in values.tolist())
    text = _kernels.int_labels(values, width).view(f"<U{width}").reshape(-1)
    np.testing.assert_array_equal(text, values.astype(str))
    rng = np.random.default_rng(3)
    values = np.unique(rng.integers(-(10**12), 10**12, 500))
    width = max(len(str(v)) for v in values.tolist())
    text = _kernels.int_labels(values, width).view(f"<U{width}").reshape(-1)
    assert text.tolist() == [str(v) for v in values.tolist()]


def test_building_a_log_leaves_the_callers_arrays_alone():
    from kt.log import ObservationLog, build_log

    learner = np.array([2, 1, 2, 1], np.int64)
    skill = np.array([0, 1, 1, 0], np.int32)
    outcome = np.array([1, 0, 1, 1], np.int8)
    order = np.array([9, 8, 7, 6], np.int64)
    before = [a.copy() for a in (learner, skill, outcome, order)]
    log = ObservationLog.from_arrays(learner=learner, skill=skill, outcome=outcome, order=order)
    assert log.order.tolist() == [6, 8, 7, 9]
    codes = (np.array([1, 0, 1, 0], np.int32), np.array(["1", "2"]))
    kept = codes[0].copy()
    log = build_log(
        learner=np.zeros(0), skill=skill, item=None, outcome=outcome, order=order, classes={},
        source_row=np.arange(4), names={"skill": "s", "order": "o"}, source="t",
        coded={"learner": codes},
    )
    assert log.order.tolist() == [6, 8, 7, 9]
    for a, b in zip((learner, skill, outcome, order), before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(codes[0], kept)
