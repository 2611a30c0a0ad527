"""The world family of the planner benchmark: determinism, common random numbers, the
engine's belief arithmetic and request, misspecification knobs and fair baselines."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from planner.simulate.baselines import POLICIES, one_size_fits_all
from planner.simulate.family import WORLDS, mean_ci, run_world
from planner.simulate.world_run import (
    BELIEF_PARAMS,
    bkt_step,
    engine_request,
    simulate_learner,
)
from planner.simulate.worlds import WorldSpec, build_world

SMALL = WorldSpec("t-small", n_skills=12, n_layers=3, n_activities=40, n_learners=4,
                  sessions=2, session_minutes=40)


def test_at_least_eight_distinct_worlds():
    assert len(WORLDS) >= 8
    assert len({w.name for w in WORLDS}) == len(WORLDS)
    assert len({replace(w, name="", description="") for w in WORLDS}) == len(WORLDS)


def test_same_seed_same_world_and_results():
    a, b = run_world(SMALL, 3), run_world(SMALL, 3)
    for name in POLICIES:
        np.testing.assert_array_equal(a[name].gain, b[name].gain)
    w1, w2 = build_world(SMALL, 3), build_world(SMALL, 4)
    assert not np.array_equal(w1.true0, w2.true0) or not np.array_equal(w1.u_learn, w2.u_learn)


@pytest.mark.parametrize("score", [0.0, 0.3, 1.0])
def test_bkt_step_is_the_engines_default_bkt(score):
    from kt.bkt import BKT
    from kt.bkt.params import BKTState

    model = BKT.from_skill_params({"s": BELIEF_PARAMS})
    new, _ = model.update_one(BKTState(model.skill_names_, [0.37]), "s", score)
    assert bkt_step(0.37, score) == pytest.approx(float(new.p_mastered[0]), abs=1e-12)


def test_engine_request_matches_the_engine():
    from engine.planning._playlist import playlist_request

    mine, theirs = engine_request(replace(SMALL, session_minutes=60)), playlist_request(None)
    for f in ("budget_min", "length_max", "format_cap", "skill_cap", "mastered_threshold",
              "time_limit_s", "exact"):
        assert getattr(mine, f) == getattr(theirs, f), f
    alc = engine_request(replace(SMALL, class_model="a_la_carte", session_minutes=150))
    assert alc.modality_bounds["teacher_led"] == (0, 0) and alc.length_max == 12


def test_declared_graph_misses_and_adds_edges():
    spec = replace(SMALL, n_skills=30, n_layers=5, missing_edges=0.5, extra_edges=0.5)
    w = build_world(spec, 0)
    true = {(j, i) for i, ps in enumerate(w.true_prereqs) for j in ps}
    decl = {(int(s), int(d)) for s, d in zip(w.graph.edge_src, w.graph.edge_dst, strict=True)}
    assert true - decl and decl - true


def test_prerequisite_gate_blocks_true_learning():
    """With gate 0 nobody learns a skill whose true prerequisite they do not know."""
    spec = replace(SMALL, gate=0.0, n_learners=6, sessions=3)
    w = build_world(spec, 1)
    req = engine_request(spec)
    for s in range(spec.n_learners):
        out = simulate_learner(w, s, POLICIES["pathwise"], req)
        learned = out.true_end & ~w.true0[s]
        for i in np.nonzero(learned)[0]:
            # its true prerequisites were known at the start or learned too
            assert all(w.true0[s, j] or out.true_end[j] for j in w.true_prereqs[i])


def test_no_policy_violates_hard_constraints_where_accommodation_is_scarce():
    spec = replace(SMALL, accommodation_share=1.0, support=0.3, n_learners=6)
    res = run_world(spec, 2)
    assert {n: r.violations for n, r in res.items()} == {n: 0 for n in res}


def test_one_size_fits_all_substitutes_instead_of_violating():
    spec = replace(SMALL, accommodation_share=0.5, support=0.5, n_learners=8)
    w = build_world(spec, 5)
    req = engine_request(spec)
    plain = [one_size_fits_all(w, lr, req, 0, 0) for lr in w.learners]
    needs = [lr for lr in w.learners if lr.accommodations]
    free = [p for p, lr in zip(plain, w.learners, strict=True) if not lr.accommodations]
    assert needs and free and all(p == free[0] for p in free)  # the same class sequence
    for lr, p in zip(w.learners, plain, strict=True):
        for a in p:
            assert lr.accommodations <= a.accommodations


def test_planning_sees_only_evidence_not_the_truth():
    """Beliefs come from the pre-test: never-observed skills have no mastery entry."""
    w = build_world(SMALL, 0)
    seen = []

    def spy(world, learner, request, session, seed):
        seen.append(learner)
        return []

    simulate_learner(w, 0, spy, engine_request(SMALL))
    unobserved = {w.graph.ids[i] for i in np.nonzero(np.isnan(w.pre_belief[0]))[0]}
    assert unobserved and not (unobserved & set(seen[0].mastery))


def test_mean_ci():
    m, hw = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and hw == pytest.approx(4.30 * 1.0 / np.sqrt(3), rel=1e-3)


def test_benchmark_prints_table_and_verdicts(capsys):
    from benchmarks.planner_sim import main

    main(["--seeds", "1", "--learners", "2", "--worlds", "near-assumptions,a-la-carte",
          "--sessions", "1", "--jobs", "1"])
    out = capsys.readouterr().out
    assert "| near-assumptions |" in out and "| a-la-carte |" in out
    assert "pathwise / lowest_mastery_first:" in out and "at least 8 worlds: MISSED" in out
    assert "students choosing on choice boards" in out  # every world, against assigned
    rows = [line for line in out.splitlines() if line.startswith("| a-la-carte |")]
    assert len(rows) == 2 and rows[1].count("|") == 5  # the world table and the choice table


def test_learning_pathwise_sees_every_ticket_and_plans_validly():
    from planner.simulate.baselines import LearningPathwise

    pol = LearningPathwise()
    seen = []
    observe = pol.observe

    def spy(world, s, activity, skill, p_before, score, days=float("nan")):
        seen.append((activity.id, skill, p_before, score))
        observe(world, s, activity, skill, p_before, score, days=days)

    pol.observe = spy
    res = run_world(replace(SMALL, p_absent=0.0), 1, {"learn": pol})
    assert res["learn"].violations == 0
    assert seen and all(0 <= p <= 1 and 0 <= sc <= 1 for _a, _k, p, sc in seen)
    model = next(iter(pol.models.values()))
    assert set(model._act_ll) == {a for a, *_ in seen}


def test_spacing_pathwise_fits_half_lives_in_a_forgetting_world():
    from planner.simulate.baselines import SpacingPathwise

    pol = SpacingPathwise()
    spec = replace(SMALL, half_life_days=8.0, sessions=4, n_learners=6, pretest_share=1.0)
    res = run_world(spec, 0, {"spacing": pol})
    assert res["spacing"].violations == 0
    model = next(iter(pol.models.values()))
    assert model._total  # retention checks were seen and fitted


def test_engine_default_plans_as_pathwise_until_the_school_tests_fire(monkeypatch):
    """``engine_default`` (the engine's ``"when_shown"`` protection and learned effectiveness):
    without evidence of either it plans exactly as plain pathwise; once the school's checks
    show forgetting its requests carry ``protect`` 1 and the school's fitted half-life; once its tickets show activities differ
    it plans with the learned catalog."""
    import planner.simulate.baselines as bl

    world = build_world(SMALL, 5)
    request = engine_request(SMALL)
    gated = bl.engine_default()
    for s in range(SMALL.n_learners):
        a = simulate_learner(world, s, gated, request)
        b = simulate_learner(world, s, bl.pathwise, request)
        np.testing.assert_array_equal(a.true_end, b.true_end)
    model = gated.forgetting._model(world)
    assert not model.forgets() and not gated.learning.differs(world)
    seen = []
    monkeypatch.setattr(bl, "pathwise", lambda w, lr, req, session, seed: seen.append(
        (req.weights.protect, dict(lr.half_life_days))) or [])
    practised = replace(world.learners[0], days_since_practice={world.graph.ids[0]: 10.0})
    gated(world, practised, request, 0, 0)
    for i in range(40):  # checks that fail after long gaps and pass after short ones
        model.observe("x", f"k{i % 4}", 3.5 if i % 2 else 28.0, float(i % 2))
    assert model.forgets() and model.school_half_life() < 60.0
    gated(world, practised, request, 0, 0)  # protect, decaying with the school's half-life
    assert seen == [(0.0, {}), (1.0, {world.graph.ids[0]: model.school_half_life()})]
    seen[:] = [s[0] for s in seen]
    import planner.playlist.plan as plan_module

    learned = []
    monkeypatch.setattr(gated.learning, "differs", lambda w: True)
    monkeypatch.setattr(plan_module, "plan_playlist",
                        lambda g, catalog, lr, req: learned.append((catalog, req.weights.protect))
                        or SimpleNamespace(items=[]))
    assert gated(world, world.learners[0], request, 0, 0) == []
    assert seen == [0.0, 1.0] and len(learned) == 1  # the learned catalog's plan, not pathwise's
    catalog, protect = learned[0]
    assert protect == 1.0 and [a.id for a in catalog] == [a.id for a in world.catalog]


def test_side_by_side_runs_the_class_session_by_session_and_changes_only_learning_policies():
    """``run_world`` teaches the learners side by side (session 1 of all, then session 2 ...):
    a learning policy sees every learner's first session before anyone's second; a policy that
    learns nothing gets the same outcomes in either order."""
    spec = replace(SMALL, sessions=3, n_learners=5, p_absent=0.0)
    order: list[tuple[int, int]] = []

    class Recorder:
        def __init__(self):
            self.session_of = {}

        def observe(self, world, s, activity, skill, p_before, score, days=float("nan")):
            order.append((self.session_of[s], s))

        def __call__(self, world, learner, request, session, seed):
            self.session_of[[lr.id for lr in world.learners].index(learner.id)] = session
            return POLICIES["pathwise"](world, learner, request, session, seed)

    run_world(spec, 3, {"rec": Recorder()})
    sessions = [sess for sess, _s in order]
    assert sessions == sorted(sessions), "a later session's ticket came before an earlier one's"
    assert {s for sess, s in order if sess == 0} == set(range(spec.n_learners))
    order.clear()
    run_world(spec, 3, {"rec": Recorder()}, order="one_by_one")
    assert [s for _sess, s in order] == sorted(s for _sess, s in order)  # learner after learner
    a = run_world(spec, 3, {"pathwise": POLICIES["pathwise"]})["pathwise"]
    b = run_world(spec, 3, {"pathwise": POLICIES["pathwise"]}, order="one_by_one")["pathwise"]
    np.testing.assert_array_equal(a.gain, b.gain)
    with pytest.raises(ValueError, match="order='shuffled'"):
        run_world(spec, 3, {"pathwise": POLICIES["pathwise"]}, order="shuffled")


def test_oracle_quality_is_pathwise_with_the_true_quality(monkeypatch):
    """The ceiling row of learned effectiveness: where every activity is as the catalog says
    it plans exactly as pathwise; where quality differs it plans with the catalog's learn
    probabilities times the true quality."""
    import planner.playlist.plan as plan_module
    import planner.simulate.baselines as bl

    world = build_world(SMALL, 3)
    request = engine_request(SMALL)
    for s in range(2):
        a = simulate_learner(world, s, bl.oracle_quality, request)
        b = simulate_learner(world, s, bl.pathwise, request)
        np.testing.assert_array_equal(a.true_end, b.true_end)
    wrong = build_world(replace(SMALL, quality_sigma=0.8), 3)
    seen, real = [], plan_module.plan_playlist
    monkeypatch.setattr(plan_module, "plan_playlist",
                        lambda g, catalog, lr, req: seen.append(catalog) or real(g, catalog, lr, req))
    bl.oracle_quality(wrong, wrong.learners[0], request, 0, 0)
    by_id = {a.id: a for a in wrong.catalog}
    assert len(set(np.round(wrong.quality, 6))) > 1
    for act, q in zip(seen[0], wrong.quality, strict=True):
        k = act.skills[0][0]
        assert act.learn_probability(k) == pytest.approx(min(by_id[act.id].learn_probability(k) * q, 0.95))
