"""Teacher groups outside a rotation (flex pull-outs, flipped in-class groups, enriched-virtual
face-to-face groups) and the per-learner time line around them.

All reuse the rotation MILP with a single teacher "station": ``n_groups`` slots, each with
one topic (no repeats) and ``g_min..g_max`` learners; every learner in exactly one slot
(``required``) or at most one (pull-outs). Symmetry breaking orders slots by topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.classplan import _content as content
from planner.classplan._common import group_letter, group_reason, slack_conflicts
from planner.classplan._rotation_milp import RotationProblem, RotationSolution, solve_rotation
from planner.classplan.types import ClassGroup, ClassRequests, ModelSettings, ScheduledItem
from planner.errors import PlanInputError
from planner.model import Conflict, PlanActivity, PlanLearner, PlannedItem, SkillGraph


@dataclass(frozen=True)
class GroupSolution:
    """Solved teacher groups: ``slot_of`` (S,) slot per learner or -1, ``topic`` per slot."""

    sol: RotationSolution
    topics: list[str]
    slot_of: np.ndarray
    topic_of_slot: list[str | None]
    conflicts: list[Conflict]


def solve_groups(settings: ModelSettings, learners: Sequence[PlanLearner], graph: SkillGraph,
                 requests: ClassRequests, index: dict[str, int], n_groups: int, *,
                 required: bool, symmetry_breaking: bool = True) -> GroupSolution:
    """Form ``n_groups`` teacher groups by shared need (see module doc)."""
    theta = settings.mastered_threshold
    for lk in requests.locks:
        if lk.station is not None and lk.station != "teacher":
            raise PlanInputError(f"lock for {lk.learner_id!r} names station {lk.station!r}; "
                                 f"{settings.model} has only the 'teacher' groups")
    lock_topics = [lk.topic for lk in requests.locks if lk.topic is not None]
    topics, ben = content.teacher_topics(graph, learners, theta, settings.teacher_p_learn,
                                         max(settings.n_topics, n_groups), extra=lock_topics)
    t_of = {t: i for i, t in enumerate(topics)}
    n_s = len(learners)
    need = np.ones((n_s, 1), dtype=bool)
    place_locks = tuple((index[lk.learner_id], 0, -1 if lk.rotation is None else int(lk.rotation))
                        for lk in requests.locks if lk.station is not None)
    problem = RotationProblem(
        benefit=ben, teacher=0, capacity=np.array([settings.g_max]), n_rotations=n_groups,
        g_min=settings.g_min, need=need, optional=not required, group_stations=(0,),
        keep_apart=tuple((index[a], index[b]) for a, b in requests.keep_apart),
        keep_together=tuple((index[a], index[b]) for a, b in requests.keep_together),
        topic_locks=tuple((index[lk.learner_id], t_of[lk.topic])
                          for lk in requests.locks if lk.topic is not None),
        place_locks=place_locks)
    sol = solve_rotation(problem, symmetry_breaking=symmetry_breaking,
                         time_limit=settings.time_limit_s)
    slot_of = np.full(n_s, -1, dtype=int)
    for s in range(n_s):
        rs = np.flatnonzero(sol.station[s] == 0)
        if len(rs):
            slot_of[s] = int(rs[0])
    topic_of_slot = [topics[t] if t >= 0 else None for t in sol.topic]
    conflicts = slack_conflicts(sol.slack, [lr.id for lr in learners], ["teacher"],
                                np.array([settings.g_max]), topics, settings.g_min,
                                settings.g_max, slot_word="group")
    return GroupSolution(sol, topics, slot_of, topic_of_slot, conflicts)


def build_groups(settings: ModelSettings, learners: Sequence[PlanLearner],
                 catalog: Sequence[PlanActivity], graph: SkillGraph, gs: GroupSolution, *,
                 kinds: Sequence[str], minutes: float, place: str, starts: Sequence[float],
                 label: str, what: str = "need", requests: ClassRequests | None = None
                 ) -> tuple[list[ClassGroup], dict[int, PlannedItem]]:
    """One ``ClassGroup`` per non-empty slot with its activity (first of ``kinds`` that has a
    fitting catalog activity on the topic, else a teacher mini-lesson) and each member's item."""
    theta = settings.mastered_threshold
    groups: list[ClassGroup] = []
    items: dict[int, PlannedItem] = {}
    for r, topic in enumerate(gs.topic_of_slot):
        members = [s for s in range(len(learners)) if gs.slot_of[s] == r]
        if not members:
            continue
        ml = [learners[s] for s in members]
        act = None
        if topic is not None:
            for kind in kinds:
                act = content.group_activity(graph, catalog, ml, kind, minutes, place, theta,
                                             topic=topic)
                if act is not None:
                    break
            if act is None:
                act = content.mini_lesson(graph, catalog, ml, topic, minutes, place,
                                          settings.teacher_p_learn, theta)
        name = group_letter(len(groups))
        cons: tuple[str, ...] = ()
        if requests is not None:
            from planner.classplan.rotation import _pair_constraints

            here = {lr.id for lr in ml}
            cons = _pair_constraints(requests, here, True) + tuple(
                f"{lk.learner_id} locked here by the teacher" for lk in requests.locks
                if lk.learner_id in here)
        reason = group_reason(graph, name, ml, topic, theta, cons, what=what)
        groups.append(ClassGroup(name, label, "teacher_led", r, float(starts[r]), float(minutes),
                                 tuple(lr.id for lr in ml), topic, None if act is None else act.id,
                                 reason))
        if act is not None:
            for s in members:
                items[s] = content.make_item(
                    graph, learners[s], act, 0, theta, (f"{label} group {name}",), topic=topic,
                    p_learn=settings.teacher_p_learn if act.modality == "teacher_led" else None)
    return groups, items


def timeline(learner_id: str, own: Sequence[PlannedItem], *, station_id: str, place: str,
             start: float = 0.0, blocked: tuple[float, float] | None = None,
             blocked_item: ScheduledItem | None = None, first_slot: int = 0) -> list[ScheduledItem]:
    """Lay ``own`` items out one after another from ``start``; an item never overlaps the
    ``blocked`` (start, minutes) interval, which holds ``blocked_item`` (e.g. a pull-out)."""
    out: list[ScheduledItem] = []
    t = start
    pending = blocked_item
    for it in own:
        if pending is not None and blocked is not None and t + it.duration_min > blocked[0] + 1e-9:
            out.append(pending)
            t = max(t, blocked[0] + blocked[1])
            pending = None
        out.append(ScheduledItem(learner_id, first_slot + len(out), t, it.duration_min, station_id,
                                 it.modality, place, it, None))
        t += it.duration_min
    if pending is not None:
        out.append(pending)
    return [ScheduledItem(x.learner_id, first_slot + i, x.start_min, x.minutes, x.station_id,
                          x.kind, x.place, x.item, x.group_id) for i, x in enumerate(out)]
