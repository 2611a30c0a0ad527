"""A forgetting model fitted on a tenant's own evidence (issue 15 item 3): half-life per skill
and learner, for scheduling review.

Evidence: retention checks — an observation of a skill the learner was believed to have
mastered at their previous practice of it, ``days`` earlier. With half-life h the skill is
still known with probability r = 0.5 ** (days / h), and the ticket is correct with
probability r (1 − slip) + (1 − r) guess (scores in [0, 1] are soft evidence).

A learner's own slip rate (``learner_slip``, on by default). A retention check fails either
because the skill faded or because the learner slipped; read with one slip rate for
everyone, a learner who slips often looks like one who forgets fast (in the simulator's
learners-differ world, slips 0.03-0.3 and no forgetting at all, fitted half-lives had median
63 days, shorter than in the world where learners do forget). Tickets on a skill believed
mastered in the same session as its previous practice (``observe_same_day``: nothing can have
faded) measure the slip: each learner's is the posterior mean of Beta(``slip_strength`` ·
``slip``, ``slip_strength`` · (1 − ``slip``)) after their same-day errors, and their retention
checks are read with it.

Does this school forget at all? (``forgetting_evidence``, ``forgets``.) Read one check at a
time, a hierarchical fit cannot say "nothing fades": with few checks per skill its half-lives
stay near the prior (60 days), short enough to make review look worth protecting in a school
whose learners forget nothing (the simulator's learners-differ world: fitted median 63 days).
So the model also keeps a school-level likelihood of every check over one half-life for the
whole school (``GRID_DAYS`` and infinity) and one slip (``SLIP_GRID``), and its statistic
2 (max log L − max log L at h = ∞) against "nothing fades". ``forgets()`` is True when it
reaches ``forgets_lr`` (2.71: the 5 % level of the boundary test, ½χ²₀ + ½χ²₁). With
``school_prior`` the per-skill prior is centred on the school's own half-life
(``school_half_life``, the profile maximum) instead of ``prior_days`` once the school forgets.

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

from planner._logmath import _logsumexp, _normalise
from planner.errors import PlanInputError

GRID_DAYS = np.exp(np.linspace(np.log(1.0), np.log(2000.0), 91))
"""Half-lives (days) the posteriors are computed on, (H,) log-spaced 1 to 2000."""
SCHOOL_DAYS = np.append(GRID_DAYS, np.inf)
"""(H + 1,) the school-level test's half-lives: ``GRID_DAYS`` and ∞ (nothing fades)."""
SLIP_GRID = np.linspace(0.01, 0.5, 50)
"""(L,) the school-level test's slip probabilities."""
FORGETS_LR = 2.71
"""Likelihood-ratio statistic against "nothing fades" at which a school forgets: the 5 % level
of the boundary test (½χ²₀ + ½χ²₁)."""


@dataclass
class ForgettingModel:
    """Online half-life estimates; ``observe`` adds one retention check, ``observe_same_day``
    one same-session ticket on a mastered skill (the learner's slip), both in place; the
    likelihoods they change (that check's learner and skill; every check of that learner) are
    recomputed at the next query."""

    prior_days: float = 60.0
    skill_sd: float = 1.5
    learner_sd: float = 0.5
    guess: float = 0.2
    slip: float = 0.1
    learner_slip: bool = True
    slip_strength: float = 10.0
    forgets_lr: float = FORGETS_LR
    school_prior: bool = False
    _school: np.ndarray = field(default_factory=lambda: np.zeros((len(SCHOOL_DAYS), len(SLIP_GRID))),
                                repr=False)  # (H + 1, L) school-level log-likelihood
    _pending: list = field(default_factory=list, repr=False)  # checks not yet in _school
    _checks: dict = field(default_factory=dict, repr=False)  # (learner, skill) -> [(days, score)]
    _slips: dict = field(default_factory=dict, repr=False)  # learner -> [errors, tickets]
    _skills_of: dict = field(default_factory=dict, repr=False)  # learner -> skills with checks
    _dirty: set = field(default_factory=set, repr=False)  # (learner, skill) to recompute
    _ll: dict = field(default_factory=dict, repr=False)  # (learner, skill) -> (H,)
    _marg: dict = field(default_factory=dict, repr=False)  # ... integrated over the learner
    _total: dict = field(default_factory=dict, repr=False)  # skill -> (H,) sum of _marg

    def observe(self, learner_id: str, skill: str, days: float, score: float) -> None:
        """A ticket ``score`` on ``skill`` ``days`` after the learner's previous practice, at
        which they were believed to have mastered it."""
        if not (days >= 0) or not (0.0 <= score <= 1.0):
            raise PlanInputError(f"days={days}, score={score}; need days >= 0, score in [0, 1]")
        self._checks.setdefault((learner_id, skill), []).append((float(days), float(score)))
        self._pending.append((float(days), float(score)))
        self._skills_of.setdefault(learner_id, set()).add(skill)
        self._dirty.add((learner_id, skill))

    def observe_same_day(self, learner_id: str, score: float) -> None:
        """A ticket ``score`` on a skill the learner was believed to have mastered, in the same
        session as their previous practice of it: an error is a slip, not forgetting."""
        if not (0.0 <= score <= 1.0):
            raise PlanInputError(f"score={score}; it must be in [0, 1]")
        tally = self._slips.setdefault(learner_id, [0.0, 0])
        tally[0] += 1.0 - float(score)
        tally[1] += 1
        self._dirty.update((learner_id, k) for k in self._skills_of.get(learner_id, ()))

    def learner_slip_rate(self, learner_id: str) -> float:
        """The learner's slip probability: the posterior mean of their same-day errors under
        Beta(``slip_strength`` · ``slip``, ``slip_strength`` · (1 − ``slip``)); ``slip`` when
        ``learner_slip`` is off or they have none."""
        errors, n = self._slips.get(learner_id, (0.0, 0))
        if not self.learner_slip or n == 0:
            return self.slip
        return (self.slip_strength * self.slip + errors) / (self.slip_strength + n)

    def _school_ll(self) -> np.ndarray:
        """(H + 1, L) school-level log-likelihood with every check so far (new ones added in
        chunks of 256, vectorised)."""
        pending, self._pending = self._pending, []
        for i in range(0, len(pending), 256):
            d, sc = (np.array(c)[:, None, None] for c in zip(*pending[i:i + 256], strict=True))
            r = 0.5 ** (d / SCHOOL_DAYS[None, :, None])
            pc = r * (1.0 - SLIP_GRID[None, None, :]) + (1.0 - r) * self.guess
            self._school = self._school + np.log(np.maximum(sc * pc + (1.0 - sc) * (1.0 - pc), 1e-12)).sum(axis=0)
        return self._school

    def forgetting_evidence(self) -> float:
        """2 (max log L − max log L with nothing fading) of the school-level fit, >= 0; 0
        without checks."""
        self._school_ll()
        return float(2.0 * (self._school.max() - self._school[-1].max()))

    def forgets(self) -> bool:
        """Whether the school's retention checks show forgetting (statistic >= ``forgets_lr``)."""
        return self.forgetting_evidence() >= self.forgets_lr

    def school_half_life(self) -> float:
        """The school-level half-life (days) of the best fit; ∞ when nothing fading fits best
        (or there are no checks)."""
        best = self._school_ll().max(axis=1)
        if best[-1] >= best.max():
            return float("inf")
        return float(SCHOOL_DAYS[int(np.argmax(best))])

    def _prior_days(self) -> float:
        if self.school_prior and self.forgets():
            return min(max(self.school_half_life(), GRID_DAYS[0]), GRID_DAYS[-1])
        return self.prior_days

    def fit(self) -> ForgettingModel:
        """Recompute what new evidence changed now (else at the next query): call it before the
        model is shared between threads, so that no request pays the fit."""
        self._school_ll()
        log_k = np.log(_kernel(self.learner_sd))
        for key in self._dirty:
            checks = self._checks[key]
            d = np.array([c[0] for c in checks])[:, None]
            sc = np.array([c[1] for c in checks])[:, None]
            slip = self.learner_slip_rate(key[0])
            r = 0.5 ** (d / GRID_DAYS[None, :])
            pc = r * (1.0 - slip) + (1.0 - r) * self.guess
            self._ll[key] = np.log(np.maximum(sc * pc + (1.0 - sc) * (1.0 - pc), 1e-12)).sum(axis=0)
            marg = _logsumexp(self._ll[key][None, :] + log_k, axis=1)
            self._total[key[1]] = self._total.get(key[1], 0.0) + marg - self._marg.get(key, 0.0)
            self._marg[key] = marg
        self._dirty.clear()
        return self

    def _skill_log_post(self, skill: str, leave_out: str | None = None) -> np.ndarray:
        """log posterior of the skill's half-life h_k from every learner but ``leave_out``
        (each learner's evidence integrated over their own deviation)."""
        logh = np.log(GRID_DAYS)
        lp = -0.5 * ((logh - np.log(self._prior_days())) / self.skill_sd) ** 2
        lp = lp + self._total.get(skill, 0.0)
        return lp - self._marg.get((leave_out, skill), 0.0)

    def posterior(self, learner_id: str, skill: str) -> np.ndarray:
        """(H,) posterior of this learner's half-life on ``skill`` over ``GRID_DAYS``."""
        self.fit()
        lp = self._skill_log_post(skill, leave_out=learner_id)
        prior = _logsumexp(lp[:, None] + np.log(_kernel(self.learner_sd)), axis=0)
        return _normalise(prior + self._ll.get((learner_id, skill), 0.0))

    def half_life(self, learner_id: str, skill: str) -> float:
        """Posterior median half-life in days."""
        cdf = np.cumsum(self.posterior(learner_id, skill))
        return float(GRID_DAYS[int(np.searchsorted(cdf, 0.5))])

    def half_lives(self, learner_id: str, skills: Iterable[str]) -> dict[str, float]:
        """Skill -> half-life (days) for the skills with retention evidence in the tenant."""
        self.fit()
        return {k: self.half_life(learner_id, k) for k in skills if k in self._total}


@functools.lru_cache(maxsize=8)
def _kernel(sd: float) -> np.ndarray:
    logh = np.log(GRID_DAYS)
    k = np.exp(-0.5 * ((logh[None, :] - logh[:, None]) / sd) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def with_half_life(learner, half_life_days: float):
    """``learner`` (a ``PlanLearner``) with ``half_life_days`` (days, > 0) on every skill they
    have practised and have no half-life of their own: the planner then decays those skills as
    with ``PlaylistRequest.review_half_life_days = half_life_days`` (the only skills either is
    read for). Unchanged when ``half_life_days`` is not finite (nothing fades) or nothing was
    practised. What the engine does with a school's fitted half-life, and what the simulator's
    ``SpacingPathwise(school_half_life=True)`` measured."""
    import math
    from dataclasses import replace

    if not math.isfinite(half_life_days) or not learner.days_since_practice:
        return learner
    h = float(half_life_days)
    return replace(learner, half_life_days={**{k: h for k in learner.days_since_practice},
                                            **learner.half_life_days})
