"""Flipped classroom: online content at home, teacher-guided practice or projects in class.

In class the whole class splits into ``ceil(S / g_max)`` groups by shared need (the group MILP,
every learner in exactly one group); each group practises its topic (a collaborative project,
teacher-led practice or independent practice from the catalog, else a guided mini-lesson). At
home, each learner's online playlist (``remote_minutes``) must cover their class topic first,
so the lesson is seen before it is practised.
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


def plan_flipped(settings: ModelSettings, learners: Sequence[PlanLearner],
                 catalog: Sequence[PlanActivity], graph: SkillGraph,
                 requests: ClassRequests | None = None, *, symmetry_breaking: bool = True) -> ClassPlan:
    """Plan home preparation and the in-class practice groups (see module doc)."""
    t0 = time.perf_counter()
    requests = requests or ClassRequests()
    stations = (StationPlan("teacher", "teacher_led", settings.session_minutes, settings.g_max),
                StationPlan("home", "online", max(settings.remote_minutes, 1.0), len(learners),
                        place=settings.home_place))
    index = validate(settings, learners, catalog, graph, requests, stations)
    n_g = max(1, math.ceil(len(learners) / settings.g_max))
    gs = solve_groups(settings, learners, graph, requests, index, n_g, required=True,
                      symmetry_breaking=symmetry_breaking)
    start_class = settings.remote_minutes
    groups, items = build_groups(
        settings, learners, catalog, graph, gs,
        kinds=("collaborative", "teacher_led", "independent_offline"),
        minutes=settings.session_minutes, place="classroom", starts=[start_class] * n_g,
        label="in-class", what="practise", requests=requests)
    schedules, extra = remote_schedules(settings, learners, catalog, graph, gs, groups, items,
                                        class_start=start_class, class_minutes=settings.session_minutes,
                                        remote_first=True)
    conflicts = gs.conflicts + extra
    status = plan_status(conflicts, gs.sol.optimal)
    return ClassPlan(settings.model, tuple(groups), tuple(schedules), tuple(conflicts), status,
                     gs.sol.objective, n_g, gs.sol.symmetry_breaking,
                     (time.perf_counter() - t0) * 1e3, stations)
