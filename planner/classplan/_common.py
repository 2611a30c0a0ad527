"""Shared pieces of every class-plan model: validation, index maps, conflicts, group reasons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.classplan.types import ClassRequests, GroupReason, ModelSettings, StationPlan
from planner.errors import PlanInputError
from planner.model import Conflict, PlanActivity, PlanLearner, SkillGraph


def validate(settings: ModelSettings, learners: Sequence[PlanLearner],
             catalog: Sequence[PlanActivity], graph: SkillGraph,
             requests: ClassRequests, stations: Sequence[StationPlan]) -> dict[str, int]:
    """Check ids; returns learner id -> index. Raises ``PlanInputError`` naming the bad value."""
    if not learners:
        raise PlanInputError("the class has no learners; pass at least one PlanLearner")
    index: dict[str, int] = {}
    for i, lr in enumerate(learners):
        if lr.id in index:
            raise PlanInputError(f"learner {lr.id!r} appears twice in the roster; ids must be unique")
        index[lr.id] = i
    seen: set[str] = set()
    for a in catalog:
        if a.id in seen:
            raise PlanInputError(f"activity id {a.id!r} appears twice in the catalog; ids must be unique")
        seen.add(a.id)
    for kind, pairs in (("keep_apart", requests.keep_apart), ("keep_together", requests.keep_together)):
        for pair in pairs:
            if len(pair) != 2 or pair[0] == pair[1]:
                raise PlanInputError(f"{kind} pair {pair!r} must name two different learners")
            for lid in pair:
                if lid not in index:
                    raise PlanInputError(f"{kind} pair {pair!r} names {lid!r}, who is not in the "
                                         "class; use ids from the roster")
    station_ids = {s.id for s in stations}
    for lock in requests.locks:
        if lock.learner_id not in index:
            raise PlanInputError(f"lock names learner {lock.learner_id!r}, who is not in the class")
        if lock.topic is not None and lock.topic not in graph:
            raise PlanInputError(f"lock for {lock.learner_id!r} names topic {lock.topic!r}, which is "
                                 "not a skill of the graph")
        if lock.station is not None and lock.station not in station_ids:
            raise PlanInputError(f"lock for {lock.learner_id!r} names station {lock.station!r}; "
                                 f"this plan's stations are {sorted(station_ids)}")
    return index


def group_letter(n: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"..."""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def group_reason(graph: SkillGraph, name: str, members: Sequence[PlanLearner], topic: str | None,
                 theta: float, constraints: tuple[str, ...] = (), what: str = "need") -> GroupReason:
    """Facts and the sentence of one group, e.g. "Group B (7 students) all need 'two-step
    equations' (mastery 0.35–0.62, prerequisites mastered)"."""
    size = len(members)
    noun = "student" if size == 1 else "students"
    if topic is None:
        sentence = f"Group {name} ({size} {noun}) works together at this station"
        if constraints:
            sentence += "; " + "; ".join(constraints)
        return GroupReason(None, "", size, 0, None, False, constraints, sentence + ".")
    title = graph.title_of(topic)
    need = [m for m in members if m.mastery_of(topic) < theta
            and all(m.mastery_of(j) >= theta for j in graph.prerequisites_of(topic))]
    ps = [m.mastery_of(topic) for m in need]
    rng = (min(ps), max(ps)) if ps else None
    span = "" if rng is None else (f"{rng[0]:.2f}" if abs(rng[1] - rng[0]) < 0.005
                                   else f"{rng[0]:.2f}–{rng[1]:.2f}")
    has_pre = bool(graph.prerequisites_of(topic))
    pre = ", prerequisites mastered" if has_pre else ""
    if need and len(need) == size:
        lead = "all" if size > 1 else ""
        sentence = (f"Group {name} ({size} {noun}) {lead + ' ' if lead else ''}{what} '{title}' "
                    f"(mastery {span}{pre})")
    elif need:
        sentence = (f"Group {name} ({size} {noun}): {len(need)} {what} '{title}' "
                    f"(mastery {span}{pre}); {size - len(need)} "
                    f"{'joins' if size - len(need) == 1 else 'join'} to fill the group (review)")
    else:
        sentence = f"Group {name} ({size} {noun}) reviews '{title}'"
    if constraints:
        sentence += "; " + "; ".join(constraints)
    return GroupReason(topic, title, size, len(need), rng, bool(need) and has_pre, constraints,
                       sentence + ".")


def slack_conflicts(slack: dict, learner_ids: Sequence[str], station_ids: Sequence[str],
                    capacity: np.ndarray, topics: Sequence[str], g_min: int, g_max: int,
                    slot_word: str = "rotation") -> list[Conflict]:
    """Turn the MILP's slack (tag -> amount) into teacher-readable ``Conflict``s."""
    out = []
    for tag, amount in sorted(slack.items(), key=lambda kv: str(kv[0])):
        kind = tag[0]
        if kind == "capacity":
            k, r = tag[1], tag[2]
            out.append(Conflict(
                f"capacity:{station_ids[k]}:{r}", amount, ("each station once", "class size"),
                f"station '{station_ids[k]}' holds {int(capacity[k])} but needs "
                f"{int(capacity[k] + round(amount))} learners in {slot_word} {r + 1}"))
        elif kind == "group_size":
            k, r = tag[1], tag[2]
            out.append(Conflict(
                f"group_size:{r}", amount, ("each learner visits the teacher once", "class size"),
                f"the teacher group in {slot_word} {r + 1} is {round(amount)} learner(s) outside "
                f"the allowed {g_min}–{g_max}"))
        elif kind == "keep_apart":
            s1, s2, k, r = tag[1:]
            out.append(Conflict(
                f"keep_apart:{learner_ids[s1]}:{learner_ids[s2]}", amount,
                ("station capacity", "other teacher requests"),
                f"could not keep {learner_ids[s1]} and {learner_ids[s2]} apart at "
                f"'{station_ids[k]}' in {slot_word} {r + 1}"))
        elif kind == "keep_together":
            s1, s2, k, r = tag[1:]
            out.append(Conflict(
                f"keep_together:{learner_ids[s1]}:{learner_ids[s2]}", amount,
                ("other teacher requests", "station capacity"),
                f"could not keep {learner_ids[s1]} and {learner_ids[s2]} together at "
                f"'{station_ids[k]}' in {slot_word} {r + 1}"))
        elif kind == "lock_topic":
            s, t = tag[1:]
            out.append(Conflict(
                f"lock:{learner_ids[s]}:{topics[t]}", amount, ("other teacher requests",
                                                              "group size"),
                f"could not give {learner_ids[s]} the mini-lesson on '{topics[t]}'"))
        elif kind == "lock_place":
            s, k, r = tag[1:]
            when = f" in {slot_word} {r + 1}" if r >= 0 else ""
            out.append(Conflict(
                f"lock:{learner_ids[s]}:{station_ids[k]}", amount, ("other teacher requests",
                                                                   "station capacity"),
                f"could not put {learner_ids[s]} at '{station_ids[k]}'{when}"))
    return _merge(out)


def _merge(conflicts: list[Conflict]) -> list[Conflict]:
    """One conflict per constraint name (amounts add up; first message kept)."""
    merged: dict[str, Conflict] = {}
    for c in conflicts:
        if c.constraint in merged:
            old = merged[c.constraint]
            merged[c.constraint] = Conflict(old.constraint, old.amount + c.amount, old.blocked_by,
                                            old.message)
        else:
            merged[c.constraint] = c
    return list(merged.values())


ADVISORY = ("budget_unused", "empty_rotation")
"""Conflict names that report a shortfall of the plan, not a request that gave way: they
are listed in ``conflicts`` but do not make the status "relaxed"."""


def is_advisory(conflict: Conflict) -> bool:
    """True for a shortfall conflict (``ADVISORY``), also with a "learner:" prefix."""
    name = conflict.constraint
    return any(name == a or name.startswith(a + ":") or name.endswith(":" + a)
               for a in ADVISORY)


def plan_status(conflicts: Sequence[Conflict], optimal: bool) -> str:
    """"relaxed" when a request gave way (advisory shortfalls aside), else "optimal" or
    "feasible" by the solve."""
    if any(not is_advisory(c) for c in conflicts):
        return "relaxed"
    return "optimal" if optimal else "feasible"


def empty_rotation_conflicts(schedules, learners, catalog) -> list[Conflict]:
    """One "empty_rotation:<station>" conflict per station where learner-rotations were left
    empty (no item), with the cause: an accommodation nothing of that station's kind
    supports, or no eligible activity. ``amount`` = empty learner-rotations there."""
    by_id = {lr.id: lr for lr in learners}
    empty: dict[str, list] = {}
    total: dict[str, int] = {}
    for sched in schedules:
        for it in sched.items:
            total[it.station_id] = total.get(it.station_id, 0) + 1
            if it.item is None:
                empty.setdefault(it.station_id, []).append(it)
    out = []
    for sid, items in sorted(empty.items()):
        causes: dict[str, int] = {}
        for it in items:
            lr = by_id.get(it.learner_id)
            kind = it.kind
            same = [a for a in catalog if a.modality == kind]
            unsupported = sorted(need for need in (lr.accommodations if lr else ())
                                 if not any(need in a.accommodations for a in same))
            for cause in ([f"accommodation:{u}" for u in unsupported]
                          or ["no eligible activity"]):
                causes[cause] = causes.get(cause, 0) + 1
        blocked = tuple(sorted(causes, key=lambda k: -causes[k]))
        words = " and ".join(
            f"nothing {b.partition(':')[2]!r}-accessible of this kind in the catalog"
            if b.startswith("accommodation:") else "no eligible activity fits"
            for b in blocked[:2])
        out.append(Conflict(
            f"empty_rotation:{sid}", float(len(items)), blocked,
            f"{len(items)} of {total[sid]} learner-rotations at '{sid}' are empty: {words}"))
    return out
