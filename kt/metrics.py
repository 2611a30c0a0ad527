"""Prediction metrics for binary outcomes (NumPy only).

Every function takes ``y_true`` (n,) of 0/1 outcomes and ``p`` (n,) predicted P(correct) in
[0, 1] and returns a float. Rows whose truth is not 0 or 1 (e.g. NaN) are dropped, as pyBKT
does for AUC.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from kt.errors import ParameterError


def _clean(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    q = np.asarray(p, dtype=np.float64).reshape(-1)
    if y.shape != q.shape:
        raise ParameterError(
            f"y_true has {y.size} values and p has {q.size}; pass one prediction per outcome"
        )
    keep = (y == 0.0) | (y == 1.0)
    return y[keep], q[keep]


def auc(y_true, p) -> float:
    """Area under the ROC curve; ties in ``p`` count one half (Mann-Whitney U).

    Returns NaN with a ``RuntimeWarning`` naming the reason when only one outcome class
    (or no row) is present, since AUC is undefined then.
    """
    y, q = _clean(y_true, p)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        warnings.warn(
            f"AUC is undefined: {n_pos} correct and {n_neg} incorrect outcomes "
            "(needs both classes); returning NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    order = np.argsort(q, kind="mergesort")
    qs = q[order]
    # average ranks (1-based) over ties
    boundaries = np.flatnonzero(np.diff(qs)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(qs)]])
    avg_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(qs))
    ranks[order] = np.repeat(avg_rank, ends - starts)
    rank_sum = ranks[y == 1.0].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def rmse(y_true, p) -> float:
    """Root mean squared error of ``p`` against the outcomes (NaN when there is no row)."""
    y, q = _clean(y_true, p)
    if len(y) == 0:
        return float("nan")
    return float(np.sqrt(np.mean((y - q) ** 2)))


def accuracy(y_true, p, threshold: float = 0.5) -> float:
    """Share of rows where ``p >= threshold`` equals the outcome (NaN when there is no row)."""
    y, q = _clean(y_true, p)
    if len(y) == 0:
        return float("nan")
    return float(np.mean((q >= threshold) == (y == 1.0)))


def log_loss(y_true, p, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood (natural log) with ``p`` clipped to [eps, 1 - eps]."""
    y, q = _clean(y_true, p)
    if len(y) == 0:
        return float("nan")
    q = np.clip(q, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(q) + (1.0 - y) * np.log1p(-q)))


METRICS: dict[str, Callable[..., float]] = {
    "auc": auc,
    "rmse": rmse,
    "accuracy": accuracy,
    "log_loss": log_loss,
}


def resolve(metric) -> tuple[str, Callable[..., float]]:
    """(name, function) for a metric name in ``METRICS`` or a callable ``f(y_true, p)``."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if isinstance(metric, str) and metric in METRICS:
        return metric, METRICS[metric]
    raise ParameterError(
        f"metric {metric!r} is unknown; use one of {', '.join(METRICS)} or a callable "
        "f(y_true, p) -> float"
    )
