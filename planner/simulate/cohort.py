"""A simulated cohort: skill graph, catalog, learners' profiles and their *true* learning model.

The true model deliberately differs from the planner's BKT:

* learning on skill k is multiplied by ``gate`` (0.25) while a *true* prerequisite of k is
  unmastered (BKT does not know this);
* the true learn probability depends on modality and preference match: x ``modality_factor``
  of the activity's modality (teacher-led instruction works best, independent offline work
  least), then x ``match_boost`` for each of format / interest / grouping the learner
  prefers, x ``mismatch`` otherwise (BKT uses the catalog's p_learn only);
* mastered skills are forgotten with probability ``p_forget_true`` per session when not
  practised (the planner's BKT has no forgetting);
* exit tickets are noisy: P(correct | mastered) = 1 - ``p_slip``, P(correct | not) = ``p_guess``;
* a true learn probability never exceeds ``p_learn_cap``.

Common random numbers: every random draw is indexed by (learner, skill, attempt) or
(learner, session, skill), pre-drawn from the cohort seed, so two policies that make the same
attempt see the same outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.errors import PlanInputError
from planner.model import MASTERED_THRESHOLD, PlanActivity, PlanLearner, SkillGraph


@dataclass(frozen=True)
class TrueModel:
    """Parameters of the simulated students' true learning (see module doc)."""

    gate: float = 0.25
    modality_factor: tuple[tuple[str, float], ...] = (
        ("online", 1.0), ("teacher_led", 1.2), ("collaborative", 1.1),
        ("independent_offline", 0.9))
    match_boost: float = 1.3
    mismatch: float = 0.85
    p_forget_true: float = 0.005
    p_guess: float = 0.2
    p_slip: float = 0.1
    max_attempts: int = 64
    p_learn_cap: float = 0.95


@dataclass(frozen=True, eq=False)
class Cohort:
    """Everything a simulation run needs (deterministic for a seed).

    ``true0`` (S, K) bool initial true mastery; ``prior`` (S, K) the planner's initial P(L);
    ``targets`` (K,) bool target skills; ``u_learn``/``u_obs`` (S, K, max_attempts) and
    ``u_forget`` (S, sessions, K) uniforms for common random numbers; ``u_policy`` (S, sessions)
    seeds for randomised policies. ``mastered_threshold``: θ in (0, 1] the policies and the
    planner's requests use (belief >= θ counts as mastered)."""

    graph: SkillGraph
    catalog: tuple[PlanActivity, ...]
    learners: tuple[PlanLearner, ...]
    targets: np.ndarray
    true0: np.ndarray
    prior: np.ndarray
    u_learn: np.ndarray
    u_obs: np.ndarray
    u_forget: np.ndarray
    u_policy: np.ndarray
    model: TrueModel
    sessions: int
    session_minutes: float
    seed: int
    mastered_threshold: float = MASTERED_THRESHOLD


def make_cohort(n_students: int = 200, *, seed: int = 0, sessions: int = 6,
                session_minutes: float = 120.0, n_skills: int = 60, n_activities: int = 200,
                target_layers: int = 4, model: TrueModel | None = None,
                mastered_threshold: float = MASTERED_THRESHOLD) -> Cohort:
    """Build a cohort on the planner's synthetic 6-layer DAG and catalog; targets are the
    skills in layers ``0..target_layers-1``. Initial true mastery ~ Bernoulli(prior)."""
    if not (0.0 < mastered_threshold <= 1.0):
        raise PlanInputError(f"mastered_threshold={mastered_threshold}; it must be in (0, 1]")
    from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner

    model = model or TrueModel()
    graph = synthetic_graph(seed, n_skills=n_skills)
    catalog = tuple(synthetic_catalog(graph, seed, n_activities=n_activities))
    rng = np.random.default_rng(seed + 1009)
    learners = []
    for s in range(n_students):
        lr = synthetic_learner(graph, seed * 100003 + s, learner_id=f"sim-{s:04d}")
        learners.append(lr)
    n_k = len(graph)
    prior = np.array([[lr.mastery_of(k) for k in graph.ids] for lr in learners]).reshape(n_students, n_k)
    true0 = rng.random((n_students, n_k)) < prior
    targets = graph.rank < target_layers
    return Cohort(
        graph=graph, catalog=catalog, learners=tuple(learners), targets=targets, true0=true0,
        prior=prior, u_learn=rng.random((n_students, n_k, model.max_attempts)),
        u_obs=rng.random((n_students, n_k, model.max_attempts)),
        u_forget=rng.random((n_students, sessions, n_k)),
        u_policy=rng.integers(0, 2**31 - 1, size=(n_students, sessions)), model=model,
        sessions=sessions, session_minutes=float(session_minutes), seed=seed,
        mastered_threshold=float(mastered_threshold))


def true_learn_probability(model: TrueModel, learner: PlanLearner, activity: PlanActivity,
                           skill: str) -> float:
    """The simulated student's real learn probability (before the prerequisite gate)."""
    t = activity.learn_probability(skill) * dict(model.modality_factor).get(activity.modality, 1.0)
    for match in (bool(set(activity.format_keys) & learner.preferred_formats),
                  bool(set(activity.interests) & learner.interests),
                  activity.grouping in learner.preferred_groupings):
        t *= model.match_boost if match else model.mismatch
    return float(min(t, model.p_learn_cap))
