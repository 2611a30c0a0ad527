"""A forgetting model fitted on a tenant's own evidence (issue 15 item 3): half-life per skill
and learner, for scheduling review.

Evidence: retention checks — an observation of a skill the learner was believed to have
mastered at their previous practice of it, ``days`` earlier. With half-life h the skill is
still known with probability r = 0.5 ** (days / h), and the ticket is correct with
probability r (1 − slip) + (1 − r) guess (scores in [0, 1] are soft evidence).

Hierarchy: log h_k ~ N(log ``prior_days``, ``skill_sd``²) per skill; a learner's
log h_{s,k} = log h_k + e, e ~ N(0, ``learner_sd``²). Grid posteriors (``GRID_DAYS``), as in
``planner.effectiveness``. ``half_lives(learner, skills)`` gives the posterior-median
half-life of each skill for one learner, the mapping ``PlanLearner.half_life_days`` takes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from planner.errors import PlanInputError

GRID_DAYS = np.exp(np.linspace(np.log(1.0), np.log(2000.0), 91))
"""Half-lives (days) the posteriors are computed on, (H,) log-spaced 1 to 2000."""


@dataclass
class ForgettingModel:
    """Online half-life estimates; ``observe`` adds one retention check in place."""

    prior_days: float = 60.0
    skill_sd: float = 1.5
    learner_sd: float = 0.5
    guess: float = 0.2
    slip: float = 0.1
    _ll: dict = field(default_factory=dict, repr=False)
    _marg: dict = field(default_factory=dict, repr=False)  # (learner, skill) -> (H,)
    _total: dict = field(default_factory=dict, repr=False)  # skill -> (H,) sum of _marg

    def observe(self, learner_id: str, skill: str, days: float, score: float) -> None:
        """A ticket ``score`` on ``skill`` ``days`` after the learner's previous practice, at
        which they were believed to have mastered it."""
        if not (days >= 0) or not (0.0 <= score <= 1.0):
            raise PlanInputError(f"days={days}, score={score}; need days >= 0, score in [0, 1]")
        r = 0.5 ** (float(days) / GRID_DAYS)
        pc = r * (1.0 - self.slip) + (1.0 - r) * self.guess
        ll = np.log(np.maximum(score * pc + (1.0 - score) * (1.0 - pc), 1e-12))
        key = (learner_id, skill)
        self._ll[key] = self._ll.get(key, 0.0) + ll
        marg = _lse(self._ll[key][None, :] + np.log(_kernel(self.learner_sd)), axis=1)
        self._total[skill] = self._total.get(skill, 0.0) + marg - self._marg.get(key, 0.0)
        self._marg[key] = marg

    def _skill_log_post(self, skill: str, leave_out: str | None = None) -> np.ndarray:
        """log posterior of the skill's half-life h_k from every learner but ``leave_out``
        (each learner's evidence integrated over their own deviation)."""
        logh = np.log(GRID_DAYS)
        lp = -0.5 * ((logh - np.log(self.prior_days)) / self.skill_sd) ** 2
        lp = lp + self._total.get(skill, 0.0)
        return lp - self._marg.get((leave_out, skill), 0.0)

    def posterior(self, learner_id: str, skill: str) -> np.ndarray:
        """(H,) posterior of this learner's half-life on ``skill`` over ``GRID_DAYS``."""
        lp = self._skill_log_post(skill, leave_out=learner_id)
        prior = _lse(lp[:, None] + np.log(_kernel(self.learner_sd)), axis=0)
        post = prior + self._ll.get((learner_id, skill), 0.0)
        p = np.exp(post - post.max())
        return p / p.sum()

    def half_life(self, learner_id: str, skill: str) -> float:
        """Posterior median half-life in days."""
        cdf = np.cumsum(self.posterior(learner_id, skill))
        return float(GRID_DAYS[int(np.searchsorted(cdf, 0.5))])

    def half_lives(self, learner_id: str, skills: Iterable[str]) -> dict[str, float]:
        """Skill -> half-life (days) for the skills with retention evidence in the tenant."""
        return {k: self.half_life(learner_id, k) for k in skills if k in self._total}


@functools.lru_cache(maxsize=8)
def _kernel(sd: float) -> np.ndarray:
    logh = np.log(GRID_DAYS)
    k = np.exp(-0.5 * ((logh[None, :] - logh[:, None]) / sd) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    mx = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(mx, axis=axis) + np.log(np.sum(np.exp(x - mx), axis=axis))
