"""Experiment use cases on the demo school: register (immutable), start (stored stratified
assignment), the planner hook (greedy arm planned greedily, teacher arm not generated),
outcomes from ingested evidence with a known difference between arms, the refusals (before the
end, before the planned sample), teacher scope and audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.access import Caller, Principal
from engine.errors import AccessDenied, ConflictError, NotFoundError

ADMIN = Caller(Principal("demo", "admin", "k-admin"))
ORTIZ = Caller(Principal("demo", "teacher", "k-ortiz", teacher_id="t-ortiz"))
TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    from engine.app import Pathwise
    from engine.app.demo import ensure_demo

    pw = Pathwise.open(f"sqlite:///{tmp_path_factory.mktemp('exp') / 'pw.db'}")
    ensure_demo(pw, "demo")
    yield pw.school("demo")
    pw.close()


def _body(eid, classes, **kw):
    return {"id": eid, "title": "Greedy or the teacher?", "question": "Does the planner help grade 3-4?",
            "arms": [{"name": "A", "planner": "teacher"}, {"name": "B", "planner": "greedy"}],
            "class_ids": classes, "target_skills": ["3.G.A.1"], "seed": 11,
            "start": (TODAY - timedelta(days=20)).isoformat(), "end": (TODAY + timedelta(days=30)).isoformat(),
            "sample": {"n_per_arm": 15}, **kw}


def _evidence(school, arms, rng):
    """Six answers on A0001 (skill 3.G.A.1) per learner, 10-5 days ago: arm B answers
    correctly with probability 0.95, arm A 0.1 — a large true difference."""
    rows = []
    for lid, arm in sorted(arms.items()):
        p = 0.95 if arm == "B" else 0.1
        for j in range(6):
            at = datetime.now(UTC) - timedelta(days=10 - j)
            rows.append({"id": f"exp-{lid}-{j}", "learner_id": lid, "activity_id": "A0001",
                         "correct": bool(rng.random() < p), "observed_at": at.isoformat()})
    school.ingest_evidence(ADMIN, rows)


def test_experiment_lifecycle_hook_and_report(school):
    created = school.create_experiment(ADMIN, _body("e1", ["c-3-station", "c-4-lab"]))
    assert created["status"] == "registered" and created["sample"]["n_per_arm"] == 15
    with pytest.raises(ConflictError, match="immutable"):
        school.create_experiment(ADMIN, _body("e1", ["c-3-station"]))
    with pytest.raises(AccessDenied):
        school.create_experiment(ORTIZ, _body("e-t", ["c-3-station"]))
    with pytest.raises(NotFoundError, match="c-nope"):
        school.create_experiment(ADMIN, _body("e-x", ["c-nope"]))
    started = school.start_experiment(ADMIN, "e1")
    assert started["status"] == "running" and started["warnings"] == []
    rows = school.experiment_assignment(ADMIN, "e1")
    arms = {r["learner_id"]: r["arm"] for r in rows}
    assert len(arms) == 38
    for cid in ("c-3-station", "c-4-lab"):  # stratified by class: balanced within each
        in_b = sum(r["arm"] == "B" for r in rows if r["class_id"] == cid)
        assert abs(2 * in_b - sum(r["class_id"] == cid for r in rows)) <= 1
    # the planner hook: greedy arm planned by the greedy rule, teacher arm not generated
    b = next(lid for lid, a in arms.items() if a == "B")
    a = next(lid for lid, a in arms.items() if a == "A")
    plan = school.generate_playlist(ADMIN, b)
    assert plan.body["experiment_arm"] == "B" and plan.body["planner"]["solver"] == "greedy"
    with pytest.raises(ConflictError, match="does not generate"):
        school.generate_playlist(ADMIN, a)
    # the teacher reads their classes' part only
    assert {r["class_id"] for r in school.experiment_assignment(ORTIZ, "e1")} == {"c-3-station"}
    _evidence(school, arms, np.random.default_rng(3))
    with pytest.raises(ConflictError, match="runs until"):
        school.experiment_report(ADMIN, "e1")
    school.stop_experiment(ADMIN, "e1")
    rep = school.experiment_report(ORTIZ, "e1")
    p = rep["primary"]
    assert p["n"] == [19, 19] and p["difference"] > 0.1 and p["p_value"] < 0.05 and p["ci"][0] > 0
    assert "statistically significant" in rep["summary"] and "## Results" in rep["markdown"]
    assert {m["metric"] for m in rep["secondary"]} == {"time_on_task_min", "observations"}
    # after the stop the engine plans everyone again
    assert school.generate_playlist(ADMIN, a).body.get("experiment_arm") is None
    ops = [r.detail.get("op") for r in school.store.list_audit(resource="experiment", action="write")]
    assert ops[:3] == ["register", "start", "stop"]


def test_report_refused_until_the_planned_sample_and_teacher_scope(school):
    school.create_experiment(ADMIN, _body("e2", ["c-5-individual"], sample={"n_per_arm": 20}))
    with pytest.raises(ConflictError, match="has not started"):
        school.experiment_report(ADMIN, "e2")
    started = school.start_experiment(ADMIN, "e2")
    assert started["warnings"] == ["the experiment's classes hold 16 learners and the planned sample needs 40: "
                                   "the report will be refused until late joiners make up the difference"]
    with pytest.raises(ConflictError, match="already in running"):
        school.create_experiment(ADMIN, _body("e3", ["c-5-individual"]))
        school.start_experiment(ADMIN, "e3")
    with pytest.raises(NotFoundError, match="does not touch your classes"):
        school.get_experiment(ORTIZ, "e2")
    assert "e2" not in {e["id"] for e in school.list_experiments(ORTIZ)}
    # a learner whose assignment is missing (joined late) is assigned once, deterministically
    lid = school.experiment_assignment(ADMIN, "e2")[0]["learner_id"]
    school.store.delete_document("experiment_arm", f"e2/{lid}")
    first = school._experiment_arm(lid)
    assert first is not None and school._experiment_arm(lid) == first
    assert school.store.get_document("experiment_arm", f"e2/{lid}").payload["how"] == "late"
    school.stop_experiment(ADMIN, "e2")
    with pytest.raises(ConflictError, match=r"arm A: 20 more learners; arm B: 20 more learners"):
        school.experiment_report(ADMIN, "e2")


def test_lowest_mastery_arm_plans_only_ready_skills(school):
    """An arm with planner 'lowest_mastery': the playlist comes from the baseline (solver
    'lowest_mastery'), fits the session, and every item works on skills the learner has
    mastered or is ready for (all prerequisites mastered) — unlike the default planner, which
    may chain a new skill on a prerequisite taught earlier in the same playlist."""
    from engine import planning

    body = _body("lm", ["c-6-flipped"], arms=[{"name": "A"}, {"name": "L", "planner": "lowest_mastery"}],
                 sample={"n_per_arm": 2})
    school.create_experiment(ADMIN, body)
    school.start_experiment(ADMIN, "lm")
    arms = {r["learner_id"]: r["arm"] for r in school.experiment_assignment(ADMIN, "lm")}
    inp = school._planning_input()
    theta = school.view.policy.mastered_threshold
    checked = 0
    for lid in [k for k, a in sorted(arms.items()) if a == "L"][:4]:
        plan = school.generate_playlist(ADMIN, lid)
        assert plan.body["planner"]["solver"] == "lowest_mastery" and plan.body["experiment_arm"] == "L"
        assert sum(i.minutes for i in plan.items) <= plan.body["planner"]["budget_min"] + 1e-6
        learner = planning.plan_learner(school.view.learners[lid], school.engine.mastery(lid), inp.graph.ids)
        for item in plan.items:
            for k in item.skills:
                assert learner.mastery_of(k) >= theta or all(
                    learner.mastery_of(j) >= theta for j in inp.graph.prerequisites_of(k)), (lid, item.activity_id, k)
            checked += 1
    school.stop_experiment(ADMIN, "lm")
    assert checked > 0
