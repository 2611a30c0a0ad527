"""One silent HiGHS run through ``highspy``, for every planner model given as arrays: the
playlist MILP (``planner.playlist.milp``, with a MIP start) and the class-plan MILPs.

highspy rather than ``scipy.optimize.milp``: scipy's bundled HiGHS prints a debug line
("HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();") to standard
output on some solves, whatever its options, which would leak into a service's logs; here
``output_flag`` is off before the model is passed, and the newer HiGHS has no such line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csc_array

#: Status codes as ``scipy.optimize.milp`` numbers them.
OPTIMAL, LIMIT, INFEASIBLE, UNBOUNDED, OTHER = 0, 1, 2, 3, 4


@dataclass(frozen=True, eq=False)
class HighsRun:
    """``x`` (n,) every variable's value, None without a feasible point; ``status`` (scipy's
    codes above); ``bound`` the dual bound and ``gap`` the relative MIP gap (minimisation);
    ``message`` HiGHS's status text."""

    x: np.ndarray | None
    status: int
    bound: float
    gap: float
    message: str

    @property
    def optimal(self) -> bool:
        return self.status == OPTIMAL

    @property
    def infeasible(self) -> bool:
        return self.status == INFEASIBLE


def run_highs(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, matrix: csc_array | None,
              row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray, *,
              time_limit: float | None, gap: float,
              options: Mapping[str, Any] | None = None,
              start: tuple[np.ndarray, np.ndarray] | None = None) -> HighsRun:
    """Minimise ``cost · x`` subject to ``lower <= x <= upper`` and ``row_lower <= matrix · x
    <= row_upper``, the columns of ``integer`` (bool mask (n,)) integral; ``time_limit`` in
    seconds (None: none), ``gap`` the relative MIP gap at which HiGHS stops, ``options`` more
    HiGHS options; ``start``: (column indices, values) of a known feasible point's integer
    columns, HiGHS's first incumbent (MIP start)."""
    n = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(row_lower)
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    if matrix is not None and len(row_lower):
        m = csc_array(matrix)
        m.sort_indices()
        lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
        lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = m.indptr, m.indices, m.data
    mip = bool(np.any(integer))
    if mip:
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[int(b)] for b in np.asarray(integer, dtype=bool)]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)  # first: nothing on standard output
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.setOptionValue("mip_rel_gap", float(gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    if mip and start is not None:
        cols, values = start
        h.setSolution(len(cols), np.asarray(cols, dtype=np.int32), np.asarray(values, dtype=np.float64))
    h.run()
    return _outcome(h, mip)


def _outcome(h: highspy.Highs, mip: bool) -> HighsRun:
    info, status = h.getInfo(), h.getModelStatus()
    x = np.asarray(h.getSolution().col_value) if info.primal_solution_status == 2 else None
    codes = {highspy.HighsModelStatus.kOptimal: OPTIMAL,
             highspy.HighsModelStatus.kInfeasible: INFEASIBLE,
             highspy.HighsModelStatus.kUnbounded: UNBOUNDED}
    code = codes.get(status, LIMIT if x is not None else OTHER)
    if mip:
        bound, gap = float(info.mip_dual_bound), float(info.mip_gap)
    else:  # an LP: its optimum is the bound
        bound, gap = (float(info.objective_function_value) if code == OPTIMAL else -np.inf), 0.0
    return HighsRun(x, code, bound, gap, h.modelStatusToString(status))
