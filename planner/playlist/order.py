"""Order a selected set so prerequisites come first, then honour locked positions.

Frozen items (already started or done) keep their order at the front. Every chained item
(one working on a skill whose prerequisite is taught in this playlist) comes after every
plain item, so each chained item's prerequisite-teaching item is earlier; within a group,
items go by the prerequisite depth (``SkillGraph.rank``) of their deepest gain-bearing skill.
Locked items are then put at their requested position (clamped to the playlist length).
"""

from __future__ import annotations

import numpy as np

from planner.playlist.candidates import Candidates


def order_selection(c: Candidates, x: np.ndarray, frozen_order: tuple[int, ...] = ()) -> list[int]:
    """Candidate indices of the selection ``x`` in playlist order."""
    sel = [int(a) for a in np.nonzero(x > 0.5)[0]]
    frozen = [a for a in frozen_order if a in set(sel)]
    locks = c.request.locks
    locked = sorted((int(locks[c.activities[a].id]), a) for a in sel
                    if c.forced.get(a) == "lock" and a not in frozen)
    locked_set = {a for _, a in locked}
    rank = c.graph.rank
    gidx = c.graph.index

    def key(a: int) -> tuple:
        ks = [gidx[c.skills[k]] for k in np.nonzero(c.T[a] > 0)[0]]
        depth = max((int(rank[i]) for i in ks), default=0)
        return (bool(c.chained[a]), depth, -float(c.T[a].sum()), c.activities[a].id)

    rest = sorted((a for a in sel if a not in locked_set and a not in set(frozen)), key=key)
    out: list[int | None] = [None] * len(sel)
    for pos, a in enumerate(frozen):
        out[pos] = a
    for pos, a in locked:
        p = min(max(pos, len(frozen)), len(sel) - 1)
        while out[p] is not None and p < len(sel) - 1:
            p += 1
        while out[p] is not None:
            p -= 1
        out[p] = a
    it = iter(rest)
    return [a if a is not None else next(it) for a in out]


def prerequisite_order_violations(c: Candidates, order: list[int]) -> list[tuple[int, str]]:
    """(activity index, prerequisite skill) for chained items placed before their teacher."""
    pos = {a: n for n, a in enumerate(order)}
    bad = []
    for (a, bs), (_a, sk) in zip(c.chain_rows, c.chain_skills, strict=True):
        if a in pos and not any(b in pos and pos[b] < pos[a] for b in bs):
            bad.append((a, sk))
    return bad
