"""What a review protects from forgetting (``planner.protection``, ``PlanWeights.protect``):
hand-computed values, monotonicity, zeros, and a playlist where review wins only with the
term on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.errors import PlanInputError
from planner.model import (
    PlanActivity,
    PlanLearner,
    PlanSkill,
    PlanWeights,
    PlaylistRequest,
    SkillGraph,
)
from planner.playlist.candidates import build_candidates
from planner.playlist.plan import plan_playlist
from planner.protection import protection_values


def _v(p, d, h, g=1.0, *, floor=0.5, horizon=7.0, c=1.5):
    return float(protection_values(np.array([p]), np.array([d]), np.array([h]), np.array([g]),
                                   floor=floor, horizon_days=horizon, consolidation=c)[0])


def test_hand_computed_value():
    # 2 x (0.97 - 0.5) x (0.5^(7 / 180) - 0.5^(21 / 120)) = 2 x 0.47 x (0.973403 - 0.885768)
    assert _v(0.97, 14.0, 120.0, 2.0) == pytest.approx(0.082377, rel=1e-4)
    # a fitted 10-day half-life: 0.47 x (0.5^(7 / 15) - 0.5^(17 / 10)) = 0.47 x (0.72365 - 0.30779)
    assert _v(0.97, 10.0, 10.0) == pytest.approx(0.195454, rel=1e-4)


def test_just_practised_is_the_consolidation_alone():
    assert _v(0.97, 0.0, 20.0, c=1.0) == 0.0
    assert _v(0.97, 0.0, 20.0, c=2.0) == pytest.approx(0.47 * (0.5 ** (7 / 40) - 0.5 ** (7 / 20)))


def test_more_to_protect_the_longer_since_practice_up_to_a_point():
    days = np.array([0.0, 1.0, 3.5, 7.0, 14.0, 30.0, 60.0, 200.0, 2000.0])
    v = protection_values(np.full(9, 0.97), days, np.full(9, 12.0), np.ones(9), floor=0.5,
                          horizon_days=7.0, consolidation=1.5)
    assert np.all(np.diff(v) > 0)
    cap = 0.47 * 0.5 ** (7.0 / 18.0)  # everything above the floor has faded
    assert v[-1] == pytest.approx(cap, rel=1e-6)
    assert np.all(v <= cap + 1e-12)
    # a longer half-life protects less today (less fades before the next chance)
    assert _v(0.97, 7.0, 120.0) < _v(0.97, 7.0, 12.0)


def test_zero_at_the_floor_zero_goal_and_bad_input():
    assert _v(0.5, 30.0, 12.0) == 0.0
    assert _v(0.3, 30.0, 12.0) == 0.0
    assert _v(0.97, 30.0, 12.0, g=0.0) == 0.0
    assert _v(0.97, float("nan"), 12.0, c=1.0) == 0.0  # unknown days count as just practised
    with pytest.raises(PlanInputError):
        _v(0.97, 3.0, 0.0)
    with pytest.raises(PlanInputError):
        _v(0.97, 3.0, 12.0, c=0.5)


GRAPH = SkillGraph.from_skills([PlanSkill("a"), PlanSkill("b")])
ACTS = [PlanActivity("on-a", "review a", (("a", 1.0),), duration_min=20, p_learn=0.3),
        PlanActivity("on-b", "learn b", (("b", 1.0),), duration_min=20, p_learn=0.3)]
# a mastered 10 days ago with a fitted 10-day half-life, a goal; b not yet mastered
LEARNER = PlanLearner("x", mastery={"a": 0.97, "b": 0.2}, goals={"a": 2.0},
                      days_since_practice={"a": 10.0, "b": 10.0}, half_life_days={"a": 10.0})
REQ = PlaylistRequest(budget_min=20, length_max=1, exact=True,
                      weights=PlanWeights(preference=0, variety=0))
ON = replace(REQ, weights=replace(REQ.weights, protect=1.0))


def test_default_is_off():
    assert PlanWeights().protect == 0.0
    c = build_candidates(GRAPH, ACTS, LEARNER, REQ)
    assert c.protect is None
    assert np.array_equal(c.w, c.goal_w)


def test_best_review_item_earns_the_protection_value_on_top_of_its_gain():
    off = build_candidates(GRAPH, ACTS, LEARNER, REQ)
    on = build_candidates(GRAPH, ACTS, LEARNER, ON)
    ka, kb = on.skill_index["a"], on.skill_index["b"]
    assert on.basis[ka] == "review"
    v = 2.0 * 0.195454  # goal 2, the hand-computed value above
    gain_on = on.w[ka] * (1 - on.p[ka]) * on.T[on.index["on-a"], ka]
    gain_off = off.w[ka] * (1 - off.p[ka]) * off.T[off.index["on-a"], ka]
    assert gain_on - gain_off == pytest.approx(v, rel=1e-4)
    assert on.protect[kb] == 0.0  # b is not mastered: nothing to protect
    assert on.goal_w[ka] == pytest.approx(off.w[ka])
    # twice the weight, twice the protection
    on2 = build_candidates(GRAPH, ACTS, LEARNER, replace(ON, weights=replace(ON.weights,
                                                                             protect=2.0)))
    assert on2.protect[ka] == pytest.approx(2 * on.protect[ka])


def test_review_is_chosen_only_with_the_term_on():
    # off: review a earns 2 x 0.6 x (1 - 0.735) x 0.3 = 0.095 < learning b, 0.8 x 0.3 = 0.24
    assert plan_playlist(GRAPH, ACTS, LEARNER, REQ).activity_ids == ("on-b",)
    # on: + 2 x 0.195 = 0.39 of protection
    pl = plan_playlist(GRAPH, ACTS, LEARNER, ON)
    assert pl.activity_ids == ("on-a",)
    item = pl.items[0]
    # the words stay learning only: mastery 0.735 -> 0.735 + 0.265 x 0.3, goal weight unchanged
    assert item.expected_gain == pytest.approx((1 - 0.735) * 0.3, abs=1e-3)
    assert item.reason.goal_weight == pytest.approx(2.0 * 0.6)
    assert "review" in item.reason.sentence


def test_mastered_skill_not_yet_faded_becomes_a_candidate_only_with_the_term_on():
    fresh = replace(LEARNER, days_since_practice={"a": 1.0}, half_life_days={})
    assert "on-a" in build_candidates(GRAPH, ACTS, fresh, REQ).excluded
    on = build_candidates(GRAPH, ACTS, fresh, ON)
    assert "on-a" in on.index and on.protect[on.skill_index["a"]] > 0
