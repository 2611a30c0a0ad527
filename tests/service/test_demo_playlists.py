"""Every learner of the bundled demo school gets a playlist, and every class a plan, through
the same engine.app use cases the routes call; no planned activity lacks an accommodation the
learner needs. (A demo where some students get 409 "nothing to plan" is a broken demo.)"""

from __future__ import annotations

import pytest

from tests.service.conftest import copy_db


def _value(x) -> str:
    return str(getattr(x, "value", x))


@pytest.fixture(scope="module")
def demo(template_db, tmp_path_factory):
    from engine.app import Pathwise

    pathwise = Pathwise.open(copy_db(template_db, tmp_path_factory.mktemp("demo-playlists")))
    try:
        yield pathwise.school("demo")
    finally:
        pathwise.close()


@pytest.fixture(scope="module")
def admin(demo):
    from engine.access import Caller

    return Caller(demo.home.authenticate("pw-demo-admin"))


def _needs(learner) -> set[str]:
    return {_value(a) for a in learner.profile.values()["accommodations"]}


def _violations(tb, learner, activity_ids) -> list[str]:
    """Catalog activities among ``activity_ids`` missing one of the learner's accommodations
    (teacher mini-lessons are not catalog activities and adapt to whoever joins)."""
    need = _needs(learner)
    acts = tb.view.activities
    return [aid for aid in activity_ids
            if aid in acts and not need <= {_value(a) for a in acts[aid].accommodations}]


def test_every_demo_learner_gets_a_nonempty_playlist(demo):
    learners = demo.view.learners
    assert len(learners) >= 100
    assert sum(bool(_needs(lr)) for lr in learners.values()) >= 15  # the constraint is exercised
    empty, bad = [], {}
    for lid in sorted(learners):
        items, _conflicts, _body = demo._plan_playlist(lid)
        if not items:
            empty.append(lid)
            continue
        wrong = _violations(demo, learners[lid], [it.activity_id for it in items])
        if wrong:
            bad[lid] = wrong
    assert not empty, f"{len(empty)} demo learners get nothing to plan: {empty}"
    assert not bad, f"planned activities missing a needed accommodation: {bad}"


def test_generate_playlist_stores_a_plan_for_learners_with_accommodations(demo, admin):
    """The route's path (409 on an empty plan) for each learner needing an accommodation."""
    needing = sorted(lid for lid, lr in demo.view.learners.items() if _needs(lr))
    for lid in needing:
        plan = demo.generate_playlist(admin, lid)
        assert plan.items and plan.subject == lid


def test_every_demo_class_gets_a_plan_covering_its_roster(demo, admin):
    learners = demo.view.learners
    for cid, cls in sorted(demo.view.classes.items()):
        plan = demo.generate_class_plan(admin, cid)
        body = plan.body
        assert body["class_id"] == cid
        assert body["planner"]["status"] in ("optimal", "feasible"), (cid, body["planner"])
        playlists = body["playlists"]
        uncovered = [lid for lid in cls.roster if not playlists.get(lid, {}).get("items")]
        assert not uncovered, f"class {cid}: nothing planned for {uncovered}"
        for lid in cls.roster:
            ids = [rec["activity_id"] for rec in playlists[lid]["items"]]
            assert not _violations(demo, learners[lid], ids), (cid, lid)
