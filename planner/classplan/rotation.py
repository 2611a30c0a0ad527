"""Rotation models: station rotation, lab rotation and individual rotation.

The class-level MILP (``_rotation_milp``) decides where every learner is in each rotation and
which mini-lesson the teacher gives each small group; then each learner's non-teacher stations
get one activity each (collaborative stations: one shared activity per group; online and
independent stations: the learner's own content from the playlist planner, duration <= slot,
modality = station kind). Individual rotation lets a learner skip stations they do not need.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from planner.classplan import _content as content
from planner.classplan._common import (
    empty_rotation_conflicts,
    group_letter,
    group_reason,
    plan_status,
    slack_conflicts,
    validate,
)
from planner.classplan._rotation_milp import RotationProblem, RotationSolution, solve_rotation
from planner.classplan.defaults import default_stations
from planner.classplan.types import (
    ClassGroup,
    ClassPlan,
    ClassRequests,
    LearnerSchedule,
    ModelSettings,
    ScheduledItem,
    StationPlan,
)
from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, SkillGraph


def plan_rotation(settings: ModelSettings, learners: Sequence[PlanLearner],
                  catalog: Sequence[PlanActivity], graph: SkillGraph,
                  requests: ClassRequests | None = None, *, previous: ClassPlan | None = None,
                  keep_slots: int = 0, symmetry_breaking: bool = True,
                  fill: str = "milp") -> ClassPlan:
    """Plan one session of a rotation model (station, lab or individual rotation).

    ``previous``/``keep_slots``: re-plan keeping the first ``keep_slots`` rotations of an
    earlier plan exactly (groups change only at rotation boundaries). ``fill``: "milp" (the
    playlist MILP per learner) or "greedy" for the online/independent stations."""
    t0 = time.perf_counter()
    requests = requests or ClassRequests()
    stations = default_stations(settings, len(learners))
    index = validate(settings, learners, catalog, graph, requests, stations)
    if not stations:
        raise PlanInputError(f"{settings.model} needs at least one station")
    st_ids = [s.id for s in stations]
    fixed_src: dict[int, tuple[list[str | None], str | None]] = {}
    if previous is not None and keep_slots > 0:
        fixed_src = _kept(previous, learners, st_ids, keep_slots)
    problem, topics = _rotation_problem(settings, learners, catalog, graph, requests, stations,
                                        index, fixed_src)
    sol = solve_rotation(problem, symmetry_breaking=symmetry_breaking,
                         time_limit=settings.time_limit_s)
    conflicts = slack_conflicts(sol.slack, [lr.id for lr in learners], st_ids, problem.capacity,
                                topics, settings.g_min, settings.g_max)
    plan = _assemble(settings, learners, catalog, graph, stations, sol, topics, requests, index,
                     previous if fixed_src else None, len(fixed_src), fill)
    conflicts += empty_rotation_conflicts(plan[1], learners, catalog)
    status = plan_status(conflicts, sol.optimal)
    return ClassPlan(model=settings.model, groups=plan[0], schedules=plan[1],
                     conflicts=tuple(conflicts), status=status, objective=sol.objective,
                     n_slots=len(stations), symmetry_breaking=sol.symmetry_breaking,
                     solve_ms=(time.perf_counter() - t0) * 1e3, stations=tuple(stations),
                     notes=plan[2])


def _rotation_problem(settings: ModelSettings, learners: Sequence[PlanLearner],
                      catalog: Sequence[PlanActivity], graph: SkillGraph,
                      requests: ClassRequests, stations: Sequence[StationPlan],
                      index: dict[str, int],
                      fixed_src: dict[int, tuple[list[str | None], str | None]],
                      ) -> tuple[RotationProblem, list[str]]:
    """The numeric rotation MILP instance (one rotation per station) and its candidate
    mini-lesson topics; ``fixed_src``: kept rotations -> (station id per learner, topic)."""
    theta = settings.mastered_threshold
    k_of = {s.id: k for k, s in enumerate(stations)}
    teacher = next((k for k, s in enumerate(stations) if s.kind == "teacher_led"), None)
    n_r = len(stations)
    kept_topics = [t for _, t in fixed_src.values() if t is not None]
    lock_topics = [lk.topic for lk in requests.locks if lk.topic is not None]
    topics, ben = content.teacher_topics(graph, learners, theta, settings.teacher_p_learn,
                                         settings.n_topics, extra=[*lock_topics, *kept_topics])
    t_of = {t: i for i, t in enumerate(topics)}
    cap = np.array([settings.g_max if k == teacher else s.capacity for k, s in enumerate(stations)])
    need = None
    if settings.model == "individual_rotation":
        need = _needs(graph, learners, catalog, stations, ben, theta, requests, index,
                      settings.max_stations_per_learner)
    place_locks = _place_locks(requests, index, k_of, n_r)
    fixed = {r: (np.array([-1 if w is None else k_of[w] for w in where]),
                 -1 if topic is None else t_of[topic])
             for r, (where, topic) in fixed_src.items()}
    problem = RotationProblem(
        benefit=ben, teacher=teacher, capacity=cap, n_rotations=n_r, g_min=settings.g_min,
        need=need,
        group_stations=tuple(k for k, s in enumerate(stations)
                             if s.kind in ("teacher_led", "collaborative")),
        keep_apart=tuple((index[a], index[b]) for a, b in requests.keep_apart),
        keep_together=tuple((index[a], index[b]) for a, b in requests.keep_together),
        topic_locks=tuple((index[lk.learner_id], t_of[lk.topic])
                          for lk in requests.locks if lk.topic is not None),
        place_locks=place_locks, fixed=fixed)
    return problem, topics


def _place_locks(requests: ClassRequests, index: dict[str, int], k_of: dict[str, int],
                 n_r: int) -> tuple[tuple[int, int, int], ...]:
    """Station locks as (learner index, station index, rotation or -1 for any rotation)."""
    place_locks = tuple((index[lk.learner_id], k_of[lk.station],
                         -1 if lk.rotation is None else int(lk.rotation))
                        for lk in requests.locks if lk.station is not None)
    for _, _, r in place_locks:
        if r >= n_r:
            raise PlanInputError(f"a lock names rotation {r}; this plan has rotations 0..{n_r - 1}")
    return place_locks


def _kept(previous: ClassPlan, learners: Sequence[PlanLearner], st_ids: Sequence[str],
          keep: int) -> dict[int, tuple[list[str | None], str | None]]:
    ids = [lr.id for lr in learners]
    prev_ids = {s.learner_id for s in previous.schedules}
    if set(ids) != prev_ids:
        raise PlanInputError("re-planning with kept rotations needs the same roster as the previous "
                             f"plan; differs by {sorted(set(ids) ^ prev_ids)}")
    if keep > previous.n_slots:
        raise PlanInputError(f"keep_slots={keep} but the previous plan has {previous.n_slots}")
    out: dict[int, tuple[list[str | None], str | None]] = {}
    for r in range(keep):
        where: list[str | None] = []
        for lid in ids:
            items = [i for i in previous.schedule_of(lid).items if i.slot == r and i.station_id in st_ids]
            where.append(items[0].station_id if items else None)
        topic = next((g.topic for g in previous.groups if g.slot == r and g.kind == "teacher_led"), None)
        out[r] = (where, topic)
    return out


_PRIORITY = {"teacher_led": 0, "online": 1, "collaborative": 2, "independent_offline": 3}


def _needs(graph, learners, catalog, stations, ben, theta, requests, index,
           max_stations: int | None = None) -> np.ndarray:
    """Individual rotation card: which stations each learner needs (bool (S, K)); at most
    ``max_stations`` per learner (teacher-led first, then online, collaborative, independent;
    stations the teacher locked a learner into always stay)."""
    need = np.zeros((len(learners), len(stations)), dtype=bool)
    for s, lr in enumerate(learners):
        for k, st in enumerate(stations):
            if st.kind == "teacher_led":
                need[s, k] = bool(np.any(ben[s] > 0))
            elif st.kind == "online":
                need[s, k] = True
            else:
                need[s, k] = any(
                    a.modality == st.kind and a.duration_min <= st.minutes + 1e-9
                    and content.place_ok(a, st.place) and content.fits_learner(a, lr)
                    and content.learner_gain(graph, lr, a, theta)[0] > 0 for a in catalog)
        if not need[s].any():
            need[s, 0] = True
    if max_stations is not None:
        order = sorted(range(len(stations)), key=lambda k: (_PRIORITY[stations[k].kind], k))
        for s in range(len(learners)):
            kept = [k for k in order if need[s, k]][:max_stations]
            need[s] = False
            need[s, kept] = True
    k_of = {st.id: k for k, st in enumerate(stations)}
    for lk in requests.locks:
        if lk.station is not None:
            need[index[lk.learner_id], k_of[lk.station]] = True
        if lk.topic is not None:
            for k, st in enumerate(stations):
                if st.kind == "teacher_led":
                    need[index[lk.learner_id], k] = True
    return need


@dataclass(frozen=True)
class _Session:
    """What every assembly step reads: the request, the MILP solution, the learner ids and
    the rotation times (``slot_len`` (R,) minutes, ``start`` (R + 1,) minutes from 0)."""

    settings: ModelSettings
    learners: Sequence[PlanLearner]
    catalog: Sequence[PlanActivity]
    graph: SkillGraph
    stations: Sequence[StationPlan]
    sol: RotationSolution
    topics: Sequence[str]
    requests: ClassRequests
    ids: list[str]
    slot_len: list[float]
    start: np.ndarray


@dataclass
class _Assembly:
    """The groups, schedule items ((learner, rotation) -> item), notes and solo seats
    ((learner, rotation) working alone) built so far; ``gid`` = groups named so far."""

    groups: list[ClassGroup] = field(default_factory=list)
    items: dict[tuple[int, int], ScheduledItem] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    solo: set[tuple[int, int]] = field(default_factory=set)
    gid: int = 0

    def next_name(self) -> str:
        name = group_letter(self.gid)
        self.gid += 1
        return name


def _assemble(settings, learners, catalog, graph, stations, sol, topics, requests, index,
              previous, n_kept, fill):
    """Groups, per-learner schedules and notes of the solved rotation plan; the first
    ``n_kept`` rotations are copied from ``previous``."""
    n_s, n_r = sol.station.shape
    # a rotation lasts as long as the longest station anyone is at (all equal in a classic
    # station rotation; a whole-class lab rotation can have a 45-min classroom and 30-min lab)
    slot_len = []
    for r in range(n_r):
        used = {int(k) for k in sol.station[:, r] if k >= 0}
        slot_len.append(max((stations[k].minutes for k in used),
                            default=max(s.minutes for s in stations)))
    ses = _Session(settings, learners, catalog, graph, stations, sol, topics, requests,
                   [lr.id for lr in learners], slot_len,
                   np.concatenate([[0.0], np.cumsum(slot_len)]))
    out = _Assembly()
    if previous is not None:
        for g in previous.groups:
            if g.slot < n_kept:
                out.groups.append(g)
                out.gid += 1
        for s, lid in enumerate(ses.ids):
            for it in previous.schedule_of(lid).items:
                if it.slot < n_kept:
                    out.items[(s, it.slot)] = it
    for r in range(n_kept, n_r):
        for k, st in enumerate(stations):
            members = [s for s in range(n_s) if sol.station[s, r] == k]
            if members and st.kind in ("teacher_led", "collaborative"):
                _place_group_station(ses, out, r, st, members)
    _fill_own_stations(ses, out, n_kept, fill)
    schedules = tuple(LearnerSchedule(lid, tuple(out.items[(s, r)] for r in range(n_r)
                                                 if (s, r) in out.items))
                      for s, lid in enumerate(ses.ids))
    return tuple(out.groups), schedules, tuple(out.notes)


def _place_group_station(ses: _Session, out: _Assembly, r: int, st: StationPlan,
                         members: list[int]) -> None:
    """Groups (and their members' items) at teacher-led or collaborative station ``st`` in
    rotation ``r``; ``members``: learner indices there."""
    ids, requests = ses.ids, ses.requests
    mlearners = [ses.learners[s] for s in members]
    here = {ids[s] for s in members}
    cons = _pair_constraints(requests, here, st.kind in ("teacher_led", "collaborative"))
    cons += tuple(f"{lk.learner_id} locked here by the teacher" for lk in requests.locks
                  if lk.learner_id in {ids[s] for s in members}
                  and (lk.station == st.id or (st.kind == "teacher_led" and lk.topic)))
    if st.kind == "teacher_led":
        teams = [_teacher_team(ses, out, r, st, mlearners, cons)]
    else:
        teams = _collaborative_teams(ses, out, r, st, members, mlearners, cons)
    theta = ses.settings.mastered_threshold
    for act, idx, name, topic, reason in teams:
        tmembers = [members[i] for i in idx]
        out.groups.append(ClassGroup(name, st.id, st.kind, r, float(ses.start[r]),
                                     float(st.minutes), tuple(ids[s] for s in tmembers), topic,
                                     None if act is None else act.id, reason))
        for s in tmembers:
            item = None
            if act is not None:
                why = (f"group {name} at the {st.id} station, rotation {r + 1}",)
                item = content.make_item(ses.graph, ses.learners[s], act, r, theta, why, topic=(
                    topic if st.kind == "teacher_led" else None),
                    p_learn=ses.settings.teacher_p_learn if st.kind == "teacher_led" else None)
            out.items[(s, r)] = ScheduledItem(ids[s], r, float(ses.start[r]), float(st.minutes),
                                              st.id, st.kind, st.place, item, name)


def _teacher_team(ses: _Session, out: _Assembly, r: int, st: StationPlan,
                  mlearners: list[PlanLearner], cons: tuple[str, ...]):
    """(mini-lesson or None, member positions, group name, topic, reason) of the teacher's
    group in rotation ``r``."""
    theta = ses.settings.mastered_threshold
    name = out.next_name()
    topic = ses.topics[ses.sol.topic[r]] if ses.sol.topic[r] >= 0 else None
    if topic is None:
        act = None
        reason = group_reason(ses.graph, name, mlearners, None, theta, cons)
    else:
        act = content.mini_lesson(ses.graph, ses.catalog, mlearners, topic, st.minutes, st.place,
                                  ses.settings.teacher_p_learn, theta)
        reason = group_reason(ses.graph, name, mlearners, topic, theta, cons)
    return act, list(range(len(mlearners))), name, topic, reason


def _collaborative_teams(ses: _Session, out: _Assembly, r: int, st: StationPlan,
                         members: list[int], mlearners: list[PlanLearner],
                         cons: tuple[str, ...]) -> list:
    """Teams sharing one activity at collaborative station ``st`` (as in :func:`_teacher_team`);
    learners no shared activity fits work alone (recorded in ``out.solo`` and a note)."""
    theta, graph = ses.settings.mastered_threshold, ses.graph
    teams = []
    for act, idx in content.group_teams(graph, ses.catalog, mlearners, st.kind, st.minutes,
                                        st.place, theta):
        if act is None:  # nothing shared fits them: individual work at the station
            out.solo.update((members[i], r) for i in idx)
            out.notes.append(f"{len(idx)} learner(s) work alone at '{st.id}' in rotation "
                             f"{r + 1}: no group activity fits them")
            continue
        name = out.next_name()
        tl = [mlearners[i] for i in idx]
        tcons = cons
        gains = [content.learner_gain(graph, m, act, theta) for m in tl]
        tops = [g[1] for g in gains if g[1] is not None]
        topic = max(set(tops), key=tops.count) if tops else act.skills[0][0]
        if len(idx) > act.group_max:
            n_teams = -(-len(idx) // act.group_max)
            tcons += (f"works in {n_teams} teams of up to {act.group_max}",)
        if len(idx) < len(members):
            tcons += ("split from the station group so every member can do "
                      "the activity (accommodations)",)
        reason = group_reason(graph, name, tl, topic, theta, tcons, what="work on")
        teams.append((act, idx, name, topic, reason))
    return teams


def _fill_own_stations(ses: _Session, out: _Assembly, n_kept: int, fill: str) -> None:
    """Each learner's own (online/independent, or seat) slots from ``n_kept`` on, filled by
    the playlist planner ("milp"/"greedy") or per station ("station")."""
    stations, graph, theta = ses.stations, ses.graph, ses.settings.mastered_threshold
    n_r = len(ses.slot_len)
    used_group = {(s, r): it.item.activity_id for (s, r), it in out.items.items() if it.item}
    # the learners' own stations only ever use activities that fit some own-station slot
    own_kinds = {st.kind for st in stations if st.kind != "teacher_led"} | {"independent_offline"}
    longest = max([st.minutes for st in stations] + ses.slot_len)
    pool = [a for a in ses.catalog if a.modality in own_kinds and a.duration_min <= longest + 1e-9]
    for s, lr in enumerate(ses.learners):
        own = [(r, int(ses.sol.station[s, r])) for r in range(n_kept, n_r)
               if (s, r) not in out.items]
        # a rotation without a station (individual rotation) is own work at the learner's seat
        slots = [("independent_offline" if (s, r) in out.solo or k < 0 else stations[k].kind,
                  stations[k].minutes if k >= 0 else ses.slot_len[r],
                  stations[k].place if k >= 0 else stations[0].place) for r, k in own]
        removes = frozenset(a for (s2, _), a in used_group.items() if s2 == s)
        if fill == "station":
            picks = content.station_choice(graph, pool, lr, slots, theta, removes=removes)
            filled = [None if a is None else content.make_item(graph, lr, a, r, theta, ())
                      for a, (r, _k) in zip(picks, own, strict=True)]
        else:
            filled = content.slot_playlist(graph, pool, lr, slots, theta, removes=removes,
                                           solver=fill, protect=ses.settings.protect) if slots else []
        for (r, k), it, slot in zip(own, filled, slots, strict=True):
            sid = stations[k].id if k >= 0 else "own-seat"
            if it is not None:
                alone = " (on your own: no group activity fits you)" if (s, r) in out.solo else ""
                where = (f"your {sid} station activity" if k >= 0 else
                         "own work at your seat (you do not need another station)")
                it = _reposition(it, r, f"{where} in rotation {r + 1} "
                                 f"({it.duration_min:g} of {slot[1]:g} min){alone}")
            out.items[(s, r)] = ScheduledItem(lr.id, r, float(ses.start[r]), float(slot[1]), sid,
                                              slot[0], slot[2], it, None)


def _reposition(item, position: int, constraint: str):
    from dataclasses import replace

    reason = replace(item.reason, constraints=(*item.reason.constraints, constraint),
                     sentence=item.reason.sentence.rstrip(".") + f"; {constraint}.")
    return replace(item, position=position, reason=reason)


def _pair_constraints(requests: ClassRequests, here: set[str], group_station: bool
                      ) -> tuple[str, ...]:
    """Teacher pair requests that shaped a group with members ``here``."""
    out = []
    if group_station:
        for a, b in requests.keep_apart:
            if a in here and b not in here:
                out.append(f"{a} kept apart from {b} by the teacher")
            elif b in here and a not in here:
                out.append(f"{b} kept apart from {a} by the teacher")
    for a, b in requests.keep_together:
        if a in here and b in here:
            out.append(f"{a} and {b} kept together by the teacher")
    return tuple(out)


__all__ = ["plan_rotation", "StationPlan"]
