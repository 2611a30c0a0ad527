"""Reasons on every item (data + one sentence) and "why not X?"."""

from __future__ import annotations

import dataclasses
import math

from planner.model import MASTERED_THRESHOLD, PlaylistRequest
from planner.playlist import plan_playlist
from planner.reasons import build_reason
from planner.whynot import why_not

REQ = PlaylistRequest(budget_min=60, length_max=6, format_cap=2)


def test_every_item_has_a_reason(fractions_graph, fractions_catalog, fractions_learner):
    req = dataclasses.replace(REQ, modality_bounds={"online": (1, 2)})
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    titles = {a.id: a.title for a in fractions_catalog}
    assert pl.items
    for item in pl.items:
        r = item.reason
        assert r.sentence.endswith(".") and r.sentence.count(".") >= 1
        assert titles[item.activity_id] in r.sentence
        assert r.target_title in r.sentence
        assert f"{r.mastery_now:.2f} → {r.mastery_after:.2f}" in r.sentence
        assert r.mastery_after - r.mastery_now == item.expected_gain
        assert any("budget" in c for c in r.constraints)
        assert r.basis in ("ready", "chained", "review", "prerequisite_gap", "pinned", "locked",
                           "frozen")


def test_reason_facts_for_ready_chained_goal_and_preference(fractions_graph, fractions_catalog,
                                                            fractions_learner):
    req = dataclasses.replace(REQ, budget_min=90, pins=("add-lesson",))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    by = {i.activity_id: i for i in pl.items}
    lesson = by["add-lesson"].reason
    assert lesson.is_goal and "goal" in lesson.sentence
    assert "pinned by your teacher" in lesson.constraints
    # its prerequisite "common" is taught earlier in the same playlist
    teachers = [a for a in ("common-video", "common-practice") if a in by]
    assert teachers and by[teachers[0]].position < by["add-lesson"].position
    common = by[teachers[0]].reason
    assert common.basis == "ready"
    assert ("equiv", 0.97) in common.prerequisites and "equivalent fractions" in common.sentence
    if "mult-game" in by:
        assert "interest:space" in by["mult-game"].reason.preferences
        assert "space" in by["mult-game"].reason.sentence


def test_chained_reason_names_the_earlier_item(fractions_graph, fractions_catalog,
                                               fractions_learner):
    req = dataclasses.replace(REQ, budget_min=90, must_cover=("add",))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    chained = [i for i in pl.items if i.reason.basis == "chained"]
    assert chained
    for item in chained:
        assert item.reason.taught_earlier
        earlier = set(pl.activity_ids[: item.position])
        assert set(item.reason.taught_earlier) <= earlier
        assert "earlier in this playlist" in item.reason.sentence


def test_why_not_reports_budget_and_cost(fractions_graph, fractions_catalog, fractions_learner):
    req = dataclasses.replace(REQ, budget_min=50)
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    assert "mult-group" not in pl.activity_ids
    ans = why_not(fractions_graph, fractions_catalog, fractions_learner, req, "mult-group",
                  playlist=pl)
    assert not ans.in_plan
    assert "budget" in ans.excluded_by
    assert ans.objective_cost >= -1e-9
    assert ans.alternative is not None and "mult-group" in ans.alternative.activity_ids
    assert ans.dropped and "over the 50-min budget" in ans.sentence


def test_why_not_hard_filter_and_in_plan(fractions_graph, fractions_catalog, fractions_learner):
    learner = dataclasses.replace(fractions_learner, devices=frozenset({"laptop"}))
    ans = why_not(fractions_graph, fractions_catalog, learner, REQ, "mult-game")
    assert ans.excluded_by == ("device:tablet",) and math.isinf(ans.objective_cost)
    assert "tablet" in ans.sentence
    ans = why_not(fractions_graph, fractions_catalog, learner, REQ, "ratio-project")
    assert ans.excluded_by[0].startswith("prerequisite:")
    pl = plan_playlist(fractions_graph, fractions_catalog, learner, REQ)
    inside = why_not(fractions_graph, fractions_catalog, learner, REQ, pl.activity_ids[0],
                     playlist=pl)
    assert inside.in_plan and inside.objective_cost == 0.0


def test_why_not_lower_gain_is_objective(school, school_learners):
    graph, catalog = school
    req = PlaylistRequest(budget_min=240, length_max=20, format_cap=None, skill_cap=3, exact=True)
    learner = school_learners[0]
    pl = plan_playlist(graph, catalog, learner, req)
    from planner.playlist.plan import prepare

    c = prepare(graph, catalog, learner, req)
    outside = [a.id for a in c.activities if a.id not in pl.activity_ids]
    assert outside
    for aid in outside[:3]:
        ans = why_not(graph, catalog, learner, req, aid, playlist=pl)
        assert ans.objective_cost >= -1e-9
        assert ans.excluded_by  # a named constraint or "objective"


def _reason_with(graph, activity, skill, now, after, threshold=MASTERED_THRESHOLD):
    return build_reason(
        graph=graph, activity=activity, target_skill=skill, basis="review", forced=None,
        mastery_now=now, mastery_after=after, prerequisites=(), taught_earlier=(),
        taught_earlier_titles=(), goal_weight=1.0, is_goal=False, preferences=(), constraints=(),
        days_since_practice=30.0, mastered_threshold=threshold,
    )


def test_gain_that_rounds_away_is_said_plainly(fractions_graph, fractions_catalog):
    activity = next(iter(fractions_catalog))
    skill = activity.skills[0][0]
    kept = _reason_with(fractions_graph, activity, skill, 0.998, 0.999).sentence
    assert "1.00 → 1.00" not in kept and "mastery already 1.00: practice to keep it" in kept
    small = _reason_with(fractions_graph, activity, skill, 0.402, 0.404).sentence
    assert "little expected gain (mastery 0.40)" in small
    real = _reason_with(fractions_graph, activity, skill, 0.40, 0.55).sentence
    assert "expected mastery 0.40 → 0.55" in real


def test_reason_uses_the_requests_mastery_threshold(fractions_graph, fractions_catalog):
    """Mastery 0.92 is 'mastered' under a tenant threshold of 0.9, not under the default 0.95."""
    activity = next(iter(fractions_catalog))
    skill = activity.skills[0][0]
    assert MASTERED_THRESHOLD == 0.95
    strict = _reason_with(fractions_graph, activity, skill, 0.921, 0.922).sentence
    assert "little expected gain (mastery 0.92)" in strict
    lenient = _reason_with(fractions_graph, activity, skill, 0.921, 0.922, threshold=0.9).sentence
    assert "mastery already 0.92: practice to keep it" in lenient
