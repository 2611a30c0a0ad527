"""Evaluation metrics of a replay: pooled, per fold, per skill, first vs later, calibration,
learning curves and learner-cluster bootstrap intervals.

Inputs are per-question (event) arrays; ``y`` 0/1, ``p`` P(correct) in [0, 1].
"""

from __future__ import annotations

import numpy as np

from kt import metrics as M


def _safe(fn, y, p) -> float | None:
    if len(y) == 0:
        return None
    if fn is M.auc and (y.min() == y.max()):
        return None
    v = float(fn(y, p))
    return None if np.isnan(v) else v


def basic(y: np.ndarray, p: np.ndarray) -> dict:
    """Pooled AUC, RMSE, log-loss, accuracy and count (AUC None when one class only)."""
    return {
        "n": int(len(y)),
        "auc": _safe(M.auc, y, p),
        "rmse": _safe(M.rmse, y, p),
        "log_loss": _safe(M.log_loss, y, p),
        "accuracy": _safe(M.accuracy, y, p),
    }


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Reliability curve on ``bins`` equal-width bins and expected calibration error."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    b = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    count = np.bincount(b, minlength=bins)
    sum_p = np.bincount(b, weights=p, minlength=bins)
    sum_y = np.bincount(b, weights=y, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        obs = np.where(count > 0, sum_y / count, np.nan)
    ece = float(np.nansum(count / max(len(y), 1) * np.abs(obs - mean_p)))
    return {
        "bin_edges": edges.tolist(),
        "count": count.tolist(),
        "mean_p": [None if np.isnan(v) else float(v) for v in mean_p],
        "observed": [None if np.isnan(v) else float(v) for v in obs],
        "ece": ece,
    }


def grouped_auc(group: np.ndarray, y: np.ndarray, p: np.ndarray) -> dict[int, float]:
    """AUC per group code (groups with a single class are skipped)."""
    out: dict[int, float] = {}
    order = np.argsort(group, kind="stable")
    g, yy, pp = group[order], y[order], p[order]
    bounds = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        ys = yy[a:b]
        if ys.min() != ys.max():
            out[int(g[a])] = float(M.auc(ys, pp[a:b]))
    return out


def learning_curve(opportunity: np.ndarray, y: np.ndarray, p: np.ndarray, max_opp: int = 20) -> dict:
    """Observed vs predicted error rate by opportunity number (1-based, capped at ``max_opp``)."""
    o = np.minimum(opportunity, max_opp)
    cnt = np.bincount(o, minlength=max_opp + 1)[1:]
    err = np.bincount(o, weights=1.0 - y, minlength=max_opp + 1)[1:]
    perr = np.bincount(o, weights=1.0 - p, minlength=max_opp + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "opportunity": list(range(1, max_opp + 1)),
            "count": cnt.tolist(),
            "observed_error": np.where(cnt > 0, err / np.maximum(cnt, 1), np.nan).tolist(),
            "predicted_error": np.where(cnt > 0, perr / np.maximum(cnt, 1), np.nan).tolist(),
        }


def _weighted_auc_sorted(y: np.ndarray, w: np.ndarray, tie_start: np.ndarray) -> float:
    """AUC with per-example weights ``w``; rows sorted by p ascending, ``tie_start`` marks the
    first row of each group of equal p (ties count one half)."""
    wp = w * y
    wn = w * (1.0 - y)
    grp = np.cumsum(tie_start) - 1
    gp = np.bincount(grp, weights=wp)
    gn = np.bincount(grp, weights=wn)
    neg_below = np.cumsum(gn) - gn
    total_p, total_n = gp.sum(), gn.sum()
    if total_p == 0 or total_n == 0:
        return float("nan")
    return float((gp * (neg_below + 0.5 * gn)).sum() / (total_p * total_n))


def bootstrap_auc(learner: np.ndarray, y: np.ndarray, p: np.ndarray, n_boot: int = 200,
                  seed: int = 0) -> dict:
    """95 % interval of pooled AUC, resampling learners (clusters) with replacement."""
    if n_boot <= 0 or len(y) == 0:
        return {"n_boot": 0, "low": None, "high": None}
    order = np.argsort(p, kind="stable")
    ps, ys, ls = p[order], y[order].astype(np.float64), learner[order]
    tie_start = np.r_[True, ps[1:] != ps[:-1]]
    uniq, inv = np.unique(ls, return_inverse=True)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
        vals.append(_weighted_auc_sorted(ys, counts[inv].astype(np.float64), tie_start))
    vals = np.asarray(vals)
    vals = vals[~np.isnan(vals)]
    return {"n_boot": int(n_boot), "low": float(np.quantile(vals, 0.025)),
            "high": float(np.quantile(vals, 0.975))}


def paired_bootstrap_delta(learner: np.ndarray, y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray,
                           n_boot: int = 200, seed: int = 0) -> dict:
    """AUC(a) - AUC(b) with a 95 % interval from the same learner resamples for both models."""
    if n_boot <= 0 or len(y) == 0:
        return {"n_boot": 0, "delta": None, "low": None, "high": None}
    uniq, inv = np.unique(learner, return_inverse=True)
    prepared = []
    for p in (p_a, p_b):
        order = np.argsort(p, kind="stable")
        ps = p[order]
        prepared.append((order, y[order].astype(np.float64), np.r_[True, ps[1:] != ps[:-1]]))
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))[inv]
        a, b = (_weighted_auc_sorted(ys, w[o].astype(np.float64), ts) for o, ys, ts in prepared)
        deltas.append(a - b)
    d = np.asarray(deltas)
    full = [_weighted_auc_sorted(ys, np.ones(len(ys)), ts) for _, ys, ts in prepared]
    return {"n_boot": int(n_boot), "delta": float(full[0] - full[1]),
            "low": float(np.nanquantile(d, 0.025)), "high": float(np.nanquantile(d, 0.975))}


def mean_std(values: list[float | None]) -> dict:
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return {"mean": None, "std": None}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
