"""Interim looks with alpha spending (Lan & DeMets, O'Brien-Fleming-type spending function).

The alpha spent by information fraction ``t`` in (0, 1] is
``alpha(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))`` (two-sided), so an early look spends very
little and the final analysis keeps nearly all of ``alpha``. The critical |z| of look ``k``
solves ``P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1})``
under the null, where the looks' z statistics are jointly normal with
``corr(Z_i, Z_j) = sqrt(t_i / t_j)`` (i < j). The final analysis (t = 1) uses the last
boundary; without interim looks it is the plain two-sided test at ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.errors import ValidationError


def spent(t: float, alpha: float) -> float:
    """Cumulative two-sided alpha spent by information fraction ``t`` in (0, 1]."""
    from scipy import stats

    if t >= 1.0:
        return alpha
    return float(2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1.0 - alpha / 2.0) / math.sqrt(t)))


def _inside(limits: Sequence[float], corr: np.ndarray) -> float:
    """P(|Z_i| < limits_i for all i), Z standard normal with correlation ``corr``."""
    from scipy import stats

    lim = np.asarray(limits, dtype=float)
    if len(lim) == 1:
        return float(2.0 * stats.norm.cdf(lim[0]) - 1.0)
    mvn = stats.multivariate_normal(mean=np.zeros(len(lim)), cov=corr)
    return float(mvn.cdf(lim, lower_limit=-lim))


def boundaries(fractions: Sequence[float], alpha: float) -> list[float]:
    """Critical |z| of each look at strictly increasing information ``fractions`` in (0, 1]."""
    from scipy import optimize, stats

    t = [float(x) for x in fractions]
    if any(not (0.0 < x <= 1.0) for x in t) or any(b <= a for a, b in zip(t, t[1:], strict=False)):
        raise ValidationError(f"information fractions {t}: they must increase strictly within (0, 1]")
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    out: list[float] = []
    for k, tk in enumerate(t):
        target = spent(tk, alpha) - (spent(t[k - 1], alpha) if k else 0.0)
        if k == 0:
            out.append(float(stats.norm.ppf(1.0 - target / 2.0)))
            continue
        before = _inside(out, corr[:k, :k])

        def excess(c: float, k: int = k, before: float = before, target: float = target) -> float:
            return before - _inside([*out, c], corr[: k + 1, : k + 1]) - target

        out.append(float(optimize.brentq(excess, 0.5, 10.0, xtol=1e-6)))
    return out


def z_from_p(p_value: float) -> float:
    """The |z| of a two-sided p-value (capped at 40 for p = 0)."""
    from scipy import stats

    return float(min(40.0, stats.norm.isf(max(p_value, 1e-300) / 2.0)))


def level(boundary_z: float) -> float:
    """The two-sided nominal level of a critical |z|: 2 (1 - Phi(c))."""
    from scipy import stats

    return float(2.0 * stats.norm.sf(boundary_z))
