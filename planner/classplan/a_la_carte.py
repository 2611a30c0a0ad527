"""A la carte: a fully online course beside face-to-face ones. Only the online part is
planned: each learner's own online playlist with budget = ``course_minutes``; no groups and no
class coupling (the playlist MILP restricted to online activities)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from planner.classplan import _content as content
from planner.classplan._common import plan_status, validate
from planner.classplan._groups import timeline
from planner.classplan.types import (
    ClassPlan,
    ClassRequests,
    LearnerSchedule,
    ModelSettings,
    StationPlan,
)
from planner.model import PlanActivity, PlanLearner, SkillGraph


def plan_a_la_carte(settings: ModelSettings, learners: Sequence[PlanLearner],
                    catalog: Sequence[PlanActivity], graph: SkillGraph,
                    requests: ClassRequests | None = None) -> ClassPlan:
    """Plan the online course's minutes for every learner (see module doc)."""
    t0 = time.perf_counter()
    requests = requests or ClassRequests()
    station = StationPlan("online-course", "online", max(settings.course_minutes, 1.0), len(learners),
                      place=settings.home_place)
    validate(settings, learners, catalog, graph, requests, (station,))
    schedules, conflicts = [], []
    for lr in learners:
        own, confl = content.home_playlist(graph, catalog, lr, settings.course_minutes,
                                           settings.mastered_threshold, place=settings.home_place,
                                           max_items=12, protect=settings.protect)
        conflicts += confl
        schedules.append(LearnerSchedule(lr.id, tuple(timeline(
            lr.id, own, station_id=station.id, place=settings.home_place))))
    notes = ()
    if requests.keep_apart or requests.keep_together or requests.locks:
        notes = ("a la carte has no groups: keep-apart/keep-together/locks do not apply",)
    gain = sum(i.item.expected_gain for s in schedules for i in s.items if i.item)
    return ClassPlan(settings.model, (), tuple(schedules), tuple(conflicts),
                     plan_status(conflicts, False), float(gain), 0, False,
                     (time.perf_counter() - t0) * 1e3, (station,), notes)
