"""Evidence in time order: any arrival order, in any batches, ends in the state, mastery rows
and history that in-order arrival gives (issue 10 item 5)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.domain.evidence import Observation
from engine.engine import Engine
from tests.engine.concurrency import chained_history, ingest_concurrently

T0 = datetime(2024, 9, 2, 14, 0, tzinfo=UTC)
ACTIVITIES = {"A1": ("S1", "S2"), "A2": ("S3",), "A3": ("S4",)}


def _obs(oid, learner, activity, score, minutes, skills=None):
    skills = ACTIVITIES[activity] if skills is None else skills
    return Observation(oid, learner, activity, skills, score, T0 + timedelta(minutes=minutes))


def _engine(school, tenant="t"):
    engine = Engine.open("sqlite://", tenant)
    engine.load_school(school)
    return engine


def _snapshot(engine):
    """Everything the fold determines: mastery rows, history, the stored learner states."""
    learners = ("L1", "L2", "L3")
    mastery = {lid: engine.mastery(lid) for lid in learners}
    history = {lid: engine.history(lid) for lid in learners}
    states = {lid: (s.state, s.n_observations, s.last_observed_at)
              for lid, s in engine.store.learner_states(learners).items()}
    return mastery, history, states


def _in_order(arrivals):
    """In-order arrival of the same evidence: sorted by time, equal times in arrival order."""
    return sorted(arrivals, key=lambda o: o.observed_at)


evidence = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L2"]),
        st.sampled_from(sorted(ACTIVITIES)),
        st.sampled_from([0.0, 1.0, 0.25, 0.6]),
        st.integers(0, 12),  # minutes: collisions give equal timestamps
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=evidence, seed=st.integers(0, 2**16), cuts=st.lists(st.integers(1, 13), max_size=3))
def test_shuffled_batches_equal_in_order_arrival(school, rows, seed, cuts):
    observations = [_obs(f"o{i}", *row) for i, row in enumerate(rows)]
    arrival = observations[:]
    random.Random(seed).shuffle(arrival)
    bounds = sorted({c for c in cuts if c < len(arrival)})
    batches = [arrival[a:b] for a, b in zip([0, *bounds], [*bounds, len(arrival)], strict=True)]
    shuffled = _engine(school)
    for batch in batches:
        shuffled.ingest(batch)
    reference = _engine(school)
    reference.ingest(_in_order(arrival))
    assert _snapshot(shuffled) == _snapshot(reference)
    shuffled.close()
    reference.close()


def test_late_evidence_is_inserted_in_time_order(school):
    engine = _engine(school)
    engine.ingest([_obs("new", "L1", "A1", 1.0, 60)])
    late = engine.ingest([_obs("old1", "L1", "A1", 0.0, 0), _obs("old2", "L1", "A1", 0.0, 1)])
    assert late.refolded == ("L1",)
    assert [c.observation_id for c in late.changes] == ["old1", "old1", "old2", "old2"]
    assert [c.observation_id for c in engine.history("L1", "S1")] == ["old1", "old2", "new"]
    state = engine.mastery("L1")["S1"]
    assert state.updated_at == T0 + timedelta(minutes=60)  # never set back by old evidence
    assert state.last_observation_id == "new" and state.n_observations == 3
    history = engine.history("L1", "S1")
    for prev, nxt in zip(history, history[1:], strict=False):
        assert nxt.before == prev.after
    assert history[-1].after == state.p_mastered


def test_equal_timestamps_keep_arrival_order(school):
    engine = _engine(school)
    engine.ingest([_obs("b", "L1", "A2", 1.0, 5), _obs("a", "L1", "A2", 0.0, 5)])
    engine.ingest([_obs("c", "L1", "A2", 0.6, 5), _obs("early", "L1", "A2", 1.0, 0)])
    assert [c.observation_id for c in engine.history("L1")] == ["early", "b", "a", "c"]


def test_retract_equals_never_sent(school):
    batch = [_obs(f"o{i}", "L1", "A1", (i % 4) / 3, 10 - i) for i in range(6)]
    engine = _engine(school)
    engine.ingest(batch)
    engine.ingest([_obs("x", "L2", "A2", 1.0, 3)])
    assert engine.retract(["o2", "x"]) == 2
    reference = _engine(school)
    reference.ingest(_in_order([o for o in batch if o.observation_id != "o2"]))
    assert _snapshot(engine) == _snapshot(reference)
    assert engine.mastery("L2") == {} and engine.store.learner_states(["L2"]) == {}


def test_new_active_version_refolds_on_next_ingest_or_recompute(school):
    params = {"p_init": 0.5, "p_learn": 0.3, "p_forget": 0.0, "p_guess": 0.2, "p_slip": 0.1}
    batch = [_obs(f"o{i}", lid, "A1", i % 2, i) for i, lid in enumerate(["L1", "L2", "L1", "L3"])]
    engine = _engine(school)
    engine.ingest(batch)
    engine.set_model({"S1": params, "S2": params})
    assert engine.store.stale_learners(engine.runtime_model().key) == ["L1", "L2", "L3"]
    result = engine.ingest([_obs("n", "L1", "A1", 1.0, 10)])
    assert result.refolded == ("L1",)
    seen = []
    assert engine.recompute_mastery(only_stale=True, progress=lambda d, t: seen.append((d, t))) == 2
    assert seen == [(0, 2), (2, 2)]
    reference = _engine(school, "ref")
    reference.set_model({"S1": params, "S2": params})
    reference.ingest([*batch, _obs("n", "L1", "A1", 1.0, 10)])
    assert _snapshot(engine) == _snapshot(reference)
    assert engine.recompute_mastery() == 3 and _snapshot(engine) == _snapshot(reference)


@pytest.mark.parametrize("late_first", [False, True])
def test_concurrent_late_writers_serialise(store_url, school, late_first):
    """Two connections ingest one learner at once, one of them sending old evidence: the
    result is the in-order fold of everything."""
    minutes = {"a": range(40, 0, -1) if late_first else range(40), "b": range(40, 80)}
    ingest_concurrently(store_url, school, {
        p: [_obs(f"{p}{i}", "L1", "A2", i % 2, m) for i, m in enumerate(ms)]
        for p, ms in minutes.items()})
    history, _ = chained_history(store_url, "L1", "S3")
    assert [c.at for c in history] == sorted(c.at for c in history) and len(history) == 80


def test_late_evidence_refolds_from_its_insertion_point_only(school, monkeypatch):
    """A plain BKT's late evidence reads back only the evidence after its insertion point,
    never the learner's whole history, and still ends where in-order arrival does."""
    early = [_obs(f"e{i}", "L1", "A1" if i % 2 else "A2", i % 2, i) for i in range(6)]
    later = [_obs(f"n{i}", "L1", "A1", (i + 1) % 2, 20 + i) for i in range(3)]
    late = [_obs("late", "L1", "A1", 0.25, 10), _obs("late2", "L1", "A2", 1.0, 3)]
    engine = _engine(school)
    engine.ingest(early)
    engine.ingest(later)

    def whole_history(*_):
        raise AssertionError("late evidence re-read the learner's whole evidence")

    monkeypatch.setattr(engine.store, "learner_observations", whole_history)
    result = engine.ingest(late)
    assert result.refolded == ("L1",)
    assert [c.observation_id for c in result.changes] == ["late2", "late", "late"]
    reference = _engine(school, "ref")
    reference.ingest(_in_order([*early, *later, *late]))
    assert _snapshot(engine) == _snapshot(reference)


overlapping = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L2"]),
        st.sampled_from([("S1", "S2"), ("S3",), ("S2", "S3"), ("S1",), ("S4", "S1", "S3")]),
        st.sampled_from([0.0, 1.0, 0.25, 0.6]),
        st.integers(0, 12),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=overlapping, seed=st.integers(0, 2**16), cuts=st.lists(st.integers(1, 13), max_size=3))
def test_overlapping_skill_sets_in_any_order_equal_in_order_arrival(school, rows, seed, cuts):
    """Late evidence on some of a stored observation's skills: the other skills' rows keep
    their numbers, the observation's P(correct) changes; all equal in-order arrival."""
    observations = [_obs(f"o{i}", lid, "A1", score, minute, skills)
                    for i, (lid, skills, score, minute) in enumerate(rows)]
    arrival = observations[:]
    random.Random(seed).shuffle(arrival)
    bounds = sorted({c for c in cuts if c < len(arrival)})
    shuffled = _engine(school)
    for a, b in zip([0, *bounds], [*bounds, len(arrival)], strict=True):
        shuffled.ingest(arrival[a:b])
    reference = _engine(school)
    reference.ingest(_in_order(arrival))
    assert _snapshot(shuffled) == _snapshot(reference)
    shuffled.close()
    reference.close()


def test_one_observation_at_a_time_equals_one_batch(school, monkeypatch):
    """The one-observation ingest path (``engine.fold_rows.fold_single``) stages what the
    batch fold stages: same mastery rows, history and learner states, and it is the path
    taken for in-order single-skill observations (late or multi-skill ones fall back)."""
    import engine.fold_store as fold_store

    taken = []
    real = fold_store.fold_single

    def spy(*args):
        done = real(*args)
        taken.append(done is not None)
        return done

    monkeypatch.setattr(fold_store, "fold_single", spy)
    arrival = [_obs("o1", "L1", "A2", 1.0, 0), _obs("o2", "L1", "A2", 0.0, 1),
               _obs("o3", "L1", "A3", 0.6, 1), _obs("o4", "L2", "A2", 1.0, 2),
               _obs("o5", "L1", "A1", 1.0, 3), _obs("o6", "L1", "A2", 0.25, 3),
               _obs("o7", "L1", "A3", 1.0, 2), _obs("o8", "L1", "A2", 1.0, 5)]
    single = _engine(school)
    for obs in arrival:
        single.ingest_one(obs)
    reference = _engine(school)
    reference.ingest(_in_order(arrival))
    assert _snapshot(single) == _snapshot(reference)
    # o1 and o4 open their learner (no state yet: not tried); o5 names two skills and o7 is
    # late (tried, fall back); o2, o3, o6, o8 take the path:
    assert taken == [True, True, False, True, False, True]
    states = single.store.learner_states(["L1", "L2"])
    assert {lid: s.last_seq for lid, s in states.items()} == {"L1": 7, "L2": 1}  # arrivals
    single.close()
    reference.close()
