"""Multi-session graph lookahead for the playlist objective (issue 15 item 0; not wired in).

``horizon_unlock_values`` generalises the one-step ``unlock`` term of
``planner.playlist.candidates.unlock_values`` to ``depth`` steps of the prerequisite graph:

    u_0(k) = 0,   u_d(k) = Σ_{j successor of k, p_j < θ} (g_j + γ · u_{d−1}(j))

in goal-weighted skills (g_j = the learner's goal weight of j, else
``PlanWeights.default_goal_weight``); γ = ``discount`` in [0, 1] per session further away.
``depth=1`` equals the one-step unlock value exactly. Not yet hooked into the candidates nor
measured in the world family (see planner/README.md): it stays off by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.errors import PlanInputError
from planner.model import PlanLearner, PlaylistRequest, SkillGraph


def horizon_unlock_values(graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
                          touched: Sequence[int], *, depth: int = 2,
                          discount: float = 0.5) -> np.ndarray:
    """(K,) lookahead value u_depth of each skill index in ``touched`` (see module doc)."""
    if depth < 1:
        raise PlanInputError(f"lookahead depth={depth}; it must be >= 1 graph steps")
    if not (0.0 <= discount <= 1.0):
        raise PlanInputError(f"lookahead discount={discount}; it must be in [0, 1]")
    theta, w0 = request.mastered_threshold, request.weights.default_goal_weight
    open_ = [learner.mastery_of(s) < theta for s in graph.ids]
    goal = [float(learner.goals.get(s, w0)) for s in graph.ids]
    u = np.zeros(len(graph.ids))
    for _ in range(depth):  # u_d from u_{d-1} over every skill
        nxt = np.zeros_like(u)
        for i in range(len(graph.ids)):
            nxt[i] = sum(goal[j] + discount * u[j] for j in graph._succs[i] if open_[j])
        u = nxt
    return u[np.asarray(list(touched), dtype=np.int64)] if len(touched) else np.zeros(0)
