"""Flex: individually customised fluid schedules plus teacher pull-out small groups.

``pull_out_slots`` (G) teacher slots of ``pull_out_minutes`` each, one topic and at most
``g_max`` learners per slot, each learner in at most one slot (only learners who benefit are
pulled out). Every learner's own playlist (online, collaborative, independent work) fills the
rest of ``session_minutes`` around their pull-out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from planner.classplan import _content as content
from planner.classplan._common import plan_status, validate
from planner.classplan._groups import build_groups, solve_groups, timeline
from planner.classplan.types import (
    ClassPlan,
    ClassRequests,
    LearnerSchedule,
    ModelSettings,
    ScheduledItem,
    StationPlan,
)
from planner.model import PlanActivity, PlanLearner, SkillGraph

OWN_MODALITIES = ("online", "collaborative", "independent_offline")


def plan_flex(settings: ModelSettings, learners: Sequence[PlanLearner],
              catalog: Sequence[PlanActivity], graph: SkillGraph,
              requests: ClassRequests | None = None, *, symmetry_breaking: bool = True) -> ClassPlan:
    """Plan one flex session (see module doc)."""
    t0 = time.perf_counter()
    requests = requests or ClassRequests()
    stations = (StationPlan("teacher", "teacher_led", settings.pull_out_minutes, settings.g_max),
                StationPlan("flex", "online", settings.session_minutes, len(learners)))
    index = validate(settings, learners, catalog, graph, requests, stations)
    theta = settings.mastered_threshold
    n_g = settings.pull_out_slots
    groups, items, conflicts, sb, objective, optimal = [], {}, [], False, 0.0, True
    slot_of = [-1] * len(learners)
    starts = [r * settings.pull_out_minutes for r in range(n_g)]
    if n_g > 0:
        gs = solve_groups(settings, learners, graph, requests, index, n_g, required=False,
                          symmetry_breaking=symmetry_breaking)
        groups, items = build_groups(settings, learners, catalog, graph, gs,
                                     kinds=("teacher_led",), minutes=settings.pull_out_minutes,
                                     place="classroom", starts=starts, label="pull-out",
                                     requests=requests)
        conflicts, sb, objective, optimal = gs.conflicts, gs.sol.symmetry_breaking, gs.sol.objective, gs.sol.optimal
        slot_of = list(gs.slot_of)
    gid = {lid: g.id for g in groups for lid in g.learner_ids}
    schedules = []
    for s, lr in enumerate(learners):
        pulled = slot_of[s] >= 0 and s in items
        budget = settings.session_minutes - (settings.pull_out_minutes if pulled else 0.0)
        own, _ = content.home_playlist(graph, catalog, lr, budget, theta, modalities=OWN_MODALITIES,
                                       place="classroom", max_items=8, protect=settings.protect)
        blocked = blocked_item = None
        if pulled:
            r = slot_of[s]
            blocked = (starts[r], settings.pull_out_minutes)
            blocked_item = ScheduledItem(lr.id, 0, starts[r], settings.pull_out_minutes, "teacher",
                                         "teacher_led", "classroom", items[s], gid.get(lr.id))
        schedules.append(LearnerSchedule(lr.id, tuple(timeline(
            lr.id, own, station_id="flex", place="classroom", blocked=blocked,
            blocked_item=blocked_item))))
    status = plan_status(conflicts, optimal)
    return ClassPlan(settings.model, tuple(groups), tuple(schedules), tuple(conflicts), status,
                     objective, n_g, sb, (time.perf_counter() - t0) * 1e3, stations)
