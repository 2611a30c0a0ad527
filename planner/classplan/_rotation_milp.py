"""Class-level rotation + teacher small-group MILP (design notes §2.3), numeric core.

Everything here works on integer indices: students ``s = 0..S-1``, stations
``k = 0..K-1``, rotations ``r = 0..R-1``, candidate mini-lesson topics
``t = 0..T-1``. The public model modules translate ids to indices and back.

Variables: ``w[s,k,r]`` (binary, student at station in rotation), ``y[t,r]``
(binary, teacher teaches topic in rotation), ``z[s,t,r]`` (continuous in [0, 1],
student receives the mini-lesson; integral at the optimum), plus ``open[r]`` when
stations may be skipped (individual rotation). Teacher requests and capacities are
elastic rows whose slack is reported as a conflict instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.classplan._milp import MilpBuilder


@dataclass(frozen=True)
class RotationProblem:
    """Numeric station-rotation instance.

    ``benefit`` (S, T) >= 0: value of mini-lesson t for student s (0 = not in the ZPD).
    ``capacity`` (K,): seats per station and rotation (the teacher station's is g_max).
    ``need`` (S, K) bool or None: None = every student visits every station once
    (R must equal K); otherwise student s visits station k once iff ``need[s, k]`` and at
    most one station per rotation (individual rotation).
    ``keep_apart``/``keep_together``: student index pairs; apart applies at the stations
    in ``group_stations``, together at every station.
    ``topic_locks``: (s, t) — s must receive mini-lesson t. ``place_locks``: (s, k, r) with
    r = -1 for "some rotation". ``optional``: with ``need``, visit station k *at most* once
    when ``need[s, k]`` (flex pull-outs) instead of exactly once. ``fixed``: rotation -> (stations per student (S,), topic or -1)
    for rotations already run (re-plan keeps them).
    """

    benefit: np.ndarray
    teacher: int | None
    capacity: np.ndarray
    n_rotations: int
    g_min: int = 0
    need: np.ndarray | None = None
    group_stations: tuple[int, ...] = ()
    keep_apart: tuple[tuple[int, int], ...] = ()
    keep_together: tuple[tuple[int, int], ...] = ()
    topic_locks: tuple[tuple[int, int], ...] = ()
    place_locks: tuple[tuple[int, int, int], ...] = ()
    fixed: dict = field(default_factory=dict)
    optional: bool = False


@dataclass(frozen=True)
class RotationSolution:
    """``station`` (S, R) station index or -1 (no station), ``topic`` (R,) topic or -1,
    ``lesson`` (S,) topic index received or -1, ``lesson_rotation`` (S,) its rotation or -1,
    ``slack`` tag -> amount, ``objective`` total benefit, ``optimal`` solver status."""

    station: np.ndarray
    topic: np.ndarray
    lesson: np.ndarray
    lesson_rotation: np.ndarray
    slack: dict
    objective: float
    optimal: bool
    symmetry_breaking: bool
    n_vars: int


def topic_bound(benefit: np.ndarray, n_rotations: int, g_max: int, *, seats: bool = False,
                g_min: int = 0, must_attend: np.ndarray | None = None,
                keep_apart=(), keep_together=(), topic_locks=()) -> tuple[float, np.ndarray]:
    """Relaxation of the rotation MILP: choose at most ``n_rotations`` topics and give each
    student at most one chosen topic, at most ``g_max`` per topic group. Returns (upper bound on
    the total benefit, chosen topic indices sorted ascending).

    Plain (``seats=False``): drops stations, pairs and locks, so its optimum bounds the total
    benefit of every full solution that respects the group cap. With ``seats=True`` every
    student with ``must_attend`` takes a (fractional) seat in one teacher group (real topic or
    an "open help" group), groups hold ``g_min..g_max`` and the pair/lock rows hold: then it
    bounds the slack-free solutions only, and is much tighter."""
    b = np.maximum(np.asarray(benefit, dtype=float), 0.0)
    n_s, n_t = b.shape
    if n_t == 0 or not np.any(b > 0):
        return 0.0, np.arange(0)
    m = MilpBuilder()
    u = m.add_vars(n_t, integer=True)
    m.add_row(u, 1.0, ub=float(n_rotations))
    ss, tt = np.nonzero(b > 0)
    a = m.add_vars(len(ss), integer=False, gain=b[ss, tt])
    m.add_pair_rows(a, u[tt], 1.0, -1.0, ub=0.0)
    if not seats:
        for s in np.unique(ss):
            m.add_row(a[ss == s], 1.0, ub=1.0)
        for t in np.unique(tt):
            cols = a[tt == t]
            m.add_row(np.r_[cols, u[t]], np.r_[np.ones(len(cols)), -float(g_max)], ub=0.0)
    else:
        attend = np.ones(n_s, bool) if must_attend is None else np.asarray(must_attend, bool)
        o = np.zeros((n_s, n_t + 1), dtype=int)  # last column = open help
        special = {s for pr in (*keep_apart, *keep_together) for s in pr} | {
            s for s, _ in topic_locks}
        for s in range(n_s):
            o[s] = m.add_vars(n_t + 1, integer=s in special)
        for s in range(n_s):
            m.add_row(o[s], 1.0, lb=float(attend[s]), ub=1.0)
        m.add_pair_rows(a, o[ss, tt], 1.0, -1.0, ub=0.0)
        for t in range(n_t):
            m.add_row(np.r_[o[:, t], u[t]], np.r_[np.ones(n_s), -float(g_max)], ub=0.0)
            m.add_row(np.r_[o[:, t], u[t]], np.r_[np.ones(n_s), -float(g_min)], lb=0.0)
        # open-help groups: R - Σu of them, each up to g_max seats
        m.add_row(np.r_[o[:, n_t], u], np.r_[np.ones(n_s), np.full(n_t, float(g_max))],
                  ub=float(g_max * n_rotations))
        for s1, s2 in keep_apart:
            for t in range(n_t):
                m.add_row([o[s1, t], o[s2, t]], [1.0, 1.0], ub=1.0)
        for s1, s2 in keep_together:
            for t in range(n_t):
                m.add_row([o[s1, t], o[s2, t]], [1.0, -1.0], lb=0.0, ub=0.0)
        for s, t in topic_locks:
            if t < n_t:
                m.add_row([o[s, t]], [1.0], lb=1.0)
    res = m.solve(time_limit=5.0)
    if res.status not in (0, 1) or not np.all(np.isfinite(res.x)):
        return float("inf"), np.arange(0)
    chosen = np.flatnonzero(res.x[u] > 0.5)
    if res.optimal:
        return float(res.objective) + 1e-7, chosen
    return float("inf"), chosen


def solve_rotation(p: RotationProblem, *, symmetry_breaking: bool = True,
                   time_limit: float = 10.0) -> RotationSolution:
    """Solve the rotation MILP exactly; see :class:`RotationProblem`.

    With a teacher station and no fixed rotations, first solves :func:`topic_bound`; the full
    model is then tried with the teacher's topics fixed to that relaxation's choice, which is
    provably optimal when it reaches the bound with no slack. Otherwise the full model is
    solved with the bound as an extra (valid) row, which tightens HiGHS's LP bound.
    """
    if p.teacher is None or p.fixed or not symmetry_breaking:
        return _solve(p, symmetry_breaking, time_limit, None, None)
    benefit = np.asarray(p.benefit, dtype=float)
    if p.need is not None:
        benefit = benefit * np.asarray(p.need, dtype=bool)[:, [p.teacher]]
    g_max = int(np.asarray(p.capacity)[p.teacher])
    names_rotation = any(r >= 0 for _, _, r in p.place_locks)
    bound, chosen = topic_bound(benefit, p.n_rotations, g_max)
    if names_rotation:
        return _solve(p, False, time_limit, bound if np.isfinite(bound) else None, None)
    # 1) the plain relaxation's topics, 2) the tighter seat relaxation's topics, 3) full model
    if np.isfinite(bound) and 0 < len(chosen) <= p.n_rotations:
        hint = _solve(p, symmetry_breaking, time_limit, bound, chosen)
        if not hint.slack and hint.objective >= bound - 1e-6:
            return hint
    apart_teacher = tuple(pr for pr in p.keep_apart if p.teacher in p.group_stations)
    attend = None if p.need is None else np.asarray(p.need, dtype=bool)[:, p.teacher]
    if p.optional:
        attend = np.zeros(benefit.shape[0], dtype=bool)
    tight, chosen = topic_bound(
        benefit, p.n_rotations, g_max, seats=True, g_min=p.g_min, must_attend=attend,
        keep_apart=apart_teacher, keep_together=p.keep_together, topic_locks=p.topic_locks)
    if np.isfinite(tight) and 0 < len(chosen) <= p.n_rotations:
        hint = _solve(p, symmetry_breaking, time_limit, min(tight, bound), chosen)
        if not hint.slack and hint.objective >= min(tight, bound) - 1e-6:
            return hint
    return _solve(p, symmetry_breaking, time_limit, bound if np.isfinite(bound) else None, None)


def _solve(p: RotationProblem, symmetry_breaking: bool, time_limit: float,
           bound: float | None, fixed_topics: np.ndarray | None) -> RotationSolution:
    """Build and solve the full rotation MILP; ``bound``: optional valid upper bound on the
    total benefit (an extra row); ``fixed_topics``: the teacher's topics, fixed in
    ascending order over the rotations."""
    benefit = np.asarray(p.benefit, dtype=float)
    n_s, n_t_real = benefit.shape
    cap = np.asarray(p.capacity, dtype=int)
    n_k = len(cap)
    n_r = int(p.n_rotations)
    has_teacher = p.teacher is not None
    # pad with zero-benefit "open help" topics so every rotation can have a topic
    n_t = n_t_real + (n_r if has_teacher else 0)
    b = np.zeros((n_s, n_t))
    b[:, :n_t_real] = np.maximum(benefit, 0.0)

    m = MilpBuilder()
    w = m.add_vars(n_s * n_k * n_r, integer=True, gain=0.0).reshape(n_s, n_k, n_r)
    _add_visit_rows(m, p, w, cap)
    y = np.zeros((0, n_r), dtype=int)
    z: dict[tuple[int, int], np.ndarray] = {}
    if has_teacher:
        _add_group_size_rows(m, p, w, float(cap[int(p.teacher)]))
        y, z = _add_lesson_rows(m, p, w, b, float(cap[int(p.teacher)]))
    names_rotation = _add_pair_and_place_rows(m, p, w)
    for r, (stations, topic) in p.fixed.items():
        for s in range(n_s):
            for k in range(n_k):
                m.fix(int(w[s, k, r]), 1.0 if stations[s] == k else 0.0)
        if has_teacher and topic >= 0:
            for t in range(n_t):
                m.fix(int(y[t, r]), 1.0 if t == topic else 0.0)
    if bound is not None and z:
        cols = np.concatenate(list(z.values()))
        gains = np.concatenate([np.full(n_r, b[s, t]) for (s, t) in z])
        m.add_row(cols, gains, ub=bound)
    if fixed_topics is not None:
        # rotations in ascending topic order (consistent with symmetry breaking)
        # (fewer real topics than rotations: the rest take padded "open help" topics)
        for r, t in enumerate(sorted(int(t) for t in fixed_topics)):
            m.fix(int(y[t, r]), 1.0)
    use_sb = bool(symmetry_breaking and has_teacher and not names_rotation)
    if use_sb:
        free = [r for r in range(n_r) if r not in p.fixed]
        weights = np.arange(1, n_t + 1, dtype=float)
        for r1, r2 in zip(free[:-1], free[1:], strict=True):
            m.add_row(np.r_[y[:, r2], y[:, r1]], np.r_[weights, -weights], lb=1.0)
    res = m.solve(time_limit=time_limit)
    station, topic, lesson, lesson_rot = _decode(p, res.x, w, y, n_t_real)
    return RotationSolution(station=station, topic=topic, lesson=lesson, lesson_rotation=lesson_rot,
                            slack=res.slack, objective=float(np.sum(b[np.arange(n_s), np.maximum(lesson, 0)] * (lesson >= 0))),
                            optimal=res.optimal, symmetry_breaking=use_sb, n_vars=m.n)


def _add_visit_rows(m: MilpBuilder, p: RotationProblem, w: np.ndarray, cap: np.ndarray) -> None:
    """Everyone at one station per rotation (at most one when stations can be skipped), each
    needed station visited once, and the elastic capacity of every non-teacher station;
    ``w``: (S, K, R) variable indices."""
    n_s, n_k, n_r = w.shape
    for s in range(n_s):
        for r in range(n_r):
            if p.need is None:
                m.add_row(w[s, :, r], 1.0, 1.0, 1.0)
            else:
                m.add_row(w[s, :, r], 1.0, 0.0, 1.0)
        for k in range(n_k):
            target = 1.0 if p.need is None else float(bool(p.need[s, k]))
            m.add_row(w[s, k, :], 1.0, 0.0 if p.optional else target, target)
    for k in range(n_k):
        if p.teacher is not None and k == p.teacher:
            continue
        for r in range(n_r):
            m.add_elastic_row(w[:, k, r], 1.0, ub=float(cap[k]), tag=("capacity", k, r))


def _add_group_size_rows(m: MilpBuilder, p: RotationProblem, w: np.ndarray, g_max: float) -> None:
    """Teacher group of ``g_min..g_max`` students per rotation (elastic below); with ``need``
    a group may also stay closed (``open[r]`` = 0)."""
    n_s, _n_k, n_r = w.shape
    k0 = int(p.teacher)
    if p.need is None:
        for r in range(n_r):
            m.add_elastic_row(w[:, k0, r], 1.0, lb=float(p.g_min), ub=g_max,
                              tag=("group_size", k0, r))
        return
    opened = m.add_vars(n_r, integer=True)
    for r in range(n_r):
        # g_min*open <= size <= g_max*open
        m.add_elastic_row(np.r_[w[:, k0, r], opened[r]], np.r_[np.ones(n_s), -p.g_min],
                          lb=0.0, tag=("group_size", k0, r))
        m.add_row(np.r_[w[:, k0, r], opened[r]], np.r_[np.ones(n_s), -g_max], ub=0.0)


def _add_lesson_rows(
    m: MilpBuilder, p: RotationProblem, w: np.ndarray, b: np.ndarray, g_max: float,
) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]]:
    """Topic per rotation ``y`` (T, R) and mini-lesson receipt ``z[(s, t)]`` (R,) with their
    links to the teacher station; ``b``: (S, T) padded benefit."""
    n_s, _n_k, n_r = w.shape
    n_t = b.shape[1]
    k0 = int(p.teacher)
    y = m.add_vars(n_t * n_r, integer=True).reshape(n_t, n_r)
    for r in range(n_r):
        m.add_row(y[:, r], 1.0, 1.0, 1.0)
    for t in range(n_t):
        m.add_row(y[t, :], 1.0, ub=1.0)
    locked_topics = {(s, t) for s, t in p.topic_locks}
    z: dict[tuple[int, int], np.ndarray] = {}
    for s in range(n_s):
        for t in range(n_t):
            if b[s, t] > 0 or (s, t) in locked_topics:
                z[(s, t)] = m.add_vars(n_r, integer=False, gain=b[s, t])
    per_sr: dict[tuple[int, int], list[int]] = {}
    if z:
        zs = np.concatenate(list(z.values()))
        ys = np.concatenate([y[t, :] for (_s, t) in z])
        m.add_pair_rows(zs, ys, 1.0, -1.0, ub=0.0)
    for (s, _t), zz in z.items():
        for r in range(n_r):
            per_sr.setdefault((s, r), []).append(int(zz[r]))
    for (s, r), cols in per_sr.items():
        m.add_row(cols + [int(w[s, k0, r])], [1.0] * len(cols) + [-1.0], ub=0.0)
    # strengthening cut: a topic's audience fits one teacher group
    per_tr: dict[tuple[int, int], list[int]] = {}
    for (_s, t), zz in z.items():
        for r in range(n_r):
            per_tr.setdefault((t, r), []).append(int(zz[r]))
    for (t, r), cols in per_tr.items():
        m.add_row(cols + [int(y[t, r])], [1.0] * len(cols) + [-g_max], ub=0.0)
    for s, t in p.topic_locks:
        m.add_elastic_row(z[(s, t)], 1.0, lb=1.0, ub=1.0, tag=("lock_topic", s, t))
    return y, z


def _add_pair_and_place_rows(m: MilpBuilder, p: RotationProblem, w: np.ndarray) -> bool:
    """Elastic keep-apart, keep-together and place-lock rows; True when a place lock names
    a rotation (symmetry breaking is then invalid)."""
    _n_s, n_k, n_r = w.shape
    for s1, s2 in p.keep_apart:
        for k in p.group_stations:
            for r in range(n_r):
                m.add_elastic_row([w[s1, k, r], w[s2, k, r]], [1.0, 1.0], ub=1.0,
                                  tag=("keep_apart", s1, s2, k, r))
    for s1, s2 in p.keep_together:
        for k in range(n_k):
            for r in range(n_r):
                m.add_elastic_row([w[s1, k, r], w[s2, k, r]], [1.0, -1.0], lb=0.0, ub=0.0,
                                  tag=("keep_together", s1, s2, k, r), penalty=500.0)
    names_rotation = False
    for s, k, r in p.place_locks:
        if r >= 0:
            names_rotation = True
            m.add_elastic_row(w[s, k, r], 1.0, lb=1.0, ub=1.0, tag=("lock_place", s, k, r))
        else:
            m.add_elastic_row(w[s, k, :], 1.0, lb=1.0, ub=1.0, tag=("lock_place", s, k, -1))
    return names_rotation


def _decode(p: RotationProblem, x: np.ndarray, w: np.ndarray, y: np.ndarray,
            n_t_real: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Station (S, R), real topic (R,), lesson (S,) and its rotation (S,) from the solution
    vector ``x``; -1 where none."""
    n_s, _n_k, n_r = w.shape
    station = np.full((n_s, n_r), -1, dtype=int)
    wv = x[w] > 0.5
    for s in range(n_s):
        for r in range(n_r):
            ks = np.flatnonzero(wv[s, :, r])
            if len(ks):
                station[s, r] = int(ks[0])
    topic = np.full(n_r, -1, dtype=int)
    lesson = np.full(n_s, -1, dtype=int)
    lesson_rot = np.full(n_s, -1, dtype=int)
    if p.teacher is not None:
        for r in range(n_r):
            ts = np.flatnonzero(x[y[:, r]] > 0.5)
            if len(ts) and ts[0] < n_t_real:
                topic[r] = int(ts[0])
        for s in range(n_s):
            for r in range(n_r):
                if station[s, r] == p.teacher and topic[r] >= 0:
                    lesson[s] = topic[r]
                    lesson_rot[s] = r
    return station, topic, lesson, lesson_rot
