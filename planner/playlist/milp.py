"""The per-learner playlist MILP (design notes §2.1), solved with HiGHS through ``highspy``.

Variables: x_a ∈ {0,1} (A), u_k ∈ [Σ_a L_ak, 0] log non-mastery shift (K), φ_k ∈ [0, 1 − p_k]
expected mastery *gain* (K, offset-free so the relative MIP gap is relative to the gain),
v_f ∈ [0, 1] format f used (F, variety), s_r >= 0 elastic slack of each soft row (S).

    max  Σ_k w_k φ_k + λ Σ_a pref_a x_a + ν Σ_f v_f − Σ_r M_r s_r − μ·churn
    u_k = Σ_a ln(1 − T_ak) x_a
    φ_k <= f_k(t) + f_k'(t)(u_k − t)   for tangent points t   (f_k(u) = (1 − p_k)(1 − e^u))

plus the hard and soft rows of ``planner.playlist.rows``. The tangents over-estimate the
concave gain slightly between tangent points; callers evaluate the chosen x exactly.

Skills with few candidate subsets are modelled exactly by configuration variables instead
(one binary per subset, see ``_add_config_gain``). highspy (not scipy's ``milp``) because it
takes a MIP start: the caller's greedy selection enters as HiGHS's first incumbent, so the
search prunes against it from the root and a time-limited run never returns anything worse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.sparse import csc_array

from planner._highs import HighsRun, run_highs
from planner.model import MODALITIES
from planner.playlist.candidates import Candidates
from planner.playlist.rows import SoftRow, hard_limits, soft_rows

TANGENTS = (0.0, -0.04, -0.08, -0.12, -0.17, -0.22, -0.28, -0.35, -0.42, -0.5, -0.6, -0.72,
            -0.85, -1.0, -1.2, -1.45, -1.8, -2.3, -3.0)
"""Tangent points of the outer approximation (in u = ln of the non-mastery factor)."""


HIGHS_OPTIONS = {"presolve": "off", "mip_heuristic_run_feasibility_jump": False,
                 "mip_pool_soft_limit": 20, "mip_heuristic_run_root_reduced_cost": False}
"""HiGHS options of every playlist solve. These models are small (~100 binaries, ~200 rows)
and most are settled at the root: presolve costs more than it saves, feasibility jump and the
root reduced-cost heuristic find nothing the MIP start does not give, and a small cut pool
keeps the root LP cheap. Synthetic 200-activity school, 67 learners, CPU: the MILP alone p50
15.7 ms with HiGHS's defaults, 8.1 ms presolve off; a whole playlist solve p50 / p99 10.4 /
204 ms with presolve and feasibility jump off, 9.5 / 101 ms with all four; same optima
(tests/planner/test_milp_start.py)."""


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
    (penalised, linearised) objective, an upper bound on the exact optimum too; ``gap``:
    HiGHS's relative MIP gap of its own solution (NaN when none)."""

    x: np.ndarray | None
    slack: Mapping[str, float]
    status: str
    rows: tuple[SoftRow, ...]
    message: str
    bound: float = float("inf")
    gap: float = float("nan")


class _Model:
    """A MILP under construction: variables (cost, bounds) and sparse rows (lo <= a·x <= hi).

    Minimisation, as ``scipy.optimize.milp``; indices are positions in the variable vector.
    """

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.ri: list[np.ndarray] = []
        self.ci: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rlo: list[float] = []
        self.rhi: list[float] = []
        self.configs: list[tuple[int, tuple[int, ...], frozenset[int]]] = []
        # rows added from plain lists (many short rows: cheaper than one array per row)
        self.lr: list[int] = []
        self.lc: list[int] = []
        self.lv: list[float] = []

    def new_vars(self, n: int, lo: float | np.ndarray, hi: float | np.ndarray,
                 obj: float | np.ndarray) -> int:
        """Append ``n`` variables; return the index of the first."""
        start = len(self.cost)
        for dst, v in ((self.cost, obj), (self.lb, lo), (self.ub, hi)):
            if np.ndim(v):
                dst.extend(np.asarray(v, dtype=np.float64).tolist())
            else:
                dst.extend([float(v)] * n)
        return start

    def add_row(self, cols, coefs, lo: float, hi: float) -> None:
        """Append the row ``lo <= Σ coefs·x[cols] <= hi``."""
        cols = np.asarray(cols, dtype=np.int64)
        self.ri.append(np.full(len(cols), len(self.rlo), dtype=np.int64))
        self.ci.append(cols)
        self.vals.append(np.asarray(coefs, dtype=np.float64))
        self.rlo.append(lo)
        self.rhi.append(hi)

    def add_list_row(self, cols: list[int], coefs: list[float], lo: float, hi: float) -> None:
        """``add_row`` for a row given as plain lists of ints and floats."""
        self.lr.extend([len(self.rlo)] * len(cols))
        self.lc.extend(cols)
        self.lv.extend(coefs)
        self.rlo.append(lo)
        self.rhi.append(hi)

    def matrix(self) -> csc_array:
        """The (rows, variables) constraint matrix, column-wise (``run_highs`` sorts it)."""
        vals = np.concatenate([*self.vals, np.asarray(self.lv, dtype=np.float64)])
        rows = np.concatenate([*self.ri, np.asarray(self.lr, dtype=np.int64)])
        cols = np.concatenate([*self.ci, np.asarray(self.lc, dtype=np.int64)])
        return csc_array((vals, (rows, cols)), shape=(len(self.rlo), len(self.cost)))

    def solve(self, integer: np.ndarray, *, time_limit: float | None, gap: float,
              start: np.ndarray | None = None) -> HighsRun:
        """Run HiGHS (:func:`planner._highs.run_highs`, with ``HIGHS_OPTIONS``) with the (I,)
        columns ``integer`` binary-integral (none: the LP relaxation); ``start``: (I,) their
        values in a known feasible solution (MIP start)."""
        mask = np.zeros(len(self.cost), dtype=bool)
        mask[integer] = True
        return run_highs(np.asarray(self.cost), np.asarray(self.lb), np.asarray(self.ub),
                         self.matrix() if self.rlo else None, np.asarray(self.rlo),
                         np.asarray(self.rhi), mask, time_limit=time_limit, gap=gap,
                         options=HIGHS_OPTIONS,
                         start=None if start is None or not len(integer) else (integer, start))


@dataclass(frozen=True, eq=False)
class Built:
    """A built playlist MILP: ``model`` (minimisation), first column of x (``ox``, A columns)
    and of the soft-row slacks (``os``), the soft rows, and the integer columns ``integer``
    (x, then every configuration variable)."""

    model: _Model
    ox: int
    os: int
    soft: tuple[SoftRow, ...]
    integer: np.ndarray


def build_model(c: Candidates, *, churn: Mapping[int, float] | None = None,
                churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = (),
                formulation: str = "auto", incumbent: float | None = None) -> Built:
    """The playlist MILP of ``c`` (see ``solve_milp`` for the arguments)."""
    W = c.request.weights
    A = c.n
    soft = soft_rows(c, extra_forced)
    m = _Model()
    xcost = -W.preference * c.pref
    if churn is not None and churn_penalty:
        prev = np.zeros(A, dtype=bool)
        prev[list(churn)] = True
        xcost = xcost + np.where(prev, -churn_penalty, churn_penalty)
    ox = m.new_vars(A, 0.0, 1.0, xcost)
    ov = m.new_vars(len(c.formats), 0.0, 1.0, -W.variety)
    os_ = m.new_vars(len(soft), 0.0, np.array([row.rhs for row in soft]),
                     np.array([row.penalty for row in soft]))
    capped_by_config = _add_gain_rows(m, c, ox, formulation)
    _add_limit_rows(m, c, ox, ov, capped_by_config)
    for j, row in enumerate(soft):
        mem = ox + np.asarray(row.members, dtype=np.int64)
        m.add_row(_cat(mem, os_ + j), np.ones(len(mem) + 1), row.rhs, np.inf)
    if incumbent is not None:
        m.add_row(np.arange(len(m.cost)), np.array(m.cost), -np.inf, -incumbent - 1e-7)
    integer = np.concatenate([np.arange(ox, ox + A), [j for j, _, _ in m.configs]])
    return Built(m, ox, os_, tuple(soft), integer.astype(np.int64))


def solve_milp(c: Candidates, *, time_limit: float | None, mip_rel_gap: float = 1e-4,
               churn: Mapping[int, float] | None = None, churn_penalty: float = 0.0,
               extra_forced: tuple[int, ...] = (), formulation: str = "auto",
               incumbent: float | None = None, relax: bool = False,
               start: np.ndarray | None = None) -> MilpResult:
    """Build and solve the playlist MILP; ``time_limit`` None = solve to ``mip_rel_gap``.

    ``formulation``: "tangent" models every skill's gain by the tangent outer approximation;
    "auto" models a skill exactly by its subset configurations when they are few
    (``CONFIG_LIMIT``) — a much tighter LP relaxation — and by tangents otherwise.
    ``start``: (A,) a hard-feasible selection given to HiGHS as a MIP start (its first
    incumbent). ``incumbent``: exact penalised objective of a known solution, as a cutoff row
    (objective >= incumbent + 1e-7): an infeasible result proves that solution optimal (status
    "incumbent_optimal"). The linearised objective never under-estimates the exact one, so the
    cutoff never removes a better solution. ``relax``: solve the LP relaxation only; its
    optimum is returned as ``bound`` (``x`` None, status "relaxation").
    """
    if formulation not in ("auto", "tangent"):
        raise ValueError(f"formulation={formulation!r}; use 'auto' or 'tangent'")
    b = build_model(c, churn=churn, churn_penalty=churn_penalty, extra_forced=extra_forced,
                    formulation=formulation, incumbent=incumbent)
    m, ox, os_, soft, A = b.model, b.ox, b.os, b.soft, c.n
    # the configuration variables are integer too: branching on one fixes a skill's subset
    integer = np.zeros(0, dtype=np.int64) if relax else b.integer
    res = m.solve(integer, time_limit=time_limit, gap=mip_rel_gap,
                  start=None if relax or start is None else _start_values(m, start))
    if relax:
        return MilpResult(None, {}, "relaxation", tuple(soft), res.message,
                          -res.bound if res.optimal else float("inf"))
    bound = -res.bound if np.isfinite(res.bound) else float("inf")
    if res.x is None:
        status = "incumbent_optimal" if incumbent is not None and res.infeasible else "failed"
        return MilpResult(None, {}, status, tuple(soft), res.message, bound)
    x = (res.x[ox:ox + A] > 0.5).astype(np.float64)
    slack = {row.name: float(res.x[os_ + j]) for j, row in enumerate(soft)
             if res.x[os_ + j] > 1e-6}
    status = "optimal" if res.optimal else "time_limit"
    gap = float("nan") if not np.isfinite(res.gap) else max(0.0, res.gap)
    return MilpResult(x, slack, status, tuple(soft), str(res.message), bound, gap)


def _start_values(m: _Model, x: np.ndarray) -> np.ndarray:
    """MIP start of the integer columns (x, then each configuration) for selection ``x``:
    a skill's configuration is on when it is exactly the selected subset of its members."""
    sel = x > 0.5
    z = [float(frozenset(a for a in mem if sel[a]) == S) for _, mem, S in m.configs]
    return np.concatenate([sel.astype(np.float64), np.asarray(z, dtype=np.float64)])


def _add_gain_rows(m: _Model, c: Candidates, ox: int, formulation: str) -> np.ndarray:
    """Model every skill's expected gain (configurations or tangents); return the (K,) bool
    mask of skills modelled by configurations (their skill cap is built in)."""
    K = len(c.skills)
    L = np.log1p(-c.T)  # (A, K) <= 0
    capped_by_config = np.zeros(K, dtype=bool)
    touched = (c.T > 0).T  # (K, A)
    for k in range(K):
        members = np.flatnonzero(touched[k])
        q = 1.0 - float(c.p[k])
        if len(members) == 0 or q <= 0:
            continue
        confs = _configs(members, c.request.skill_cap) if formulation == "auto" else None
        if confs is not None:
            capped_by_config[k] = True
            _add_config_gain(m, c, ox, k, q, members, confs)
        else:
            _add_tangent_gain(m, c, ox, k, q, members, L[members, k])
    return capped_by_config


def _add_config_gain(m: _Model, c: Candidates, ox: int, k: int, q: float,
                     members: np.ndarray, confs: list[tuple[int, ...]]) -> None:
    """Exact gain of skill ``k``: one variable per subset of ``members`` (at most one chosen),
    each linked to the x of its activities; ``q`` = 1 − p_k."""
    mem = members.tolist()
    stay = dict(zip(mem, (1.0 - c.T[members, k]).tolist(), strict=True))
    link: dict[int, list[int]] = {a: [] for a in mem}
    oz = len(m.cost)
    w_k = float(c.w[k])
    cost = []
    for n, S in enumerate(confs):
        keep = 1.0
        for a in S:
            keep *= stay[a]
            link[a].append(oz + n)
        cost.append(-w_k * (q * (1.0 - keep)))
    nz = len(confs)
    m.cost.extend(cost)
    m.lb.extend([0.0] * nz)
    m.ub.extend([1.0] * nz)
    mem_t = tuple(mem)
    m.configs.extend((oz + n, mem_t, frozenset(S)) for n, S in enumerate(confs))
    m.add_list_row(list(range(oz, oz + nz)), [1.0] * nz, -np.inf, 1.0)
    for a, zs in link.items():
        m.add_list_row([*zs, ox + a], [1.0] * len(zs) + [-1.0], 0.0, 0.0)


def _add_tangent_gain(m: _Model, c: Candidates, ox: int, k: int, q: float,
                      members: np.ndarray, L_k: np.ndarray) -> None:
    """Gain of skill ``k`` by the tangent outer approximation; ``L_k`` = ln(1 − T[members, k])."""
    lo_u = float(L_k.sum())
    ou = m.new_vars(1, lo_u, 0.0, 0.0)
    ophi = m.new_vars(1, 0.0, q, -c.w[k])
    m.add_row(_cat(ou, ox + members), _cat(1.0, -L_k), 0.0, 0.0)
    for t in TANGENTS:
        et = np.exp(t)
        # φ + q e^t u <= q (1 − e^t) + q e^t t   (clamped at t = 0: exactly 0)
        rhs = 0.0 if t == 0 else q * (1.0 - et) + q * et * t
        m.add_row([ophi, ou], [1.0, q * et], -np.inf, rhs)
        if t < lo_u:
            break


def _add_limit_rows(m: _Model, c: Candidates, ox: int, ov: int,
                    capped_by_config: np.ndarray) -> None:
    """Hard rows: budget, modality limits, format caps and use, skill caps, length, chains."""
    r, A = c.request, c.n
    lim = hard_limits(c)
    m.add_row(ox + np.arange(A), c.duration, -np.inf, r.budget_min)
    for mi in range(len(MODALITIES)):
        if np.isfinite(lim.mod_hi[mi]):
            mods = np.nonzero(c.modality == mi)[0]
            if len(mods) > lim.mod_hi[mi]:
                m.add_row(ox + mods, np.ones(len(mods)), -np.inf, lim.mod_hi[mi])
    for f, members in enumerate(c.format_members):
        mem = ox + np.asarray(members, dtype=np.int64)
        if np.isfinite(lim.fmt_cap[f]) and len(members) > lim.fmt_cap[f]:
            m.add_row(mem, np.ones(len(members)), -np.inf, lim.fmt_cap[f])
        m.add_row(_cat(ov + f, mem), _cat(1.0, -np.ones(len(members))), -np.inf, 0.0)
    for k in range(lim.touch.shape[1]):  # gain-bearing skills, then un-ready ones (pins)
        if k < len(capped_by_config) and capped_by_config[k]:
            continue
        a = np.flatnonzero(lim.touch[:, k])
        if len(a) > r.skill_cap:
            m.add_row(ox + a, np.ones(len(a)), -np.inf, float(r.skill_cap))
    if A > r.length_max:
        m.add_row(ox + np.arange(A), np.ones(A), -np.inf, float(r.length_max))
    for a, bs in c.chain_rows:
        m.add_row(ox + _cat(a, bs), _cat(1.0, -np.ones(len(bs))), -np.inf, 0.0)
