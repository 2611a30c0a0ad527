"""No silent shortfall (issue 15 item 5): caps from the session, unused minutes and empty
learner-rotations reported as conflicts with their cause, readable amounts, no stdout."""

from __future__ import annotations

import os
import tempfile

import pytest

from planner.classplan import ModelSettings, StationPlan, plan_class
from planner.classplan._common import is_advisory
from planner.model import (
    MODALITIES,
    PlanActivity,
    PlanLearner,
    PlanSkill,
    PlaylistRequest,
    SkillGraph,
)
from planner.playlist.plan import plan_playlist
from planner.playlist.shortfall import person_amount
from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner
from planner.request import auto_format_cap


def _online_school():
    """Ten independent skills, each with one video, one practice and one game online (3
    formats, 10-20 min, longer ones teach more), plus offline activities the class model must not use."""
    graph = SkillGraph.from_skills(PlanSkill(f"s{i}") for i in range(10))
    cat = []
    for i in range(10):
        for j, fmt in enumerate(("video", "practice", "game")):
            cat.append(PlanActivity(f"{fmt}-{i}", f"{fmt} {i}", ((f"s{i}", 1.0),), kind=fmt,
                                    formats=(fmt,), duration_min=10.0 + 5 * j,
                                    p_learn=0.15 + 0.05 * j))
        cat.append(PlanActivity(f"lesson-{i}", f"lesson {i}", ((f"s{i}", 1.0),),
                                modality="teacher_led", formats=("lesson",), p_learn=0.4))
    learner = PlanLearner("ana", mastery={f"s{i}": 0.3 for i in range(10)})
    return graph, cat, learner


A_LA_CARTE = {"online": (1, 8), "teacher_led": (0, 0), "collaborative": (0, 0),
              "independent_offline": (0, 0)}


def test_a_la_carte_150_minutes_are_planned_not_60():
    """The engine's request for a 150-minute online-only class (length_max 12, no format
    cap given): the cap comes from the session, so 3 formats fill 120-150 minutes."""
    graph, cat, learner = _online_school()
    req = PlaylistRequest(budget_min=150, modality_bounds=A_LA_CARTE, length_max=12)
    assert req.format_cap == 5 == auto_format_cap(150, 12)
    pl = plan_playlist(graph, cat, learner, req)
    assert 120 <= pl.total_minutes <= 150
    assert all(i.modality == "online" for i in pl.items)
    assert not [c for c in pl.conflicts if c.constraint == "budget_unused"]


def test_a_la_carte_with_the_old_cap_says_why_minutes_are_unused():
    graph, cat, learner = _online_school()
    req = PlaylistRequest(budget_min=150, modality_bounds=A_LA_CARTE, length_max=12,
                          format_cap=2)
    pl = plan_playlist(graph, cat, learner, req)
    assert pl.total_minutes <= 2 * (10 + 15 + 20)
    short = [c for c in pl.conflicts if c.constraint == "budget_unused"]
    assert len(short) == 1
    c = short[0]
    assert c.amount == 150 - pl.total_minutes
    assert any(b.startswith("format_cap:") for b in c.blocked_by)
    assert "cap on" in c.message and f"{c.amount:g} min unused" in c.message
    assert pl.status in ("optimal", "feasible")  # advisory: no request gave way


def test_short_plan_from_an_exhausted_catalog_names_the_catalog():
    graph, cat, learner = _online_school()
    pl = plan_playlist(graph, cat[:3], learner, PlaylistRequest(budget_min=150, length_max=12))
    c = next(c for c in pl.conflicts if c.constraint == "budget_unused")
    assert c.blocked_by[0] in ("no eligible activity left", "skill_cap")
    assert c.amount == 150 - pl.total_minutes


def test_full_plan_has_no_shortfall_conflict():
    graph, cat, learner = _online_school()
    pl = plan_playlist(graph, cat, learner, PlaylistRequest(budget_min=60, length_max=6))
    assert pl.total_minutes >= 48
    assert not pl.conflicts


def test_person_amount():
    assert person_amount(5.9999999999999964) == 6.0
    assert person_amount(2.0000000001) == 2.0
    assert person_amount(12.34) == 12.3


def _class_with_unsupported_accommodation():
    graph = synthetic_graph(3, n_skills=24, n_layers=4)
    cat = [a if a.modality != "online" else
           PlanActivity(**{**a.__dict__, "accommodations": frozenset()})
           for a in synthetic_catalog(graph, 3, n_activities=80)]
    learners = []
    for s in range(8):
        lr = synthetic_learner(graph, s, f"L{s}")
        needs = frozenset({"braille"}) if s < 6 else frozenset()
        learners.append(PlanLearner(**{**lr.__dict__, "accommodations": needs,
                                       "devices": frozenset(), "places": frozenset()}))
    return graph, cat, learners


def test_class_plan_with_unsupported_accommodation_reports_empty_rotations():
    """Six of eight learners need braille, which no online activity supports: their online
    rotation is empty, and the plan says so with the cause."""
    graph, cat, learners = _class_with_unsupported_accommodation()
    stations = (StationPlan("teacher", "teacher_led", 20, 8),
                StationPlan("online", "online", 20, 8))
    plan = plan_class(ModelSettings("station_rotation", stations=stations, g_min=1, g_max=8),
                      learners, cat, graph)
    empty = [i for s in plan.schedules for i in s.items
             if i.item is None and i.station_id == "online"]
    assert len(empty) >= 6
    c = next(c for c in plan.conflicts if c.constraint == "empty_rotation:online")
    assert c.amount == len(empty)
    assert c.blocked_by[0] == "accommodation:braille"
    assert "braille" in c.message and f"{len(empty):g} of" in c.message
    assert is_advisory(c) and plan.status in ("optimal", "feasible")


def _fd1_output(fn) -> bytes:
    """Everything written to file descriptor 1 while ``fn`` runs (C code included)."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            fn()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        tmp.seek(0)
        return tmp.read()


@pytest.mark.parametrize("exact", [False, True])
def test_solver_never_writes_to_stdout(exact):
    graph = synthetic_graph(0)
    cat = synthetic_catalog(graph, 0)
    learners = [synthetic_learner(graph, s, f"L{s}") for s in range(6)]

    def run():
        for lr in learners:
            plan_playlist(graph, cat, lr, PlaylistRequest(budget_min=120, length_max=10,
                                                          exact=exact, time_limit_s=0.005))
        plan_class(ModelSettings("station_rotation"), learners, cat, graph)
        plan_class(ModelSettings("flipped"), learners, cat, graph)

    assert _fd1_output(run) == b""
    assert MODALITIES  # the vocabulary the requests above use
