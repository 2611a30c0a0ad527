"""planner.diagnostic: a short check earns its place by the value of its information — hand
computed values, and the playlist picks a check only where the answer changes the next plan."""

from dataclasses import replace

import pytest

from planner.diagnostic import check_values, posteriors, value_of_check
from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, PlanSkill, PlaylistRequest, SkillGraph
from planner.playlist.plan import plan_playlist


def test_posteriors_by_hand():
    c, up, down = posteriors(0.5, 0.2, 0.1)
    assert c == pytest.approx(0.55)
    assert up == pytest.approx(0.45 / 0.55) and down == pytest.approx(0.05 / 0.45)


def test_value_of_a_check_by_hand():
    # V(q) = max(1 - q, 0.25 + 0.75 q); V(0.5) = 0.625; after a correct answer (c = 0.55)
    # V(9/11) = 0.25 + 0.75 * 9/11, after a wrong one V(1/9) = 8/9:
    # 0.55 * (0.25 + 27/44) + 0.45 * 8/9 - 0.625 = 0.475 + 0.4 - 0.625 = 0.25
    assert value_of_check(0.5, 1.0, 1.0, 0.25) == pytest.approx(0.25)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_a_certain_belief_has_nothing_to_learn(p):
    assert value_of_check(p, 1.0, 1.0, 0.25) == pytest.approx(0.0, abs=1e-12)


def test_nothing_depending_on_the_skill_means_no_value():
    # teaching is the only option: the expected belief after the answer is the belief now
    assert value_of_check(0.5, 1.0, 0.0, 0.25) == pytest.approx(0.0, abs=1e-12)
    values = check_values(["k"], [0.5], [1.0], [0.3], {"k": []}, 0.25)
    assert values.tolist() == [0.0]


def test_bad_values_are_named():
    with pytest.raises(PlanInputError, match="p=1.5"):
        posteriors(1.5)
    with pytest.raises(PlanInputError, match="residual=2"):
        value_of_check(0.5, 1.0, 1.0, 2)


def _school(successors=True):
    # k is the prerequisite of three goal skills (none of which has an activity yet); a
    # 25-minute lesson teaches k, a 5-minute unit check barely does; z and z2 are other
    # ready skills. 25 minutes: the lesson, or z, or the check and z2.
    skills = [PlanSkill("k"), PlanSkill("z"), PlanSkill("z2")]
    if successors:
        skills += [PlanSkill(s, ("k",)) for s in ("a", "b", "c")]
    cat = [PlanActivity("lesson", "Lesson on k", (("k", 1.0),), kind="lesson", duration_min=25,
                        p_learn=0.3),
           PlanActivity("check", "Unit check on k", (("k", 1.0),), kind="assessment",
                        duration_min=5, p_learn=0.02),
           PlanActivity("z", "Practice z", (("z", 1.0),), duration_min=25, p_learn=0.3),
           PlanActivity("z2", "Practice z2", (("z2", 1.0),), duration_min=20, p_learn=0.25)]
    return SkillGraph.from_skills(skills), cat


def _plan(p_k, successors=True, diagnostic=1.0):
    g, cat = _school(successors)
    goals = {s: 2.0 for s in "abc"} if successors else {}
    learner = PlanLearner("s", mastery={"k": p_k}, goals=goals)
    req = PlaylistRequest(budget_min=25, length_max=2)
    req = replace(req, weights=replace(req.weights, diagnostic=diagnostic))
    return sorted(i.activity_id for i in plan_playlist(g, cat, learner, req).items)


def test_an_uncertain_prerequisite_of_goals_gets_a_check():
    # p = 0.6: VoI of a check ~0.19 (teach 2.8 x 0.3, move on 2 x 0.3): check + z2 beats
    # the lesson (0.34) and z (0.30); without the term the lesson wins
    assert _plan(0.6) == ["check", "z2"]
    assert _plan(0.6, diagnostic=0.0) == ["lesson"]


def test_no_check_when_nothing_depends_on_it_or_it_is_known():
    assert _plan(0.6, successors=False) == ["z"]  # no decision hangs on k: plain gains
    assert "check" not in _plan(0.99)  # known: not a gain-bearing skill


def _with_checks() -> PlaylistRequest:
    req = PlaylistRequest(budget_min=25, length_max=2)
    return replace(req, weights=replace(req.weights, diagnostic=1.0))


def test_the_term_is_off_unless_asked_for():
    """Default 0 (it did not pay in the worlds): no information value, plain gains."""
    assert PlaylistRequest().weights.diagnostic == 0.0
    g, cat = _school()
    learner = PlanLearner("s", mastery={"k": 0.6}, goals={s: 2.0 for s in "abc"})
    items = plan_playlist(g, cat, learner, PlaylistRequest(budget_min=25, length_max=2)).items
    assert sorted(i.activity_id for i in items) == ["lesson"]


def test_a_check_says_what_its_answer_decides_and_promises_no_inflated_gain():
    g, cat = _school()
    learner = PlanLearner("s", mastery={"k": 0.6}, goals={s: 2.0 for s in "abc"})
    plan = plan_playlist(g, cat, learner, _with_checks())
    check = next(i for i in plan.items if i.activity_id == "check")
    assert "a quick check" in check.reason.sentence
    assert "move on to 'a', 'b' and 'c'" in check.reason.sentence
    # the expected gain is the check's own learning (p_learn 0.02), not its information value
    assert check.expected_gain == pytest.approx(0.4 * 0.02)
    lesson_plan = plan_playlist(g, cat, learner, PlaylistRequest(
        budget_min=25, length_max=2, weights=replace(PlaylistRequest().weights, diagnostic=0.0)))
    assert all("quick check" not in i.reason.sentence for i in lesson_plan.items)


def test_the_check_clause_reads_for_the_teacher_too():
    """The teacher page rewrites the learner's sentence (service.web.teacher_words): the
    check clause has no "you" to rewrite, and its mastery becomes a chance in words."""
    g, cat = _school()
    learner = PlanLearner("s", mastery={"k": 0.6}, goals={s: 2.0 for s in "abc"})
    plan = plan_playlist(g, cat, learner, _with_checks())
    sentence = next(i for i in plan.items if i.activity_id == "check").reason.sentence
    clause = next(c for c in sentence.split("; ") if c.startswith("a quick check"))
    assert " you" not in clause and "your" not in clause
    assert "whether 'k' is known (mastery 0.60)" in clause


@pytest.mark.parametrize("p_k, chosen", [(0.3, False), (0.5, True), (0.8, True), (0.9, False),
                                         (0.99, False)])
def test_a_check_only_where_its_answer_can_change_the_plan(p_k, chosen):
    """Prerequisite k of three goal skills: at p = 0.3 teaching k wins whatever one answer
    says (the lesson); around 0.5-0.8 a check is chosen; at 0.9 and above moving on is
    already the better plan, so the answer decides nothing (z)."""
    assert ("check" in _plan(p_k)) is chosen
    assert "check" not in _plan(p_k, diagnostic=0.0)
