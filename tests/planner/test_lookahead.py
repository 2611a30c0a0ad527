"""planner.lookahead: a skill that unlocks a goal two steps away outranks a dead end that
one-step unlock cannot tell apart from it."""

import numpy as np
import pytest

from planner.errors import PlanInputError
from planner.lookahead import horizon_unlock_values
from planner.model import PlanLearner, PlanSkill, PlaylistRequest, SkillGraph
from planner.playlist.candidates import unlock_values


def _case():
    # a -> b -> c (c a goal, weight 2); d -> e (e a dead end, default weight 1)
    g = SkillGraph.from_skills([PlanSkill("a"), PlanSkill("b", ("a",)), PlanSkill("c", ("b",)),
                                PlanSkill("d"), PlanSkill("e", ("d",))])
    lr = PlanLearner("s", mastery={}, goals={"c": 2.0})
    return g, lr, PlaylistRequest()


def test_depth_two_prefers_the_path_to_a_goal():
    g, lr, req = _case()
    idx = [g.index["a"], g.index["d"]]
    one = horizon_unlock_values(g, lr, req, idx, depth=1)
    two = horizon_unlock_values(g, lr, req, idx, depth=2, discount=0.5)
    assert one[0] == one[1] == 1.0  # one step: b and e weigh the same
    np.testing.assert_allclose(two, [1.0 + 0.5 * 2.0, 1.0])


def test_depth_one_is_the_one_step_unlock_term():
    """Hand-computed on the case: a opens b (1), b opens the goal c (2), d opens e (1); c and
    e open nothing. ``unlock_values`` (the playlist's term) gives the same numbers."""
    g, lr, req = _case()
    idx = [g.index[s] for s in "abcde"]
    expected = [1.0, 2.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(horizon_unlock_values(g, lr, req, idx, depth=1), expected)
    np.testing.assert_array_equal(unlock_values(g, lr, req, idx), expected)


def test_mastered_successors_add_nothing():
    g, _, req = _case()
    lr = PlanLearner("s", mastery={"b": 0.99}, goals={"c": 2.0})
    assert horizon_unlock_values(g, lr, req, [g.index["a"]], depth=3)[0] == 0.0


def test_bad_depth_and_discount_are_named():
    g, lr, req = _case()
    with pytest.raises(PlanInputError, match="depth=0"):
        horizon_unlock_values(g, lr, req, [0], depth=0)
    with pytest.raises(PlanInputError, match="discount=1.5"):
        horizon_unlock_values(g, lr, req, [0], discount=1.5)


def test_the_playlist_unlock_term_looks_as_far_as_the_request_says():
    """``PlanWeights.lookahead_depth`` reaches the candidates: a at depth 2 also counts the
    goal c behind b (discount 0.5), d does not change."""
    from dataclasses import replace

    g, lr, req = _case()
    idx = [g.index["a"], g.index["d"]]
    deep = replace(req, weights=replace(req.weights, lookahead_depth=2, lookahead_discount=0.5))
    np.testing.assert_allclose(unlock_values(g, lr, req, idx), [1.0, 1.0])
    np.testing.assert_allclose(unlock_values(g, lr, deep, idx), [1.0 + 0.5 * 2.0, 1.0])
