"""The online-model interface: fit, immutable state, update_one/update_many, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from kt.errors import (
    LogFormatError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    UnknownSkillError,
)
from kt.models import MODEL_NAMES, load_model, make_model
from kt.models.base import event_pointers
from kt.replay.protocol import aligned, replay_learners
from tests.kt.test_models_data import synthetic_log

FAST = [m for m in MODEL_NAMES]


@pytest.fixture(scope="module")
def log():
    return synthetic_log(n_learners=40, per_learner=25, seed=0)


@pytest.fixture(scope="module")
def fitted(log):
    return {name: make_model(name, seed=1).fit(log) for name in MODEL_NAMES}


@pytest.mark.parametrize("name", FAST)
def test_predict_equals_per_learner_update_many(log, fitted, name):
    model = fitted[name]
    batch = replay_learners(model, log) if name in ("bkt", "bkt-f") else model.predict(log)
    model, codes = aligned(model, log)
    skill = codes[log.skill]
    ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
    online = []
    for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
        r0, r1 = ev_ptr[a], ev_ptr[b]
        state = model.init_state()
        # feed the learner in two halves: state carries over exactly
        mid = int(ev_ptr[a + (b - a) // 2])
        state, p1 = model.update_many(state, skill[r0:mid], log.outcome[r0:mid],
                                      log.item[r0:mid], log.event[r0:mid])
        # names and item ids give the same numbers as codes
        state, p2 = model.update_many(state, np.asarray(model.skill_names_)[skill[mid:r1]],
                                      log.outcome[mid:r1], log.item_ids[log.item[mid:r1]],
                                      log.event[mid:r1])
        online.append(np.r_[p1, p2])
    np.testing.assert_allclose(np.concatenate(online), batch, rtol=1e-12, atol=1e-14)
    assert np.all((batch > 0) & (batch < 1))


@pytest.mark.parametrize("name", FAST)
def test_update_one_matches_update_many_and_state_is_immutable(log, fitted, name):
    model = fitted[name]
    s0 = model.init_state()
    before = model.state_to_dict(s0)
    s1, p = model.update_one(s0, [0, 1], 1.0, 3)
    assert model.state_to_dict(s0) == before
    with pytest.raises(ValueError):
        (s1.p_mastered if name in ("bkt", "bkt-f", "bkt-item") else s1.vals)[0] = 5.0
    s1b, pb = model.update_many(s0, [0, 1], [1.0, 1.0], [3, 3], [7, 7])
    assert p == pytest.approx(pb[0], abs=1e-15)
    # the prediction of a 2-skill question happens before any of its copies is applied
    s_a, p_a = model.update_one(s0, [0, 1], 0.0, 3)
    assert p_a == pytest.approx(p, abs=1e-15)
    # state documents round-trip through JSON
    import json

    doc = json.loads(json.dumps(model.state_to_dict(s1)))
    again = model.state_from_dict(doc)
    assert model.state_to_dict(again) == model.state_to_dict(s1)
    _, q1 = model.update_one(s1, [2], 1.0, 4)
    _, q2 = model.update_one(again, [2], 1.0, 4)
    assert q1 == q2


@pytest.mark.parametrize("name", FAST)
def test_mastery_is_a_calibrated_probability_that_rises_with_success(fitted, name):
    model = fitted[name]
    skill = str(model.skill_names_[0])
    state = model.init_state()
    m0 = model.mastery(state, skill)
    for _ in range(8):
        state, _ = model.update_one(state, skill, 1.0)
    assert 0.0 <= m0 < model.mastery(state, skill) <= 1.0


@pytest.mark.parametrize("name", ["elo", "pfa", "r-best-lr-elo"])
def test_partial_scores_are_soft_evidence_between_the_binary_ones(fitted, name):
    model = fitted[name]
    s0 = model.init_state()
    skill = str(model.skill_names_[1])
    after = [model.update_one(model.update_one(s0, skill, x, "i002")[0], skill, 1.0)[1]
             for x in (0.0, 0.5, 1.0)]
    assert after[0] < after[1] < after[2]


def test_multi_skill_question_is_predicted_once_not_per_copy(log, fitted):
    """Scoring copies one by one would let copy 2 see copy 1's answer: P would differ."""
    for name in ("bkt", "elo", "best-lr"):
        model = fitted[name]
        s = model.init_state()
        _, p_event = model.update_many(s, [0, 1], [1, 1], [3, 3], [0, 0])
        _, p_rows = model.update_many(s, [0, 1], [1, 1], [3, 3], [0, 1])
        assert len(p_event) == 1 and len(p_rows) == 2
        assert p_rows[1] != pytest.approx(p_event[0], abs=1e-9) or name == "bkt"


@pytest.mark.parametrize("name", FAST)
def test_save_load_round_trip(tmp_path, log, fitted, name):
    model = fitted[name]
    path = tmp_path / f"{name}.json"
    model.save(path)
    again = load_model(path)
    np.testing.assert_allclose(replay_learners(again, log), replay_learners(model, log),
                               rtol=1e-12)
    assert again.to_dict() == model.to_dict()


def test_readable_parameters(fitted):
    bkt = fitted["bkt"].skill_params("s0")
    assert bkt.p_forget == 0.0 and fitted["bkt-f"].forgets
    lr = fitted["best-lr"].skill_params("s0")
    assert {"skill", "skill_log_attempts", "skill_log_wins"} <= set(lr)
    table = fitted["r-best-lr"].weight_table()
    assert "total_decayed_wins_fails" in table and len(table["item"]) == 31
    assert isinstance(fitted["elo"].item_difficulty("i001"), float)
    st, _ = fitted["elo"].update_one(fitted["elo"].init_state(), 2, 1, 0)
    ab = fitted["elo"].abilities(st)
    assert ab["global"] > 0 and ab["s2"] > 0


def test_models_learn_something(log, fitted):
    from kt.metrics import auc

    ev_ptr, _ = event_pointers(log.event, log.learner)
    y = log.outcome[ev_ptr[:-1]]
    for name in ("elo", "best-lr", "r-best-lr", "bkt-item"):
        assert auc(y, fitted[name].predict(log)) > 0.6, name


def test_bad_input_is_rejected(log, fitted):
    model = fitted["elo"]
    with pytest.raises(LogFormatError, match="skill code 99"):
        model.update_many(model.init_state(), [99], [1], [0])
    with pytest.raises(ParameterError, match="score 2"):
        model.update_many(model.init_state(), [0], [2], [0])
    with pytest.raises(LogFormatError, match="equal lengths"):
        model.update_many(model.init_state(), [0, 1], [1, 1], [0])
    with pytest.raises(UnknownSkillError, match="'nope'"):
        model.update_one(model.init_state(), "nope", 1.0)
    with pytest.raises(NotFittedError):
        make_model("pfa").init_state()
    with pytest.raises(ParameterError, match="unknown model 'nope'"):
        make_model("nope")
    with pytest.raises(ParameterError):
        make_model("elo").__class__(alpha=-1).fit(log)


def test_unknown_item_is_allowed(fitted):
    model = fitted["best-lr"]
    _, p = model.update_one(model.init_state(), 0, 1, -1)
    _, q = model.update_one(model.init_state(), "s0", 1, "never-seen")
    assert 0 < p < 1 and p == q


def test_model_file_errors(tmp_path, fitted):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    with pytest.raises(ModelFileError):
        load_model(bad)
    d = fitted["elo"].to_dict()
    d["learned"]["b_item"] = [0.0]
    with pytest.raises(ModelFileError, match="inconsistent"):
        type(fitted["elo"]).from_dict(d)
