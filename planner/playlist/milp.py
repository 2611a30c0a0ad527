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
from itertools import combinations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates
from planner.playlist.rows import SoftRow, hard_limits, soft_rows

TANGENTS = (0.0, -0.04, -0.08, -0.12, -0.17, -0.22, -0.28, -0.35, -0.42, -0.5, -0.6, -0.72,
            -0.85, -1.0, -1.2, -1.45, -1.8, -2.3, -3.0)
"""Tangent points of the outer approximation (in u = ln of the non-mastery factor)."""


CONFIG_LIMIT = 40
"""A skill whose candidate subsets of size <= skill cap number at most this many is modelled
exactly by one variable per subset ("configurations"); other skills use the tangents."""


def _cat(*parts) -> np.ndarray:
    """Concatenate scalars and 1-d arrays (a cheaper ``np.r_``)."""
    return np.concatenate([np.atleast_1d(np.asarray(p, dtype=np.float64)) for p in parts])


def _configs(members: np.ndarray, cap: int) -> list[tuple[int, ...]] | None:
    out: list[tuple[int, ...]] = []
    for size in range(1, min(cap, len(members)) + 1):
        out.extend(combinations(members.tolist(), size))
        if len(out) > CONFIG_LIMIT:
            return None
    return out


@dataclass(frozen=True, eq=False)
class MilpResult:
    """``x``: (A,) rounded selection or None; ``slack``: soft-row name -> slack;
    ``status``: "optimal", "time_limit" or "failed"; ``bound``: HiGHS's upper bound on the
    (penalised, linearised) objective, an upper bound on the exact optimum too."""

    x: np.ndarray | None
    slack: Mapping[str, float]
    status: str
    rows: tuple[SoftRow, ...]
    message: str
    bound: float = float("inf")


def solve_milp(c: Candidates, *, time_limit: float | None, mip_rel_gap: float = 1e-4,
               churn: Mapping[int, float] | None = None, churn_penalty: float = 0.0,
               extra_forced: tuple[int, ...] = (), formulation: str = "auto",
               incumbent: float | None = None) -> MilpResult:
    """Build and solve the playlist MILP; ``time_limit`` None = solve to ``mip_rel_gap``.

    ``formulation``: "tangent" models every skill's gain by the tangent outer approximation;
    "auto" models a skill exactly by its subset configurations when they are few
    (``CONFIG_LIMIT``) — a much tighter LP relaxation — and by tangents otherwise.
    ``incumbent``: exact penalised objective of a known solution (the greedy). scipy's milp
    takes no MIP start, so it enters as a cutoff row (objective >= incumbent + 1e-7): nodes
    that cannot beat it are pruned, and an infeasible result proves the incumbent optimal
    (status "incumbent_optimal"). The linearised objective never under-estimates the exact
    one, so the cutoff never removes a better solution.
    """
    if formulation not in ("auto", "tangent"):
        raise ValueError(f"formulation={formulation!r}; use 'auto' or 'tangent'")
    r, W = c.request, c.request.weights
    A, K, F = c.n, len(c.skills), len(c.formats)
    soft = soft_rows(c, extra_forced)
    lim = hard_limits(c)
    L = np.log1p(-c.T)  # (A, K) <= 0

    cost: list[float] = []
    lb: list[float] = []
    ub: list[float] = []

    def new_vars(n: int, lo: float | np.ndarray, hi: float | np.ndarray,
                 obj: float | np.ndarray) -> int:
        start = len(cost)
        for dst, v in ((cost, obj), (lb, lo), (ub, hi)):
            if np.ndim(v):
                dst.extend(np.asarray(v, dtype=np.float64).tolist())
            else:
                dst.extend([float(v)] * n)
        return start

    xcost = -W.preference * c.pref
    if churn is not None and churn_penalty:
        prev = np.zeros(A, dtype=bool)
        prev[list(churn)] = True
        xcost = xcost + np.where(prev, -churn_penalty, churn_penalty)
    ox = new_vars(A, 0.0, 1.0, xcost)
    ov = new_vars(F, 0.0, 1.0, -W.variety)
    os_ = new_vars(len(soft), 0.0, np.array([row.rhs for row in soft]),
                   np.array([row.penalty for row in soft]))

    ri: list[np.ndarray] = []
    ci: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rlo: list[float] = []
    rhi: list[float] = []

    def add_row(cols, coefs, lo, hi):
        cols = np.asarray(cols, dtype=np.int64)
        ri.append(np.full(len(cols), len(rlo), dtype=np.int64))
        ci.append(cols)
        vals.append(np.asarray(coefs, dtype=np.float64))
        rlo.append(lo)
        rhi.append(hi)

    capped_by_config = np.zeros(K, dtype=bool)
    for k in range(K):
        members = np.nonzero(c.T[:, k] > 0)[0]
        q = 1.0 - c.p[k]
        if len(members) == 0 or q <= 0:
            continue
        confs = _configs(members, r.skill_cap) if formulation == "auto" else None
        if confs is not None:
            capped_by_config[k] = True
            stay = {int(a): 1.0 - float(c.T[a, k]) for a in members}
            link: dict[int, list[int]] = {a: [] for a in stay}
            vals_k = np.empty(len(confs))
            oz = len(cost)
            for n, S in enumerate(confs):
                keep = 1.0
                for a in S:
                    keep *= stay[a]
                    link[a].append(oz + n)
                vals_k[n] = q * (1.0 - keep)
            new_vars(len(confs), 0.0, 1.0, -c.w[k] * vals_k)
            add_row(np.arange(oz, oz + len(confs)), np.ones(len(confs)), -np.inf, 1.0)
            for a, zs in link.items():
                add_row([*zs, ox + a], [1.0] * len(zs) + [-1.0], 0.0, 0.0)
            continue
        lo_u = float(L[members, k].sum())
        ou = new_vars(1, lo_u, 0.0, 0.0)
        ophi = new_vars(1, 0.0, q, -c.w[k])
        add_row(_cat(ou, ox + members), _cat(1.0, -L[members, k]), 0.0, 0.0)
        for t in TANGENTS:
            et = np.exp(t)
            # φ + q e^t u <= q (1 − e^t) + q e^t t   (clamped at t = 0: exactly 0)
            rhs = 0.0 if t == 0 else q * (1.0 - et) + q * et * t
            add_row([ophi, ou], [1.0, q * et], -np.inf, rhs)
            if t < lo_u:
                break
    add_row(ox + np.arange(A), c.duration, -np.inf, r.budget_min)
    for mi in range(len(MODALITIES)):
        if np.isfinite(lim.mod_hi[mi]):
            m = np.nonzero(c.modality == mi)[0]
            if len(m) > lim.mod_hi[mi]:
                add_row(ox + m, np.ones(len(m)), -np.inf, lim.mod_hi[mi])
    for f, members in enumerate(c.format_members):
        mem = ox + np.asarray(members, dtype=np.int64)
        if np.isfinite(lim.fmt_cap[f]) and len(members) > lim.fmt_cap[f]:
            add_row(mem, np.ones(len(members)), -np.inf, lim.fmt_cap[f])
        add_row(_cat(ov + f, mem), _cat(1.0, -np.ones(len(members))), -np.inf, 0.0)
    for k in range(K):
        if capped_by_config[k]:
            continue
        a = np.nonzero(lim.touch[:, k])[0]
        if len(a) > r.skill_cap:
            add_row(ox + a, np.ones(len(a)), -np.inf, float(r.skill_cap))
    if A > r.length_max:
        add_row(ox + np.arange(A), np.ones(A), -np.inf, float(r.length_max))
    for a, bs in c.chain_rows:
        add_row(ox + _cat(a, bs), _cat(1.0, -np.ones(len(bs))), -np.inf, 0.0)
    for j, row in enumerate(soft):
        m = ox + np.asarray(row.members, dtype=np.int64)
        add_row(_cat(m, os_ + j), np.ones(len(m) + 1), row.rhs, np.inf)

    nvar = len(cost)
    if incumbent is not None:
        add_row(np.arange(nvar), np.array(cost), -np.inf, -incumbent - 1e-7)
    integrality = np.zeros(nvar)
    integrality[ox:ox + A] = 1
    cons = []
    if rlo:
        M = csr_array((np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))),
                      shape=(len(rlo), nvar))
        cons = [LinearConstraint(M, np.array(rlo), np.array(rhi))]
    options = {"disp": False, "mip_rel_gap": mip_rel_gap}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(np.array(cost), integrality=integrality, bounds=Bounds(np.array(lb), np.array(ub)),
               constraints=cons, options=options)
    bound = getattr(res, "mip_dual_bound", None)
    bound = float("inf") if bound is None or not np.isfinite(bound) else -float(bound)
    if res.x is None:
        status = "incumbent_optimal" if incumbent is not None and res.status == 2 else "failed"
        return MilpResult(None, {}, status, tuple(soft), str(res.message), bound)
    x = (res.x[ox:ox + A] > 0.5).astype(np.float64)
    slack = {row.name: float(res.x[os_ + j]) for j, row in enumerate(soft)
             if res.x[os_ + j] > 1e-6}
    status = "optimal" if res.status == 0 else "time_limit"
    return MilpResult(x, slack, status, tuple(soft), str(res.message), bound)
