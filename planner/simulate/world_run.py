"""Run a policy through a ``World`` (``planner.simulate.worlds``) as the service would.

Each session: build the learner's ``PlanLearner`` from observed evidence only, the way
``engine.planning.plan_learner`` does (mastery of observed skills from the engine's default
BKT, days since the last observation, struggling = at least 3 observations and mastery
< 0.4, goals from the declared profile), and the ``PlaylistRequest`` the way
``engine.planning.playlist_request`` does for the class model; ask the policy for the
session's activities; apply them to the *true* learner; observe exit tickets (0/1, a rubric
score or nothing); update beliefs; let time pass (forgetting).

Measure per learner: ``gain`` = skills truly mastered at the end (one gap after the last
session) minus at the start, in skills. A violation is an item the learner cannot do (hard
filters), beyond the minute budget, or beyond a modality maximum of the class model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kt.bkt.params import SkillParams
from planner._common import MASTERED_THRESHOLD
from planner.model import PlanActivity, PlanLearner, PlaylistRequest
from planner.playlist._eligibility import hard_filter

BELIEF_PARAMS = SkillParams(p_init=0.2, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1)
"""The engine's default BKT (``engine.runtime.DEFAULT_PARAMS``): a new tenant's beliefs."""

STRUGGLING_MIN_OBS = 3
STRUGGLING_MASTERY = 0.4


def bkt_step(p: float, score: float, params: SkillParams = BELIEF_PARAMS) -> float:
    """One soft-evidence BKT filter step then the learn transition (``kt.bkt`` arithmetic):
    ``p`` in [0, 1] mastery before, ``score`` in [0, 1]; returns mastery after."""
    g, sl, t = params.p_guess, params.p_slip, params.p_learn
    like_m = score * (1.0 - sl) + (1.0 - score) * sl
    like_n = score * g + (1.0 - score) * (1.0 - g)
    num = p * like_m
    den = num + (1.0 - p) * like_n
    post = num / den if den > 0 else p
    return post * (1.0 - params.p_forget) + (1.0 - post) * t


def engine_request(spec, *, threshold: float = MASTERED_THRESHOLD) -> PlaylistRequest:
    """The request ``engine.planning.playlist_request`` builds for the world's class model
    (no teacher overrides)."""
    budget = float(spec.session_minutes)
    bounds: dict[str, tuple[int, int]] = {}
    if spec.class_model == "a_la_carte":
        bounds = {"online": (1, 8), "teacher_led": (0, 0), "collaborative": (0, 0),
                  "independent_offline": (0, 0)}
    return PlaylistRequest(budget_min=budget, modality_bounds=bounds,
                           length_max=max(2, min(12, int(budget // 8) or 2)),
                           mastered_threshold=threshold)


def learner_view(base: PlanLearner, ids: tuple[str, ...], belief: np.ndarray,
                 n_obs: np.ndarray, days: np.ndarray) -> PlanLearner:
    """The ``PlanLearner`` the engine builds from evidence: ``belief`` (K,) NaN = never
    observed (no mastery entry), ``n_obs`` (K,) observations, ``days`` (K,) since the last."""
    seen = ~np.isnan(belief)
    mastery = {ids[i]: float(belief[i]) for i in np.nonzero(seen)[0]}
    since = {ids[i]: float(days[i]) for i in np.nonzero(seen)[0]}
    struggling = frozenset(ids[i] for i in np.nonzero(seen)[0]
                           if n_obs[i] >= STRUGGLING_MIN_OBS and belief[i] < STRUGGLING_MASTERY)
    return PlanLearner(
        id=base.id, mastery=mastery, goals=base.goals, interests=base.interests,
        preferred_formats=base.preferred_formats, preferred_groupings=base.preferred_groupings,
        accommodations=base.accommodations, devices=base.devices, places=base.places,
        languages=base.languages, days_since_practice=since, struggling=struggling)


Policy = Callable[..., list[PlanActivity]]
"""``policy(world, learner, request, session, seed) -> activities`` in order."""


@dataclass(frozen=True)
class LearnerOutcome:
    """One learner's horizon: ``gain`` (skills), ``items`` planned, ``blind`` items that
    worked on a skill whose true prerequisite the learner did not know, ``violations``,
    ``minutes`` used, ``plan_s`` seconds planning, ``true_end`` (K,) bool."""

    gain: float
    items: int
    blind: int
    violations: int
    minutes: float
    plan_s: float
    true_end: np.ndarray


def violates(a: PlanActivity, learner: PlanLearner, request: PlaylistRequest, used: float,
             mod_count: dict[str, int]) -> bool:
    """True when ``a`` breaks a hard constraint for ``learner`` (``used`` minutes so far
    including ``a``; ``mod_count`` items per modality so far including ``a``)."""
    if hard_filter(a, learner, request) is not None or used > request.budget_min + 1e-9:
        return True
    hi = request.modality_bounds.get(a.modality, (0, 10**9))[1]
    return mod_count.get(a.modality, 0) > hi


def simulate_learner(world, s: int, policy: Policy, request: PlaylistRequest) -> LearnerOutcome:
    """Run ``policy`` for learner ``s`` of ``world`` over the horizon (see module doc). A
    policy with an ``observe(world, s, activity, skill, p_before, score, days=...)`` method
    is shown every exit ticket (the evidence the engine would store; ``days`` since the
    previous observation of the skill, NaN for the first)."""
    run = _LearnerRun(world, s, policy, request)
    for sess in range(world.spec.sessions):
        run.session(sess)
    return run.outcome()


def simulate_class(world, policy: Policy, request: PlaylistRequest) -> list[LearnerOutcome]:
    """Every learner of ``world`` side by side, as a school teaches them: session 1 of every
    learner, then session 2, and so on. A policy that learns from the evidence it is shown
    (``observe``) thus sees the whole class's first sessions before anyone's second, where
    :func:`simulate_learner` one learner after another shows it several learners' whole
    horizons first. A policy that learns nothing gets the same outcomes either way (every
    random number is drawn per learner, skill and attempt)."""
    runs = [_LearnerRun(world, s, policy, request) for s in range(world.spec.n_learners)]
    for sess in range(world.spec.sessions):
        for run in runs:
            run.session(sess)
    return [run.outcome() for run in runs]


class _LearnerRun:
    """One learner's state over the horizon: true and believed mastery, evidence counts,
    days since practice, half-lives, and the running totals of :class:`LearnerOutcome`."""

    def __init__(self, world, s: int, policy: Policy, request: PlaylistRequest) -> None:
        self.world, self.s, self.policy, self.request = world, s, policy, request
        self.aidx = world.cache.setdefault("aidx", {a.id: n for n, a in enumerate(world.catalog)})
        self.true = world.true0[s].copy()
        self.belief = world.pre_belief[s].copy()
        self.n_obs = world.pre_obs[s].copy()
        self.days = world.pre_days[s].copy()
        self.half = world.half_life[s].copy()
        self.attempts = np.zeros(len(world.graph.ids), dtype=np.int64)
        self.items = self.blind = self.violations = 0
        self.minutes = self.plan_s = 0.0

    def session(self, sess: int) -> None:
        """Plan session ``sess``, apply it to the true learner, observe, let time pass."""
        import time

        world, s, request = self.world, self.s, self.request
        ids, base = world.graph.ids, world.learners[s]
        learner = learner_view(base, ids, self.belief, self.n_obs, self.days)
        t0 = time.perf_counter()
        acts = self.policy(world, learner, request, sess, int(world.u_policy[s, sess]))
        self.plan_s += time.perf_counter() - t0
        used, mods = 0.0, {}
        reps = np.zeros(len(ids), dtype=np.int64)
        practised: set[int] = set()
        for a in acts:
            used += a.duration_min
            mods[a.modality] = mods.get(a.modality, 0) + 1
            if violates(a, base, request, used, mods):
                self.violations += 1
                continue
            self.items += 1
            self.minutes += a.duration_min
            self.blind += _apply(world, s, a, self.aidx[a.id], self.true, self.belief, self.n_obs,
                                 self.days, self.attempts, reps, practised,
                                 getattr(self.policy, "observe", None))
        _between_sessions(world, s, sess, self.true, self.days, self.half, practised)

    def outcome(self) -> LearnerOutcome:
        gain = float(self.true.sum() - self.world.true0[self.s].sum())
        return LearnerOutcome(gain, self.items, self.blind, self.violations, self.minutes,
                              self.plan_s, self.true)


def _apply(world, s, a: PlanActivity, ai: int, true, belief, n_obs, days, attempts, reps,
           practised, observe=None) -> int:
    """One activity on the true learner and its evidence; returns 1 when it worked on a
    skill whose true prerequisite the learner does not know, else 0."""
    spec, g = world.spec, world.graph
    pref = spec.pref_boost if set(a.format_keys) & world.true_formats[s] else spec.pref_mismatch
    is_blind = 0
    for k, _w in a.skills:
        i = g.index[k]
        j = min(int(attempts[i]), world.u_learn.shape[2] - 1)
        attempts[i] += 1
        if not true[i]:
            blocked = any(not true[q] for q in world.true_prereqs[i])
            is_blind |= int(blocked)
            p = a.learn_probability(k) * world.rate[s] * world.quality[ai] * pref
            p = min(p * spec.fatigue ** int(reps[i]), 0.95) * (spec.gate if blocked else 1.0)
            if world.u_learn[s, i, j] < p:
                true[i] = True
        reps[i] += 1
        practised.add(i)
        mode = world.u_mode[s, i, j]
        if mode < spec.p_absent:
            continue
        if mode < spec.p_absent + spec.p_rubric:
            score = float(np.clip((0.8 if true[i] else 0.35) + (world.u_noise[s, i, j] - 0.5) * 0.6,
                                  0.0, 1.0))
        else:
            pc = 1.0 - world.slip[s] if true[i] else world.guess[s]
            score = 1.0 if world.u_obs[s, i, j] < pc else 0.0
        prior = BELIEF_PARAMS.p_init if math.isnan(belief[i]) else belief[i]
        if observe is not None:
            observe(world, s, a, k, float(prior), score, days=float(days[i]))
        belief[i] = bkt_step(prior, score)
        n_obs[i] += 1
        days[i] = 0.0
    return is_blind


def _between_sessions(world, s, sess, true, days, half, practised) -> None:
    """Time passes (``gap_days``): forgetting by half-life, consolidation of practice."""
    spec = world.spec
    for i in practised:
        if true[i]:
            half[i] *= spec.consolidation
    days += spec.gap_days  # NaN (never observed) stays NaN
    if math.isfinite(spec.half_life_days):
        p_forget = 1.0 - 0.5 ** (spec.gap_days / half)
        true &= ~(world.u_forget[s, sess] < p_forget)
