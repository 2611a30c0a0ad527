"""Per-learner playlist: hard constraints, prerequisite order, overrides, conflicts."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from planner.errors import NothingToPlan, PlanInputError
from planner.model import PlanLearner, PlaylistRequest
from planner.playlist import greedy_playlist, plan_playlist
from planner.playlist.candidates import objective_value
from planner.playlist.plan import prepare, solve_candidates
from planner.playlist.rows import hard_violations, soft_rows
from tests.planner.conftest import act, check_hard

REQ = PlaylistRequest(budget_min=60, length_max=6, format_cap=2)


def test_plan_respects_hard_constraints_and_prerequisite_order(fractions_graph, fractions_catalog,
                                                               fractions_learner):
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, REQ)
    assert pl.items, "something must be planned"
    assert check_hard(fractions_graph, fractions_catalog, fractions_learner, REQ, pl) == []
    ids = pl.activity_ids
    assert "ratio-project" not in ids  # ratio is two steps away: not ready
    assert "equiv-review" not in ids  # equiv is mastered and fresh
    if "add-lesson" in ids or "add-practice" in ids:  # chained: common first
        first_add = min(ids.index(a) for a in ("add-lesson", "add-practice") if a in ids)
        assert any(a in ids[:first_add] for a in ("common-video", "common-practice"))
    assert pl.status in ("optimal", "feasible")
    assert pl.total_minutes <= 60


def test_chained_item_needs_its_prerequisite_teacher(fractions_graph, fractions_catalog,
                                                     fractions_learner):
    # remove every activity that teaches "common": adding fractions cannot be planned
    req = dataclasses.replace(REQ, removes=frozenset({"common-video", "common-practice"}))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    assert not {"add-lesson", "add-practice"} & set(pl.activity_ids)
    c = prepare(fractions_graph, fractions_catalog, fractions_learner, req)
    assert c.excluded["add-lesson"][0] == "prerequisite:common"


def test_accommodation_is_never_violated(fractions_graph, fractions_catalog, fractions_learner):
    learner = dataclasses.replace(fractions_learner, accommodations=frozenset({"text-to-speech"}))
    req = dataclasses.replace(REQ, pins=("common-practice",))
    pl = plan_playlist(fractions_graph, fractions_catalog, learner, req)
    assert set(pl.activity_ids) <= {"common-video"}
    pin = [k for k in pl.conflicts if k.constraint == "pin:common-practice"]
    assert pin and pin[0].blocked_by == ("accommodation:text-to-speech",)
    assert pl.status == "relaxed"


def test_device_place_language_and_seat_filters(fractions_graph, fractions_catalog,
                                                fractions_learner):
    learner = dataclasses.replace(fractions_learner, devices=frozenset({"laptop"}),
                                  places=frozenset({"classroom"}), languages=frozenset({"en"}))
    req = dataclasses.replace(REQ, seats_left={"mult-group": 0}, budget_min=200, length_max=9,
                              format_cap=None)
    pl = plan_playlist(fractions_graph, fractions_catalog, learner, req)
    ids = set(pl.activity_ids)
    assert not ids & {"mult-game", "mult-lab", "mult-group"}
    c = prepare(fractions_graph, fractions_catalog, learner, req)
    assert c.excluded["mult-game"][0] == "device:tablet"
    assert c.excluded["mult-lab"][0] == "place:lab"
    assert c.excluded["mult-group"][0] == "capacity"
    assert check_hard(fractions_graph, fractions_catalog, learner, req, pl) == []


def test_pins_removes_and_locks(fractions_graph, fractions_catalog, fractions_learner):
    base = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, REQ)
    victim = base.activity_ids[0]
    req = dataclasses.replace(REQ, removes=frozenset({victim}), pins=("mult-group",),
                              locks={"common-practice": 2})
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    assert victim not in pl.activity_ids
    assert "mult-group" in pl.activity_ids
    assert pl.activity_ids.index("common-practice") == min(2, len(pl.items) - 1)
    assert not pl.conflicts
    reasons = {i.activity_id: i.reason for i in pl.items}
    assert reasons["mult-group"].basis == "pinned"
    assert reasons["common-practice"].basis == "locked"


def test_pins_over_budget_report_budget_conflict(fractions_graph, fractions_catalog,
                                                 fractions_learner):
    req = dataclasses.replace(REQ, budget_min=45, pins=("mult-group", "common-practice"))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    assert pl.status == "relaxed"
    assert check_hard(fractions_graph, fractions_catalog, fractions_learner, req, pl) == []
    (conflict,) = [k for k in pl.conflicts if k.constraint.startswith("pin:")]
    assert "budget" in conflict.blocked_by
    assert conflict.amount == pytest.approx(1.0)
    assert "budget" in conflict.message


def test_unsatisfiable_modality_min_and_must_cover_are_named(fractions_graph, fractions_catalog,
                                                             fractions_learner):
    learner = dataclasses.replace(fractions_learner, accommodations=frozenset({"braille"}))
    req = dataclasses.replace(REQ, modality_bounds={"online": (1, 3)}, must_cover=("mult",))
    pl = plan_playlist(fractions_graph, fractions_catalog, learner, req)  # nothing supports braille
    names = {k.constraint: k for k in pl.conflicts}
    assert "modality_min:online" in names and "must_cover:mult" in names
    assert "accommodation:braille" in names["must_cover:mult"].blocked_by
    assert pl.items == () and pl.status == "relaxed"


def test_modality_bounds_and_must_cover_hold_when_possible(fractions_graph, fractions_catalog,
                                                           fractions_learner):
    req = dataclasses.replace(REQ, modality_bounds={"collaborative": (1, 1), "online": (0, 1)},
                              must_cover=("mult",))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, req)
    mods = [i.modality for i in pl.items]
    assert mods.count("collaborative") == 1 and mods.count("online") <= 1
    assert any(i.target_skill == "mult" or "mult" in
               dict(next(a for a in fractions_catalog if a.id == i.activity_id).skills)
               for i in pl.items)
    assert not pl.conflicts


def test_bad_input_is_named(fractions_graph, fractions_catalog, fractions_learner):
    with pytest.raises(PlanInputError, match="nope"):
        plan_playlist(fractions_graph, fractions_catalog, fractions_learner,
                      dataclasses.replace(REQ, pins=("nope",)))
    with pytest.raises(PlanInputError, match="budget_min"):
        PlaylistRequest(budget_min=-5)
    with pytest.raises(PlanInputError, match="unknown-skill"):
        plan_playlist(fractions_graph, [act("x", "unknown-skill")], fractions_learner, REQ)
    with pytest.raises(NothingToPlan):
        plan_playlist(fractions_graph, [], fractions_learner, REQ)
    with pytest.raises(PlanInputError, match="twice"):
        plan_playlist(fractions_graph, [act("x", "mult"), act("x", "mult")], fractions_learner, REQ)


def test_spaced_review_and_prerequisite_gap(fractions_graph, fractions_catalog):
    learner = PlanLearner(
        id="bo", mastery={"equiv": 0.97, "common": 0.97, "add": 0.97, "mult": 0.97, "ratio": 0.5},
        days_since_practice={"equiv": 60.0}, struggling=frozenset({"ratio"}))
    req = dataclasses.replace(REQ, budget_min=120)
    c = prepare(fractions_graph, fractions_catalog, learner, req)
    basis = dict(zip(c.skills, c.basis, strict=True))
    assert basis["equiv"] == "review"
    assert basis["add"] == basis["mult"] == "prerequisite_gap"
    assert basis["ratio"] == "ready"
    pl = plan_playlist(fractions_graph, fractions_catalog, learner, req)
    assert "ratio-project" in pl.activity_ids
    assert {i.reason.basis for i in pl.items} >= {"ready"}


def small_instance(graph, catalog, seed, **request):
    """Candidates of a synthetic learner (``100 + seed``) small enough to enumerate every
    selection: 4-14 candidate rows from the first 60, 55, ... activities."""
    from planner.playlist.synthetic import synthetic_learner

    learner = synthetic_learner(graph, 100 + seed)
    req = PlaylistRequest(budget_min=45, length_max=4, format_cap=2, **request)
    size = 60
    c = prepare(graph, catalog[:size], learner, req)
    while c.n > 14:
        size -= 5
        c = prepare(graph, catalog[:size], learner, req)
    assert c.n >= 4, "instance too small to be a real test"
    return c


def _brute_force(c):
    rows = soft_rows(c)
    best = -np.inf
    for n in range(0, min(c.request.length_max, c.n) + 1):
        for combo in itertools.combinations(range(c.n), n):
            x = np.zeros(c.n)
            x[list(combo)] = 1
            if hard_violations(c, x):
                continue
            if any(sum(x[a] for a in r.members) < r.rhs for r in rows):
                continue
            best = max(best, objective_value(c, x))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_exact_milp_matches_brute_force(school, seed):
    c = small_instance(*school, seed, exact=True)
    best = _brute_force(c)
    milp = solve_candidates(c, use_enumeration=False).playlist
    assert milp.solver == "milp" and milp.status == "optimal"
    assert milp.objective == pytest.approx(best, rel=1e-6)
    enum = solve_candidates(c).playlist
    assert enum.solver == "enumeration"
    assert enum.objective == pytest.approx(best, rel=1e-6)


def test_enumeration_matches_milp_with_soft_rows_and_churn(school, school_learners):
    graph, catalog = school
    for n, learner in enumerate(school_learners):
        req = PlaylistRequest(budget_min=40, length_max=3, format_cap=1,
                              modality_bounds={"online": (1, 2)}, pins=(catalog[n].id,))
        c = prepare(graph, catalog[:30], learner, req)
        churn = {0: 1.0, 2: 1.0} if c.n > 2 else None
        e = solve_candidates(c, churn=churn, churn_penalty=0.05)
        m = solve_candidates(c, churn=churn, churn_penalty=0.05, use_enumeration=False,
                             exact=True)
        assert e.playlist.solver == "enumeration"
        assert e.playlist.objective == pytest.approx(m.playlist.objective, abs=1e-9)
        assert {k.constraint for k in e.playlist.conflicts} == {
            k.constraint for k in m.playlist.conflicts}


def test_milp_at_least_greedy(school, school_learners):
    graph, catalog = school
    req = PlaylistRequest(budget_min=90, modality_bounds={"online": (1, 3)}, format_cap=2,
                          exact=True)
    better = 0
    for learner in school_learners:
        m = solve_candidates(prepare(graph, catalog, learner, req), use_enumeration=False).playlist
        g = greedy_playlist(graph, catalog, learner, req)
        assert m.objective >= g.objective - 1e-9
        better += m.objective > g.objective + 1e-9
        assert m.status == "optimal"
    assert better >= 1, "the MILP should beat the plain greedy somewhere"


def test_tangent_and_configuration_formulations_agree(school, school_learners):
    from planner.playlist.milp import solve_milp

    graph, catalog = school
    req = PlaylistRequest(budget_min=90, format_cap=2, skill_cap=2)
    for learner in school_learners[:3]:
        c = prepare(graph, catalog, learner, req)
        a = solve_milp(c, time_limit=None, mip_rel_gap=1e-7, formulation="auto")
        t = solve_milp(c, time_limit=None, mip_rel_gap=1e-7, formulation="tangent")
        va, vt = objective_value(c, a.x), objective_value(c, t.x)
        assert va >= vt - 1e-9  # configurations are exact; tangents approximate
        assert vt >= 0.995 * va


def test_incumbent_cutoff_proves_optimality(school, school_learners):
    from planner.playlist.greedy import penalised_value
    from planner.playlist.milp import solve_milp

    graph, catalog = school
    req = PlaylistRequest(budget_min=90, format_cap=2, modality_bounds={"online": (1, 3)})
    c = prepare(graph, catalog, school_learners[3], req)
    rows = soft_rows(c)
    best = solve_milp(c, time_limit=None, mip_rel_gap=1e-9)
    v = penalised_value(c, best.x, rows, None, 0.0)
    assert solve_milp(c, time_limit=None, incumbent=v + 1e-6).status == "incumbent_optimal"
    looser = solve_milp(c, time_limit=None, mip_rel_gap=1e-9, incumbent=v - 0.05)
    assert looser.x is not None
    assert penalised_value(c, looser.x, rows, None, 0.0) == pytest.approx(v, abs=1e-9)


def test_two_pins_on_a_skill_that_is_not_ready_respect_the_skill_cap():
    """The skill cap counts every un-mastered skill, also one that is not ready (no gain
    there): a teacher's second pin on it gives way with a conflict naming the cap (found by
    the random-instance test: both pins were kept, 2 items on a skill capped at 1)."""
    from planner.model import PlanSkill, SkillGraph

    # "next" is two steps from ready: neither ready nor chained, so it bears no gain
    graph = SkillGraph.from_skills([PlanSkill("root"), PlanSkill("base", ("root",)),
                                    PlanSkill("next", ("base",))])
    catalog = [act("on-root", "root", duration_min=10, p_learn=0.3, formats=("video",)),
               act("next-1", "next", duration_min=10, p_learn=0.3, formats=("game",)),
               act("next-2", "next", duration_min=10, p_learn=0.3, formats=("practice",))]
    learner = PlanLearner("x", mastery={"root": 0.3, "base": 0.2, "next": 0.1})
    req = PlaylistRequest(budget_min=60, skill_cap=1, length_max=3, format_cap=None,
                          pins=("next-1", "next-2"))
    for planner in (plan_playlist, greedy_playlist):
        pl = planner(graph, catalog, learner, req)
        assert check_hard(graph, catalog, learner, req, pl) == [], planner
        assert len({"next-1", "next-2"} & set(pl.activity_ids)) == 1, pl.activity_ids
        (conflict,) = [k for k in pl.conflicts if k.constraint.startswith("pin:")]
        assert "skill_cap:next" in conflict.blocked_by, conflict
