"""Every demo class (one per blended model) gets a valid class plan.

Reads the bundled demo school through the engine's loader and planning adapter (tests may
use the engine; the planner package itself never imports it). Mastery is a small BKT forward
pass over the demo evidence with default parameters — a stand-in for the engine's store."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from planner.classplan import ModelSettings, StationPlan, plan_class
from tests.planner.test_classplan import check_plan

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_school"


def _settings(model: dict, cls: dict) -> ModelSettings:
    n = len(cls["roster"])
    cap = int(cls.get("small_group_cap", 6))
    typ = model["type"]
    if typ in ("station_rotation", "individual_rotation"):
        st = []
        for s in model["stations"]:
            kind = ("teacher_led" if s["teacher_led"] else "online" if s["online"]
                    else "collaborative" if s["collaborative"] else "independent_offline")
            st.append(StationPlan(s["name"], kind, float(s["minutes"]), int(s["capacity"])))
        return ModelSettings(typ, stations=tuple(st), g_min=1,
                             g_max=int(model.get("small_group_cap", cap)))
    if typ == "lab_rotation":
        st = (StationPlan("classroom", "teacher_led", float(model["classroom_minutes"]), n),
              StationPlan("lab", "online", float(model["lab_minutes"]), int(model["lab_devices"]),
                      place="lab"))
        return ModelSettings(typ, stations=st, g_min=1, g_max=n)
    if typ == "flipped":
        return ModelSettings("flipped", g_min=1, g_max=cap,
                             session_minutes=float(model["class_minutes"]),
                             remote_minutes=float(model["home_minutes"]))
    if typ == "flex":
        return ModelSettings(typ, g_min=1, g_max=int(model["pullout_max_group"]),
                             pull_out_slots=int(model["pullout_slots"]),
                             pull_out_minutes=float(model["pullout_minutes"]),
                             session_minutes=float(cls["schedule"][0]["minutes"]))
    if typ == "a_la_carte":
        return ModelSettings(typ, course_minutes=float(model["online_minutes_per_week"]))
    return ModelSettings(typ, g_min=1, g_max=cap, session_minutes=float(model["in_person_minutes"]),
                         remote_minutes=float(model["virtual_minutes_per_week"]))


@pytest.fixture(scope="module")
def demo():
    if not (DEMO / "school.json").exists():
        pytest.skip("data/demo_school is not generated")
    try:
        from engine.demo.loader import load_demo_school
        from engine.planning import plan_learner, planning_input
    except ImportError as exc:  # pragma: no cover - engine not built yet
        pytest.skip(f"engine demo loader unavailable: {exc}")
    school = load_demo_school(DEMO)
    inp = planning_input(school.graph, school.catalog.activities, school.bkt_params)
    p = defaultdict(lambda: 0.3)
    n_obs: dict = defaultdict(int)
    for ob in school.evidence:  # BKT forward pass, default parameters
        right = float(getattr(ob, "score", getattr(ob, "outcome", 0.0)) or 0.0) >= 0.5
        for k in ob.skill_ids:
            key = (ob.learner_id, k)
            q = p[key]
            post = q * 0.9 / (q * 0.9 + (1 - q) * 0.2) if right else q * 0.1 / (q * 0.1 + (1 - q) * 0.8)
            p[key] = post + (1 - post) * 0.15
            n_obs[key] += 1
    now = datetime.now(UTC)
    states: dict = defaultdict(dict)
    for (lid, k), v in p.items():
        states[lid][k] = SimpleNamespace(p_mastered=v, updated_at=now, n_observations=n_obs[(lid, k)])
    learners = {lr.id: plan_learner(lr, states[lr.id], inp.graph.ids, now=now)
                for lr in school.learners}
    classes = json.loads((DEMO / "school.json").read_text())["classes"]
    return inp, learners, classes


def test_every_demo_class_plans(demo):
    inp, learners, classes = demo
    models = set()
    for cls in classes:
        settings = _settings(cls["model"], cls)
        roster = [learners[i] for i in cls["roster"]]
        plan = plan_class(settings, roster, inp.activities, inp.graph)
        models.add(plan.model)
        check_plan(plan, roster, inp.activities, settings)
        assert plan.status in ("optimal", "feasible", "relaxed")
        n_items = sum(1 for s in plan.schedules for i in s.items if i.item is not None)
        assert n_items >= len(roster), cls["id"]
    assert len(models) == 7
