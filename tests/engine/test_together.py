"""Group commit (``Pathwise.run_together``, engine.app._together): several requests' write use
cases in one store transaction on SQLite, each with its own outcome; one that fails fails
alone and leaves no trace; the others' evidence, mastery and audit are as if each had run
by itself. On PostgreSQL every call runs alone (row locks; no lock order to break)."""

from __future__ import annotations

import functools

import pytest

from engine.access import Caller, Principal
from engine.app import Pathwise
from engine.errors import NotFoundError
from tests._locks import LockHolder, lock_is_free

TENANT = "t"
LMS = Caller(Principal(tenant=TENANT, role="lms", key_id="key_lms"))
T0 = "2026-12-01T10:00:00Z"


def _row(oid: str, learner: str, score: float, minute: int) -> dict:
    return {"id": oid, "learner_id": learner, "activity_id": "A1", "score": score,
            "observed_at": f"2026-12-01T10:{minute:02d}:00Z"}


def _open(url: str, school) -> Pathwise:
    app = Pathwise.open(url)
    app.school(TENANT).engine.load_school(school)
    app.invalidate(TENANT)
    return app


def _commits(app: Pathwise) -> list[str]:
    """Every COMMIT and ROLLBACK the store's write connection runs from now on (SQLite)."""
    seen: list[str] = []
    app.store._driver.connection.set_trace_callback(
        lambda sql: seen.append(sql) if sql.split()[0] in ("COMMIT", "ROLLBACK") else None)
    return seen


def _state(app: Pathwise) -> tuple:
    school = app.school(TENANT)
    mastery = {lid: {s: (round(m.p_mastered, 12), m.n_observations)
                     for s, m in school.engine.mastery(lid).items()} for lid in ("L1", "L2", "L3")}
    evidence = sorted(o.observation_id for o in school.engine.store.list_observations())
    audit = [(e.action, e.resource, e.detail.get("accepted"))
             for e in school.engine.store.list_audit(resource="evidence")]
    return mastery, evidence, audit


def test_a_group_is_one_transaction_and_ends_as_one_by_one(tmp_path, school):
    batches = [[_row("o1", "L1", 1.0, 1), _row("o2", "L2", 0.0, 2)],
               [_row("o3", "L1", 0.0, 3)],
               [_row("o1", "L1", 1.0, 1), _row("o4", "L3", 1.0, 4)]]  # o1 again: a duplicate
    grouped = _open(f"sqlite:///{tmp_path / 'grouped.db'}", school)
    alone = _open(f"sqlite:///{tmp_path / 'alone.db'}", school)
    try:
        seen = _commits(grouped)
        outcomes = grouped.run_together(
            [functools.partial(grouped.school(TENANT).ingest_evidence, LMS, b) for b in batches])
        assert seen == ["COMMIT"], "three requests should commit once, together"
        assert [o.error for o in outcomes] == [None, None, None]
        assert [o.value["accepted"] for o in outcomes] == [2, 1, 1]
        assert [o.value["duplicates"] for o in outcomes] == [0, 0, 1]
        for b in batches:
            alone.school(TENANT).ingest_evidence(LMS, b)
        assert _state(grouped) == _state(alone)
    finally:
        grouped.close()
        alone.close()


def test_a_failing_call_fails_alone_and_leaves_nothing(tmp_path, school):
    good1 = [_row("o1", "L1", 1.0, 1)]
    bad = [_row("o2", "L2", 1.0, 2), _row("o3", "nobody", 1.0, 3)]  # an unknown learner
    good2 = [_row("o4", "L2", 0.0, 4)]
    grouped = _open(f"sqlite:///{tmp_path / 'grouped.db'}", school)
    alone = _open(f"sqlite:///{tmp_path / 'alone.db'}", school)
    try:
        school_app = grouped.school(TENANT)
        grouped.school(TENANT).engine.mastery("L1")  # fill the mastery cache before the group
        seen = _commits(grouped)
        outcomes = grouped.run_together(
            [functools.partial(school_app.ingest_evidence, LMS, b) for b in (good1, bad, good2)])
        assert outcomes[0].error is None and outcomes[2].error is None
        assert isinstance(outcomes[1].error, NotFoundError)
        assert "nobody" in str(outcomes[1].error)
        # the group rolled back, then each ran alone: two commits (the bad one is refused
        # before its own transaction: it names an unknown learner)
        assert seen == ["ROLLBACK", "COMMIT", "COMMIT"]
        alone.school(TENANT).ingest_evidence(LMS, good1)
        alone.school(TENANT).ingest_evidence(LMS, good2)
        assert _state(grouped) == _state(alone), "the failed group left a trace (rows, cache or audit)"
    finally:
        grouped.close()
        alone.close()


@pytest.mark.postgres
def test_on_postgresql_each_call_runs_alone(postgres_url, school):
    app = _open(postgres_url, school)
    try:
        calls = [functools.partial(app.school(TENANT).ingest_evidence, LMS, b)
                 for b in ([_row("o1", "L1", 1.0, 1)], [_row("o2", "nobody", 1.0, 2)])]
        assert app.store.one_writer is False
        opened = []
        group_transaction = app.store.transaction
        app.store.transaction = lambda: (opened.append(1), group_transaction())[1]
        outcomes = app.run_together(calls + calls[:1])
        assert opened == [], "on PostgreSQL the calls must not share a transaction"
        assert outcomes[0].value["accepted"] == 1
        assert isinstance(outcomes[1].error, NotFoundError)
        assert outcomes[2].value["duplicates"] == 1
        assert [o.observation_id for o in app.school(TENANT).engine.store.list_observations()] == ["o1"]
    finally:
        app.close()


def test_the_write_turn_is_refused_while_another_process_writes_and_given_back(tmp_path):
    from engine.store import open_store

    path = tmp_path / "turn.db"
    with open_store(f"sqlite:///{path}") as store:
        with LockHolder(path) as other:  # a real second process holds the lock
            assert store.try_write_turn() is False, "another process holds the lock"
            other.release()
        assert store.try_write_turn() is True
        assert not lock_is_free(path), "the turn taken must keep other processes out"
        store.end_write_turn()
        assert lock_is_free(path), "an unused turn must be given back"
        assert store.try_write_turn() is True
        with store.for_tenant(TENANT).transaction():
            store.end_write_turn()  # a transaction is open: the turn is its, not given back
            assert not lock_is_free(path)
        assert lock_is_free(path), "the transaction's commit gives the turn back"


def test_the_write_turn_is_refused_while_another_thread_of_this_process_writes(tmp_path):
    """A pool thread's transaction holds the process's write lock (the same lock file, so
    taking it again here would succeed); the event loop asking for a turn then must hear
    False at once instead of a turn whose first transaction waits for that thread."""
    import threading

    from engine.store import open_store

    path = tmp_path / "threads.db"
    inside, finish = threading.Event(), threading.Event()
    with open_store(f"sqlite:///{path}") as store:

        def write() -> None:
            with store.for_tenant(TENANT).transaction():
                inside.set()
                finish.wait(10)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert inside.wait(10)
            assert store.try_write_turn() is False, "another thread of this process is writing"
        finally:
            finish.set()
            writer.join()
        assert store.try_write_turn() is True
        store.end_write_turn()
        assert lock_is_free(path)


def test_a_prepared_batch_counts_its_rows_and_learners_for_the_audit(tmp_path, school):
    """``prepare_evidence`` then ``write_evidence``: the audit row names every row of the
    batch (a repeat of an id with the same payload included) and its learners, sorted."""
    app = _open(f"sqlite:///{tmp_path / 'p.db'}", school)
    try:
        school_app = app.school(TENANT)
        rows = [_row("p-1", "L2", 1.0, 1), _row("p-2", "L1", 0.0, 2), _row("p-1", "L2", 1.0, 1)]
        prepared = school_app.prepare_evidence(LMS, rows)
        assert prepared.n == 3 and prepared.learners == ("L1", "L2")
        assert school_app.write_evidence(prepared)["accepted"] == 2
        [entry] = school_app.engine.store.list_audit(resource="evidence")
        assert entry.detail["n"] == 3 and entry.detail["learners"] == ["L1", "L2"]
    finally:
        app.close()
