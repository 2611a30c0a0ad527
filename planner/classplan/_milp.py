"""Small sparse MILP builder solved by HiGHS (:func:`planner._highs.run_highs`, silent).

Shared by every class-plan model. Variables are added in blocks, rows as
sparse (columns, coefficients, lower, upper) tuples. *Elastic* rows get a pair
of non-negative slack variables with a large penalty so that an infeasible set
of teacher requests still yields a plan plus the rows that absorbed slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_array

from planner._highs import run_highs

#: Objective penalty per unit of slack on an elastic row (benefits are <= ~1 per student).
SLACK_PENALTY = 1000.0
_INF = np.inf


@dataclass
class ElasticRow:
    """Book-keeping for one elastic row: its tag and the indices of its slack variables."""

    tag: tuple
    neg: int  # slack that lowers the row activity (covers a violated upper bound)
    pos: int  # slack that raises the row activity (covers a violated lower bound)


@dataclass
class MilpResult:
    """Solution of a :class:`MilpBuilder` model.

    ``x`` has one value per variable (rounded for integer variables), ``status`` is
    scipy's ``milp`` code (0 optimal, 1 limit reached with a feasible point, 2 infeasible,
    :mod:`planner._highs`), ``slack`` maps
    each elastic row's tag to the amount of slack it needed (only rows with > 1e-6).
    """

    x: np.ndarray
    status: int
    objective: float
    optimal: bool
    slack: dict = field(default_factory=dict)
    message: str = ""


class MilpBuilder:
    """Incrementally build ``max c·x`` s.t. sparse rows, bounds and integrality."""

    def __init__(self) -> None:
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self.n = 0
        self._rows_i: list[int] = []
        self._rows_j: list[int] = []
        self._rows_v: list[float] = []
        self._row_lb: list[float] = []
        self._row_ub: list[float] = []
        self.elastic: list[ElasticRow] = []

    def add_vars(self, count: int, *, lb=0.0, ub=1.0, integer: bool = True, gain=0.0) -> np.ndarray:
        """Add ``count`` variables; ``gain`` is their objective coefficient (maximised)."""
        idx = np.arange(self.n, self.n + count)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (count,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (count,)).copy())
        self._c.append(np.broadcast_to(np.asarray(gain, dtype=float), (count,)).copy())
        self._int.append(np.full(count, 1 if integer else 0, dtype=np.int8))
        self.n += count
        return idx

    def add_row(self, cols, coefs, lb: float = -_INF, ub: float = _INF) -> int:
        """Add ``lb <= Σ coefs·x[cols] <= ub``; returns the row index."""
        r = len(self._row_lb)
        cols = np.asarray(cols, dtype=np.int64).ravel().tolist()
        n = len(cols)
        if np.ndim(coefs) == 0:
            vals = [float(coefs)] * n
        else:
            vals = np.asarray(coefs, dtype=float).ravel().tolist()
        self._rows_i.extend([r] * n)
        self._rows_j.extend(cols)
        self._rows_v.extend(vals)
        self._row_lb.append(float(lb))
        self._row_ub.append(float(ub))
        return r

    def add_pair_rows(self, a, b, coef_a: float, coef_b: float, lb: float = -_INF,
                      ub: float = _INF) -> None:
        """Many two-variable rows at once: ``lb <= coef_a·x[a_i] + coef_b·x[b_i] <= ub``."""
        a = np.asarray(a, dtype=np.int64).ravel()
        b = np.asarray(b, dtype=np.int64).ravel()
        r0 = len(self._row_lb)
        rows = np.arange(r0, r0 + len(a))
        self._rows_i.extend(np.repeat(rows, 2).tolist())
        self._rows_j.extend(np.column_stack([a, b]).ravel().tolist())
        self._rows_v.extend([float(coef_a), float(coef_b)] * len(a))
        self._row_lb.extend([float(lb)] * len(a))
        self._row_ub.extend([float(ub)] * len(a))

    def add_elastic_row(self, cols, coefs, lb: float = -_INF, ub: float = _INF, *, tag: tuple,
                        penalty: float = SLACK_PENALTY) -> None:
        """Like :meth:`add_row` but violations are allowed at ``penalty`` per unit."""
        neg = int(self.add_vars(1, lb=0.0, ub=_INF, integer=False, gain=-penalty)[0])
        pos = int(self.add_vars(1, lb=0.0, ub=_INF, integer=False, gain=-penalty)[0])
        cols = list(np.atleast_1d(cols)) + [neg, pos]
        coefs = list(np.broadcast_to(np.asarray(coefs, dtype=float), (len(cols) - 2,))) + [-1.0, 1.0]
        self.add_row(cols, coefs, lb, ub)
        self.elastic.append(ElasticRow(tag=tag, neg=neg, pos=pos))

    def fix(self, col: int, value: float) -> None:
        """Fix one variable's bounds to ``value``."""
        for block_lb, block_ub, start in self._blocks():
            if start <= col < start + len(block_lb):
                block_lb[col - start] = value
                block_ub[col - start] = value
                return
        raise IndexError(col)

    def _blocks(self):
        start = 0
        for lb, ub in zip(self._lb, self._ub, strict=True):
            yield lb, ub, start
            start += len(lb)

    def solve(self, *, time_limit: float = 10.0, mip_rel_gap: float = 1e-6) -> MilpResult:
        """Solve with HiGHS; maximises the accumulated gains."""
        c = -np.concatenate(self._c) if self._c else np.zeros(0)
        lb = np.concatenate(self._lb)
        ub = np.concatenate(self._ub)
        integrality = np.concatenate(self._int)
        matrix = None
        if self._row_lb:
            matrix = csc_array(
                (np.asarray(self._rows_v), (np.asarray(self._rows_i), np.asarray(self._rows_j))),
                shape=(len(self._row_lb), self.n),
            )
        res = run_highs(c, lb, ub, matrix, np.asarray(self._row_lb), np.asarray(self._row_ub),
                        integrality == 1, time_limit=float(time_limit), gap=float(mip_rel_gap))
        if res.x is None:
            return MilpResult(x=np.zeros(self.n), status=res.status, objective=float("nan"),
                              optimal=False, message=res.message)
        x = np.asarray(res.x, dtype=float).copy()
        ints = integrality == 1
        x[ints] = np.round(x[ints])
        slack = {}
        for row in self.elastic:
            amount = float(x[row.neg] + x[row.pos])
            if amount > 1e-6:
                slack[row.tag] = amount
        return MilpResult(x=x, status=res.status, objective=float(-(c @ x)),
                          optimal=res.optimal, slack=slack, message=res.message)
