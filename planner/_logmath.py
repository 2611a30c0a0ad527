"""Numerically stable log-space helpers of the grid posteriors (:mod:`planner.effectiveness`,
:mod:`planner._spreads`, :mod:`planner.forgetting`): row sums by key, log of a matrix product,
log-sum-exp, normalisation. Arrays are float64;
shapes in each docstring."""

from __future__ import annotations

import numpy as np


def _sum_rows(x: np.ndarray, to: np.ndarray, n: int) -> np.ndarray:
    """(n, G): row j the sum of the rows of ``x`` whose ``to`` is j (np.add.at, faster)."""
    out = np.zeros((n, x.shape[1]))
    if len(to):
        order = np.argsort(to, kind="stable")
        keys = to[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        out[keys[starts]] = np.add.reduceat(x[order], starts, axis=0)
    return out


def _log_matmul(logx: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log(exp(logx) @ k) row by row, (n, G) @ (G, G), stable (each row scaled by its max)."""
    mx = logx.max(axis=1, keepdims=True)
    return mx + np.log(np.maximum(np.exp(logx - mx) @ k, 1e-300))


def _normalise(logp: np.ndarray) -> np.ndarray:
    p = np.exp(logp - logp.max())
    return p / p.sum()


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(x) along ``axis``, stable (the axis removed)."""
    mx = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(mx, axis=axis) + np.log(np.sum(np.exp(x - mx), axis=axis))
