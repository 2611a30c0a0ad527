"""The world family of the benchmark (``python -m benchmarks.planner_sim``) and its runner.

Thirteen worlds: one close to the planner's assumptions, one per kind of misspecification
(made harsh), graph shapes and session lengths, the à la carte class, uncertain beliefs with
short checks available, and all at once.
``run_world`` runs every policy on the same drawn world (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.simulate.baselines import POLICIES
from planner.simulate.world_run import engine_request, simulate_class, simulate_learner
from planner.simulate.worlds import WorldSpec, build_world

WORLDS: tuple[WorldSpec, ...] = (
    WorldSpec("near-assumptions", gate=0.25, description="close to the planner's own model"),
    WorldSpec("graph-wrong", missing_edges=0.3, extra_edges=0.3, gate=0.1,
              description="30 % of true edges undeclared, 30 % spurious, gate 0.1"),
    WorldSpec("learners-differ", rate_sigma=0.7, guess=(0.05, 0.4), slip=(0.03, 0.3),
              description="own learn rate (sd 0.7 log), guess 0.05-0.4, slip 0.03-0.3"),
    WorldSpec("catalog-wrong", quality_sigma=0.8,
              description="true activity quality x lognormal(sd 0.8) unknown to the catalog"),
    WorldSpec("prefs-partly", pref_accuracy=0.4, pref_boost=1.6, pref_mismatch=0.7,
              description="declared formats 40 % right; match x1.6, mismatch x0.7"),
    WorldSpec("forgetting", half_life_days=12.0, fatigue=0.6, sessions=8,
              description="half-life 12 d (x1.6 per practice), fatigue 0.6 per repeat"),
    WorldSpec("rubric-absent", p_rubric=0.4, p_absent=0.3,
              description="40 % rubric-only scores, 30 % no evidence"),
    WorldSpec("accommodations", accommodation_share=0.5, support=0.3, session_minutes=35,
              description="half need accommodations, 30 % support; 35-min sessions"),
    WorldSpec("deep-narrow", n_skills=36, n_layers=12, max_prereqs=1, session_minutes=120,
              description="12 layers of 3 skills, 120-min sessions"),
    WorldSpec("shallow-wide", n_skills=48, n_layers=2, max_prereqs=3, session_minutes=45,
              description="2 layers of 24 skills, 45-min sessions"),
    WorldSpec("a-la-carte", class_model="a_la_carte", session_minutes=150, sessions=4,
              description="150-min online-only class (engine's a la carte bounds)"),
    WorldSpec("uncertain-checks", pretest_share=0.8, pretest_items=1, checks=True,
              description="one pretest item per skill (uncertain beliefs); a 5-min check per skill"),
    WorldSpec("everything", missing_edges=0.2, extra_edges=0.2, gate=0.15, rate_sigma=0.5,
              guess=(0.05, 0.35), slip=(0.05, 0.25), quality_sigma=0.6, pref_accuracy=0.5,
              half_life_days=20.0, fatigue=0.7, p_rubric=0.3, p_absent=0.2,
              accommodation_share=0.3, support=0.4,
              description="every misspecification at once, milder each"),
)


def _nothing(world, learner, request, session, seed) -> list:
    """No instruction: the reference every policy's gain is measured against."""
    return []


@dataclass(frozen=True)
class WorldResult:
    """One policy on one drawn world: ``gain`` (S,) E_p per learner = skills truly mastered
    at the end minus at the end of the same horizon without instruction (same random
    numbers, so forgetting and the start cancel), ``blind_rate`` share
    of items on a skill with an unknown true prerequisite, ``violations``, ``minutes`` per
    learner-session, ``plan_ms`` per call."""

    policy: str
    world: str
    seed: int
    gain: np.ndarray
    blind_rate: float
    violations: int
    minutes: float
    plan_ms: float

    @property
    def mean(self) -> float:
        return float(self.gain.mean())


ORDERS = ("side_by_side", "one_by_one")


def run_world(spec: WorldSpec, seed: int, policies=None, *,
              order: str = "side_by_side") -> dict[str, WorldResult]:
    """Every policy (name -> callable, default all) on world ``spec`` drawn with ``seed``.
    ``order``: "side_by_side" (default) runs the learners as a school does, session by
    session for the whole class (:func:`~planner.simulate.world_run.simulate_class`);
    "one_by_one" runs each learner's whole horizon before the next's (the order before the
    tenth session). It matters only to policies that learn from the evidence they see."""
    if order not in ORDERS:
        raise ValueError(f"order={order!r}; use one of {ORDERS}")
    policies = policies or POLICIES
    world = build_world(spec, seed)
    request = engine_request(spec)
    idle = np.array([simulate_learner(world, s, _nothing, request).true_end.sum()
                     for s in range(spec.n_learners)], dtype=float)
    out = {}
    for name, fn in policies.items():
        if order == "side_by_side":
            outs = simulate_class(world, fn, request)
        else:
            outs = [simulate_learner(world, s, fn, request) for s in range(spec.n_learners)]
        items = sum(o.items for o in outs)
        out[name] = WorldResult(
            name, spec.name, seed, np.array([o.true_end.sum() for o in outs]) - idle,
            sum(o.blind for o in outs) / max(items, 1), sum(o.violations for o in outs),
            sum(o.minutes for o in outs) / (spec.n_learners * spec.sessions),
            sum(o.plan_s for o in outs) / (spec.n_learners * spec.sessions) * 1e3)
    return out


T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def mean_ci(values) -> tuple[float, float]:
    """Mean and 95 % half-width (Student t) of per-seed values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    t = T95.get(len(v) - 1, 1.96)
    return float(v.mean()), float(t * v.std(ddof=1) / math.sqrt(len(v)))
