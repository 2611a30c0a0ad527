"""Continuum scores on hand-built class plans: each variable at Low, Medium and High."""

from __future__ import annotations

import pytest

from planner.classplan.types import (
    ClassGroup,
    ClassPlan,
    GroupReason,
    LearnerSchedule,
    ScheduledItem,
)
from planner.continuum import VARIABLES, continuum_report
from planner.errors import PlanInputError
from planner.model import PlanActivity, PlannedItem, Reason

LEARNERS = ("a", "b", "c", "d")


def _reason() -> Reason:
    return Reason("k", "k", "ready", 0.2, 0.3, (), (), 1.0, False, (), (), "because.")


def item(lid, slot, start, minutes=20.0, *, skill="k1", act="v1", kind="online",
         place="classroom", group=None) -> ScheduledItem:
    pi = PlannedItem(act, slot, skill, 0.1, minutes, kind, _reason())
    return ScheduledItem(lid, slot, start, minutes, "st", kind, place, pi, group)


def plan(rows: dict[str, list[ScheduledItem]], groups=()) -> ClassPlan:
    return ClassPlan("station_rotation", tuple(groups),
                     tuple(LearnerSchedule(lid, tuple(items)) for lid, items in rows.items()),
                     (), "optimal", 0.0, 3)


def group(gid, members, need=True) -> ClassGroup:
    r = GroupReason("k", "k", len(members), len(members) if need else 0, (0.2, 0.4), need, (),
                    f"Group {gid}.")
    return ClassGroup(gid, "teacher", "teacher_led", 0, 0.0, 20.0, tuple(members), "k", "t1", r)


CATALOG = [PlanActivity(f"{f}{i}", f"{f}{i}", (("k1", 1.0),), formats=(f,))
           for f in ("video", "reading", "game", "project", "hands-on") for i in (1, 2)]


def uniform(**kw) -> ClassPlan:
    """One-size-fits-all: same items, same times, same place, everyone alone."""
    return plan({lid: [item(lid, 0, 0.0, **kw), item(lid, 1, 20.0, **kw)] for lid in LEARNERS})


def test_one_size_fits_all_is_low_everywhere():
    rep = continuum_report(uniform(), CATALOG)
    assert [s.score for s in rep.scores] == [1, 1, 1, 1, 1]
    assert rep.mean_score == 1.0
    assert all(s.level == "Low" and s.evidence and s.sentence for s in rep.scores)
    assert tuple(s.variable for s in rep.scores) == VARIABLES


@pytest.mark.parametrize("level", [1, 2, 3])
def test_how(level):
    fm = {1: [("video1",), ("video2",)],
          2: [("video1",), ("reading1",)],
          3: None}[level]
    rows = {}
    for n, lid in enumerate(LEARNERS):
        if level == 3:  # three formats each, different mixes
            acts = [("video1", "reading1", "game1"), ("project1", "hands-on1", "video2"),
                    ("game2", "reading2", "project2"), ("hands-on2", "game1", "video1")][n]
        else:
            acts = [a[0] for a in fm]
        rows[lid] = [item(lid, i, 20.0 * i, act=a) for i, a in enumerate(acts)]
    assert continuum_report(plan(rows), CATALOG).score("how").score == level


@pytest.mark.parametrize("level", [1, 2, 3])
def test_what(level):
    skills = {1: [["k1", "k2"]] * 4,
              2: [["k1", "k2", "k3"], ["k1", "k2", "k4"], ["k1", "k2", "k3"], ["k1", "k2", "k4"]],
              3: [["k1"], ["k2"], ["k3"], ["k4"]]}[level]
    rows = {lid: [item(lid, i, 20.0 * i, skill=k) for i, k in enumerate(ks)]
            for lid, ks in zip(LEARNERS, skills, strict=True)}
    rep = continuum_report(plan(rows), CATALOG)
    assert rep.score("what").score == level


@pytest.mark.parametrize("level", [1, 2, 3])
def test_when(level):
    rows = {}
    for n, lid in enumerate(LEARNERS):
        if level == 1:
            rows[lid] = [item(lid, 0, 0.0, kind="online"), item(lid, 1, 20.0, kind="collaborative")]
        elif level == 2:  # station rotation: two orders, everyone switches at the bell
            kinds = ["online", "collaborative"] if n % 2 else ["collaborative", "online"]
            rows[lid] = [item(lid, 0, 0.0, kind=kinds[0]), item(lid, 1, 20.0, kind=kinds[1])]
        else:  # own pace: items of different lengths
            d = 10.0 + 5.0 * n
            rows[lid] = [item(lid, 0, 0.0, d), item(lid, 1, d, 30.0), item(lid, 2, d + 30.0, 10.0)]
    assert continuum_report(plan(rows), CATALOG).score("when").score == level


@pytest.mark.parametrize("level", [1, 2, 3])
def test_where(level):
    rows = {}
    for n, lid in enumerate(LEARNERS):
        if level == 1:
            places = ["classroom", "classroom"]
        elif level == 2:
            places = ["classroom", "lab"]
        else:
            places = ["classroom", "home"] if n % 2 else ["classroom", "classroom"]
        rows[lid] = [item(lid, i, 20.0 * i, place=p) for i, p in enumerate(places)]
    assert continuum_report(plan(rows), CATALOG).score("where").score == level


@pytest.mark.parametrize("level", [1, 2, 3])
def test_with_whom(level):
    rows, groups = {}, []
    if level == 1:  # everyone alone
        rows = {lid: [item(lid, 0, 0.0), item(lid, 1, 20.0)] for lid in LEARNERS}
    elif level == 2:  # whole class together in one fixed group, nothing else
        groups = [group("A", LEARNERS, need=False)]
        rows = {lid: [item(lid, 0, 0.0, group="A")] for lid in LEARNERS}
    else:  # need-based small groups plus own work
        groups = [group("A", LEARNERS[:2]), group("B", LEARNERS[2:])]
        rows = {lid: [item(lid, 0, 0.0, group="A" if n < 2 else "B"), item(lid, 1, 20.0)]
                for n, lid in enumerate(LEARNERS)}
    assert continuum_report(plan(rows, groups), CATALOG).score("with_whom").score == level


def test_period_of_plans_and_unknown_variable():
    rep = continuum_report([uniform(), uniform(place="lab")], CATALOG)
    assert rep.n_plans == 2 and rep.n_learners == 4
    assert rep.score("where").score == 2  # classroom and lab, same for everyone
    with pytest.raises(PlanInputError):
        rep.score("why")
    with pytest.raises(PlanInputError):
        continuum_report([])


def test_real_plans_rank_models(school_small):
    """A flex plan is at least as personalized on 'when' as a station rotation."""
    from planner.classplan import ModelSettings, plan_class

    g, cat, learners = school_small
    sr = continuum_report(plan_class(ModelSettings("station_rotation"), learners, cat, g), cat)
    fx = continuum_report(plan_class(ModelSettings("flex"), learners, cat, g), cat)
    assert fx.score("when").score >= sr.score("when").score
    assert sr.score("with_whom").score >= 2


@pytest.fixture(scope="module")
def school_small():
    from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner

    g = synthetic_graph(5, n_skills=30, n_layers=5)
    cat = synthetic_catalog(g, 5, n_activities=90)
    return g, cat, [synthetic_learner(g, s, f"L{s}") for s in range(8)]


def test_playlists_can_be_scored(school_small):
    from planner.continuum import playlists_as_plan
    from planner.playlist.plan import plan_playlist

    g, cat, learners = school_small
    pls = [plan_playlist(g, cat, lr) for lr in learners]
    plan = playlists_as_plan(pls, cat)
    assert [s.learner_id for s in plan.schedules] == [lr.id for lr in learners]
    rep = continuum_report(plan, cat)
    assert rep.score("what").score >= 2  # personal playlists differ in content
    assert rep.score("with_whom").score <= 2
