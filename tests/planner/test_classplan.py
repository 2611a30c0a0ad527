"""Class plans for every blended model: valid plans, hard constraints never violated, symmetry
breaking keeps the optimum, infeasible requests come back as conflicts, re-plans keep rotations.
Every check is written from the plan's own output objects (not from the MILP rows)."""

from __future__ import annotations

from collections import Counter

import pytest

from planner.classplan import (
    BLENDED_MODELS,
    ClassPlan,
    ClassRequests,
    GroupLock,
    ModelSettings,
    StationPlan,
    plan_class,
)
from planner.classplan._common import is_advisory
from planner.errors import PlanInputError
from planner.model import MASTERED_THRESHOLD, PlanLearner
from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner

N = 12


@pytest.fixture(scope="module")
def school():
    g = synthetic_graph(3, n_skills=36, n_layers=6)
    cat = synthetic_catalog(g, 3, n_activities=120)
    learners = [synthetic_learner(g, s, f"L{s:02d}") for s in range(N)]
    return g, cat, learners


def check_plan(plan: ClassPlan, learners: list[PlanLearner], catalog, settings: ModelSettings):
    """Hard constraints every class plan must satisfy."""
    by_id = {a.id: a for a in catalog}
    ids = [lr.id for lr in learners]
    assert [s.learner_id for s in plan.schedules] == ids
    groups = {g.id: g for g in plan.groups}
    assert len(groups) == len(plan.groups), "group ids repeat"
    for lr, sched in zip(learners, plan.schedules, strict=True):
        t_end = -1.0
        for it in sorted(sched.items, key=lambda i: i.start_min):
            assert it.start_min >= t_end - 1e-9, f"{lr.id} has overlapping items"
            t_end = it.start_min + it.minutes
            if it.item is None:
                continue
            assert it.item.duration_min <= it.minutes + 1e-9, "item longer than its slot"
            assert it.item.reason.sentence, "every item has a reason"
            a = by_id.get(it.item.activity_id)
            if a is not None:  # catalog activity: the learner must be able to do it
                assert not (lr.accommodations - a.accommodations), "accommodation violated"
                if a.device and lr.devices:
                    assert a.device in lr.devices, "device violated"
                if it.kind in ("online", "teacher_led", "collaborative", "independent_offline"):
                    assert a.modality == it.kind, "modality differs from the station kind"
            if it.group_id is not None:
                assert lr.id in groups[it.group_id].learner_ids
    for g in plan.groups:
        assert g.reason.sentence.startswith(f"Group {g.id} ({len(g.learner_ids)} student")
        if g.kind == "teacher_led":
            assert len(g.learner_ids) <= settings.g_max or plan.conflicts
        for lid in g.learner_ids:
            assert any(i.group_id == g.id for i in plan.schedule_of(lid).items)


@pytest.mark.parametrize("model", BLENDED_MODELS)
def test_every_blended_model_gives_a_valid_plan(school, model):
    g, cat, learners = school
    settings = ModelSettings(model)
    plan = plan_class(settings, learners, cat, g)
    assert plan.model == model
    assert plan.status in ("optimal", "feasible")
    # shortfalls (empty rotations, unused minutes) are reported, never a request giving way
    assert not [c for c in plan.conflicts if not is_advisory(c)]
    check_plan(plan, learners, cat, settings)
    n_items = sum(1 for s in plan.schedules for i in s.items if i.item is not None)
    assert n_items >= len(learners), "every learner gets content"


def _station_of(plan: ClassPlan, lid: str, slot: int) -> str:
    return next(i.station_id for i in plan.schedule_of(lid).items if i.slot == slot)


def test_station_rotation_hard_constraints(school):
    g, cat, learners = school
    stations = (StationPlan("teacher", "teacher_led", 20, 4), StationPlan("online", "online", 20, 4),
                StationPlan("collab", "collaborative", 20, 4))
    settings = ModelSettings("station_rotation", stations=stations, g_min=3, g_max=4)
    req = ClassRequests(keep_apart=(("L00", "L01"), ("L02", "L03")),
                        keep_together=(("L04", "L05"),))
    plan = plan_class(settings, learners, cat, g, req)
    assert plan.status == "optimal" and not plan.conflicts
    check_plan(plan, learners, cat, settings)
    for lr in learners:  # each station exactly once
        visited = [i.station_id for i in plan.schedule_of(lr.id).items]
        assert sorted(visited) == sorted(s.id for s in stations)
    for r in range(3):
        count = Counter(_station_of(plan, lr.id, r) for lr in learners)
        for st in stations:
            assert count[st.id] <= st.capacity
        assert 3 <= count["teacher"] <= 4
        for a, b in req.keep_apart:
            sa, sb = _station_of(plan, a, r), _station_of(plan, b, r)
            assert not (sa == sb and sa in ("teacher", "collab"))
        assert _station_of(plan, "L04", r) == _station_of(plan, "L05", r)
    # one topic per teacher rotation, never repeated
    topics = [gr.topic for gr in plan.groups if gr.kind == "teacher_led"]
    assert len(topics) == 3 and len(set(topics)) == 3


def test_topic_and_station_locks_hold(school):
    g, cat, learners = school
    settings = ModelSettings("station_rotation")
    free = plan_class(settings, learners, cat, g)
    # lock L07 into a topic nobody chose for them, and L08 into the collaborative station first
    t_l07 = next(gr.topic for gr in free.groups
                 if gr.kind == "teacher_led" and "L07" not in gr.learner_ids)
    req = ClassRequests(locks=(GroupLock("L07", topic=t_l07),
                               GroupLock("L08", station="collaborative", rotation=0)))
    plan = plan_class(settings, learners, cat, g, req)
    assert not plan.conflicts
    assert plan.symmetry_breaking is False  # a lock names a rotation
    got = next(gr for gr in plan.groups if gr.kind == "teacher_led" and "L07" in gr.learner_ids)
    assert got.topic == t_l07
    assert _station_of(plan, "L08", 0) == "collaborative"
    assert "locked" in " ".join(got.reason.constraints)


def test_conflicting_requests_become_conflicts_not_errors(school):
    g, cat, learners = school
    settings = ModelSettings("station_rotation")
    req = ClassRequests(keep_apart=(("L00", "L01"),), keep_together=(("L00", "L01"),))
    plan = plan_class(settings, learners, cat, g, req)
    assert plan.status == "relaxed"
    names = {c.constraint.split(":")[0] for c in plan.conflicts}
    assert names & {"keep_apart", "keep_together"}
    assert all(c.message and c.amount > 0 for c in plan.conflicts)
    check_plan(plan, learners, cat, settings)


def test_too_small_stations_are_reported(school):
    g, cat, learners = school
    stations = (StationPlan("teacher", "teacher_led", 20, 3), StationPlan("online", "online", 20, 3))
    settings = ModelSettings("station_rotation", stations=stations, g_min=2, g_max=3)
    plan = plan_class(settings, learners, cat, g)  # 12 learners, 2 rotations of 3 seats
    assert plan.status == "relaxed"
    kinds = {c.constraint.split(":")[0] for c in plan.conflicts}
    assert kinds & {"capacity", "group_size"}
    assert all(len(s.items) == 2 for s in plan.schedules), "still a full plan"


def test_replan_keeps_earlier_rotations(school):
    g, cat, learners = school
    settings = ModelSettings("station_rotation")
    first = plan_class(settings, learners, cat, g)
    # new evidence: everyone improved a lot on the first mini-lesson's topic
    t0 = next(gr.topic for gr in first.groups if gr.kind == "teacher_led" and gr.slot == 0)
    moved = [PlanLearner(lr.id, {**lr.mastery, t0: 0.99}, goals=lr.goals,
                         accommodations=lr.accommodations, devices=lr.devices) for lr in learners]
    again = plan_class(settings, moved, cat, g, previous=first, keep_slots=2)
    for lr in learners:
        old = [i for i in first.schedule_of(lr.id).items if i.slot < 2]
        new = [i for i in again.schedule_of(lr.id).items if i.slot < 2]
        assert old == new
    assert [gr for gr in first.groups if gr.slot < 2] == [gr for gr in again.groups if gr.slot < 2]
    for lr in learners:  # still each station once
        assert sorted(i.station_id for i in again.schedule_of(lr.id).items) == \
            sorted(i.station_id for i in first.schedule_of(lr.id).items)


def test_individual_rotation_skips_unneeded_stations(school):
    g, cat, learners = school
    # one learner has mastered everything: needs no teacher group
    done = PlanLearner("DONE", {k: 0.99 for k in g.ids})
    roster = [*learners, done]
    settings = ModelSettings("individual_rotation")
    plan = plan_class(settings, roster, cat, g)
    visited = [i.station_id for i in plan.schedule_of("DONE").items]
    assert "teacher" not in visited
    for lr in roster:
        ids = [i.station_id for i in plan.schedule_of(lr.id).items if i.station_id != "own-seat"]
        assert len(ids) == len(set(ids)), "a station at most once"


def test_flex_pull_outs_are_capped_and_exclusive(school):
    g, cat, learners = school
    settings = ModelSettings("flex", g_min=2, g_max=3, pull_out_slots=3, pull_out_minutes=15,
                             session_minutes=60)
    plan = plan_class(settings, learners, cat, g, ClassRequests(keep_apart=(("L00", "L01"),)))
    check_plan(plan, learners, cat, settings)
    seen = Counter(lid for gr in plan.groups for lid in gr.learner_ids)
    assert all(v == 1 for v in seen.values())
    for gr in plan.groups:
        assert 2 <= len(gr.learner_ids) <= 3
        assert not {"L00", "L01"} <= set(gr.learner_ids)
    for s in plan.schedules:
        assert sum(i.minutes for i in s.items) <= 60 + 1e-9


def test_a_la_carte_is_online_within_the_course_minutes(school):
    g, cat, learners = school
    plan = plan_class(ModelSettings("a_la_carte", course_minutes=90), learners, cat, g)
    assert not plan.groups
    for s in plan.schedules:
        assert all(i.item.modality == "online" for i in s.items)
        assert sum(i.item.duration_min for i in s.items) <= 90 + 1e-9


@pytest.mark.parametrize("model", ["flipped", "enriched_virtual"])
def test_home_and_face_to_face_parts(school, model):
    g, cat, learners = school
    settings = ModelSettings(model, g_max=5, remote_minutes=45, session_minutes=40)
    plan = plan_class(settings, learners, cat, g)
    for s in plan.schedules:
        home = [i for i in s.items if i.place == "home"]
        school_items = [i for i in s.items if i.place != "home"]
        assert len(school_items) == 1 and school_items[0].group_id is not None
        assert all(i.item.modality == "online" for i in home)
        assert sum(i.minutes for i in home) <= 45 + 1e-9
    assert sum(len(gr.learner_ids) for gr in plan.groups) == len(learners)


def test_bad_input_names_the_bad_value(school):
    g, cat, learners = school
    s = ModelSettings("station_rotation")
    with pytest.raises(PlanInputError, match="ZZ"):
        plan_class(s, learners, cat, g, ClassRequests(keep_apart=(("L00", "ZZ"),)))
    with pytest.raises(PlanInputError, match="twice"):
        plan_class(s, [*learners, learners[0]], cat, g)
    with pytest.raises(PlanInputError, match="nowhere"):
        plan_class(s, learners, cat, g, ClassRequests(locks=(GroupLock("L00", station="nowhere"),)))
    with pytest.raises(PlanInputError, match="blended model"):
        ModelSettings("hybrid")
    with pytest.raises(PlanInputError, match="g_min"):
        ModelSettings("flex", g_min=5, g_max=3)
    with pytest.raises(PlanInputError, match="mastered_threshold"):
        ModelSettings("flex", mastered_threshold=0.0)
    with pytest.raises(PlanInputError, match="blended model"):
        ModelSettings("flipped_classroom")  # one spelling per model: "flipped"


@pytest.mark.parametrize("theta", [0.6, MASTERED_THRESHOLD])
def test_class_plan_uses_the_settings_mastery_threshold(school, theta):
    """θ from the settings (the tenant's PlanningPolicy) decides what counts as mastered in
    every item's reason: a "ready" item's skill is below θ, a "review" item's at or above."""
    g, cat, learners = school
    plan = plan_class(ModelSettings("station_rotation", mastered_threshold=theta), learners, cat, g)
    bases = set()
    for sched in plan.schedules:
        for it in sched.items:
            r = it.item.reason
            bases.add(r.basis)
            if r.basis == "ready":
                assert r.mastery_now < theta
            elif r.basis == "review":
                assert r.mastery_now >= theta
    assert "ready" in bases


def test_plan_class_symmetry_breaking_same_objective(school):
    g, cat, learners = school
    stations = (StationPlan("teacher", "teacher_led", 20, 4), StationPlan("online", "online", 20, 8),
                StationPlan("collab", "collaborative", 20, 8))
    settings = ModelSettings("station_rotation", stations=stations, g_min=2, g_max=4)
    roster = learners[:9]
    req = ClassRequests(keep_apart=(("L00", "L01"),))
    a = plan_class(settings, roster, cat, g, req, fill="station")
    b = plan_class(settings, roster, cat, g, req, fill="station", symmetry_breaking=False)
    assert a.symmetry_breaking and not b.symmetry_breaking
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, abs=1e-6)


def test_conflicting_topic_locks_are_reported_in_groups_models(school):
    g, cat, learners = school
    settings = ModelSettings("flex", g_min=1, g_max=3, pull_out_slots=2)
    topic = g.ids[0]
    req = ClassRequests(keep_apart=(("L00", "L01"),),
                        locks=(GroupLock("L00", topic=topic), GroupLock("L01", topic=topic)))
    plan = plan_class(settings, learners, cat, g, req)
    assert plan.status == "relaxed"
    assert {c.constraint.split(":")[0] for c in plan.conflicts} & {"keep_apart", "lock"}
    check_plan(plan, learners, cat, settings)


def test_flex_topic_lock_pulls_the_learner_out(school):
    g, cat, learners = school
    settings = ModelSettings("flex", g_min=1, g_max=3, pull_out_slots=2)
    free = plan_class(settings, learners, cat, g)
    pulled = {lid for gr in free.groups for lid in gr.learner_ids}
    outsider = next(lr.id for lr in learners if lr.id not in pulled)
    topic = free.groups[0].topic
    plan = plan_class(settings, learners, cat, g,
                      ClassRequests(locks=(GroupLock(outsider, topic=topic),)))
    assert not plan.conflicts
    got = next(gr for gr in plan.groups if outsider in gr.learner_ids)
    assert got.topic == topic


def test_station_fill_modes_agree_on_hard_constraints(school):
    g, cat, learners = school
    settings = ModelSettings("station_rotation")
    for fill in ("station", "greedy", "milp"):
        plan = plan_class(settings, learners, cat, g, fill=fill)
        check_plan(plan, learners, cat, settings)
    with pytest.raises(PlanInputError, match="fill"):
        plan_class(settings, learners, cat, g, fill="best")


def test_station_choice_is_exact_against_brute_force(school):
    """The per-station choice (top-k enumeration) equals full enumeration of every pair."""
    from itertools import product

    from planner.classplan import _content as content

    g, cat, learners = school
    slots = [("online", 20.0, "classroom"), ("independent_offline", 20.0, "classroom"),
             ("online", 15.0, "classroom")]
    for lr in learners[:6]:
        pick = content.station_choice(g, cat, lr, slots, 0.95, top_k=6)
        got = content._value(g, lr, [a for a in pick if a is not None], 0.95, 0.04)
        pools = []
        for kind, minutes, place in slots:
            pools.append([a for a in cat if a.modality == kind and a.duration_min <= minutes
                          and content.place_ok(a, place) and content.fits_learner(a, lr)
                          and content._ready_activity(g, lr, a, 0.95)] or [None])
        best = 0.0
        for combo in product(*pools):
            acts = [a for a in combo if a is not None]
            if len({a.id for a in acts}) < len(acts):
                continue
            best = max(best, content._value(g, lr, acts, 0.95, 0.04))
        assert got == pytest.approx(best, abs=1e-9)


def test_lab_capacity_setting(school):
    g, cat, learners = school
    settings = ModelSettings("lab_rotation", lab_capacity=4)
    plan = plan_class(settings, learners, cat, g)
    lab = next(s for s in plan.stations if s.id == "lab")
    assert lab.capacity == 4 and lab.place == "lab"
    for r in range(plan.n_slots):
        n_lab = sum(1 for s in plan.schedules for i in s.items if i.slot == r and i.station_id == "lab")
        assert n_lab <= 4 or plan.conflicts


def test_individual_rotation_station_cap(school):
    g, cat, learners = school
    settings = ModelSettings("individual_rotation", max_stations_per_learner=2)
    plan = plan_class(settings, learners, cat, g)
    check_plan(plan, learners, cat, settings)
    for s in plan.schedules:
        assert len([i for i in s.items if i.station_id != "own-seat"]) <= 2
        assert all(i.kind == "independent_offline" for i in s.items if i.station_id == "own-seat")
