"""Half-lives fitted from retention evidence where the truth is known, and review scheduled
from them (issue 15 item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import PlanInputError
from planner.forgetting import ForgettingModel
from planner.model import PlanActivity, PlanLearner, PlanSkill, PlaylistRequest, SkillGraph
from planner.playlist._eligibility import effective_mastery
from planner.playlist.plan import plan_playlist


def _feed(m, learner, skill, half, n, rng, days=(2, 5, 10, 20, 40)):
    for i in range(n):
        d = float(days[i % len(days)])
        known = rng.random() < 0.5 ** (d / half)
        pc = (1 - m.slip) if known else m.guess
        m.observe(learner, skill, d, float(rng.random() < pc))


def test_recovers_short_and_long_half_lives():
    rng = np.random.default_rng(0)
    m = ForgettingModel()
    for s in range(10):
        _feed(m, f"L{s}", "fast", 6.0, 40, rng)
        _feed(m, f"L{s}", "slow", 200.0, 40, rng)
    assert m.half_life("L0", "fast") == pytest.approx(6.0, rel=0.4)
    assert m.half_life("L0", "slow") > 60
    assert m.half_life("new", "fast") < 15  # a new learner borrows the skill's half-life


def test_a_learner_who_forgets_faster_gets_a_shorter_half_life():
    rng = np.random.default_rng(1)
    m = ForgettingModel()
    for s in range(8):
        _feed(m, f"L{s}", "k", 30.0, 40, rng)
    _feed(m, "quick", "k", 5.0, 80, rng)
    assert m.half_life("quick", "k") < 0.6 * m.half_life("L0", "k")


def test_fitted_half_life_brings_a_skill_up_for_review():
    g = SkillGraph.from_skills([PlanSkill("k")])
    acts = [PlanActivity("review-k", "k", (("k", 1.0),), p_learn=0.3)]
    base = PlanLearner("x", mastery={"k": 0.99}, days_since_practice={"k": 7.0})
    req = PlaylistRequest(budget_min=30)
    assert effective_mastery(base, "k", req) > 0.95
    assert plan_playlist(g, acts, base, req).items == ()
    fitted = PlanLearner("x", mastery={"k": 0.99}, days_since_practice={"k": 7.0},
                         half_life_days={"k": 6.0})
    assert effective_mastery(fitted, "k", req) == pytest.approx(0.5 + 0.49 * 0.5 ** (7 / 6))
    pl = plan_playlist(g, acts, fitted, req)
    assert pl.activity_ids == ("review-k",) and pl.items[0].reason.basis == "review"


def test_bad_input_is_an_error():
    with pytest.raises(PlanInputError, match="days=-1"):
        ForgettingModel().observe("x", "k", -1, 1.0)
    with pytest.raises(PlanInputError, match="half_life_days"):
        PlanLearner("x", mastery={}, half_life_days={"k": 0})


def test_a_learner_who_slips_is_not_read_as_one_who_forgets():
    """No one forgets (half-life effectively infinite); half the learners slip 30 % of the
    time. Read with one slip rate (0.1) for everyone their failed checks look like forgetting;
    with each learner's slip measured on same-day tickets of mastered skills they do not."""
    fits = {}
    for learner_slip in (False, True):
        rng = np.random.default_rng(7)
        m = ForgettingModel(learner_slip=learner_slip)
        for s in range(20):
            slip = 0.3 if s % 2 else 0.05
            for _ in range(15):  # same-day tickets on mastered skills: errors are slips
                m.observe_same_day(f"L{s}", float(rng.random() > slip))
            for i in range(12):
                d = float((3, 7, 14)[i % 3])
                m.observe(f"L{s}", "k", d, float(rng.random() > slip))
        fits[learner_slip] = (m.half_life("L1", "k"), m.half_life("L0", "k"),
                              m.learner_slip_rate("L1"), m.learner_slip_rate("L0"))
    plain, own = fits[False], fits[True]
    assert plain[0] < 70  # slips read as forgetting (seed 7: 58 days for both learners)
    assert own[0] > 1.8 * plain[0] and own[1] > 1.8 * plain[1]  # (123 and 113 days)
    assert own[2] > 0.2 and own[3] < 0.1  # slips recovered (truth 0.3, 0.05)
    assert plain[2] == plain[3] == 0.1


def test_same_day_ticket_score_is_checked():
    with pytest.raises(PlanInputError, match="score=2"):
        ForgettingModel().observe_same_day("x", 2.0)


def test_a_half_life_on_the_learner_plans_as_the_same_one_on_the_request():
    """``with_half_life(learner, h)`` (what the engine does with a school's fitted half-life)
    gives the playlist that ``review_half_life_days = h`` on the request gives (what the
    simulator's decision run measured first), for learners who practised their mastered
    skills 3-40 days ago; and h = 12 days plans differently from the fixed 120."""
    from dataclasses import replace

    from planner.forgetting import with_half_life
    from planner.playlist.plan import plan_playlist
    from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner
    from planner.request import PlanWeights, PlaylistRequest

    g = synthetic_graph(5, n_skills=30, n_layers=5)
    cat = synthetic_catalog(g, 5, n_activities=120)
    base = PlaylistRequest(budget_min=60.0, weights=PlanWeights(protect=1.0), exact=True)
    differs = 0
    for s in range(6):
        lr = synthetic_learner(g, s, f"L{s:02d}")
        known = sorted(k for k, p in lr.mastery.items() if p >= 0.95)
        lr = replace(lr, days_since_practice={k: 3.0 + 37.0 * i / max(1, len(known) - 1)
                                              for i, k in enumerate(known)})
        on_request = plan_playlist(g, cat, lr, replace(base, review_half_life_days=12.0))
        on_learner = plan_playlist(g, cat, with_half_life(lr, 12.0), base)
        assert [i.activity_id for i in on_learner.items] == [i.activity_id for i in on_request.items]
        assert on_learner.expected_gain == pytest.approx(on_request.expected_gain, rel=1e-12)
        fixed = plan_playlist(g, cat, lr, base)
        differs += [i.activity_id for i in fixed.items] != [i.activity_id for i in on_request.items]
    assert differs >= 1
    lr = synthetic_learner(g, 0, "L00")
    assert with_half_life(lr, float("inf")) is lr
