"""kt.bkt.BKT implements the kt.online contract: names, multi-skill observations, events,
parameter-built models, states as documents, model documents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kt.bkt import BKT, BKTState, SkillParams
from kt.errors import ModelFileError, ParameterError, UnknownSkillError
from kt.online import OnlineKT, model_from_dict
from kt.synthetic import DEFAULT_PARAMS, generate
from tests.kt import bkt_reference as ref

P = {
    "a": SkillParams(p_init=0.2, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1),
    "b": SkillParams(p_init=0.5, p_learn=0.3, p_forget=0.05, p_guess=0.25, p_slip=0.15),
    "c": SkillParams(p_init=0.1, p_learn=0.05, p_forget=0.0, p_guess=0.3, p_slip=0.05),
}


@pytest.fixture(scope="module")
def small_log():
    skills = {k: DEFAULT_PARAMS[k] for k in ("fractions", "decimals", "ratios")}
    log, _ = generate(40, params=skills, min_answers=1, max_answers=10, seed=7, n_templates=3)
    return log


def test_names_and_protocol(small_log):
    assert BKT(max_iter=2).fit(small_log).name == "bkt"
    model = BKT(forgets=True, max_iter=2).fit(small_log)
    assert model.name == "bkt-f" and isinstance(model, OnlineKT)
    doc = model.to_dict()
    assert doc["model"] == "bkt-f" and doc["version"] == 1
    again = model_from_dict(json.loads(json.dumps(doc)))
    assert isinstance(again, BKT) and again.to_dict() == doc
    with pytest.raises(ModelFileError, match="'bkt'"):
        model_from_dict({**doc, "model": "bkt"})
    with pytest.raises(ModelFileError, match="format"):
        model_from_dict({"format": "nope"})


def test_from_skill_params_is_exactly_those_parameters():
    model = BKT.from_skill_params(P)
    assert model.skill_names_ == ("a", "b", "c") and model.name == "bkt-f"  # b forgets
    assert BKT.from_skill_params({"a": P["a"]}).name == "bkt"
    assert BKT.from_skill_params({"a": P["a"]}, forgets=True).name == "bkt-f"
    for name, prm in P.items():
        assert model.skill_params(name) == prm
    state = model.init_state()
    assert model.mastery(state, "b") == 0.5
    with pytest.raises(ParameterError, match="SkillParams"):
        BKT.from_skill_params({"a": 0.3})


def test_with_skills_returns_a_new_model():
    base = BKT.from_skill_params({"a": P["a"]})
    more = base.with_skills({"b": P["b"], "a": P["c"]})
    assert base.skill_names_ == ("a",) and base.skill_params("a") == P["a"]
    assert more.skill_names_ == ("a", "b")
    assert more.skill_params("a") == P["c"] and more.skill_params("b") == P["b"]


def test_multi_skill_observation_is_predicted_once_then_applied():
    model = BKT.from_skill_params(P)
    rows = [[("a", 1.0), ("b", 0.0)], [("b", 0.4)], [("a", 0.0), ("c", 1.0), ("b", 1.0)]]
    want_state, want = ref.replay_observations({}, rows, P)
    skills = [k for obs in rows for k, _ in obs]
    scores = [x for obs in rows for _, x in obs]
    events = [i for i, obs in enumerate(rows) for _ in obs]
    new, p = model.update_many(model.init_state(), skills, scores, events=events)
    np.testing.assert_allclose(p, want, atol=1e-14)
    for k, v in want_state.items():
        assert model.mastery(new, k) == pytest.approx(v, abs=1e-14)
    # int positions take the fast kernel: the same numbers
    pos = np.array([model.skill_names_.index(k) for k in skills])
    new2, p2 = model.update_many(model.init_state(), pos, scores, events=events)
    assert np.array_equal(p2, p) and new2 == new
    # update_one with several skills = update_many with one event
    one, p1 = model.update_one(model.init_state(), ("a", "c"), 0.7)
    many, pm = model.update_many(model.init_state(), ["a", "c"], [0.7, 0.7], events=[5, 5])
    assert p1 == pm[0] and one == many and len(pm) == 1


def test_update_one_and_update_many_give_the_replay_numbers(small_log):
    model = BKT(forgets=True, seed=2, max_iter=8).fit(small_log)
    batch = model.predict(small_log)
    for learner in np.unique(small_log.learner)[:10]:
        rows = np.flatnonzero(small_log.learner == learner)
        skills = small_log.skill_names[small_log.skill[rows]]
        state, p = model.update_many(model.init_state(), skills, small_log.outcome[rows],
                                     events=small_log.event[rows])
        assert np.array_equal(p, batch.p_correct[rows])  # one skill per event here
        one = model.init_state()
        for r, s in zip(rows, skills, strict=True):
            one, q = model.update_one(one, (str(s),), float(small_log.outcome[r]), item="q1")
            assert q == batch.p_correct[r]
        assert one == state


def test_state_documents_round_trip():
    model = BKT.from_skill_params(P)
    state, _ = model.update_many(model.init_state(), ["a", "b"], [1.0, 0.25])
    doc = json.loads(json.dumps(model.state_to_dict(state)))
    assert set(doc["p_mastered"]) == {"a", "b"}
    assert model.state_from_dict(doc) == state
    assert model.state_to_dict(model.init_state()) == {"p_mastered": {}, "last_class": {}}
    # a state document of a smaller model is read by an extended one
    small = BKT.from_skill_params({"a": P["a"]})
    s1, _ = small.update_one(small.init_state(), "a", 1.0)
    bigger = small.with_skills({"z": P["c"]})
    s2 = bigger.state_from_dict(small.state_to_dict(s1))
    assert bigger.mastery(s2, "a") == small.mastery(s1, "a")
    assert bigger.mastery(s2, "z") == P["c"].p_init
    with pytest.raises(UnknownSkillError, match="zz"):
        small.state_from_dict({"p_mastered": {"zz": 0.5}})
    with pytest.raises(ParameterError, match="state_to_dict"):
        small.state_from_dict({"nope": 1})
    assert isinstance(s2, BKTState)


def test_bad_online_input_names_the_value():
    model = BKT.from_skill_params(P)
    with pytest.raises(ParameterError, match="empty"):
        model.update_one(model.init_state(), [], 1.0)
    with pytest.raises(ParameterError, match="events"):
        model.update_many(model.init_state(), ["a", "b"], [1.0, 0.0], events=[1])
    with pytest.raises(UnknownSkillError, match="'q'"):
        model.update_one(model.init_state(), ["a", "q"], 1.0)
    state, p = model.update_one(model.init_state(), ["a", "q"], 1.0, unknown="prior")
    assert 0 < p < 1 and model.mastery(state, "a") != P["a"].p_init
