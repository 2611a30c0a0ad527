"""Forgetting protection in class plans (``ModelSettings.protect``): each learner's own items
(station, flex, home and course playlists) weigh what a review protects from forgetting, as a
playlist does with ``PlanWeights.protect``; off by default, so a plan without it is unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from planner.classplan import BLENDED_MODELS, ModelSettings, plan_class
from planner.errors import PlanInputError
from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner

N = 10


@pytest.fixture(scope="module")
def forgetful_class():
    """Synthetic class whose learners practised every mastered skill 12 days ago and forget
    with a 6-day half-life."""
    g = synthetic_graph(5, n_skills=30, n_layers=5)
    cat = synthetic_catalog(g, 5, n_activities=120)
    learners = []
    for s in range(N):
        lr = synthetic_learner(g, s, f"L{s:02d}")
        known = [k for k, p in lr.mastery.items() if p >= 0.95]
        learners.append(replace(lr, days_since_practice={k: 12.0 for k in known},
                                half_life_days={k: 6.0 for k in known}))
    return g, cat, learners


def _own_reviews(plan, learners) -> tuple[int, int]:
    """(own items reviewing a skill the learner had mastered, own items) of a class plan."""
    by_id = {lr.id: lr for lr in learners}
    reviews = total = 0
    for sched in plan.schedules:
        lr = by_id[sched.learner_id]
        for it in sched.items:
            if it.item is None or it.group_id is not None:
                continue
            total += 1
            reviews += lr.mastery_of(it.item.target_skill) >= 0.95
    return reviews, total


@pytest.mark.parametrize("model", BLENDED_MODELS)
def test_protection_brings_reviews_into_the_learners_own_items(forgetful_class, model):
    g, cat, learners = forgetful_class
    off = plan_class(ModelSettings(model), learners, cat, g)
    on = plan_class(ModelSettings(model, protect=1.0), learners, cat, g)
    r_off, n_off = _own_reviews(off, learners)
    r_on, n_on = _own_reviews(on, learners)
    assert n_on > 0 and n_off > 0
    assert r_on > r_off, (model, r_off, n_off, r_on, n_on)
    # groups and mini-lessons are chosen for learning only: the same with or without it
    assert [(gr.topic, gr.learner_ids) for gr in on.groups] == [(gr.topic, gr.learner_ids) for gr in off.groups]


def test_off_by_default_and_bad_values_named():
    assert ModelSettings("flex").protect == 0.0
    with pytest.raises(PlanInputError, match=r"protect=-1.*>= 0"):
        ModelSettings("flex", protect=-1.0)
