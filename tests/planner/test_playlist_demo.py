"""Playlists on the bundled demo school (real catalog vocabulary: accommodations, places)."""

from __future__ import annotations

import pytest

from benchmarks.planner_speed import DEMO, REQUEST, demo_instance
from planner.playlist import plan_playlist
from tests.planner.conftest import check_hard

pytestmark = pytest.mark.skipif(not (DEMO / "catalog.json").exists(),
                                reason="data/demo_school not generated")


@pytest.fixture(scope="module")
def demo():
    return demo_instance()


def test_demo_learners_get_valid_explained_playlists(demo):
    graph, catalog, learners = demo
    assert len(catalog) == 200 and len(learners) >= 30
    planned = 0
    for learner in learners[:12]:
        pl = plan_playlist(graph, catalog, learner, REQUEST)
        assert check_hard(graph, catalog, learner, REQUEST, pl) == []
        assert all(i.reason.sentence for i in pl.items)
        planned += bool(pl.items)
        for item in pl.items:
            act = next(a for a in catalog if a.id == item.activity_id)
            assert learner.accommodations <= act.accommodations
    assert planned >= 10
