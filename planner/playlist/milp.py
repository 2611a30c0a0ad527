"""The per-learner playlist MILP (design notes §2.1), solved with ``scipy.optimize.milp``.

Variables: x_a ∈ {0,1} (A), u_k ∈ [Σ_a L_ak, 0] log non-mastery shift (K), φ_k ∈ [0, 1 − p_k]
expected mastery *gain* (K, offset-free so the relative MIP gap is relative to the gain),
v_f ∈ [0, 1] format f used (F, variety), s_r >= 0 elastic slack of each soft row (S).

    max  Σ_k w_k φ_k + λ Σ_a pref_a x_a + ν Σ_f v_f − Σ_r M_r s_r − μ·churn
    u_k = Σ_a ln(1 − T_ak) x_a
    φ_k <= f_k(t) + f_k'(t)(u_k − t)   for tangent points t   (f_k(u) = (1 − p_k)(1 − e^u))

plus the hard and soft rows of ``planner.playlist.rows``. The tangents over-estimate the
concave gain slightly between tangent points; callers evaluate the chosen x exactly.

scipy's ``milp`` takes no MIP start, so the greedy solution cannot warm-start HiGHS: it is
computed first and kept as the incumbent — the caller returns whichever of the two has the
better exact objective, and the greedy alone when HiGHS finds nothing within the time limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates
from planner.playlist.rows import SoftRow, hard_limits, soft_rows

TANGENTS = (0.0, -0.04, -0.08, -0.12, -0.17, -0.22, -0.28, -0.35, -0.42, -0.5, -0.6, -0.72,
            -0.85, -1.0, -1.2, -1.45, -1.8, -2.3, -3.0)
"""Tangent points of the outer approximation (in u = ln of the non-mastery factor)."""


@dataclass(frozen=True, eq=False)
class MilpResult:
    """``x``: (A,) rounded selection or None; ``slack``: soft-row name -> slack;
    ``status``: "optimal", "time_limit" or "failed"; ``bound``: HiGHS dual bound."""

    x: np.ndarray | None
    slack: Mapping[str, float]
    status: str
    rows: tuple[SoftRow, ...]
    message: str


def solve_milp(c: Candidates, *, time_limit: float | None, mip_rel_gap: float = 1e-4,
               churn: Mapping[int, float] | None = None, churn_penalty: float = 0.0,
               extra_forced: tuple[int, ...] = ()) -> MilpResult:
    """Build and solve the playlist MILP; ``time_limit`` None = solve to ``mip_rel_gap``."""
    r, W = c.request, c.request.weights
    A, K, F = c.n, len(c.skills), len(c.formats)
    soft = soft_rows(c, extra_forced)
    S = len(soft)
    ox, ou, ophi, ov, os_ = 0, A, A + K, A + 2 * K, A + 2 * K + F
    nvar = os_ + S
    lim = hard_limits(c)

    cost = np.zeros(nvar)
    cost[ox:ox + A] = -W.preference * c.pref
    if churn is not None and churn_penalty:
        prev = np.zeros(A, dtype=bool)
        prev[list(churn)] = True
        cost[ox:ox + A] += np.where(prev, -churn_penalty, churn_penalty)
    cost[ophi:ophi + K] = -c.w
    cost[ov:ov + F] = -W.variety
    cost[os_:] = [row.penalty for row in soft]

    L = np.log1p(-c.T)  # (A, K) <= 0
    lb = np.zeros(nvar)
    ub = np.ones(nvar)
    lb[ou:ou + K] = L.sum(axis=0)
    ub[ou:ou + K] = 0.0
    ub[ophi:ophi + K] = 1.0 - c.p
    ub[os_:] = [row.rhs for row in soft]
    integrality = np.zeros(nvar)
    integrality[:A] = 1

    ri: list[np.ndarray] = []
    ci: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rlo: list[float] = []
    rhi: list[float] = []
    nrow = 0

    def add_row(cols, coefs, lo, hi):
        nonlocal nrow
        cols = np.asarray(cols, dtype=np.int64)
        ri.append(np.full(len(cols), nrow, dtype=np.int64))
        ci.append(cols)
        vals.append(np.asarray(coefs, dtype=np.float64))
        rlo.append(lo)
        rhi.append(hi)
        nrow += 1

    for k in range(K):
        a = np.nonzero(L[:, k] < 0)[0]
        add_row(np.r_[ou + k, a], np.r_[1.0, -L[a, k]], 0.0, 0.0)
        q = 1.0 - c.p[k]
        if q <= 0:
            continue
        lo_u = lb[ou + k]
        for t in TANGENTS:
            et = np.exp(t)
            # φ + q e^t u <= q (1 − e^t) + q e^t t
            rhs = q * (1.0 - et) + q * et * t
            add_row([ophi + k, ou + k], [1.0, q * et], -np.inf, max(rhs, 0.0) if t == 0 else rhs)
            if t < lo_u:
                break
    add_row(np.arange(A), c.duration, -np.inf, r.budget_min)
    for mi in range(len(MODALITIES)):
        if np.isfinite(lim.mod_hi[mi]):
            add_row(np.nonzero(c.modality == mi)[0], np.ones(int((c.modality == mi).sum())),
                    -np.inf, lim.mod_hi[mi])
    for f, members in enumerate(c.format_members):
        if np.isfinite(lim.fmt_cap[f]) and len(members) > lim.fmt_cap[f]:
            add_row(members, np.ones(len(members)), -np.inf, lim.fmt_cap[f])
        add_row(np.r_[ov + f, members], np.r_[1.0, -np.ones(len(members))], -np.inf, 0.0)
    for k in range(K):
        a = np.nonzero(lim.touch[:, k])[0]
        if len(a) > r.skill_cap:
            add_row(a, np.ones(len(a)), -np.inf, float(r.skill_cap))
    if A > r.length_max:
        add_row(np.arange(A), np.ones(A), -np.inf, float(r.length_max))
    for a, bs in c.chain_rows:
        add_row(np.r_[a, bs], np.r_[1.0, -np.ones(len(bs))], -np.inf, 0.0)
    for j, row in enumerate(soft):
        m = list(row.members)
        add_row(np.r_[m, os_ + j], np.ones(len(m) + 1), row.rhs, np.inf)

    if nrow:
        M = csr_array((np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))),
                      shape=(nrow, nvar))
        cons = [LinearConstraint(M, np.array(rlo), np.array(rhi))]
    else:
        cons = []
    options = {"disp": False, "mip_rel_gap": mip_rel_gap}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(cost, integrality=integrality, bounds=Bounds(lb, ub), constraints=cons,
               options=options)
    if res.x is None:
        return MilpResult(None, {}, "failed", tuple(soft), str(res.message))
    x = (res.x[:A] > 0.5).astype(np.float64)
    slack = {row.name: float(res.x[os_ + j]) for j, row in enumerate(soft)
             if res.x[os_ + j] > 1e-6}
    status = "optimal" if res.status == 0 else "time_limit"
    return MilpResult(x, slack, status, tuple(soft), str(res.message))
