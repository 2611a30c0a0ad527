""""Why not X?": re-solve with X forced in; report the cost and the constraint that excluded it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, Playlist, PlaylistRequest, SkillGraph
from planner.playlist.plan import prepare, solve_candidates
from planner.playlist.rows import hard_violations


@dataclass(frozen=True)
class WhyNot:
    """Answer to "why is ``activity_id`` not in the playlist?".

    ``excluded_by``: the constraints that kept it out (e.g. ("budget",),
    ("accommodation:large-print",), ("objective",) when it simply gains less).
    ``objective_cost``: plan objective minus the best objective with it forced in
    (``inf`` when a hard rule forbids it outright). ``dropped``/``added``: how the plan would
    change. ``alternative``: that plan (None when it cannot be forced).
    """

    activity_id: str
    in_plan: bool
    excluded_by: tuple[str, ...]
    objective_cost: float
    dropped: tuple[str, ...]
    added: tuple[str, ...]
    alternative: Playlist | None
    sentence: str


def why_not(
    graph: SkillGraph,
    catalog: Sequence[PlanActivity],
    learner: PlanLearner,
    request: PlaylistRequest,
    activity_id: str,
    *,
    playlist: Playlist | None = None,
) -> WhyNot:
    """Explain why ``activity_id`` is not in ``playlist`` (planned now when None).

    One extra solve with the activity forced in. Raises ``PlanInputError`` for an id that is
    not in the catalog.
    """
    c = prepare(graph, catalog, learner, request)
    if activity_id not in c.catalog:
        raise PlanInputError(f"activity {activity_id!r} is not in the catalog; check the id")
    act = c.catalog[activity_id]
    if playlist is None:
        playlist = solve_candidates(c).playlist
    if activity_id in playlist.activity_ids:
        return WhyNot(activity_id, True, (), 0.0, (), (), playlist,
                      f"'{act.title}' is already in the playlist.")
    if activity_id not in c.index:
        name, msg = c.excluded.get(activity_id, ("unknown", "it is not a candidate"))
        return WhyNot(activity_id, False, (name,), float("inf"), (), (), None,
                      f"'{act.title}' cannot be planned: {msg}.")
    ai = c.index[activity_id]
    x = np.zeros(c.n)
    for aid in playlist.activity_ids:
        if aid in c.index:
            x[c.index[aid]] = 1.0
    x[ai] = 1.0
    blocked = tuple(hard_violations(c, x))
    alt = solve_candidates(c, extra_forced=(ai,)).playlist
    forced_conflict = [k for k in alt.conflicts if k.constraint == f"force:{activity_id}"]
    if forced_conflict:
        why = forced_conflict[0].blocked_by
        return WhyNot(activity_id, False, why, float("inf"), (), (), None,
                      f"'{act.title}' does not fit at all: {forced_conflict[0].message}.")
    cost = float(playlist.objective - alt.objective)
    dropped = tuple(a for a in playlist.activity_ids if a not in alt.activity_ids)
    added = tuple(a for a in alt.activity_ids if a not in playlist.activity_ids)
    excluded_by = blocked or ("objective",)
    sentence = _sentence(c, act, playlist, blocked, cost, dropped)
    return WhyNot(activity_id, False, excluded_by, cost, dropped, added, alt, sentence)


def _sentence(c, act: PlanActivity, playlist: Playlist, blocked: tuple[str, ...], cost: float,
              dropped: tuple[str, ...]) -> str:
    r = c.request
    parts = []
    for b in blocked:
        kind, _, what = b.partition(":")
        if b == "budget":
            over = playlist.total_minutes + act.duration_min - r.budget_min
            parts.append(f"would push the playlist {over:g} minutes over the {r.budget_min:g}-min budget")
        elif b == "length_max":
            parts.append(f"would exceed the {r.length_max}-item limit")
        elif kind == "modality_max":
            parts.append(f"would exceed the {what.replace('_', '-')} limit of the class model")
        elif kind == "format_cap":
            parts.append(f"would exceed the cap on {what} activities")
        elif kind == "skill_cap":
            parts.append(f"would exceed the cap of {r.skill_cap} items on '{c.graph.title_of(what)}'")
        elif kind == "prerequisite":
            parts.append(f"needs '{c.graph.title_of(what)}' taught first")
    head = f"Adding '{act.title}' " + (" and ".join(parts) if parts else "fits")
    titles = [f"'{c.catalog[a].title}'" for a in dropped]
    if dropped:
        head += f", so {len(dropped)} item{'s' if len(dropped) > 1 else ''} would have to go ({', '.join(titles)})"
    base = max(playlist.objective, 1e-12)
    if cost > 1e-9:
        head += f"; the plan's value would drop by {cost:.3f} ({100 * cost / base:.0f} %)"
    elif cost < -1e-9:
        head += f"; the plan's value would rise by {-cost:.3f} (the time limit stopped the search early)"
    else:
        head += "; it would be just as good (a tie)"
    return head + "."
