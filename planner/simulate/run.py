"""Receding-horizon simulation: plan a session, run it on the true model, observe exit tickets,
update BKT, re-plan. Metric per learner: E_p = (E_end - E_start) / (E_sup - E_start) with
E = fraction of target skills truly mastered and E_sup = 1."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kt.bkt.params import BKTState, SkillParams
from planner.errors import PlanInputError
from planner.simulate.cohort import Cohort, true_learn_probability
from planner.simulate.policies import POLICIES, feasible


@dataclass(frozen=True)
class PolicyResult:
    """One policy on one cohort. ``e_p`` (S,) per learner (NaN when E_start = 1);
    ``e_start``/``e_end`` (S,); ``screen_min`` (S,) online minutes per session;
    ``violations``: hard-constraint violations (items a learner cannot do, or over budget);
    ``plan_ms``: mean planning time per learner-session."""

    name: str
    e_p: np.ndarray
    e_start: np.ndarray
    e_end: np.ndarray
    screen_min: np.ndarray
    violations: int
    plan_ms: float

    @property
    def mean(self) -> float:
        """Cohort E_p = mean(E_end - E_start) / (1 - mean(E_start))."""
        return float((self.e_end - self.e_start).mean() / max(1e-12, 1.0 - self.e_start.mean()))

    @property
    def ci95(self) -> float:
        """95 % half-width of the cohort E_p (normal approximation over learners)."""
        d = self.e_end - self.e_start
        if len(d) < 2:
            return float("nan")
        return float(1.96 * d.std(ddof=1) / math.sqrt(len(d)) / max(1e-12, 1.0 - self.e_start.mean()))


def bkt_update(p: float, t_learn: float, correct: bool, p_guess: float, p_slip: float) -> float:
    """Planner-side BKT for one activity: transition with ``t_learn``, then condition on the
    exit ticket (guess/slip). Returns the new P(L)."""
    learned = p + (1.0 - p) * t_learn
    # kt's BKT update with no further transition: the ticket is taken after learning.
    model = _ticket_model(float(p_guess), float(p_slip))
    state = BKTState(model.skill_names_, [learned])
    new, _ = model.update_one(state, "ticket", 1.0 if correct else 0.0)
    return float(new.p_mastered[0])


@functools.lru_cache(maxsize=256)
def _ticket_model(p_guess: float, p_slip: float):
    """A one-skill kt BKT with these guess/slip and no learn/forget transition."""
    from kt.bkt import BKT  # loads Numba: on first use, not at import

    return BKT.from_skill_params({"ticket": SkillParams(p_init=0.5, p_learn=0.0, p_forget=0.0,
                                                         p_guess=p_guess, p_slip=p_slip)})


@dataclass(frozen=True)
class LearnerRun:
    """One learner's horizon under a policy: final true mastery (K,) bool, final belief (K,),
    online minutes, violations, planning seconds and the activity ids per session."""

    true_end: np.ndarray
    belief_end: np.ndarray
    online_min: float
    violations: int
    plan_s: float
    sessions: tuple[tuple[str, ...], ...]


def simulate_learner(cohort: Cohort, s: int, name: str) -> LearnerRun:
    """Run policy ``name`` for learner ``s`` over the horizon (see module doc)."""
    policy = POLICIES[name]
    g, m = cohort.graph, cohort.model
    ids = g.ids
    pre = [list(g._prereqs[i]) for i in range(len(ids))]
    tgt = cohort.targets
    base = replace(cohort.learners[s], goals={k: 1.0 for k, t in zip(ids, tgt, strict=True) if t})
    true = cohort.true0[s].copy()
    belief = cohort.prior[s].copy()
    attempts = np.zeros(len(ids), dtype=int)
    days = {k: float(v) for k, v in base.days_since_practice.items()}
    ever = set(base.ever_mastered)
    online_min = 0.0
    violations = 0
    plan_s = 0.0
    done: list[tuple[str, ...]] = []
    for sess in range(cohort.sessions):
        learner = replace(base, mastery=dict(zip(ids, belief.tolist(), strict=True)),
                          days_since_practice=days, ever_mastered=frozenset(ever))
        t0 = time.perf_counter()
        acts = policy.plan(cohort, learner, sess, int(cohort.u_policy[s, sess]))
        plan_s += time.perf_counter() - t0
        done.append(tuple(a.id for a in acts))
        used = 0.0
        practised = set()
        for a in acts:
            used += a.duration_min
            if not feasible(a, base) or used > cohort.session_minutes + 1e-9:
                violations += 1
                continue  # a learner cannot do it: no learning, no observation
            if a.modality == "online":
                online_min += a.duration_min
            for k, _w in a.skills:
                i = g.index.get(k)
                if i is None:
                    continue
                j = min(attempts[i], m.max_attempts - 1)
                attempts[i] += 1
                practised.add(i)
                if not true[i]:
                    p = true_learn_probability(m, base, a, k)
                    if any(not true[q] for q in pre[i]):
                        p *= m.gate
                    if cohort.u_learn[s, i, j] < p:
                        true[i] = True
                correct = cohort.u_obs[s, i, j] < ((1.0 - m.p_slip) if true[i] else m.p_guess)
                belief[i] = bkt_update(belief[i], a.learn_probability(k), bool(correct),
                                       m.p_guess, m.p_slip)
                if belief[i] >= cohort.mastered_threshold:
                    ever.add(k)
        for i in range(len(ids)):
            if i in practised:
                days[ids[i]] = 0.0
            else:
                if ids[i] in days or true[i]:
                    days[ids[i]] = days.get(ids[i], 0.0) + 7.0
                if true[i] and cohort.u_forget[s, sess, i] < m.p_forget_true:
                    true[i] = False
    return LearnerRun(true, belief, online_min, violations, plan_s, tuple(done))


def run_policy(cohort: Cohort, name: str, *, students: Sequence[int] | None = None,
               progress=None) -> PolicyResult:
    """Run one policy over the whole horizon for every learner (independent per learner)."""
    if name not in POLICIES:
        raise PlanInputError(f"unknown policy {name!r}; use one of {sorted(POLICIES)}")
    students = range(len(cohort.learners)) if students is None else students
    n = len(students)
    e_p = np.full(n, np.nan)
    e_start = np.zeros(n)
    e_end = np.zeros(n)
    screen = np.zeros(n)
    violations = 0
    plan_s = 0.0
    calls = 0
    tgt = cohort.targets
    for row, s in enumerate(students):
        out = simulate_learner(cohort, s, name)
        violations += out.violations
        plan_s += out.plan_s
        calls += cohort.sessions
        e0 = float(cohort.true0[s, tgt].mean())
        e1 = float(out.true_end[tgt].mean())
        e_start[row], e_end[row] = e0, e1
        if e0 < 1.0:
            e_p[row] = (e1 - e0) / (1.0 - e0)
        screen[row] = out.online_min / cohort.sessions
        if progress is not None:
            progress.update(1)
    return PolicyResult(name, e_p, e_start, e_end, screen, violations,
                        plan_s / max(calls, 1) * 1e3)


def run_comparison(cohort: Cohort, names: Sequence[str], *, progress=None) -> dict[str, PolicyResult]:
    """Every policy in ``names`` on the same cohort (common random numbers)."""
    return {n: run_policy(cohort, n, progress=progress) for n in names}


def paired_diff(a: PolicyResult, b: PolicyResult) -> tuple[float, float]:
    """Difference a - b of cohort E_p and its paired 95 % half-width (same learners, same
    random numbers, so E_start is shared)."""
    d = a.e_end - b.e_end
    scale = max(1e-12, 1.0 - a.e_start.mean())
    if len(d) < 2:
        return float("nan"), float("nan")
    return float(d.mean() / scale), float(1.96 * d.std(ddof=1) / math.sqrt(len(d)) / scale)
