"""The objective terms of issue 15 (items 0, 1) on constructed cases with a known answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

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


def _graph():
    # a (root) unlocks three skills; b (root) unlocks nothing
    return SkillGraph.from_skills([PlanSkill("a"), PlanSkill("b"), PlanSkill("a1", ("a",)),
                                   PlanSkill("a2", ("a",)), PlanSkill("a3", ("a",))])


def _acts():
    return [PlanActivity("on-a", "on a", (("a", 1.0),), duration_min=20, p_learn=0.3),
            PlanActivity("on-b", "on b", (("b", 1.0),), duration_min=20, p_learn=0.3)]


LEARNER = PlanLearner("x", mastery={"a": 0.4, "b": 0.4, "a1": 0.1, "a2": 0.1, "a3": 0.1})


def test_unlock_prefers_the_skill_that_opens_the_graph():
    req = PlaylistRequest(budget_min=20, length_max=1, exact=True,
                          weights=PlanWeights(preference=0, variety=0))
    assert plan_playlist(_graph(), _acts(), LEARNER, req).activity_ids == ("on-a",)
    # b is the learner's goal: with unlock off, the goal wins; with unlock on, 3 x 0.3 x 1 > 1
    goal_b = replace(LEARNER, goals={"b": 1.5})
    assert plan_playlist(_graph(), _acts(), goal_b, req).activity_ids == ("on-a",)
    off = replace(req, weights=replace(req.weights, unlock=0.0))
    assert plan_playlist(_graph(), _acts(), goal_b, off).activity_ids == ("on-b",)


def test_unlock_weight_is_the_goal_sum_of_unmastered_successors():
    c = build_candidates(_graph(), _acts(), LEARNER, PlaylistRequest())
    w = dict(zip(c.skills, c.w, strict=True))
    assert w["a"] == pytest.approx(1.0 + 0.3 * 3)
    assert w["b"] == pytest.approx(1.0)


def test_chained_learn_probability_is_discounted_by_prerequisite_risk():
    g = SkillGraph.from_skills([PlanSkill("p"), PlanSkill("c", ("p",))])
    acts = [PlanActivity("teach-p", "p", (("p", 1.0),), p_learn=0.2),
            PlanActivity("teach-c", "c", (("c", 1.0),), p_learn=0.3)]
    lr = PlanLearner("y", mastery={"p": 0.5, "c": 0.0})
    c = build_candidates(g, acts, lr, PlaylistRequest())
    q = 0.5 + 0.5 * 0.2  # P(p known after the playlist)
    T = dict(zip(c.skills, c.T[c.index["teach-c"]], strict=True))
    assert T["c"] == pytest.approx(0.3 * (q + (1 - q) * 0.25))
    none = build_candidates(g, acts, lr, PlaylistRequest(
        weights=PlanWeights(chain_residual=1.0)))
    assert dict(zip(none.skills, none.T[none.index["teach-c"]], strict=True))["c"] == 0.3


def test_chain_on_an_unshown_prerequisite_gives_way_to_a_ready_skill():
    """Prerequisite p at belief 0.05 (never shown): the chained c is worth less than the
    ready r with the risk term; the one-step objective chained it."""
    g = SkillGraph.from_skills([PlanSkill("p"), PlanSkill("c", ("p",)), PlanSkill("r")])
    acts = [PlanActivity("teach-p", "p", (("p", 1.0),), duration_min=20, p_learn=0.1),
            PlanActivity("teach-c", "c", (("c", 1.0),), duration_min=20, p_learn=0.35),
            PlanActivity("teach-r", "r", (("r", 1.0),), duration_min=20, p_learn=0.2)]
    lr = PlanLearner("z", mastery={"p": 0.05, "c": 0.0, "r": 0.3})
    req = PlaylistRequest(budget_min=40, length_max=2, exact=True,
                          weights=PlanWeights(preference=0, variety=0, unlock=0))
    assert set(plan_playlist(g, acts, lr, req).activity_ids) == {"teach-p", "teach-r"}
    old = replace(req, weights=replace(req.weights, chain_residual=1.0))
    assert set(plan_playlist(g, acts, lr, old).activity_ids) == {"teach-p", "teach-c"}
