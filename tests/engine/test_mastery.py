"""Evidence → mastery through the Engine, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.domain.evidence import Observation
from engine.engine import Engine
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.mastery import DEFAULT_PARAMS
from tests.engine.concurrency import chained_history, ingest_concurrently

T0 = datetime(2024, 9, 2, 14, 0, tzinfo=UTC)


def reference_update(p, score, p_learn, p_forget, p_guess, p_slip):
    """Independent plain-Python twin of the virtual-evidence BKT step."""
    p_correct = p * (1 - p_slip) + (1 - p) * p_guess
    # Soft evidence: mix the correct and incorrect likelihoods by the score.
    l_mastered = score * (1 - p_slip) + (1 - score) * p_slip
    l_not = score * p_guess + (1 - score) * (1 - p_guess)
    posterior = p * l_mastered / (p * l_mastered + (1 - p) * l_not)
    return p_correct, posterior * (1 - p_forget) + (1 - posterior) * p_learn


def _obs(oid, learner="L1", activity="A1", skills=("S1", "S2"), score=1.0, minutes=0):
    return Observation(oid, learner, activity, skills, score, T0 + timedelta(minutes=minutes))


@pytest.fixture
def engine(store, school):
    engine = Engine(store, "north")
    engine.load_school(school)
    return engine


def _snapshot(engine):
    t = engine.store
    return (
        t.count_observations(),
        {lid: t.get_mastery(lid) for lid in ("L1", "L2", "L3")},
        {lid: t.list_history(lid) for lid in ("L1", "L2", "L3")},
    )


def test_ingest_updates_mastery_like_the_reference(engine):
    d = DEFAULT_PARAMS
    scores = [1.0, 0.0, 0.6, 1.0, 0.25]
    result = engine.ingest([_obs(f"o{i}", skills=("S1",), score=s, minutes=i) for i, s in enumerate(scores)])
    assert result.accepted == 5 and result.duplicates == 0
    p = d.p_init
    for change, score in zip(result.changes, scores, strict=True):
        p_correct, after = reference_update(p, score, d.p_learn, d.p_forget, d.p_guess, d.p_slip)
        assert change.before == pytest.approx(p, abs=1e-12)
        assert change.p_correct_predicted == pytest.approx(p_correct, abs=1e-12)
        assert change.after == pytest.approx(after, abs=1e-12)
        p = after
    state = engine.mastery("L1")["S1"]
    assert state.p_mastered == pytest.approx(p, abs=1e-12)
    assert state.n_observations == 5 and state.last_observation_id == "o4"
    assert state.updated_at == T0 + timedelta(minutes=4)


def test_state_carries_across_batches(engine):
    one = engine.ingest([_obs("a", skills=("S1",), score=1.0)])
    two = engine.ingest([_obs("b", skills=("S1",), score=0.0, minutes=1)])
    assert two.changes[0].before == one.changes[0].after
    assert engine.mastery("L1")["S1"].n_observations == 2


def test_multi_skill_observation_updates_each_skill(engine):
    result = engine.ingest([_obs("o1", skills=("S1", "S2"), score=1.0)])
    assert [(c.skill_id, c.observation_id) for c in result.changes] == [("S1", "o1"), ("S2", "o1")]
    assert set(engine.mastery("L1")) == {"S1", "S2"}
    assert engine.mastery("L1")["S1"].p_mastered > DEFAULT_PARAMS.p_init


def test_partial_credit_is_evidence_not_rounded(engine):
    engine.ingest([
        _obs("lo", "L1", skills=("S1",), score=0.4),
        _obs("mid", "L2", skills=("S1",), score=0.5),
        _obs("hi", "L3", skills=("S1",), score=0.6),
    ])
    p = {lid: engine.mastery(lid)["S1"].p_mastered for lid in ("L1", "L2", "L3")}
    assert p["L1"] < p["L2"] < p["L3"]  # monotone in the score, none rounded to 0/1 outcome
    d = DEFAULT_PARAMS
    _, after_correct = reference_update(d.p_init, 1.0, d.p_learn, d.p_forget, d.p_guess, d.p_slip)
    _, after_wrong = reference_update(d.p_init, 0.0, d.p_learn, d.p_forget, d.p_guess, d.p_slip)
    assert after_wrong < p["L1"] and p["L3"] < after_correct
    assert engine.store.get_observation("mid").score == 0.5


def test_same_id_same_payload_counts_once(engine):
    batch = [_obs("o1"), _obs("o2", "L2", score=0.0)]
    first = engine.ingest(batch)
    before = _snapshot(engine)
    again = engine.ingest(batch)
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (again.accepted, again.duplicates, again.changes) == (0, 2, ())
    assert again.duplicate_ids == ("o1", "o2")
    assert _snapshot(engine) == before
    # Repeated inside one batch, too.
    inside = engine.ingest([_obs("o3", minutes=1), _obs("o3", minutes=1)])
    assert (inside.accepted, inside.duplicates) == (1, 1)
    assert engine.mastery("L1")["S1"].n_observations == 2


def test_same_id_different_payload_is_a_conflict_and_writes_nothing(engine):
    engine.ingest([_obs("o1")])
    before = _snapshot(engine)
    with pytest.raises(ConflictError, match="'o1'"):
        engine.ingest([_obs("new"), _obs("o1", score=0.0)])
    with pytest.raises(ConflictError, match="'x'"):
        engine.ingest([_obs("x"), _obs("x", score=0.5)])
    assert _snapshot(engine) == before
    assert engine.store.observation_payloads(["new", "x"]) == {}


@pytest.mark.parametrize(
    ("bad", "error", "named"),
    [
        (_obs("b", learner="L404"), NotFoundError, "L404"),
        (_obs("b", activity="A404"), NotFoundError, "A404"),
        (_obs("b", skills=("S1", "S404")), NotFoundError, "S404"),
        ({"observation_id": "b", "learner_id": "L1", "activity_id": "A1", "skill_ids": "S1",
          "score": 1.5, "observed_at": "2024-09-02T14:00:00Z"}, ValidationError, "1.5"),
        ({"observation_id": "b", "learner_id": "L1", "activity_id": "A1", "skill_ids": "S1",
          "score": 1, "observed_at": "2024-09-02T14:00:00"}, ValidationError, "time zone"),
        ({"observation_id": "b", "learner_id": "L1", "activity_id": "A1", "skill_ids": "S1",
          "score": 1, "observed_at": "2024-09-02T14:00:00Z", "source": "rumour"},
         ValidationError, "rumour"),
    ],
)
def test_failed_batch_writes_nothing(engine, bad, error, named):
    engine.ingest([_obs("o0")])
    before = _snapshot(engine)
    with pytest.raises(error, match=named):
        engine.ingest([_obs("ok1", minutes=1), _obs("ok2", "L2", minutes=2), bad])
    assert _snapshot(engine) == before
    assert engine.store.observation_payloads(["ok1", "ok2", "b"]) == {}


def test_dict_rows_are_accepted(engine):
    result = engine.ingest([
        {"observation_id": "r1", "learner_id": "L1", "activity_id": "A1", "skill_ids": "S1;S2",
         "score": 0.5, "observed_at": "2024-09-02T14:00:00Z", "source": "self_report"},
    ])
    assert result.accepted == 1 and len(result.changes) == 2
    assert engine.store.get_observation("r1").source == "self_report"


def test_history_is_a_chain(engine):
    engine.ingest([_obs(f"o{i}", skills=("S1", "S2"), score=(i % 3) / 2, minutes=i) for i in range(6)])
    engine.ingest([_obs("later", skills=("S1",), score=1.0, minutes=10)])
    history = engine.history("L1", "S1")
    assert [c.observation_id for c in history] == [f"o{i}" for i in range(6)] + ["later"]
    assert history[0].before == DEFAULT_PARAMS.p_init
    for prev, nxt in zip(history, history[1:], strict=False):
        assert nxt.before == prev.after
    assert history[-1].after == engine.mastery("L1")["S1"].p_mastered
    assert len(engine.history("L1")) == 13
    assert engine.history("L2") == []


def test_fitted_model_parameters_are_used(engine):
    params = {"p_init": 0.6, "p_learn": 0.3, "p_forget": 0.05, "p_guess": 0.25, "p_slip": 0.15}
    version = engine.set_model({"S1": params}, {"method": "test"})
    assert version.version == 1 and engine.active_model().version == 1
    result = engine.ingest([_obs("o1", skills=("S1", "S4"), activity="A1", score=0.0)])
    s1, s4 = result.changes
    d = DEFAULT_PARAMS
    assert s1.before == 0.6 and s4.before == d.p_init  # S4 is not in the model: defaults
    p1, after1 = reference_update(0.6, 0.0, 0.3, 0.05, 0.25, 0.15)
    p4, after4 = reference_update(d.p_init, 0.0, d.p_learn, d.p_forget, d.p_guess, d.p_slip)
    assert (s1.after, s4.after) == pytest.approx((after1, after4), abs=1e-12)
    # One prediction per observation: BKT combines its skills' P(correct) by their mean.
    assert s1.p_correct_predicted == s4.p_correct_predicted
    assert s1.p_correct_predicted == pytest.approx((p1 + p4) / 2, abs=1e-12)
    # A new active version: the learner's evidence is refolded with it before new evidence.
    engine.set_model({"S1": dict(params, p_learn=0.0)})
    later = engine.ingest([_obs("o2", skills=("S1",), score=0.0, minutes=1)])
    assert later.refolded == ("L1",)
    _, refolded = reference_update(0.6, 0.0, 0.0, 0.05, 0.25, 0.15)
    assert later.changes[0].before == pytest.approx(refolded, abs=1e-12)
    assert later.changes[0].after == pytest.approx(
        reference_update(refolded, 0.0, 0.0, 0.05, 0.25, 0.15)[1], abs=1e-12
    )
    assert engine.history("L1", "S1")[0].after == pytest.approx(refolded, abs=1e-12)


def test_mastery_probabilities_fill_priors(engine):
    engine.ingest([_obs("o1", skills=("S1",))])
    probs = engine.mastery_probabilities("L1")
    assert set(probs) == {"S1", "S2", "S3", "S4"}
    assert probs["S2"] == DEFAULT_PARAMS.p_init and probs["S1"] > DEFAULT_PARAMS.p_init


def test_retract_replays_the_remaining_evidence(engine, store, school):
    batch = [_obs(f"o{i}", skills=("S1", "S2"), score=(i % 4) / 3, minutes=i) for i in range(5)]
    engine.ingest(batch)
    engine.ingest([_obs("other", "L2", skills=("S1",))])
    assert engine.retract(["o2"]) == 1
    fresh = Engine(store, "fresh")
    fresh.load_school(school)
    fresh.ingest([o for o in batch if o.observation_id != "o2"])
    for skill in ("S1", "S2"):
        assert engine.mastery("L1")[skill].p_mastered == pytest.approx(
            fresh.mastery("L1")[skill].p_mastered, abs=1e-12)
        assert [c.observation_id for c in engine.history("L1", skill)] == ["o0", "o1", "o3", "o4"]
    assert engine.mastery("L2")["S1"].n_observations == 1
    with pytest.raises(NotFoundError, match="'o2'"):
        engine.retract(["o2"])
    # A retracted id can be sent again as new evidence.
    assert engine.ingest([batch[2]]).accepted == 1


def test_load_school_ingests_csv_evidence(store, school, tmp_path):
    path = tmp_path / "evidence.csv"
    path.write_text(
        "observation_id,learner_id,activity_id,skill_ids,score,observed_at,source\n"
        "e1,L1,A1,S1;S2,1,2024-09-02T14:00:00Z,lms\n"
        "e2,L2,A2,S3,0.5,2024-09-02T14:05:00Z,teacher_observation\n"
    )
    school.evidence = path
    counts = Engine(store, "csv").load_school(school)
    assert counts["observations"] == 2 and counts["learners"] == 3
    assert Engine(store, "csv").mastery("L2")["S3"].n_observations == 1


def test_large_batch_equals_one_at_a_time(store, school):
    """1,200 observations (past every chunk size and the COPY threshold) in one batch give
    exactly the mastery and history of ingesting them one by one."""
    import random

    rng = random.Random(3)
    acts = {"A1": ("S1", "S2"), "A2": ("S3",), "A3": ("S4",)}
    batch = []
    for i in range(1200):
        activity = rng.choice(sorted(acts))
        batch.append(_obs(f"o{i}", f"L{rng.randint(1, 3)}", activity, acts[activity],
                          rng.choice([0.0, 1.0, round(rng.random(), 3)]), minutes=i))
    bulk = Engine(store, "bulk")
    bulk.load_school(school)
    one = Engine(store, "one")
    one.load_school(school)
    assert bulk.ingest(batch).accepted == 1200
    for obs in batch[:300]:
        one.ingest_one(obs)
    assert one.ingest(batch[300:]).accepted == 900
    for lid in ("L1", "L2", "L3"):
        got, want = bulk.mastery(lid), one.mastery(lid)
        assert set(got) == set(want)
        for skill, state in want.items():
            assert got[skill].p_mastered == pytest.approx(state.p_mastered, abs=1e-12)
            assert got[skill].n_observations == state.n_observations
            assert got[skill].last_observation_id == state.last_observation_id
        assert [(c.observation_id, c.skill_id) for c in bulk.history(lid)] == [
            (c.observation_id, c.skill_id) for c in one.history(lid)
        ]
    again = bulk.ingest(batch)
    assert (again.accepted, again.duplicates) == (0, 1200)
    assert bulk.store.count_observations() == 1200


# -- the write-through mastery cache (SQLite) must never serve stale or uncommitted state ------
def test_another_connection_writing_is_seen(store_url, school):
    from engine.store import open_store

    with open_store(store_url) as first_store, open_store(store_url) as second_store:
        first = Engine(first_store, "north")
        first.load_school(school)
        second = Engine(second_store, "north")
        a = first.ingest([_obs("o1", skills=("S1",), score=1.0)]).changes[0]
        b = second.ingest([_obs("o2", skills=("S1",), score=1.0, minutes=1)]).changes[0]
        assert b.before == a.after
        c = first.ingest([_obs("o3", skills=("S1",), score=0.0, minutes=2)]).changes[0]
        assert c.before == b.after  # not the value `first` wrote itself
        assert first.mastery("L1")["S1"].n_observations == 3


def test_rolled_back_ingest_leaves_no_cached_state(engine):
    start = engine.ingest([_obs("o1", skills=("S1",), score=1.0)]).changes[0].after
    with pytest.raises(RuntimeError):
        with engine.store.transaction():
            engine.ingest([_obs("o2", skills=("S1",), score=1.0, minutes=1)])
            raise RuntimeError("caller failed after ingest")
    again = engine.ingest([_obs("o2", skills=("S1",), score=1.0, minutes=1)]).changes[0]
    assert again.before == start
    assert engine.mastery("L1")["S1"].n_observations == 2


def test_deleted_learner_starts_from_the_prior(engine, school):
    engine.ingest([_obs("o1", skills=("S1",), score=1.0)])
    engine.store.delete_learner("L1")
    engine.store.put_learners([school.learners[0]])
    change = engine.ingest([_obs("o9", skills=("S1",), score=1.0)]).changes[0]
    assert change.before == DEFAULT_PARAMS.p_init


def test_retract_then_ingest_uses_replayed_state(engine):
    engine.ingest([_obs(f"o{i}", skills=("S1",), score=1.0, minutes=i) for i in range(3)])
    engine.retract(["o2"])
    replayed = engine.mastery("L1")["S1"].p_mastered
    change = engine.ingest([_obs("o5", skills=("S1",), score=0.0, minutes=5)]).changes[0]
    assert change.before == replayed


def test_concurrent_writers_serialise_per_learner(store_url, school):
    """Two connections ingesting the same learner and skill at once lose no update."""
    ingest_concurrently(store_url, school, {
        p: [_obs(f"{p}{i}", skills=("S1",), score=i % 2, minutes=i) for i in range(40)]
        for p in ("a", "b")})
    history, stored = chained_history(store_url, "L1", "S1")
    assert len(history) == 80 and stored.n_observations == 80


def test_set_model_from_a_fitted_bkt(school):
    import random

    from kt.bkt import BKT
    from kt.log import ObservationLog

    rng = random.Random(0)
    n = 400
    log = ObservationLog.from_arrays(
        learner=[f"L{i % 20}" for i in range(n)],
        skill=["S1" if i % 2 else "S2" for i in range(n)],
        outcome=[int(rng.random() < 0.6) for _ in range(n)],
    )
    fitted = BKT().fit(log)
    with Engine.open("sqlite://", "fit") as engine:
        engine.load_school(school)
        version = engine.set_model(fitted, {"method": "kt.bkt.BKT"})
        assert set(version.params) == {"S1", "S2"}
        assert version.params["S1"] == fitted.skill_params("S1").as_dict()
        change = engine.ingest([_obs("o1", skills=("S1",), score=1.0)]).changes[0]
        assert change.before == fitted.skill_params("S1").p_init


def test_then_runs_inside_the_ingest_transaction_and_its_failure_writes_nothing(engine):
    """The caller's audit entry (``then``) is written with the evidence or not at all, and the
    write lock is not held before the engine's own transaction starts (the service no longer
    opens an outer one)."""
    seen = []

    def then(result):
        seen.append((engine.store._driver.in_transaction, result.accepted))

    engine.ingest([_obs("t1", skills=("S1",))], then=then)
    assert seen == [(True, 1)]
    before = _snapshot(engine)

    def failing(result):
        raise RuntimeError("audit store down")

    with pytest.raises(RuntimeError, match="audit store down"):
        engine.ingest([_obs("t2", skills=("S1",), minutes=1)], then=failing)
    assert _snapshot(engine) == before
    engine.ingest([], then=then)  # an empty batch is still audited
    assert seen[-1] == (True, 0)
