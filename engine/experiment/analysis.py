"""The analysis: effect size, confidence interval and p-value of each metric, arm 1 minus
arm 0, and whether the planned sample is reached.

Learner randomisation: Welch's t on the learners' outcomes. Class randomisation: Welch's t on
the class means (each class one observation, so the interval and p-value respect the
clustering; the intra-class correlation is reported). Cohen's d uses the pooled learner-level
SD in both cases; Hedges' g = d * (1 - 3 / (4 (n0 + n1) - 9)) with the usual large-sample SE.
Two-sided tests at the registered alpha; intervals at 1 - alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.experiment.design import Design
from engine.experiment.outcome import Outcome


@dataclass(frozen=True)
class Welch:
    """Difference in means ``b - a``, its standard error, Welch df, CI at ``1 - alpha`` and the
    two-sided p-value."""

    diff: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float


def welch(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> Welch:
    """Welch's unequal-variance t test of mean(b) - mean(a); ``a``, ``b``: 1-D, >= 2 values each."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(a), len(b)
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    diff = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0.0:  # no spread at all: the difference is exact
        return Welch(diff, 0.0, float(na + nb - 2), diff, diff, 1.0 if diff == 0.0 else 0.0)
    df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    t = stats.t.ppf(1.0 - alpha / 2.0, df)
    p = 2.0 * stats.t.sf(abs(diff) / se, df)
    return Welch(diff, se, float(df), diff - t * se, diff + t * se, float(p))


def hedges_g(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """``(cohen_d, hedges_g, g_low, g_high)`` of b vs a (pooled SD; 0 when there is no spread)."""
    from scipy import stats

    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2))
    d = 0.0 if pooled == 0 else float((np.mean(b) - np.mean(a)) / pooled)
    g = d * (1.0 - 3.0 / (4.0 * (na + nb) - 9.0))
    se = math.sqrt((na + nb) / (na * nb) + g * g / (2.0 * (na + nb)))
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    return d, g, g - z * se, g + z * se


def icc_anova(values: np.ndarray, groups: Sequence[str]) -> float:
    """One-way ANOVA estimate of the intra-class correlation (clipped at 0); NaN when it cannot
    be estimated (fewer than 2 groups or no within-group replication)."""
    values = np.asarray(values, dtype=float)
    keys, idx = np.unique(np.asarray(groups), return_inverse=True)
    k, n = len(keys), len(values)
    if k < 2 or n <= k:
        return float("nan")
    counts = np.bincount(idx)
    means = np.bincount(idx, weights=values) / counts
    msb = float(np.sum(counts * (means - values.mean()) ** 2) / (k - 1))
    msw = float(np.sum((values - means[idx]) ** 2) / (n - k))
    n0 = (n - np.sum(counts**2) / n) / (k - 1)
    denom = msb + (n0 - 1) * msw
    return float(max(0.0, (msb - msw) / denom)) if denom > 0 else float("nan")


@dataclass(frozen=True)
class MetricResult:
    """One metric's comparison (arm 1 minus arm 0). ``n``: learners with an outcome per arm;
    ``clusters``: classes per arm (class randomisation, else empty); ``method``: what the
    interval and p-value come from."""

    metric: str
    arms: tuple[str, str]
    n: tuple[int, int]
    clusters: tuple[int, int]
    mean: tuple[float, float]
    sd: tuple[float, float]
    test: Welch
    cohen_d: float
    hedges_g: float
    g_ci: tuple[float, float]
    icc: float
    method: str


def _by_arm(design: Design, outcomes: Sequence[Outcome], metric: str):
    names = [a.name for a in design.arms]
    rows = [[o for o in outcomes if o.arm == name and metric in o.values] for name in names]
    return names, rows


def compare(design: Design, outcomes: Sequence[Outcome], metric: str) -> MetricResult:
    """The comparison of ``metric`` (needs >= 2 learners per arm, and >= 2 classes per arm
    under class randomisation — :func:`shortfall` says how many are missing)."""
    names, rows = _by_arm(design, outcomes, metric)
    y = [np.array([o.values[metric] for o in r], dtype=float) for r in rows]
    alpha = design.sample.alpha
    d, g, glo, ghi = hedges_g(y[0], y[1], alpha)
    all_y = np.concatenate(y)
    icc = icc_anova(all_y, [o.class_id for r in rows for o in r])
    if design.unit == "class":
        cm = [_class_means(r, metric) for r in rows]
        test = welch(cm[0], cm[1], alpha)
        clusters = (len(cm[0]), len(cm[1]))
        method = "Welch t test on class means (the class is the unit randomised)"
    else:
        test = welch(y[0], y[1], alpha)
        clusters = ()
        method = "Welch t test on learners"
    return MetricResult(metric, (names[0], names[1]), (len(y[0]), len(y[1])), clusters,
                        (float(y[0].mean()), float(y[1].mean())),
                        (float(y[0].std(ddof=1)), float(y[1].std(ddof=1))), test, d, g, (glo, ghi), icc, method)


def _class_means(rows: Sequence[Outcome], metric: str) -> np.ndarray:
    groups: dict[str, list[float]] = {}
    for o in rows:
        groups.setdefault(o.class_id, []).append(o.values[metric])
    return np.array([np.mean(v) for _k, v in sorted(groups.items())], dtype=float)


def shortfall(design: Design, outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    """Per arm, how many more learners (``learners``) and, under class randomisation, classes
    (``classes``) with a primary outcome are needed to reach the planned sample; empty when
    reached. Class randomisation needs the planned classes per arm (each with an outcome),
    learner randomisation the planned learners per arm."""
    names, rows = _by_arm(design, outcomes, design.primary_metric)
    out: dict[str, dict[str, int]] = {}
    for name, r in zip(names, rows, strict=True):
        if design.unit == "class":
            more = design.sample.clusters_per_arm - len({o.class_id for o in r})
            if more > 0:
                out[name] = {"classes": more}
        else:
            more = design.sample.n_per_arm - len(r)
            if more > 0:
                out[name] = {"learners": more}
    return out


def _counts(design: Design, outcomes: Sequence[Outcome]) -> list[int]:
    """Per arm: learners (or, by class, classes) with a primary outcome."""
    _names, rows = _by_arm(design, outcomes, design.primary_metric)
    if design.unit == "class":
        return [len({o.class_id for o in r}) for r in rows]
    return [len(r) for r in rows]


def information_fraction(design: Design, outcomes: Sequence[Outcome]) -> float:
    """The smaller arm's share of its planned sample (learners, or classes by class), capped at 1."""
    planned = design.sample.clusters_per_arm if design.unit == "class" else design.sample.n_per_arm
    return min(1.0, min(_counts(design, outcomes)) / planned)


def too_few(design: Design, outcomes: Sequence[Outcome]) -> bool:
    """Fewer than 2 units with an outcome in an arm (nothing to compare yet)."""
    return min(_counts(design, outcomes)) < 2
