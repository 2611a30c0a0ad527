"""Learned planning inputs through the engine (issue 15 items 2-3, engine.planning._learned):
constructed cases on the demo school where the truth is known.

* An activity whose exit tickets come from a learner model in which it teaches twice as well
  as the catalog says gets a learn probability above its catalog value and enters the next
  playlist when ``PlanningPolicy.learn_effectiveness`` is on, and not when it is off.
* A learner whose retention checks on a skill show fast forgetting (every check a week after
  mastering it fails) gets that skill due for review 13 days later with
  ``fitted_forgetting`` on; with the fixed 120-day half-life it is not due.
* Switches: effectiveness "when_shown" by default (on only once the school's activities-differ
  test fires), fitted forgetting off, persisted, an experiment arm's weights override the
  policy; the fit is cached and refitted when evidence changes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from engine.access import Caller, Principal
from engine.errors import ValidationError

ADMIN = Caller(Principal("demo", "admin", "k-admin"))
NOW = datetime.now(UTC)


@pytest.fixture()
def school(tmp_path):
    from engine.app import Pathwise
    from engine.app.demo import ensure_demo

    pw = Pathwise.open(f"sqlite:///{tmp_path / 'pw.db'}")
    ensure_demo(pw, "demo")
    yield pw.school("demo")
    pw.close()


def _plan_inputs(school, lid, budget_min=None):
    """(PlanLearner, PlaylistRequest, grade catalog) the engine builds for ``lid``."""
    from engine import planning

    inp = school._planning_input()
    learner = school.view.learners[lid]
    cls = school._class_of(lid)
    pl = planning.plan_learner(learner, school.engine.mastery(lid), inp.graph.ids,
                               own_devices=planning.uses_own_devices(cls))
    req = planning.playlist_request(cls, budget_min=budget_min, known_activities=inp.by_id)
    return pl, req, inp.activities_for_grade(learner.grade)


def _set(school, **switches):
    school.set_planning_policy(ADMIN, switches)


def test_switches_by_default_persisted_and_arm_overrides(school):
    from engine.app._view import load_policy
    from engine.planning import PlanningPolicy, learned_switches
    from engine.planning._learned import plan_weights

    policy = school.view.policy
    assert policy.learn_effectiveness == "when_shown" and policy.fitted_forgetting is False
    # by default both models are fitted, for the school tests (activities differ, forgetting)
    assert school._learned() is None  # the first fit runs in the background ...
    school._learned_cache.wait(120)
    fitted = school._learned()
    assert fitted.with_effectiveness is True and fitted.differ["tickets"] > 0  # ... both models
    assert fitted.differs is False  # the demo school's activities are not shown to differ
    lid = sorted(school.view.learners)[0]
    planner_meta = school.generate_playlist(ADMIN, lid).body["planner"]
    assert "learned" not in planner_meta  # so the catalog's learn probabilities plan
    assert planner_meta["learn_effectiveness"]["mode"] == "when_shown"
    assert planner_meta["learn_effectiveness"]["differs"] is False
    _set(school, learn_effectiveness="off")
    assert school._learned().with_effectiveness is True  # the fit it has stays usable
    _set(school, protect_from_forgetting="off")
    assert school._learned() is None  # nothing read or fitted while everything is off
    planner_meta = school.generate_playlist(ADMIN, lid).body["planner"]
    assert "learned" not in planner_meta and "learn_effectiveness" not in planner_meta
    _set(school, learn_effectiveness=True)
    assert load_policy(school.store).learn_effectiveness == "on"  # stored, not only cached
    assert learned_switches(school.view.policy) == (True, False)
    shown = SimpleNamespace(differs=True)  # a fit whose activities-differ test fired
    assert learned_switches(PlanningPolicy(), learned=shown) == (True, False)  # when_shown, shown
    assert learned_switches(PlanningPolicy()) == (False, False)
    # an arm's weight wins over the policy, both ways; plan weights lose the switches
    assert learned_switches(school.view.policy, {"learn_effectiveness": 0}) == (False, False)
    assert learned_switches(PlanningPolicy(), {"fitted_forgetting": 1}) == (False, True)
    assert plan_weights({"unlock": 0.0, "fitted_forgetting": 1.0}) == {"unlock": 0.0}
    with pytest.raises(ValidationError, match="learn_effectiveness"):
        PlanningPolicy(learn_effectiveness=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="learn_effectiveness='sometimes'.*'when_shown'"):
        PlanningPolicy(learn_effectiveness="sometimes")


def test_arm_weights_accept_the_switches():
    from dataclasses import fields

    from engine.experiment.design import WEIGHT_NAMES
    from planner.request import PlanWeights

    switches = {"learn_effectiveness", "fitted_forgetting"}
    assert switches <= set(WEIGHT_NAMES)
    # every other name is a planner weight the arm's requests really set (a typo would be
    # accepted by the design and then fail or do nothing at planning time)
    assert set(WEIGHT_NAMES) - switches <= {f.name for f in fields(PlanWeights)}
    assert {"diagnostic", "protect", "unlock"} <= set(WEIGHT_NAMES)  # the terms a school can test


def _alternative(school, lid):
    """(X, its skill k, planned ids): an activity not in ``lid``'s playlist, feasible for them,
    on the same single skill as a planned item (same modality, no longer), whose skill starts
    least known (p_init)."""
    from planner.playlist._eligibility import hard_filter

    pl, req, catalog = _plan_inputs(school, lid)
    planned = {i.activity_id for i in school.generate_playlist(ADMIN, lid).items}
    by_id = {a.id: a for a in catalog}
    best = None
    for aid in planned:
        base = by_id.get(aid)
        if base is None or len(base.skills) != 1:
            continue
        k = base.skills[0][0]
        p_init = float(school.view.model_params.get(k, {}).get("p_init", 0.2))
        for a in catalog:
            if (a.id not in planned and a.skills == base.skills and a.modality == base.modality
                    and a.duration_min <= base.duration_min and hard_filter(a, pl, req) is None):
                if best is None or p_init < best[0]:
                    best = (p_init, a, k)
                break
    return (None, None, planned) if best is None else (best[1], best[2], planned)


def _teaches_twice(school, x, k, lid, rounds=6):
    """Exit tickets of X and of the other activities on skill k (its siblings), from every
    other learner in turn, ``rounds`` days, drawn (seed 7) from learners whose mastery
    persists: each knows k at first with the engine's current mastery as the chance, X teaches
    it with twice the catalog's learn probability, a sibling with the catalog's, and a ticket
    is correct w.p. 0.9 when known, 0.2 when not (guess 0.2, slip 0.1). Learned effectiveness
    ranks an activity against the other ways to learn its skill, so the siblings' tickets are
    what shows that X is the better one."""
    rng = np.random.default_rng(7)
    others = [o for o in sorted(school.view.learners) if o != lid]
    siblings = [a for a in school._planning_input().activities
                if a.id != x.id and a.skills and a.skills[0][0] == k]
    doers = [x, *siblings]
    p_init = float(school.view.model_params.get(k, {}).get("p_init", 0.2))
    known = {}
    for other in others:
        st = school.engine.mastery(other).get(k)
        known[other] = bool(rng.random() < (float(st.p_mastered) if st is not None else p_init))
    for r in range(rounds):
        rows = []
        for j, other in enumerate(others):
            act = doers[j % len(doers)]
            t = min((2.0 if act is x else 1.0) * act.learn_probability(k), 0.999)
            known[other] = known[other] or bool(rng.random() < t)
            correct = rng.random() < (0.9 if known[other] else 0.2)
            rows.append({"id": f"x2-{r}-{other}", "learner_id": other, "activity_id": act.id,
                         "correct": bool(correct), "observed_at": (NOW - timedelta(days=rounds - r)).isoformat()})
        school.ingest_evidence(ADMIN, rows)


def test_an_activity_that_teaches_twice_as_well_is_preferred_only_when_on(school):
    # a learner whose playlist has a skill nobody knows at first (p_init < 0.1: grade 8), so
    # that tickets discriminate how much an activity teaches
    by_grade = sorted(school.view.learners, key=lambda i: (-int(school.view.learners[i].grade), i))
    for lid in by_grade:
        x, k, _planned = _alternative(school, lid)
        if x is not None and float(school.view.model_params.get(k, {}).get("p_init", 0.2)) < 0.1:
            break
    _teaches_twice(school, x, k, lid)
    _set(school, learn_effectiveness=False)
    off = school.generate_playlist(ADMIN, lid)
    assert x.id not in {i.activity_id for i in off.items}
    assert "learned" not in off.body["planner"]
    _set(school, learn_effectiveness=True)
    learned = school._learned()
    pl, _req, catalog = _plan_inputs(school, lid)
    adjusted = {a.id: a for a in learned.catalog_for(catalog, pl)}
    # the level of the multipliers means little here (the catalog's p_learn is the running
    # BKT's): X stands out from the other ways to learn its skill, and is ranked against them
    sibling = next(a for a in catalog if a.id != x.id and a.skills and a.skills[0][0] == k)
    assert learned.multiplier(x.id) > 1.5 * learned.multiplier(sibling.id)
    assert adjusted[x.id].learn_probability(k) > 1.15 * x.learn_probability(k)
    assert adjusted[sibling.id].learn_probability(k) < sibling.learn_probability(k)
    on = school.generate_playlist(ADMIN, lid)
    assert x.id in {i.activity_id for i in on.items}
    assert on.body["planner"]["learned"]["effectiveness"] is True
    assert on.body["planner"]["learned"]["tickets"] > 0
    # the item says it is there because of the school's own evidence, with the multiplier
    item = next(i for i in on.items if i.activity_id == x.id)
    ratio = adjusted[x.id].learn_probability(k) / x.learn_probability(k)
    assert item.details["learned_multiplier"] == pytest.approx(ratio, rel=1e-3)
    assert f"about {ratio:.1f}× the catalog's rate" in item.reason and "learn more" in item.reason
    assert all("learned_multiplier" not in i.details for i in off.items)
    # reproducible: the posterior mean, no draw
    again = school.generate_playlist(ADMIN, lid)
    assert [i.activity_id for i in again.items] == [i.activity_id for i in on.items]


def test_when_shown_plans_with_the_multipliers_once_the_school_test_fires(school):
    """The default ``"when_shown"``: the demo school plans with the catalog (its tickets do not
    show activities teaching one skill differ); after tickets in which X teaches twice as well
    as its sibling on the same skill, the school's own test fires and playlists plan with the
    learned multipliers (X enters, the meta says why)."""
    by_grade = sorted(school.view.learners, key=lambda i: (-int(school.view.learners[i].grade), i))
    for lid in by_grade:
        x, k, _planned = _alternative(school, lid)
        if x is not None and float(school.view.model_params.get(k, {}).get("p_init", 0.2)) < 0.1:
            break
    school._learned_cache.wait(120)  # the fit the search above started, before the tickets
    quiet = school.generate_playlist(ADMIN, lid)
    assert x.id not in {i.activity_id for i in quiet.items}
    assert quiet.body["planner"]["learn_effectiveness"]["differs"] is False
    assert "learned" not in quiet.body["planner"]
    _teaches_twice(school, x, k, lid)
    school._learned_cache.refit_s = 0.0
    school._learned_cache.refit_factor = 0.0
    school._learned()  # new evidence: a refit in the background
    school._learned_cache.wait(120)
    models = school._learned()
    assert models.differs and models.differ["p_value"] <= 0.05
    shown = school.generate_playlist(ADMIN, lid)
    assert x.id in {i.activity_id for i in shown.items}
    meta = shown.body["planner"]
    assert meta["learned"]["effectiveness"] is True
    assert meta["learn_effectiveness"]["differs"] is True and meta["learn_effectiveness"]["tickets"] > 0
    assert "school's own evidence" in next(i for i in shown.items if i.activity_id == x.id).reason
    assert school.why_not(ADMIN, lid, x.id)["in_plan"] is True  # why-not plans as the playlist does


def _fresh_activity(school, lid):
    """A single-skill activity the learner may do, on a skill they have no evidence of (None
    when there is none)."""
    from planner.playlist._eligibility import hard_filter

    pl, req, catalog = _plan_inputs(school, lid)
    known = school.engine.mastery(lid)
    return next((a for a in catalog if len(a.skills) == 1 and a.skills[0][0] not in known
                 and hard_filter(a, pl, req) is None), None)


def _fast_forgetter(school):
    """(learner, skill, activity): the learner masters a fresh skill four times, a week apart,
    and fails every retention check in between (last practice 13 days ago)."""
    lid, y = next((lid, y) for lid in sorted(school.view.learners)
                  if (y := _fresh_activity(school, lid)) is not None)
    k = y.skills[0][0]
    rows, n = [], 0
    for block in range(4):
        day = NOW - timedelta(days=34 - 7 * block)
        if block:
            rows.append({"id": f"ff-{n}", "learner_id": lid, "activity_id": y.id, "correct": False,
                         "observed_at": day.isoformat()})
            n += 1
        for j in range(8):
            rows.append({"id": f"ff-{n}", "learner_id": lid, "activity_id": y.id, "correct": True,
                         "observed_at": (day + timedelta(minutes=5 * (j + 1))).isoformat()})
            n += 1
    school.ingest_evidence(ADMIN, rows)
    assert school.engine.mastery(lid)[k].p_mastered >= 0.95
    return lid, k, y


def test_fast_forgetting_brings_review_sooner_than_the_fixed_half_life(school):
    lid, k, y = _fast_forgetter(school)
    _set(school, fitted_forgetting=False)
    off = school.why_not(ADMIN, lid, y.id)
    assert off["excluded_by"] == ["mastered"], off  # 0.5 + 0.5 * 0.5 ** (13 / 120) > 0.95: not due
    assert not [i for i in school.generate_playlist(ADMIN, lid).items if k in i.skills]
    _set(school, fitted_forgetting=True)
    learned = school._learned()
    pl, _req, _cat = _plan_inputs(school, lid)
    half = learned.half_lives_for(pl)[k]
    assert half < 10.0 and pl.days_since_practice[k] > 12.0  # fitted: days, not the fixed 120
    on = school.why_not(ADMIN, lid, y.id)
    assert on["excluded_by"] == [], on  # due for review: a candidate the solver weighs
    plan = school.generate_playlist(ADMIN, lid)
    assert [i.details["basis"] for i in plan.items if k in i.skills] == ["review"]
    assert plan.body["planner"]["learned"]["forgetting"] is True
    assert plan.body["planner"]["learned"]["retention_checks"] >= 3


def test_the_fit_is_cached_and_refitted_when_evidence_changes(school):
    _set(school, learn_effectiveness=True)
    first = school._learned()
    assert school._learned() is first  # within REFIT_S: no query, no fit
    _set(school, learn_effectiveness=True, fitted_forgetting=True)  # a write reloads the view
    assert school._learned() is first  # same catalog: no refit
    school._learned_cache.refit_s = 0.0
    school._learned_cache.refit_factor = 0.0
    same = school._learned()
    assert same.marker == first.marker and same.tickets == first.tickets  # nothing changed: no refit
    lid = sorted(school.view.learners)[0]
    school.ingest_evidence(ADMIN, [{"id": "cache-1", "learner_id": lid, "activity_id": "A0001",
                                    "correct": True, "observed_at": NOW.isoformat()}])
    served = school._learned()  # new evidence: the request keeps the fit it has ...
    assert served.tickets == first.tickets
    school._learned_cache.wait(30)  # ... while the refit runs in the background
    after = school._learned()
    assert after.marker != first.marker and after.tickets > first.tickets


def test_a_long_fit_is_reused_for_twenty_times_its_duration():
    """Background refits take at most ~1/20 of a core: a fit that took 10 s is reused for 200 s
    before the history is even looked at again (``refit_s`` is only the lower bound)."""
    import time

    from engine.planning._learned import LearnedCache, LearnedModels

    calls = []
    store = SimpleNamespace(history_marker=lambda: calls.append(1) or (1, 1))
    inp = SimpleNamespace(activities=())
    cache = LearnedCache(refit_s=0.0)
    cache._inp, cache._threshold = inp, 0.95
    fit_at = time.monotonic() - 150.0  # 150 s ago: within 20 x 10 s
    cache._models = LearnedModels(None, None, {}, marker=(1, 1), fitted_at=fit_at, fit_ms=10_000.0)
    assert cache.models(store, inp, dict, 0.95, effectiveness=True) is cache._models and not calls
    cache._models = LearnedModels(None, None, {}, marker=(1, 1), fitted_at=fit_at - 60.0, fit_ms=10_000.0)
    assert cache.models(store, inp, dict, 0.95, effectiveness=True).marker == (1, 1) and calls == [1]


def test_no_history_query_per_request_while_a_first_fit_runs():
    """While a background fit runs, a request that can plan without it (``wait`` False) gets
    the fit of the same catalog that is there, without the history's COUNT/MAX query."""
    import threading

    from engine.planning._learned import LearnedCache, LearnedModels

    calls, release = [], threading.Event()
    store = SimpleNamespace(history_marker=lambda: calls.append(1) or (1, 1))
    inp = SimpleNamespace(activities=())
    cache = LearnedCache()
    cache._inp, cache._threshold = inp, 0.95
    forgetting_only = LearnedModels(None, None, {}, marker=(1, 1), with_effectiveness=False)
    cache._models = forgetting_only
    cache._refit = threading.Thread(target=release.wait, args=(10,))
    cache._refit.start()
    try:
        for _ in range(3):
            assert cache.models(store, inp, dict, 0.95, effectiveness=True, wait=False) is forgetting_only
        assert not calls
    finally:
        release.set()
        cache._refit.join()


def test_an_experiment_arm_switches_learning_on_for_its_learners_only(school):
    """Arm B ``weights: {learn_effectiveness: 1}``: its learners' playlists use the fit (and
    say so in ``planner.learned``), arm A's do not; the policy stays off."""
    today = NOW.date()
    body = {"id": "learn", "title": "Learned effectiveness", "question": "Does it help?",
            "arms": [{"name": "A", "planner": "pathwise"},
                     {"name": "B", "planner": "pathwise", "weights": {"learn_effectiveness": 1}}],
            "class_ids": ["c-3-station"], "target_skills": ["3.G.A.1"], "seed": 3,
            "start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=30)).isoformat(),
            "sample": {"n_per_arm": 5}}
    school.create_experiment(ADMIN, body)
    school.start_experiment(ADMIN, "learn")
    arms = {r["learner_id"]: r["arm"] for r in school.experiment_assignment(ADMIN, "learn")}
    a = next(lid for lid, arm in arms.items() if arm == "A")
    b = next(lid for lid, arm in arms.items() if arm == "B")
    assert school.view.policy.learn_effectiveness == "when_shown"  # the demo does not show it
    assert school.generate_playlist(ADMIN, b).body["planner"]["learned"]["effectiveness"] is True
    assert "learned" not in school.generate_playlist(ADMIN, a).body["planner"]


def test_a_class_plan_uses_the_learned_models_when_on(school):
    cls = "c-3-station"
    off = school.generate_class_plan(ADMIN, cls)
    assert "learned" not in off.body["planner"]
    _set(school, learn_effectiveness=True, fitted_forgetting=True)
    on = school.generate_class_plan(ADMIN, cls)
    used = on.body["planner"]["learned"]
    assert used["effectiveness"] is True and used["forgetting"] is True and used["tickets"] > 0
    assert on.body["groups"]  # still a plan

    def gains(plan):
        return {(lid, r["activity_id"]): r["details"]["expected_gain"]
                for lid, pl in plan.body["playlists"].items() for r in pl["items"]}

    # the learn probabilities the class was planned with are the learned ones: the same item
    # of the same learner expects a different gain (or the plan changed)
    g_off, g_on = gains(off), gains(on)
    assert g_off != g_on and g_on
    # shares whose activity the school's evidence moved say so, as playlists do
    explained = [r for pl in on.body["playlists"].values() for r in pl["items"]
                 if "learned_multiplier" in r["details"]]
    assert explained and all("school's own evidence" in r["reason"] for r in explained)
    assert not any("learned_multiplier" in r["details"]
                   for pl in off.body["playlists"].values() for r in pl["items"])


def test_why_not_answers_with_the_objective_of_the_learners_experiment_arm(school):
    """Why-not solves with the learner's arm weights, as the playlist does: with the policy
    off and the learner's arm switching fitted forgetting on, the due review is a candidate
    (``excluded_by`` empty), where the policy alone says "mastered"; a baseline arm's learner
    is told the answer is the Pathwise planner's."""
    lid, k, y = _fast_forgetter(school)
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]
    cls = school._class_of(lid)
    today = NOW.date()
    body = {"id": "forget", "title": "Fitted forgetting", "question": "Does it help?",
            "arms": [{"name": "A", "planner": "pathwise", "weights": {"fitted_forgetting": 1}},
                     {"name": "B", "planner": "greedy", "weights": {"fitted_forgetting": 1}}],
            "class_ids": [cls.id], "target_skills": [k], "seed": 5,
            "start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=30)).isoformat(),
            "sample": {"n_per_arm": 2}}
    school.create_experiment(ADMIN, body)
    school.start_experiment(ADMIN, "forget")
    arms = {r["learner_id"]: r["arm"] for r in school.experiment_assignment(ADMIN, "forget")}
    assert lid in arms, arms
    assert school.view.policy.fitted_forgetting is False
    answer = school.why_not(ADMIN, lid, y.id)
    assert answer["excluded_by"] == [], answer  # the arm's fitted half-life makes it due
    assert answer["experiment_arm"] == arms[lid]
    assert ("note" in answer) == (arms[lid] == "B")
    if arms[lid] == "B":
        assert "'greedy' rule" in answer["note"]


def test_explain_learned_says_more_or_less_only_past_ten_percent():
    from engine.planning._playlist import explain_learned, learned_ratios
    from engine.review import PlanItem
    from planner.model import PlanActivity

    def act(aid, p):
        return PlanActivity(id=aid, title=aid, kind="practice", modality="online", duration_min=10.0,
                            skills=(("k1", 1.0), ("k2", 0.5)), p_learn=p)

    given = [act("a", {"k1": 0.2, "k2": 0.1}), act("b", 0.2), act("c", 0.2), act("d", 0.2)]
    learned = [act("a", {"k1": 0.4, "k2": 0.2}), act("b", 0.21), act("c", 0.1), given[3]]
    items = [PlanItem(activity_id=a, reason="Because.", details={"basis": "ready"}) for a in "abcd"]
    out = {i.activity_id: i for i in explain_learned(items, learned_ratios(given, learned))}
    assert out["a"].details["learned_multiplier"] == pytest.approx(2.0)
    assert "learn more" in out["a"].reason and "about 2.0×" in out["a"].reason
    assert out["b"] == items[1] and out["d"] == items[3]  # +5 %, unchanged: no sentence
    assert "learn less" in out["c"].reason and out["c"].details["learned_multiplier"] == pytest.approx(0.5)
    assert out["c"].reason.startswith("Because. ")


def test_same_day_tickets_on_mastered_skills_measure_the_learners_slip():
    """History rows ``(learner, skill, activity, score, p_before, at)`` in the store's order: a
    ticket on a mastered skill within a day of the previous one is a slip (not forgetting), a
    later one a retention check read with that learner's slip."""
    from engine.planning._learned import fit_learned

    t0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    rows = []
    for lid, wrong in (("careful", 0), ("slippy", 6)):
        for i in range(12):  # same day, one hour apart, believed mastered
            at = t0 + timedelta(hours=i)
            rows.append((lid, "k", None, 0.0 if i < wrong else 1.0, 0.97, at.isoformat()))
        rows.append((lid, "k", None, 0.0, 0.97, (t0 + timedelta(days=10)).isoformat()))
    fitted = fit_learned(rows, [], {}, 0.95)
    fog = fitted.forgetting
    assert not fog._dirty  # fitted before it is shared, not in a request
    assert fitted.checks == 2
    assert fog.learner_slip_rate("slippy") > 0.25 > 0.1 > fog.learner_slip_rate("careful")
    # the same failed check: read as forgetting for the careful learner more than the slippy one
    assert fog.half_life("careful", "k") < fog.half_life("slippy", "k")


def test_fits_run_in_a_separate_process_and_fall_back_to_this_one(school, monkeypatch, caplog):
    """A fit of the learned models is seconds of CPU that would hold this process's
    interpreter lock while requests wait (engine.planning._fitpool): it runs in a process of
    its own, background refits included; when that process cannot start, the fit runs here
    with a warning, so it is never lost."""
    import os

    from engine.planning import _fitpool

    _set(school, learn_effectiveness=True)
    first = school._learned()
    assert first.fitted_pid not in (0, os.getpid()) and first.tickets > 0
    school._learned_cache.refit_s = school._learned_cache.refit_factor = 0.0
    lid = sorted(school.view.learners)[0]
    school.ingest_evidence(ADMIN, [{"id": "pid-1", "learner_id": lid, "activity_id": "A0001",
                                    "correct": True, "observed_at": NOW.isoformat()}])
    school._learned()  # the refit starts in the background
    school._learned_cache.wait(60)
    refit = school._learned()
    assert refit.tickets > first.tickets and refit.fitted_pid not in (0, os.getpid())

    def cannot_start():
        raise OSError("no processes here")

    _fitpool.shutdown()
    monkeypatch.setattr(_fitpool, "_worker", cannot_start)
    school.ingest_evidence(ADMIN, [{"id": "pid-2", "learner_id": lid, "activity_id": "A0001",
                                    "correct": False, "observed_at": NOW.isoformat()}])
    _set(school, learn_effectiveness=True, fitted_forgetting=True)  # same catalog: the fit stays
    school._learned()
    school._learned_cache.wait(60)
    here = school._learned()
    assert here.fitted_pid == os.getpid() and here.tickets > refit.tickets
    assert "fitting in this process" in caplog.text


def test_the_compact_models_plan_as_the_whole_ones(school):
    """What the fit process sends back (``LearnedModels.compact``: each learner's format
    multipliers instead of the effectiveness model and its evidence) scales every learner's
    catalog exactly as the whole models do, for learners with and without declared formats
    and for a learner the fit never saw; and it is a fraction of the size."""
    import pickle

    from engine.planning._learned import fit_learned

    inp = school._planning_input()
    prefs = {lid: [getattr(f, "value", f) for f in lr.profile.value("preferred_formats")]
             for lid, lr in school.view.learners.items()}
    whole = fit_learned(school.store.learning_evidence(), inp.activities, prefs, 0.95)
    small = whole.compact()
    assert whole.effectiveness.learns_formats and small.effectiveness.learns_formats
    fmts = sorted({f for a in inp.activities for f in a.format_keys})
    learners = [SimpleNamespace(id=lid, preferred_formats=frozenset(prefs[lid])) for lid in sorted(prefs)[:6]]
    learners += [SimpleNamespace(id="never-seen", preferred_formats=frozenset(fmts[:1])), None]
    for learner in learners:
        a, b = whole.catalog_for(inp.activities, learner), small.catalog_for(inp.activities, learner)
        for x, y in zip(a, b, strict=True):
            for k in x.skill_ids:
                assert y.learn_probability(k) == pytest.approx(x.learn_probability(k), rel=1e-12, abs=1e-15)
    assert any(x.learn_probability(x.skill_ids[0]) != c.learn_probability(c.skill_ids[0])
               for x, c in zip(whole.catalog_for(inp.activities, learners[0]), inp.activities, strict=True))
    assert len(pickle.dumps(small)) < len(pickle.dumps(whole)) / 2


def test_the_fit_process_runs_no_caller_script_and_raises_the_fits_errors(tmp_path, caplog):
    """The fit process is a fresh interpreter: a caller's script without a ``__main__`` guard
    (a researcher's notebook export, say) runs once, not again in the fit process (as
    ``multiprocessing``'s spawn would); an error of the fit itself is raised in the caller,
    not hidden by the in-process fallback."""
    import math
    import os
    import subprocess
    import sys
    from pathlib import Path

    from engine.planning import _fitpool

    log = tmp_path / "runs.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import os, math\n"
        "from engine.planning import _fitpool\n"
        f"open({str(log)!r}, 'a').write('ran\\n')\n"
        "print(_fitpool.run(os.getpid), os.getpid(), _fitpool.run(math.sqrt, 16.0))\n")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": root}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    child, parent, root4 = out.stdout.split()
    assert child != parent and float(root4) == 4.0
    assert log.read_text() == "ran\n"
    assert "unavailable" not in out.stderr
    with pytest.raises(ValueError, match="math domain error"):
        _fitpool.run(math.sqrt, -1.0)
    assert "fitting in this process" not in caplog.text


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="Unix scheduling priorities only")
def test_the_fit_process_runs_at_a_lower_priority_than_its_server_process():
    """A fit takes only the CPU that requests leave: its process is ``NICE`` lower (capped at
    Unix's lowest, 19) than the process that asked for it, and that process keeps its own."""
    from engine.planning import _fitpool

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    theirs = _fitpool.run(os.getpriority, os.PRIO_PROCESS, 0)
    assert _fitpool.run(os.getpid) != os.getpid()
    assert theirs == min(19, mine + _fitpool.NICE) and _fitpool.NICE >= 5
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine


def test_the_fit_process_reads_the_store_itself_on_both_backends(store_url):
    """With a store another process can open (an SQLite file, a PostgreSQL server), the fit
    process reads the tenant's history itself and fits exactly what this process would."""
    import os

    from engine.app import Pathwise
    from engine.app.demo import ensure_demo
    from engine.planning import _learned
    from engine.store import shared_url

    pw = Pathwise.open(store_url)
    try:
        ensure_demo(pw, "demo")
        school = pw.school("demo")
        assert shared_url(school.store.url)
        inp = school._planning_input()
        there = _learned._fit(school.store, inp, {}, 0.95, (0, 0), True, separate=True)
        here = _learned._fit(school.store, inp, {}, 0.95, (0, 0), True, separate=False)
        assert there.fitted_pid not in (0, os.getpid()) and here.fitted_pid == os.getpid()
        assert there.tickets == here.tickets > 0 and there.checks == here.checks
        assert there.multipliers == here.multipliers and there.differ == here.differ
    finally:
        pw.close()
    assert not shared_url("sqlite://") and not shared_url("sqlite:///:memory:") and not shared_url("")


def test_the_fit_process_ends_when_its_server_process_is_killed(tmp_path):
    """No orphans: the fit process ends when the process that started it dies, even by
    SIGKILL (its input closes). The first, ``multiprocessing``-based version left its workers
    running after a server was killed."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    server = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time\nfrom engine.planning import _fitpool\n"
         "print(_fitpool.run(os.getpid), flush=True)\ntime.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": root}, cwd=tmp_path)
    helper = int(server.stdout.readline())
    os.kill(helper, 0)  # running
    server.kill()
    server.wait(10)
    deadline = time.monotonic() + 20
    status = Path(f"/proc/{helper}/status")
    while time.monotonic() < deadline:
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        try:  # ended but not yet reaped by whoever adopted it (a container's init may not)
            if "\nState:\tZ" in status.read_text():
                return
        except OSError:
            return
        time.sleep(0.2)
    os.kill(helper, signal.SIGKILL)
    raise AssertionError(f"the fit process {helper} outlived its killed parent")
