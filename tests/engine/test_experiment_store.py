"""The experiment use cases on each store backend (SQLite and the real temporary PostgreSQL):
class randomisation of a small school, a late joiner takes their class's arm, the report from
evidence, and the shortfall refusal counted in classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from engine.access import Caller, Principal
from engine.errors import ConflictError

ADMIN = Caller(Principal("t1", "admin", "k-admin"))
TODAY = datetime.now(UTC).date()


def _school(n_classes: int = 6, size: int = 4):
    from engine.domain.catalog import Activity
    from engine.domain.classes import Class, Flipped
    from engine.domain.learners import Learner
    from engine.domain.skills import Skill
    from engine.graph import CompetencyGraph

    graph = CompetencyGraph((Skill("S1", "S.1", "Skill 1", grade="3", domain="OA"),), (), name="one")
    act = Activity("A1", "Practice", (("S1", 1.0),), "practice", "online", "school", 15, 0.3)
    learners = tuple(Learner(f"L{c}{i}", f"Learner {c}{i}", "3") for c in range(n_classes) for i in range(size))
    classes = tuple(Class(f"C{c}", f"Class {c}", "3", ("T1",), tuple(f"L{c}{i}" for i in range(size)),
                          Flipped(20, 40)) for c in range(n_classes))
    return SimpleNamespace(graph=graph, catalog=(act,), learners=learners, classes=classes, evidence=None)


@pytest.fixture
def app(store_url):
    from engine.app import Pathwise

    pw = Pathwise.open(store_url)
    school = pw.school("t1")
    school.engine.load_school(_school())
    pw.invalidate("t1")
    yield pw.school("t1")
    pw.close()


def _design(eid: str, k: int) -> dict:
    return {"id": eid, "arms": [{"name": "A"}, {"name": "B", "weights": {"unlock": 0}}], "unit": "class",
            "seed": 1, "target_skills": ["S1"], "start": (TODAY - timedelta(days=9)).isoformat(),
            "end": (TODAY + timedelta(days=9)).isoformat(), "sample": {"clusters_per_arm": k}}


def test_class_randomised_experiment_on_each_backend(app):
    app.create_experiment(ADMIN, _design("k3", 3))
    app.start_experiment(ADMIN, "k3")
    rows = app.experiment_assignment(ADMIN, "k3")
    by_class: dict[str, set[str]] = {}
    for r in rows:
        by_class.setdefault(r["class_id"], set()).add(r["arm"])
    assert len(rows) == 24 and all(len(v) == 1 for v in by_class.values())
    assert sorted(next(iter(v)) for v in by_class.values()) == ["A"] * 3 + ["B"] * 3
    # a late joiner (assignment missing) takes their class's arm
    app.store.delete_document("experiment_arm", "k3/L00")
    assert app._experiment_arm("L00").name == next(iter(by_class["C0"]))
    rows_in = []
    for r in rows:
        good = 1.0 if r["arm"] == "B" else 0.0
        for j in range(4):
            at = datetime.now(UTC) - timedelta(days=6 - j)
            rows_in.append({"id": f"o-{r['learner_id']}-{j}", "learner_id": r["learner_id"], "activity_id": "A1",
                            "score": good if j % 2 else 0.5, "observed_at": at.isoformat()})
    app.ingest_evidence(ADMIN, rows_in)
    app.stop_experiment(ADMIN, "k3")
    rep = app.experiment_report(ADMIN, "k3")
    assert rep["primary"]["classes"] == [3, 3] and rep["primary"]["difference"] > 0
    assert "class means" in rep["primary"]["method"]
    app.create_experiment(ADMIN, _design("k4", 4))
    app.start_experiment(ADMIN, "k4")
    app.stop_experiment(ADMIN, "k4")
    # the same window holds outcomes in 3 classes per arm: one more class each is needed
    with pytest.raises(ConflictError, match="arm A: 1 more class; arm B: 1 more class with"):
        app.experiment_report(ADMIN, "k4")


def _answers(rows, tag):
    out = []
    for r in rows:
        good = 1.0 if r["arm"] == "B" else 0.0
        for j in range(4):
            at = datetime.now(UTC) - timedelta(days=6 - j)
            out.append({"id": f"{tag}-{r['learner_id']}-{j}", "learner_id": r["learner_id"], "activity_id": "A1",
                        "score": good if j % 2 else 0.5, "observed_at": at.isoformat()})
    return out


def test_interim_look_is_flagged_recorded_and_spends_alpha(app):
    from engine.errors import AccessDenied
    from engine.experiment.sequential import boundaries, level

    body = {**_design("s1", 0), "unit": "learner", "sample": {"n_per_arm": 12}}
    app.create_experiment(ADMIN, body)
    app.start_experiment(ADMIN, "s1")
    rows = app.experiment_assignment(ADMIN, "s1")
    half = [r for r in rows if r["class_id"] in ("C0", "C1", "C2")]  # 6 learners per arm
    app.ingest_evidence(ADMIN, _answers(half, "h"))
    teacher = Caller(Principal("t1", "teacher", "k-t1", teacher_id="T1"))
    with pytest.raises(AccessDenied):
        app.experiment_report(teacher, "s1", interim=True)
    look = app.experiment_report(ADMIN, "s1", interim=True)
    seq = look["sequential"]
    assert seq["interim"] and seq["look"] == 1 and seq["fraction"] == 0.5
    assert seq["nominal_alpha"] == pytest.approx(level(boundaries([0.5], 0.05)[0]))  # about 0.0056
    assert look["summary"].startswith("INTERIM LOOK 1, at 50% of the planned sample")
    assert look["primary"]["n"] == [6, 6]
    assert app.experiment_report(ADMIN, "s1", interim=True)["sequential"]["look"] == 1  # no new data: same look
    app.ingest_evidence(ADMIN, _answers([r for r in rows if r not in half], "r"))
    with pytest.raises(ConflictError, match="has its planned sample"):
        app.experiment_report(ADMIN, "s1", interim=True)
    app.stop_experiment(ADMIN, "s1")
    with pytest.raises(ConflictError, match="interim looks are taken while it runs"):
        app.experiment_report(ADMIN, "s1", interim=True)
    final = app.experiment_report(ADMIN, "s1")
    assert final["sequential"]["looks"] == 1 and not final["sequential"]["interim"]
    assert final["analysis_alpha"] == pytest.approx(level(boundaries([0.5, 1.0], 0.05)[1]), rel=1e-2)
    assert "After 1 interim look(s)" in final["summary"] and final["primary"]["n"] == [12, 12]
    ops = [r.detail.get("op") for r in app.store.list_audit(resource="experiment", action="write")]
    assert ops.count("interim_look") == 1


def test_planner_hook_applies_the_arm_weights(app, monkeypatch):
    """A learner in an arm with ``weights`` is planned with those PlanWeights; the other arm
    with the planner's defaults (the request the planner receives is recorded)."""
    import planner.playlist.plan as plan_module

    seen: dict[str, object] = {}
    real = plan_module.plan_playlist

    def spy(graph, catalog, learner, request=None):
        seen[learner.id] = request.weights
        return real(graph, catalog, learner, request)

    monkeypatch.setattr(plan_module, "plan_playlist", spy)
    app.create_experiment(ADMIN, {**_design("w1", 0), "unit": "learner", "sample": {"n_per_arm": 2}})
    app.start_experiment(ADMIN, "w1")
    arms = {r["learner_id"]: r["arm"] for r in app.experiment_assignment(ADMIN, "w1")}
    a = next(lid for lid, arm in arms.items() if arm == "A")
    b = next(lid for lid, arm in arms.items() if arm == "B")
    for lid in (a, b):
        app.generate_playlist(ADMIN, lid)
    assert seen[b].unlock == 0.0 and seen[a].unlock > 0.0
    assert seen[b].review == seen[a].review  # only the arm's weight changes
