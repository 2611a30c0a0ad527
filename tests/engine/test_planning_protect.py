"""The tenant's switch for the forgetting-protection term (``PlanningPolicy.
protect_from_forgetting``, issue 15 item 0): "off", "on" or "when_shown" (the default); stored; it reaches
the planner's request as ``PlanWeights.protect``, an experiment arm's weight overrides it, and
with it a mastered skill practised long ago becomes a review candidate (why-not stops answering
"mastered"). With "when_shown" the school's own retention checks decide: on in a school whose
learners fail checks a week after mastering, off in the demo school, whose learners forget
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationError
from tests.engine.test_planning_learned import (  # noqa: F401 (fixture)
    ADMIN,
    NOW,
    _fast_forgetter,
    _fresh_activity,
    _plan_inputs,
    school,
)


def test_the_switch_reaches_the_request_and_an_arm_overrides_it():
    from engine.domain.policy import PlanningPolicy
    from engine.planning import playlist_request

    assert PlanningPolicy().protect_from_forgetting == "when_shown"
    assert playlist_request().weights.protect == 0.0  # when_shown, nothing shown
    assert playlist_request(forgets=True).weights.protect == 1.0
    assert playlist_request(policy=PlanningPolicy(protect_from_forgetting=True)).weights.protect == 1.0
    assert PlanningPolicy(protect_from_forgetting=True).protect_from_forgetting == "on"
    assert PlanningPolicy(protect_from_forgetting=False).protect_from_forgetting == "off"
    shown = PlanningPolicy(protect_from_forgetting="when_shown")
    assert playlist_request(policy=shown).weights.protect == 0.0
    assert playlist_request(policy=shown, forgets=True).weights.protect == 1.0
    assert playlist_request(policy=PlanningPolicy(protect_from_forgetting="off"), forgets=True).weights.protect == 0.0
    with pytest.raises(ValidationError, match="protect_from_forgetting='yes'.*'when_shown'"):
        PlanningPolicy(protect_from_forgetting="yes")


def test_with_the_switch_a_long_unpractised_mastered_skill_is_a_review_candidate(school):  # noqa: F811
    from engine.app._view import load_policy

    school.set_planning_policy(ADMIN, {"protect_from_forgetting": "off"})
    lid, _k, y = _fast_forgetter(school)  # mastered, last practised 13 days ago
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": True})
    assert load_policy(school.store).protect_from_forgetting == "on"  # stored
    answer = school.why_not(ADMIN, lid, y.id)
    # no longer ruled out as mastered: a candidate the solver weighs (here it loses on the
    # session's minutes, at a finite cost in the objective)
    assert "mastered" not in answer["excluded_by"], answer
    assert answer["objective_cost"] is not None, answer
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": False})
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]


@pytest.fixture()
def quiet_school(tmp_path):
    """The demo school without its evidence (no retention checks at all)."""
    from engine.app import Pathwise
    from engine.app.demo import load_school

    pw = Pathwise.open(f"sqlite:///{tmp_path / 'quiet.db'}")
    pw.school("demo").engine.load_school(load_school(with_evidence=False))
    pw.invalidate("demo")
    yield pw.school("demo")
    pw.close()


def _forgetful_learners(school, n: int) -> list[tuple[str, str]]:  # noqa: F811
    """(learner, activity) for ``n`` learners who each master a fresh skill, pass a check 2
    days later, fail one 14 days after that, and so on three times (each check followed by
    eight correct answers): checks fail more the longer the gap, as when learners forget."""
    out, rows = [], []
    for lid in sorted(school.view.learners):
        y = _fresh_activity(school, lid)
        if y is None:
            continue
        day = NOW - timedelta(days=60)
        for block in range(7):
            if block:
                day += timedelta(days=2 if block % 2 else 14)
                rows.append({"learner_id": lid, "activity_id": y.id, "correct": bool(block % 2),
                             "observed_at": day})
            rows += [{"learner_id": lid, "activity_id": y.id, "correct": True,
                      "observed_at": day + timedelta(minutes=5 * (j + 1))} for j in range(8)]
        out.append((lid, y.id))
        if len(out) == n:
            break
    school.ingest_evidence(ADMIN, [{**r, "id": f"fl-{i}", "observed_at": r["observed_at"].isoformat()}
                                   for i, r in enumerate(rows)])
    return out


def _fitted(school) -> None:  # noqa: F811
    """Let the forgetting model's fit (background, for "when_shown") finish."""
    school._learned()
    school._learned_cache.wait(60)


def test_when_shown_stays_off_in_a_school_that_forgets_nothing(school):  # noqa: F811
    """The demo school, default policy: ~1,150 retention checks failing 8-20 % at every gap.
    One learner's three failed checks a week after mastering do not make the school forget."""
    lid, _k, y = _fast_forgetter(school)
    _fitted(school)
    test = school.generate_playlist(ADMIN, lid).body["planner"]["protect_from_forgetting"]
    assert test["mode"] == "when_shown" and test["forgets"] is False, test
    assert test["retention_checks"] > 1000 and test["evidence"] < 2.71
    cid = next(c.id for c in school.view.classes.values() if lid in c.roster)
    cplan = school.generate_class_plan(ADMIN, cid).body["planner"]["protect_from_forgetting"]
    assert cplan["forgets"] is False, cplan
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]


def test_when_shown_protects_in_a_school_whose_learners_forget(quiet_school, monkeypatch):
    school = quiet_school  # noqa: F811
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": "when_shown"})
    lid = sorted(school.view.learners)[0]
    _fitted(school)
    none = school.generate_playlist(ADMIN, lid).body["planner"]["protect_from_forgetting"]
    assert none["forgets"] is False and none["evidence"] == 0.0 and none["retention_checks"] == 0, none
    (lid, aid), *_ = _forgetful_learners(school, 12)
    school._learned_cache.refit_s = 0.0
    school._learned_cache.refit_factor = 0.0  # refit now (in the background), not in 60 s
    school._learned()
    school._learned_cache.wait(60)
    shown = school.generate_playlist(ADMIN, lid).body["planner"]["protect_from_forgetting"]
    assert shown["forgets"] is True and shown["evidence"] >= 2.71, shown
    assert shown["half_life_days"] is not None and shown["half_life_days"] < 60, shown
    assert shown["review_half_life_days"] == shown["half_life_days"]  # review decays with the school's
    from engine.planning._playlist import with_school_half_life

    pl, _req, _cat = _plan_inputs(school, lid)
    learned = school._learned()
    assert pl.days_since_practice and not pl.half_life_days  # the planner's fixed 120 days
    decayed = with_school_half_life(pl, learned, True).half_life_days
    assert set(decayed) == set(pl.days_since_practice)
    assert set(decayed.values()) == {learned.forgetting.school_half_life()}
    assert learned.forgetting.school_half_life() < 60
    assert with_school_half_life(pl, learned, False) is pl
    # ... and it is what the planner receives: in a playlist, a why-not and a class plan
    import planner.classplan
    import planner.playlist.plan
    import planner.whynot

    got: dict = {}

    def spying(module, name: str, at: int) -> None:  # record the learner(s) argument, then plan
        real = getattr(module, name)

        def spy(*args):
            got.setdefault(name, args[at])  # the first call: the one this request made
            return real(*args)
        monkeypatch.setattr(module, name, spy)

    spying(planner.playlist.plan, "plan_playlist", 2)
    spying(planner.whynot, "why_not", 2)
    spying(planner.classplan, "plan_class", 1)
    h = learned.forgetting.school_half_life()
    school.generate_playlist(ADMIN, lid)
    school.why_not(ADMIN, lid, aid)
    cid = next(c.id for c in school.view.classes.values() if lid in c.roster)
    school.generate_class_plan(ADMIN, cid)
    in_class = next(p for p in got["plan_class"] if p.id == lid)
    for where, received in (("playlist", got["plan_playlist"]), ("why-not", got["why_not"]), ("class", in_class)):
        assert received.days_since_practice and received.half_life_days == {
            k: h for k in received.days_since_practice}, (where, received.half_life_days)
    monkeypatch.undo()
    answer = school.why_not(ADMIN, lid, aid)
    assert "mastered" not in answer["excluded_by"], answer  # protected: a review candidate
    # a class plan's learners' own items are protected by the same test
    cid = next(c.id for c in school.view.classes.values() if lid in c.roster)
    cplan = school.generate_class_plan(ADMIN, cid).body["planner"]["protect_from_forgetting"]
    assert cplan["forgets"] is True and cplan["evidence"] == shown["evidence"], cplan
    from engine.planning._classplan import model_settings

    cls = school.view.classes[cid]
    assert model_settings(cls, policy=school.view.policy, forgets=True).protect == 1.0
    assert model_settings(cls, policy=school.view.policy, forgets=False).protect == 0.0
    # an experiment arm that sets protect itself is not overridden by the test
    from engine.planning._playlist import _forgets

    assert _forgets(school._learned(), school.view.policy, {"protect": 0.0}) == (False, {})


def test_when_shown_fits_only_the_forgetting_model(school):  # noqa: F811
    """With learned effectiveness off, "when_shown" protection fits the forgetting model alone."""
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": "when_shown", "learn_effectiveness": "off"})
    lid = sorted(school.view.learners)[0]
    first = school.generate_playlist(ADMIN, lid)  # no request waits for the first fit ...
    assert "protect_from_forgetting" not in first.body["planner"]
    school._learned_cache.wait(60)  # ... it runs in the background
    learned = school._learned()
    assert learned is not None and learned.with_effectiveness is False and learned.tickets == 0
    assert learned.checks > 0
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": "off"})
    assert school._learned() is None  # nothing read or fitted
    school.set_planning_policy(ADMIN, {"learn_effectiveness": True, "protect_from_forgetting": "when_shown"})
    both = school._learned()
    assert both.with_effectiveness is True and both.tickets > 0
