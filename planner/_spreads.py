"""The multiplier grid of :mod:`planner.effectiveness` and its priors, and the prior spreads
chosen from a school's evidence (type-II maximum likelihood on the grid): how much kind x
modality groups, activities within a group and learners' format multipliers differ.
Log-likelihood arrays are (n, G) over ``GRID``; spreads are sds of log multipliers."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from planner._logmath import _log_matmul, _logsumexp, _sum_rows

GRID = np.exp(np.linspace(np.log(0.1), np.log(5.0), 81))
"""Multipliers the posteriors are computed on, (G,) from 0.1 to 5 (log-spaced)."""

SD_GRID = (0.03, 0.1, 0.2, 0.35, 0.5, 0.8)
"""Prior spreads (log-multiplier sd) chosen from for ``group_sd``, ``activity_sd`` and
``learner_sd`` (wider ones would be cut by the multiplier grid's ends, 0.1-5)."""

MIN_UNITS = 4
"""A spread is chosen from the evidence only when at least this many groups (for
``group_sd``), activities (``activity_sd``) or learner-format pairs (``learner_sd``) have
tickets; with fewer, one spread cannot be told from chance and the given value stays."""


@functools.lru_cache(maxsize=16)
def normal_kernel(sd: float) -> np.ndarray:
    """(G, G) row-normalised N(log GRID[j]; log GRID[i] − sd²/2, sd) on the grid (the
    activity's multiplier has mean the group's)."""
    logg = np.log(GRID)
    k = np.exp(-0.5 * ((logg[None, :] - logg[:, None] + sd ** 2 / 2) / sd) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def group_log_prior(logg: np.ndarray, group_sd: float) -> np.ndarray:
    """log N(log m_g; −group_sd²/2, group_sd) up to a constant: mean multiplier 1, the
    catalog's."""
    return -0.5 * ((logg + group_sd ** 2 / 2) / group_sd) ** 2


def activity_spreads(act_ll: Mapping, group_of: Mapping, fixed: tuple[float, float]
                     ) -> tuple[float, float]:
    """(group_sd, activity_sd) on ``SD_GRID`` of largest marginal likelihood of the activities'
    tickets, log Π_groups Σ_{m_g} prior(m_g) Π_a Σ_{m_a} N(m_a | m_g) L_a(m_a).

    ``act_ll``: activity id -> (G,) log-likelihood on ``GRID``; ``group_of``: activity id ->
    group key; ``fixed``: the values kept where too few units have tickets (``MIN_UNITS``)."""
    aids = [a for a in act_ll if np.any(act_ll[a] != 0.0)]  # with counted tickets
    if not aids:
        return fixed
    ll = np.stack([act_ll[a] for a in aids])
    g_of: dict = {}
    gi = np.array([g_of.setdefault(group_of[a], len(g_of)) for a in aids], dtype=np.int64)
    a_sds = SD_GRID if len(aids) >= MIN_UNITS else (fixed[1],)
    g_sds = SD_GRID if len(g_of) >= MIN_UNITS else (fixed[0],)
    if len(a_sds) == 1 and len(g_sds) == 1:
        return fixed
    logg = np.log(GRID)
    best, chosen = -np.inf, fixed
    for a_sd in a_sds:
        marg = _log_matmul(ll, normal_kernel(a_sd).T)  # (n_acts, G): p(D_a | m_g)
        per_group = _sum_rows(marg, gi, len(g_of))
        for g_sd in g_sds:
            prior = group_log_prior(logg, g_sd)
            prior = prior - _logsumexp(prior, axis=0)
            total = float(np.sum(_logsumexp(per_group + prior[None, :], axis=1)))
            if total > best + 1e-9:
                best, chosen = total, (g_sd, a_sd)
    return chosen


def learner_spread(lf_ll: Mapping, log_boost: float, fixed: float) -> float:
    """``learner_sd`` on ``SD_GRID`` of largest marginal likelihood of the learner-format
    tickets (``lf_ll``: (learner, format, declared) -> (G,) log-likelihood; the prior mean is
    ``log_boost`` for a declared format, 0 otherwise); ``fixed`` with fewer than
    ``MIN_UNITS`` pairs with tickets."""
    keys = [k for k in lf_ll if np.any(lf_ll[k] != 0.0)]
    if len(keys) < MIN_UNITS:
        return fixed
    ll = np.stack([lf_ll[k] for k in keys])
    mu = np.array([log_boost if k[2] else 0.0 for k in keys])[:, None]
    logg = np.log(GRID)[None, :]
    best, chosen = -np.inf, fixed
    for sd in SD_GRID:
        prior = -0.5 * ((logg - mu) / sd) ** 2
        prior = prior - _logsumexp(prior, axis=1)[:, None]
        total = float(np.sum(_logsumexp(prior + ll, axis=1)))
        if total > best + 1e-9:
            best, chosen = total, sd
    return chosen
