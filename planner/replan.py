"""Re-plan one learner after new evidence, with a churn penalty against the approved plan.

objective − μ Σ_a |x_a − x_a^prev|, linear because x^prev is fixed:
μ (Σ_{a∈prev} (1 − x_a) + Σ_{a∉prev} x_a). Started and done items are frozen (kept, in their
order, at the front). When the best new plan beats the approved one (both valued on the new
evidence) by less than ``min_improvement`` (relative), the approved plan is kept as is
(``solver="kept"``) so a tiny change never reshuffles the learner's day.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, Playlist, PlaylistRequest, SkillGraph
from planner.playlist.candidates import objective_value
from planner.playlist.plan import finish, prepare, solve_candidates
from planner.playlist.rows import hard_violations


def replan(
    graph: SkillGraph,
    catalog: Sequence[PlanActivity],
    learner: PlanLearner,
    request: PlaylistRequest,
    previous: Playlist,
    *,
    started: Iterable[str] = (),
    done: Iterable[str] = (),
    churn_penalty: float = 0.05,
    min_improvement: float = 0.03,
) -> Playlist:
    """New playlist for ``learner`` (updated mastery) close to the approved ``previous`` one.

    ``started``/``done``: activity ids already begun or finished (frozen, kept first).
    ``churn_penalty`` μ >= 0 per item added or removed. ``min_improvement``: relative gain
    below which the previous plan is kept unchanged. Conflicts are reported as in
    ``plan_playlist``; raises ``PlanInputError`` for unknown ids.
    """
    t0 = time.perf_counter()
    if churn_penalty < 0 or min_improvement < 0:
        raise PlanInputError(
            f"churn_penalty={churn_penalty}, min_improvement={min_improvement}; both must be >= 0"
        )
    pos = {a: n for n, a in enumerate(previous.activity_ids)}
    frozen_ids = list(dict.fromkeys([*done, *started]))
    frozen_ids.sort(key=lambda a: pos.get(a, len(pos)))
    c = prepare(graph, catalog, learner, request, frozen=frozen_ids)
    frozen_order = tuple(c.index[a] for a in frozen_ids if a in c.index)
    churn = {c.index[a]: 1.0 for a in previous.activity_ids if a in c.index}
    new = solve_candidates(c, churn=churn, churn_penalty=churn_penalty, frozen_order=frozen_order)

    # keep the approved plan when it is still valid and nearly as good
    if all(a in c.index for a in previous.activity_ids):
        x_prev = np.zeros(c.n)
        for a in previous.activity_ids:
            x_prev[c.index[a]] = 1.0
        for a in frozen_ids:
            x_prev[c.index[a]] = 1.0
        if not hard_violations(c, x_prev, ignore_chain_for=frozenset(c.forced)):
            v_prev = objective_value(c, x_prev)
            v_new = new.playlist.objective
            if v_new - v_prev <= min_improvement * max(abs(v_prev), 1e-9):
                order = tuple(c.index[a] for a in sorted(
                    set(previous.activity_ids) | set(frozen_ids),
                    key=lambda a: pos.get(a, len(pos))))
                kept = finish(c, x_prev, solver="kept", milp_status="none",
                              t0=t0, frozen_order=order).playlist
                if not kept.conflicts:
                    return kept
    return new.playlist
