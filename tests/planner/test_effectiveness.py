"""Activity effectiveness and learner preference learning on constructed cases where the
truth is known (issue 15 item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.effectiveness import EffectivenessModel
from planner.errors import PlanInputError
from planner.model import PlanActivity


def _act(aid, kind="video", p=0.2, fmt=None):
    return PlanActivity(aid, aid, (("k", 1.0),), kind=kind, formats=(fmt or kind,), p_learn=p)


def _feed(model, act, m_true, n, rng, p_before=0.3, learner=None, declared=()):
    """n learners at belief p_before do ``act``; each learns w.p. m_true * T; ticket with the
    model's guess/slip (the world's truth here)."""
    t = act.learn_probability("k")
    for _ in range(n):
        known = rng.random() < p_before + (1 - p_before) * min(m_true * t, 0.999)
        pc = (1 - model.slip) if known else model.guess
        model.observe(act, "k", p_before, float(rng.random() < pc), learner_id=learner,
                      preferred_formats=declared)


def test_recovers_good_and_bad_activities():
    rng = np.random.default_rng(0)
    m = EffectivenessModel()
    good, bad = _act("good", p=0.2), _act("bad", kind="game", p=0.2)
    _feed(m, good, 2.5, 800, rng)
    _feed(m, bad, 0.4, 800, rng)
    assert m.multiplier(good) == pytest.approx(2.5, rel=0.25)
    assert m.multiplier(bad) == pytest.approx(0.4, rel=0.5)
    assert m.multiplier(good) > 1.5 > 1.0 > m.multiplier(bad)


def test_no_evidence_is_the_catalog_prior_and_few_observations_shrink():
    rng = np.random.default_rng(1)
    m = EffectivenessModel()
    a = _act("a")
    assert m.multiplier(a) == pytest.approx(1.0, abs=0.03)  # the catalog's value
    _feed(m, a, 3.0, 5, rng)
    few = m.multiplier(a)
    _feed(m, a, 3.0, 600, rng)
    many = m.multiplier(a)
    assert abs(few - 1.0) < abs(many - 1.0)  # shrunk toward the catalog with little evidence


def test_hierarchy_borrows_strength_within_kind_and_modality():
    """Nine strong videos teach the model that videos are strong: a new video starts above
    the catalog, a new game does not."""
    rng = np.random.default_rng(2)
    m = EffectivenessModel()
    for i in range(9):
        _feed(m, _act(f"v{i}"), 2.5, 150, rng)
    new_video, new_game = _act("v-new"), _act("g-new", kind="game")
    assert m.multiplier(new_video) > 1.4
    assert m.multiplier(new_game) == pytest.approx(m.multiplier(_act("g-other", kind="game")))
    assert m.multiplier(new_game) == pytest.approx(1.0, abs=0.03)


def test_thompson_draws_spread_with_uncertainty():
    rng = np.random.default_rng(3)
    m = EffectivenessModel()
    known, unknown = _act("known"), _act("unknown", kind="game")
    _feed(m, known, 1.0, 1500, rng)
    d_known = [m.sample(known, rng) for _ in range(300)]
    d_unknown = [m.sample(unknown, rng) for _ in range(300)]
    assert np.std(np.log(d_unknown)) > 2 * np.std(np.log(d_known))
    assert np.mean(d_known) == pytest.approx(m.multiplier(known), rel=0.1)


def test_learns_a_learners_true_preference_against_the_declared_one():
    """The learner declared 'video' but truly learns twice as fast from games."""
    rng = np.random.default_rng(4)
    m = EffectivenessModel()
    video, game = _act("video-1", p=0.2), _act("game-1", kind="game", p=0.2)
    assert m.learner_format_multiplier("ana", "video", True) > m.learner_format_multiplier(
        "ana", "game", False)  # the declared profile is the start
    _feed(m, video, 0.7, 400, rng, learner="ana", declared=("video",))
    _feed(m, game, 2.0, 400, rng, learner="ana", declared=("video",))
    assert m.learner_format_multiplier("ana", "game", False) > m.learner_format_multiplier(
        "ana", "video", True)


def test_adjusted_catalog_scales_p_learn():
    rng = np.random.default_rng(5)
    m = EffectivenessModel()
    a, b = _act("a", p=0.2), _act("b", kind="game", p=0.2)
    _feed(m, a, 2.0, 500, rng)
    out = {x.id: x for x in m.adjusted([a, b])}
    assert out["a"].p_learn == pytest.approx(0.2 * m.multiplier(a))
    assert out["b"] is b  # no evidence on it: untouched


def test_bad_score_is_an_input_error():
    with pytest.raises(PlanInputError, match="score=1.5"):
        EffectivenessModel().observe(_act("a"), "k", 0.2, 1.5)


def test_relative_keeps_the_ranking_not_the_level():
    rng = np.random.default_rng(6)
    m = EffectivenessModel(relative=True)
    a, b = _act("a", p=0.2), _act("b", p=0.2)
    _feed(m, a, 3.0, 400, rng)
    _feed(m, b, 1.5, 400, rng)
    out = {x.id: x.p_learn / 0.2 for x in m.adjusted([a, b])}
    assert out["a"] > 1.0 > out["b"]
    assert out["a"] * out["b"] == pytest.approx(1.0)
