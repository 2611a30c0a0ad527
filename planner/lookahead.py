"""Multi-session graph lookahead for the playlist objective (issue 15 item 0).

``horizon_unlock_values`` values a skill by what it opens up over ``depth`` steps of the
prerequisite graph:

    u_0(k) = 0,   u_d(k) = Σ_{j successor of k, p_j < θ} (g_j + γ · u_{d−1}(j))

in goal-weighted skills (g_j = the learner's goal weight of j, else
``PlanWeights.default_goal_weight``); γ = ``discount`` in [0, 1] per session further away.
The playlist's ``unlock`` term is this value at ``PlanWeights.lookahead_depth`` (default 1,
the direct successors; ``planner.playlist.candidates.unlock_values``); deeper lookahead is
the ablation row "+lookahead d=3" of ``python -m benchmarks.planner_sim --ablation`` and stays
off by default unless it pays there (see planner/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.errors import PlanInputError
from planner.model import PlanLearner, PlaylistRequest, SkillGraph


def horizon_unlock_values(graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
                          touched: Sequence[int], *, depth: int = 2,
                          discount: float = 0.5) -> np.ndarray:
    """(len(touched),) lookahead value u_depth of each skill index in ``touched`` (see the
    module doc). Only the successors reachable within ``depth`` steps of ``touched`` are
    visited (depth 1, the playlist's ``unlock`` term: their direct successors)."""
    if depth < 1:
        raise PlanInputError(f"lookahead depth={depth}; it must be >= 1 graph steps")
    if not (0.0 <= discount <= 1.0):
        raise PlanInputError(f"lookahead discount={discount}; it must be in [0, 1]")
    theta, w0 = request.mastered_threshold, request.weights.default_goal_weight
    succs, ids = graph._succs, graph.ids
    gains: dict[int, float | None] = {}  # skill -> goal weight while not mastered, else None
    memo: dict[tuple[int, int], float] = {}

    def gain(j: int) -> float | None:
        if j not in gains:
            sid = ids[j]
            gains[j] = (float(learner.goals.get(sid, w0)) if learner.mastery_of(sid) < theta
                        else None)
        return gains[j]

    def value(i: int, d: int) -> float:  # u_d(i)
        if d == 0:
            return 0.0
        key = (i, d)
        if key not in memo:
            total = 0.0
            for j in succs[i]:
                g = gain(j)
                if g is not None:
                    total += g + discount * value(j, d - 1) if d > 1 else g
            memo[key] = total
        return memo[key]

    return np.array([value(i, depth) for i in touched], dtype=np.float64)
