"""Re-planning after new evidence: churn penalty, frozen items, no reshuffle for tiny changes."""

from __future__ import annotations

import dataclasses

import pytest

from planner.errors import PlanInputError
from planner.model import PlaylistRequest
from planner.playlist import plan_playlist
from planner.replan import replan
from tests.planner.conftest import check_hard

REQ = PlaylistRequest(budget_min=90, length_max=8, format_cap=2, exact=True)


def _with_mastery(learner, **updates):
    m = dict(learner.mastery)
    m.update(updates)
    return dataclasses.replace(learner, mastery=m)


def _changes(a, b) -> int:
    return len(set(a.activity_ids) ^ set(b.activity_ids))


def test_tiny_change_keeps_the_approved_plan(school, school_learners):
    graph, catalog = school
    learner = school_learners[1]
    prev = plan_playlist(graph, catalog, learner, REQ)
    target = prev.items[0].target_skill
    nudged = _with_mastery(learner, **{target: learner.mastery_of(target) + 0.01})
    new = replan(graph, catalog, nudged, REQ, prev)
    assert new.solver == "kept"
    assert new.activity_ids == prev.activity_ids
    assert new.items[0].reason.mastery_now == pytest.approx(learner.mastery_of(target) + 0.01)


def test_mastered_skill_triggers_a_new_plan_and_frozen_items_stay(school, school_learners):
    graph, catalog = school
    learner = school_learners[2]
    prev = plan_playlist(graph, catalog, learner, REQ)
    assert len(prev.items) >= 3
    done = prev.activity_ids[0]
    # everything the plan worked on is now mastered
    mastered = {i.target_skill: 0.99 for i in prev.items}
    new = replan(graph, catalog, _with_mastery(learner, **mastered), REQ, prev, done=[done])
    assert new.solver != "kept"
    assert new.activity_ids[0] == done
    assert new.items[0].reason.basis == "frozen"
    assert set(new.activity_ids[1:]) != set(prev.activity_ids[1:])
    assert check_hard(graph, catalog, _with_mastery(learner, **mastered), REQ, new,
                      exempt=frozenset({done})) == []


def test_churn_penalty_reduces_changes(school, school_learners):
    graph, catalog = school
    total_free, total_sticky = 0, 0
    for learner in school_learners:
        prev = plan_playlist(graph, catalog, learner, REQ)
        if not prev.items:
            continue
        # moderate evidence: the first target moved up a lot, one other skill went down
        t = prev.items[0].target_skill
        moved = _with_mastery(learner, **{t: min(0.94, learner.mastery_of(t) + 0.4)})
        free = replan(graph, catalog, moved, REQ, prev, churn_penalty=0.0, min_improvement=0.0)
        sticky = replan(graph, catalog, moved, REQ, prev, churn_penalty=0.5, min_improvement=0.0)
        assert _changes(prev, sticky) <= _changes(prev, free)
        assert free.objective >= sticky.objective - 1e-9  # stability costs some objective
        total_free += _changes(prev, free)
        total_sticky += _changes(prev, sticky)
    assert total_free > 0, "the evidence should move at least one unconstrained plan"
    assert total_sticky < total_free


def test_bad_replan_input(school, school_learners):
    graph, catalog = school
    prev = plan_playlist(graph, catalog, school_learners[0], REQ)
    with pytest.raises(PlanInputError, match="churn_penalty"):
        replan(graph, catalog, school_learners[0], REQ, prev, churn_penalty=-1)
    with pytest.raises(PlanInputError, match="ghost"):
        replan(graph, catalog, school_learners[0], REQ, prev, started=["ghost"])
