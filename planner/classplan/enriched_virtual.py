"""Enriched virtual: a required face-to-face session with the teacher, the rest remote.

Face to face: every learner meets the teacher in one small group (the group MILP, everyone
exactly once, ``ceil(S / g_max)`` groups, each on a shared need, all in parallel for
``session_minutes``). Remote: each learner's own online playlist at home
(``remote_minutes``), which also covers the face-to-face topic as follow-up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from planner.classplan._common import plan_status, validate
from planner.classplan._groups import build_groups, solve_groups
from planner.classplan._remote import remote_schedules
from planner.classplan.types import ClassPlan, ClassRequests, ModelSettings, StationPlan
from planner.model import PlanActivity, PlanLearner, SkillGraph


def plan_enriched_virtual(settings: ModelSettings, learners: Sequence[PlanLearner],
                          catalog: Sequence[PlanActivity], graph: SkillGraph,
                          requests: ClassRequests | None = None, *,
                          symmetry_breaking: bool = True) -> ClassPlan:
    """Plan the face-to-face groups and the remote playlists (see module doc)."""
    t0 = time.perf_counter()
    requests = requests or ClassRequests()
    stations = (StationPlan("teacher", "teacher_led", settings.session_minutes, settings.g_max),
                StationPlan("remote", "online", max(settings.remote_minutes, 1.0), len(learners),
                        place=settings.home_place))
    index = validate(settings, learners, catalog, graph, requests, stations)
    n_g = max(1, math.ceil(len(learners) / settings.g_max))
    gs = solve_groups(settings, learners, graph, requests, index, n_g, required=True,
                      symmetry_breaking=symmetry_breaking)
    groups, items = build_groups(settings, learners, catalog, graph, gs,
                                 kinds=("teacher_led", "collaborative"),
                                 minutes=settings.session_minutes, place="classroom",
                                 starts=[0.0] * n_g, label="face-to-face",
                                 requests=requests)
    schedules, extra = remote_schedules(settings, learners, catalog, graph, gs, groups, items,
                                        class_start=0.0, class_minutes=settings.session_minutes,
                                        remote_first=False)
    conflicts = gs.conflicts + extra
    status = plan_status(conflicts, gs.sol.optimal)
    return ClassPlan(settings.model, tuple(groups), tuple(schedules), tuple(conflicts), status,
                     gs.sol.objective, n_g, gs.sol.symmetry_breaking,
                     (time.perf_counter() - t0) * 1e3, stations)
