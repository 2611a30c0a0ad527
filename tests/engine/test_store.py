"""The store suite: every test runs on SQLite and on a real temporary PostgreSQL server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from engine.domain.classes import Teacher
from engine.domain.evidence import Observation
from engine.engine import Engine
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.store import open_store
from engine.store.migrate import discover

T0 = datetime(2024, 9, 2, 14, 0, tzinfo=UTC)


def _obs(oid: str, learner: str = "L1", activity: str = "A1", skills=("S1", "S2"), score=1.0):
    return Observation(oid, learner, activity, skills, score, T0)


def _loaded(store, school, tenant: str = "north") -> Engine:
    engine = Engine(store, tenant)
    engine.load_school(school)
    return engine


# -- migrations ---------------------------------------------------------------------------
def test_migrations_are_versioned_and_idempotent(store):
    expected = [(m.version, m.name) for m in discover(store.dialect)]
    assert expected[0] == (1, "initial")
    assert store.applied_migrations() == expected
    assert store.schema_version() == expected[-1][0]
    assert store.migrate() == expected[-1][0]  # running again changes nothing
    assert store.applied_migrations() == expected


def test_reopening_keeps_data_and_version(store_url, school):
    with open_store(store_url) as first:
        _loaded(first, school)
        version = first.schema_version()
    with open_store(store_url) as second:
        assert second.schema_version() == version
        assert second.for_tenant("north").count("learner") == 3


def test_migration_files_exist_for_both_dialects():
    sqlite = discover("sqlite")
    postgres = discover("postgresql")
    assert [m.version for m in sqlite] == [m.version for m in postgres]
    assert "IDENTITY" in postgres[0].sql and "IDENTITY" not in sqlite[0].sql


def test_unknown_url_is_rejected_with_the_fix():
    with pytest.raises(ValidationError, match="sqlite:///path.db"):
        open_store("mysql://localhost/x")


# -- domain entities ------------------------------------------------------------------------
def test_school_round_trips(store, school):
    engine = _loaded(store, school)
    tenant = engine.store
    assert tenant.get_graph() == school.graph
    assert tenant.list_skills() == sorted(school.graph.skills, key=lambda s: s.id)
    assert tenant.get_activity("A2") == school.catalog[1]
    assert tenant.list_learners() == list(school.learners)
    assert tenant.list_learners(class_id="C1") == list(school.learners[:2])
    assert tenant.get_class("C1") == school.classes[0]
    assert tenant.list_classes(teacher_id="T1") == list(school.classes)
    assert tenant.list_classes(learner_id="L3") == []
    assert tenant.missing_ids("skill", ["S1", "S9", "S2", "S8"]) == ["S9", "S8"]
    with pytest.raises(NotFoundError, match="'A9'"):
        tenant.get_activity("A9")


def test_profile_update_persists(store, school):
    tenant = _loaded(store, school).store
    learner = tenant.get_learner("L1")
    changed = learner.with_profile_field("interests", {"space"}, "student", T0)
    tenant.put_profile("L1", changed.profile)
    assert tenant.get_profile("L1") == changed.profile
    assert tenant.get_learner("L1") == changed


def test_transaction_rolls_back_everything(store, school):
    tenant = _loaded(store, school).store
    with pytest.raises(RuntimeError):
        with tenant.transaction():
            tenant.put_document("plan", "p1", {"learner_id": "L1"})
            tenant.append_audit("t", "plan.create", "plan:p1")
            raise RuntimeError("boom")
    assert tenant.list_documents("plan") == []
    assert tenant.list_audit() == []


# -- tenant isolation ---------------------------------------------------------------------------
def test_tenant_b_can_never_read_tenant_a(store, school):
    a = _loaded(store, school, "tenant-a")
    a.ingest([_obs("o1"), _obs("o2", "L2", "A2", ("S3",), 0.0)])
    a.store.put_document("playlist", "p1", {"learner_id": "L1", "status": "proposed"})
    a.store.append_audit("teacher:T1", "read", "learner:L1")
    a.set_model({"S1": {"p_init": 0.5, "p_learn": 0.2, "p_forget": 0.0, "p_guess": 0.1, "p_slip": 0.1}})
    b = store.for_tenant("tenant-b")
    a.store.put_teachers([Teacher("T1", "Ms One")])
    for kind in ("skill", "activity", "learner", "class", "teacher"):
        assert b.count(kind) == 0
    assert b.list_teachers() == [] and a.store.get_teacher("T1").name == "Ms One"
    assert b.list_skills() == [] and b.list_learners() == [] and b.list_classes() == []
    assert b.list_classes(teacher_id="T1") == [] and b.list_learners(class_id="C1") == []
    with pytest.raises(NotFoundError):
        b.get_learner("L1")
    with pytest.raises(NotFoundError):
        b.get_graph()
    assert b.get_mastery("L1") == {} and b.list_history("L1") == []
    assert b.list_observations() == [] and b.count_observations() == 0
    assert b.observation_payloads(["o1"]) == {}
    with pytest.raises(NotFoundError):
        b.get_observation("o1")
    assert b.list_documents("playlist") == []
    with pytest.raises(NotFoundError):
        b.get_document("playlist", "p1")
    assert b.list_audit() == []
    assert b.get_model() is None
    with pytest.raises(NotFoundError):
        b.export_learner("L1")
    with pytest.raises(NotFoundError):
        b.delete_learner("L1")
    # Tenant B evidence about "L1" is refused: L1 is not B's learner.
    with pytest.raises(NotFoundError, match="'L1'"):
        Engine(store, "tenant-b").ingest([_obs("o1")])
    # B writing the same ids leaves A untouched.
    Engine(store, "tenant-b").load_school(school)
    Engine(store, "tenant-b").ingest([_obs("o1", score=0.0)])
    assert a.store.get_observation("o1").score == 1.0
    assert b.get_observation("o1").score == 0.0
    assert len(a.history("L1")) == 2 and len(b.list_history("L1")) == 2
    b.delete_learner("L1")
    assert a.store.get_learner("L1") == school.learners[0]
    assert a.store.count_observations() == 2


def test_tenant_ids_are_validated(store):
    with pytest.raises(ValidationError, match="tenant id"):
        store.for_tenant("a b; drop table")
    with pytest.raises(ValidationError):
        store.for_tenant("")


# -- documents ----------------------------------------------------------------------------------
def test_documents_version_filter_and_delete(store):
    t = store.for_tenant("x")
    d1 = t.put_document("playlist", "p1", {"learner_id": "L1", "class_id": "C1", "status": "proposed"})
    assert d1.version == 1
    t.put_document("playlist", "p2", {"learner_id": "L2", "class_id": "C1", "status": "approved"})
    t.put_document("job", "j1", {"status": "running"})
    d1b = t.put_document("playlist", "p1", {"learner_id": "L1", "class_id": "C1", "status": "approved"}, expected_version=1)
    assert d1b.version == 2 and d1b.created_at == d1.created_at
    with pytest.raises(ConflictError, match="version 2, not 1"):
        t.put_document("playlist", "p1", {"status": "x"}, expected_version=1)
    with pytest.raises(ConflictError):
        t.put_document("playlist", "p1", {"status": "x"}, expected_version=0)
    assert t.get_document("playlist", "p1").payload["status"] == "approved"
    assert [d.doc_id for d in t.list_documents("playlist", status="approved")] == ["p1", "p2"]
    assert [d.doc_id for d in t.list_documents("playlist", learner_id="L2")] == ["p2"]
    assert [d.doc_id for d in t.list_documents("playlist", class_id="C1", limit=1)] == ["p1"]
    assert [d.doc_id for d in t.list_documents("playlist", offset=1)] == ["p2"]
    assert [d.doc_id for d in t.list_documents("job", learner_id=None)] == ["j1"]
    with pytest.raises(ValidationError, match="'owner'"):
        t.list_documents("playlist", owner="T1")
    with pytest.raises(ValidationError, match="learner_id"):
        t.put_document("playlist", "p3", {"learner_id": 7})
    t.delete_document("playlist", "p2")
    with pytest.raises(NotFoundError, match="'p2'"):
        t.get_document("playlist", "p2")
    with pytest.raises(NotFoundError):
        t.delete_document("playlist", "p2")


# -- audit --------------------------------------------------------------------------------------
def test_audit_is_append_only_and_filterable(store):
    t = store.for_tenant("x")
    e1 = t.append_audit("teacher:T1", "read", "learner:L1", {"fields": ["mastery"]})
    e2 = t.append_audit("lms:1", "ingest", "evidence", {"accepted": 3})
    assert e2.seq > e1.seq
    assert [e.action for e in t.list_audit()] == ["read", "ingest"]
    assert t.list_audit(actor="lms:1") == [e2]
    assert t.list_audit(resource_prefix="learner:") == [e1]
    assert t.list_audit(after_seq=e1.seq) == [e2]
    driver = store._driver
    with pytest.raises(Exception, match="append-only"):
        with driver.transaction():
            driver.execute("UPDATE audit_log SET actor = 'x'")
    with pytest.raises(Exception, match="append-only"):
        with driver.transaction():
            driver.execute("DELETE FROM audit_log")
    assert len(t.list_audit()) == 2


# -- API keys -----------------------------------------------------------------------------------
def test_api_keys_hash_lookup_crosses_tenants_only_there(store):
    key = store.put_api_key("h1", "tenant-a", "teacher", subject="T1", label="Ms T")
    store.put_api_key("h2", "tenant-b", "lms")
    assert store.find_api_key("h1") == key
    assert store.find_api_key("h2").tenant_id == "tenant-b"
    assert store.find_api_key("nope") is None
    with pytest.raises(ConflictError):
        store.put_api_key("h1", "tenant-b", "admin")
    assert [k.key_hash for k in store.for_tenant("tenant-a").list_api_keys()] == ["h1"]
    store.revoke_api_key("h1")
    assert store.find_api_key("h1") is None
    assert store.for_tenant("tenant-a").list_api_keys()[0].revoked_at is not None
    with pytest.raises(NotFoundError):
        store.revoke_api_key("h1")


# -- models -------------------------------------------------------------------------------------
def test_models_are_versioned(store):
    t = store.for_tenant("x")
    assert t.get_model() is None and t.latest_model_version() == 0
    p = {"p_init": 0.3, "p_learn": 0.2, "p_forget": 0.0, "p_guess": 0.2, "p_slip": 0.1}
    m1 = t.put_model({"S1": p}, {"method": "em"})
    m2 = t.put_model({"S1": dict(p, p_init=0.4)})
    assert (m1.version, m2.version) == (1, 2)
    assert t.get_model().params["S1"]["p_init"] == 0.4
    assert t.get_model(1) == m1
    assert [v for v, _, _ in t.list_models()] == [1, 2]
    with pytest.raises(ValidationError, match="p_slip"):
        t.put_model({"S1": {k: v for k, v in p.items() if k != "p_slip"}})
    with pytest.raises(ValidationError, match="1.5"):
        t.put_model({"S1": dict(p, p_learn=1.5)})
    with pytest.raises(NotFoundError):
        t.get_model(9)


# -- privacy: export and delete -----------------------------------------------------------------
def test_export_learner_holds_all_their_data(store, school):
    engine = _loaded(store, school)
    engine.ingest([_obs("o1"), _obs("o2", "L2")])
    engine.store.put_document("playlist", "p1", {"learner_id": "L1", "items": ["A1"]})
    engine.store.put_document("playlist", "p2", {"learner_id": "L2"})
    data = engine.store.export_learner("L1")
    assert data["learner_id"] == "L1" and data["tenant_id"] == "north"
    assert data["learner"]["id"] == "L1"
    assert data["classes"] == ["C1"]
    assert [o["observation_id"] for o in data["observations"]] == ["o1"]
    assert {m["skill_id"] for m in data["mastery"]} == {"S1", "S2"}
    assert len(data["history"]) == 2
    assert [d["doc_id"] for d in data["documents"]] == ["p1"]
    import json

    json.dumps(data)  # JSON-ready


def driver_count(store, sql: str, params=()) -> int:
    return int(store._driver.execute(sql, params)[0][0])


def test_delete_learner_really_deletes(store, school):
    engine = _loaded(store, school)
    engine.ingest([_obs("o1"), _obs("o2", "L2"), _obs("o3", "L1", "A2", ("S3",), 0.4)])
    engine.store.put_document("playlist", "p1", {"learner_id": "L1"})
    engine.store.put_document("playlist", "p2", {"learner_id": "L2"})
    engine.store.append_audit("teacher:T1", "read", "learner:L1")
    counts = engine.store.delete_learner("L1", actor="admin:1", alias="p_0123456789abcdef")
    assert counts == {
        "observations": 2, "mastery": 3, "mastery_history": 3, "documents": 1, "learners": 1,
        "class_memberships": 1, "audit_rows_pseudonymized": 1,
    }
    t = engine.store
    with pytest.raises(NotFoundError):
        t.get_learner("L1")
    with pytest.raises(NotFoundError):
        t.export_learner("L1")
    assert t.get_mastery("L1") == {} and t.list_history("L1") == []
    assert t.list_observations("L1") == [] and t.observation_payloads(["o1", "o3"]) == {}
    assert t.list_documents("playlist", learner_id="L1") == []
    assert t.get_class("C1").roster == ("L2",)
    assert [c.id for c in t.list_classes(learner_id="L1")] == []
    # Other learners intact.
    assert t.count_observations() == 1 and set(t.get_mastery("L2")) == {"S1", "S2"}
    assert t.get_document("playlist", "p2").payload == {"learner_id": "L2"}
    # The audit keeps that a deletion happened, with counts only, and the learner's alias
    # instead of the id -- in the deletion row and in the earlier read row.
    *_, read, last = t.list_audit()
    assert (last.actor, last.action, last.resource) == ("admin:1", "learner.delete", "learner:p_0123456789abcdef")
    assert last.detail == counts and read.resource == "learner:p_0123456789abcdef"
    assert driver_count(store, "SELECT COUNT(*) FROM audit_log WHERE resource LIKE ?", ("%L1%",)) == 0
    # Nothing of the learner is left in any table (raw check).
    driver = store._driver
    for table in ("observations", "mastery", "mastery_history", "documents", "learners"):
        assert driver.execute(f"SELECT COUNT(*) FROM {table} WHERE learner_id = 'L1'")[0][0] == 0
    assert driver.execute("SELECT COUNT(*) FROM class_members WHERE member_id = 'L1'")[0][0] == 0
    with pytest.raises(NotFoundError):
        t.delete_learner("L1")


def test_delete_failure_leaves_everything(store, school, monkeypatch):
    engine = _loaded(store, school)
    engine.ingest([_obs("o1")])
    tenant = engine.store

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(tenant, "append_audit", broken)
    with pytest.raises(RuntimeError):
        tenant.delete_learner("L1")
    assert tenant.count_observations("L1") == 1
    assert tenant.get_learner("L1") == school.learners[0]
    assert tenant.get_class("C1").roster == ("L1", "L2")


def test_observation_round_trip(store, school):
    engine = _loaded(store, school)
    obs = dataclasses.replace(_obs("o1", score=0.75), item_id="q7", source="teacher_observation")
    engine.ingest([obs])
    assert engine.store.get_observation("o1") == obs
    assert engine.store.list_observations("L1") == [obs]


def test_failed_migration_keeps_the_previous_version(store_url, tmp_path, monkeypatch):
    import uuid

    name = f"pw_mig_{uuid.uuid4().hex}"  # a fresh module: importlib caches packages by name
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_base.sql").write_text("CREATE TABLE extra_a (tenant_id TEXT NOT NULL, x INTEGER);\n")
    (package / "0002_broken.sql").write_text(
        "CREATE TABLE extra_b (tenant_id TEXT NOT NULL);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    store = open_store(store_url, migrate=False)
    try:
        with pytest.raises(Exception, match="0002_broken"):
            store.migrate(name)
        assert store.applied_migrations() == [(1, "base")]
        driver = store._driver
        assert driver.execute("SELECT COUNT(*) FROM extra_a")[0][0] == 0
        with pytest.raises(Exception, match="extra_b"):  # the failed step was rolled back
            with driver.transaction():
                driver.execute("SELECT COUNT(*) FROM extra_b")
        (package / "0002_broken.sql").write_text("CREATE TABLE extra_b (tenant_id TEXT NOT NULL);\n")
        assert store.migrate(name) == 2
        assert store.migrate(name) == 2
        assert store.applied_migrations() == [(1, "base"), (2, "broken")]
    finally:
        store.close()


def test_conflicting_migration_numbers_are_refused(tmp_path, monkeypatch):
    import uuid

    name = f"pw_dup_{uuid.uuid4().hex}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_one.sql").write_text("SELECT 1;\n")
    (package / "0001_other.sql").write_text("SELECT 1;\n")
    (package / "0002_only_pg.postgresql.sql").write_text("SELECT 1;\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from engine.errors import EngineError

    with pytest.raises(EngineError, match="renumber"):
        discover("sqlite", name)
    (package / "0001_other.sql").unlink()
    with pytest.raises(EngineError, match="0002_only_pg.sqlite.sql"):
        discover("sqlite", name)
    assert [m.version for m in discover("postgresql", name)] == [1, 2]


# -- model documents, the active version, learner states (migration 0003) -------------------------
P_S1 = {"p_init": 0.3, "p_learn": 0.2, "p_forget": 0.0, "p_guess": 0.2, "p_slip": 0.1}


def test_model_documents_and_the_active_version(store):
    t = store.for_tenant("x")
    assert t.active_model_version() == 0
    doc = {"format": "pathwise-kt-model", "model": "elo", "weights": [0.5, -1.25]}
    m1 = t.put_model({"S1": P_S1}, {"method": "fit"}, model="elo", document=doc)
    assert (m1.model, m1.document, t.active_model_version()) == ("elo", doc, 1)
    m2 = t.put_model({"S1": dict(P_S1, p_init=0.4)}, activate=False)
    assert t.latest_model_version() == 2 and t.active_model_version() == 1
    assert t.get_model() == m1  # the active version, not the newest
    assert t.get_model(2) == m2 and (m2.model, m2.document) == ("bkt", None)
    t.activate_model(2)
    assert t.get_model() == m2
    t.activate_model(0)  # back to the default BKT
    assert t.get_model() is None and t.active_model_version() == 0
    with pytest.raises(NotFoundError, match="list_models"):
        t.activate_model(7)
    assert t.active_model_version() == 0
    assert store.for_tenant("y").active_model_version() == 0  # per tenant
    with pytest.raises(ValidationError, match="model name"):
        t.put_model({"S1": P_S1}, model="")


def _state(lid, version=1, key="1:bkt:k", n=2, seq=2, p=0.5):
    from engine.domain.evidence import LearnerModelState

    return LearnerModelState(lid, version, key, {"p_mastered": {"S1": p}}, n, T0, seq)


def test_learner_states_round_trip_replace_and_delete(store, school):
    engine = _loaded(store, school)
    t = engine.store
    assert t.learner_states(["L1", "L2"]) == {}
    with t.transaction():
        t.put_learner_states([_state("L1"), _state("L2", p=0.25)])
    assert t.learner_states(["L1", "L2", "L3"]) == {"L1": _state("L1"), "L2": _state("L2", p=0.25)}
    with t.transaction():  # inside a transaction (SQLite: through the write-through cache)
        t.put_learner_states([_state("L1", version=2, key="2:elo:k", n=3, seq=5, p=0.125)])
        assert t.learner_states(["L1"])["L1"] == _state("L1", 2, "2:elo:k", 3, 5, 0.125)
    assert t.learner_states(["L1"])["L1"].state == {"p_mastered": {"S1": 0.125}}
    assert store.for_tenant("other").learner_states(["L1"]) == {}
    with t.transaction():
        t.delete_learner_states(["L2"])
    assert set(t.learner_states(["L1", "L2"])) == {"L1"}


def test_stale_learners_are_those_with_evidence_and_another_state(store, school):
    engine = _loaded(store, school)
    engine.ingest([_obs("o1"), _obs("o2", "L2")])
    key = engine.runtime_model(()).key
    assert engine.store.stale_learners(key) == []
    assert engine.store.stale_learners("another") == ["L1", "L2"]
    with engine.store.transaction():
        engine.store.delete_learner_states(["L2"])
    assert engine.store.stale_learners(key) == ["L2"]  # L3 has no evidence: never stale


def _store_at(version: int, store_url, tmp_path, monkeypatch):
    """A store migrated only to ``version`` (a package holding copies of the migrations up to
    it)."""
    import shutil
    import uuid
    from pathlib import Path

    import engine.store.migrations as real

    name = f"pw_{version:04d}_{uuid.uuid4().hex}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for path in Path(real.__file__).parent.glob("00*.sql"):
        if int(path.name[:4]) <= version:
            shutil.copy(path, package / path.name)
    monkeypatch.syspath_prepend(str(tmp_path))
    store = open_store(store_url, migrate=False)
    assert store.migrate(name) == version
    return store


def _at_0002(store_url, tmp_path, monkeypatch):
    return _store_at(2, store_url, tmp_path, monkeypatch)


def test_migration_0003_upgrades_a_0002_database_with_data(store_url, tmp_path, monkeypatch,
                                                           school):
    import json

    store = _at_0002(store_url, tmp_path, monkeypatch)
    try:
        at = "2024-09-02T14:00:00Z"
        rows = [("o1", "A1", "S1;S2", 1.0), ("o2", "A2", "S3", 0.0), ("o3", "A1", "S1;S2", 0.5)]
        history_ids = {"o1": 7, "o2": 3, "o3": 11}  # o2 arrived first, then o1, then o3
        with store._driver.transaction():
            for oid, activity, skills, score in rows:
                store._driver.execute(
                    "INSERT INTO observations (tenant_id, observation_id, learner_id, "
                    "activity_id, item_id, skill_ids, score, observed_at, source, ingested_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ("north", oid, "L1", activity, None, skills, score, at, "lms", at),
                )
                for k, skill in enumerate(skills.split(";")):
                    store._driver.execute(
                        "INSERT INTO mastery_history (id, tenant_id, learner_id, skill_id, "
                        "observation_id, p_before, p_after, p_correct, at) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (history_ids[oid] + k, "north", "L1", skill, oid, 0.1, 0.2, 0.3, at),
                    )
            for version, p_init in ((1, 0.3), (2, 0.45)):
                store._driver.execute(
                    "INSERT INTO models (tenant_id, version, created_at, params, meta) VALUES "
                    "(?, ?, ?, ?, ?)",
                    ("north", version, at, json.dumps({s: dict(P_S1, p_init=p_init) for s in
                                                       ("S1", "S2", "S3", "S4")}), "{}"),
                )
        assert store.migrate() >= 3
        t = store.for_tenant("north")
        # arrival order backfilled from the history ids; fold order (observed_at, seq)
        seqs = dict(store._driver.execute(
            "SELECT observation_id, seq FROM observations WHERE tenant_id = ?", ("north",)))
        assert seqs == {"o1": 7, "o2": 3, "o3": 11}
        assert [o.observation_id for o, _ in t.learner_observations(["L1"])["L1"]] == [
            "o2", "o1", "o3"]
        # old model rows: still readable, plain BKT versions, the newest is active
        old = t.get_model(1)
        assert (old.model, old.document, old.params["S1"]["p_init"]) == ("bkt", None, 0.3)
        assert t.active_model_version() == 2 and t.learner_states(["L1"]) == {}
        # the engine runs the old version and refolds the learner's evidence on new evidence
        engine = Engine(store, "north")
        engine.load_school(school, with_evidence=False, with_model=False)
        result = engine.ingest([Observation("o4", "L1", "A3", ("S4",), 1.0, T0)])
        assert result.refolded == ("L1",)
        assert [c.observation_id for c in engine.history("L1")] == ["o2", "o1", "o1", "o3",
                                                                   "o3", "o4"]
        fresh = Engine.open("sqlite://", "north")
        fresh.load_school(school, with_evidence=False, with_model=False)
        fresh.set_model({s: dict(P_S1, p_init=0.45) for s in ("S1", "S2", "S3", "S4")})
        fresh.ingest([Observation(o, "L1", a, tuple(s.split(";")), x, T0) for o, a, s, x in
                      (rows[1], rows[0], rows[2])] + [Observation("o4", "L1", "A3", ("S4",), 1.0, T0)])
        assert engine.mastery("L1") == fresh.mastery("L1")
        assert engine.history("L1") == fresh.history("L1")
        fresh.close()
    finally:
        store.close()


def test_migration_0050_clusters_the_ingest_tables_and_keeps_their_rows(tmp_path, monkeypatch,
                                                                        school):
    """SQLite: a database with evidence at 0041 upgrades to key-clustered (WITHOUT ROWID)
    mastery and learner_states with every row kept and the engine carrying on; observations
    stay a rowid table (random sender ids would scatter whole rows)."""
    store = _store_at(41, f"sqlite:///{tmp_path / 'old.db'}", tmp_path, monkeypatch)
    try:
        engine = _loaded(store, school)
        engine.ingest([_obs("o1"), _obs("o2", "L2", "A2", ("S3",), 0.0)])
        tables = ("observations", "mastery", "learner_states", "mastery_history")
        before = {t: sorted(store._driver.execute(f"SELECT * FROM {t}")) for t in tables}
        assert store.migrate() >= 50
        after = {t: sorted(store._driver.execute(f"SELECT * FROM {t}")) for t in tables}
        assert after == before and all(after.values())
        for table in tables:
            (sql,) = store._driver.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))[0]
            assert ("WITHOUT ROWID" in sql) == (table in ("mastery", "learner_states"))
        engine = Engine(store, "north")
        engine.ingest_one(_obs("o3", "L2", "A2", ("S3",), 1.0))
        assert engine.mastery("L2")["S3"].n_observations == 2
    finally:
        store.close()


def test_migration_0060_moves_statement_documents_into_their_rows(store_url, tmp_path, monkeypatch):
    """A database at 0050 keeps statements as documents of kind xapi_statement beside their
    index rows; 0060 moves each record into its xapi_statements row (learner, status,
    payload) and deletes the document, so queries, the pending list and erasure read it."""
    import json

    store = _store_at(50, store_url, tmp_path, monkeypatch)
    try:
        ts = store.for_tenant("north")
        records = {}
        for sid, learner, status in (("s-applied", "L1", "applied"), ("s-pending", None, "pending")):
            statement = {"id": sid, "stored": "2026-12-05T10:00:00.000Z",
                         "actor": {"mbox": f"mailto:{sid}@example.org"},
                         "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                         "object": {"id": f"https://example.org/{sid}"}}
            records[sid] = {"statement": statement, "learner_id": learner, "status": status, "voided": False}
            with store._driver.transaction():
                store._driver.execute(
                    "INSERT INTO documents (tenant_id, kind, doc_id, version, payload, learner_id, class_id, "
                    "status, parent_id, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, NULL, ?, NULL, ?, ?)",
                    ("north", "xapi_statement", sid, json.dumps(records[sid]), learner, status,
                     "2026-12-05T10:00:00Z", "2026-12-05T10:00:00Z"))
                store._driver.execute(
                    "INSERT INTO xapi_statements (tenant_id, statement_id, stored, verb, registration, voided) "
                    "VALUES (?, ?, ?, ?, NULL, 0)", ("north", sid, statement["stored"], statement["verb"]["id"]))
        assert store.migrate() >= 60
        assert ts.list_documents("xapi_statement") == []
        assert ts.get_statement("s-applied") == records["s-applied"]
        assert [sid for sid, _ in ts.list_statements(status="pending")] == ["s-pending"]
        assert [s["id"] for _, s in ts.query_statements(ascending=True)] == ["s-applied", "s-pending"]
        assert store._driver.execute(
            "SELECT learner_id, status FROM xapi_statements WHERE statement_id = 's-applied'") == [("L1", "applied")]
    finally:
        store.close()


def test_pending_statements_page_in_arrival_order(store):
    """list_statements(status=...) pages with limit and offset (offset alone too) in arrival
    order, on both dialects."""
    ts = store.for_tenant("north")
    for i in range(5):
        ts.put_statement(f"s{i}", {"statement": {"id": f"s{i}", "verb": {"id": "http://x/v"}},
                                   "status": "pending" if i != 2 else "applied", "learner_id": None})
    ids = lambda rows: [sid for sid, _ in rows]  # noqa: E731
    assert ids(ts.list_statements(status="pending")) == ["s0", "s1", "s3", "s4"]
    assert ids(ts.list_statements(status="pending", limit=2)) == ["s0", "s1"]
    assert ids(ts.list_statements(status="pending", limit=2, offset=2)) == ["s3", "s4"]
    assert ids(ts.list_statements(status="pending", offset=3)) == ["s4"]
    assert ids(ts.list_statements(status="applied")) == ["s2"]


def test_retention_evidence_selects_what_the_forgetting_fit_reads(store, school):
    """The database's window (``retention_evidence``) yields exactly the retention checks and
    same-session tickets the full-history pass of ``fit_learned`` finds: the same counts, the
    same school-level test and half-lives (on SQLite and PostgreSQL)."""
    from datetime import timedelta

    from engine.planning._learned import fit_forgetting, fit_learned

    engine = _loaded(store, school)
    rng = __import__("random").Random(5)
    obs, n = [], 0
    for learner in ("L1", "L2", "L3"):
        t = T0
        for _ in range(14):  # sessions: a few answers each, gaps of hours to weeks
            t += timedelta(days=rng.choice((0.1, 2, 7, 15)))
            for j in range(3):
                act, skills = rng.choice((("A1", ("S1", "S2")), ("A2", ("S3",)), ("A3", ("S4",))))
                obs.append(Observation(f"r{n}", learner, act, skills, float(rng.random() < 0.8),
                                       t + timedelta(minutes=j)))
                n += 1
    engine.ingest(obs)
    t = engine.store
    for threshold in (0.5, 0.95):
        full = fit_learned(t.learning_evidence(), [], {}, threshold).forgetting
        rows = t.retention_evidence(threshold)
        alone = fit_forgetting(rows)
        assert alone.checks > 0 and rows
        assert alone.checks == sum(len(v) for v in full._checks.values())
        assert alone.forgetting._slips == full._slips
        assert alone.forgetting.forgetting_evidence() == pytest.approx(full.forgetting_evidence())
        for key in full._checks:
            assert sorted(alone.forgetting._checks[key]) == sorted(full._checks[key])
            assert alone.forgetting.half_life(*key) == pytest.approx(full.half_life(*key))
