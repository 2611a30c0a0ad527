"""What the planner returns: ``Playlist``, its ``PlannedItem``s with their ``Reason``s, and the
``Conflict``s of request rows that could not hold. Re-exported by ``planner.model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PlaylistStatus = Literal["optimal", "feasible", "relaxed"]


@dataclass(frozen=True)
class Reason:
    """Why an item is in the playlist: structured facts plus one plain ``sentence``.

    ``basis``: "ready" (all prerequisites mastered), "chained" (a prerequisite is taught
    earlier in this playlist), "review" (spaced review of a decayed skill),
    "prerequisite_gap" (shoring up a prerequisite of a skill the learner struggles with),
    "pinned"/"locked"/"frozen" (teacher or history put it there; still explained).
    ``prerequisites``: (skill, mastery) of the target skill's direct prerequisites.
    ``taught_earlier``: activity ids earlier in the playlist teaching an unmet prerequisite.
    ``preferences``: matched preferences, e.g. "interest:space", "format:video".
    ``constraints``: constraints that shaped the choice, in plain words.
    """

    target_skill: str
    target_title: str
    basis: str
    mastery_now: float
    mastery_after: float
    prerequisites: tuple[tuple[str, float], ...]
    taught_earlier: tuple[str, ...]
    goal_weight: float
    is_goal: bool
    preferences: tuple[str, ...]
    constraints: tuple[str, ...]
    sentence: str


@dataclass(frozen=True)
class PlannedItem:
    """One playlist entry. ``expected_gain`` = mastery gain on ``target_skill`` (>= 0)."""

    activity_id: str
    position: int
    target_skill: str
    expected_gain: float
    duration_min: float
    modality: str
    reason: Reason


@dataclass(frozen=True)
class Conflict:
    """A constraint that could not hold. ``amount`` = slack it needed (items or minutes),
    rounded to what a person reads (whole items, minutes to 0.1).

    ``constraint``: the request row that gave way, e.g. "pin:act-7", "modality_min:online",
    "must_cover:frac.add", "length_min", "lock:act-3", or "budget_unused" (more than a fifth of the minutes left unplanned:
    ``amount`` = unused minutes, ``blocked_by`` = what stopped more items; advisory, it does
    not make the status "relaxed"). ``blocked_by``: the hard constraints it
    collided with, e.g. ("budget",), ("accommodation:large-print",).
    """

    constraint: str
    amount: float
    blocked_by: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Playlist:
    """A planned, ordered playlist. ``status``: "optimal" (proved within gap), "feasible"
    (time limit or greedy fallback), "relaxed" (some request rows conflicted, see
    ``conflicts``). ``objective`` is the exact (not linearised) objective of the items.
    ``gap``: relative optimality gap of the solve, (bound − value) / |bound| of the penalised
    objective against HiGHS's bound (an upper bound on the true gap, since the bound is on the
    outer-linearised gain); 0 when proved optimal (enumeration or HiGHS), NaN when no bound
    exists (greedy only, or HiGHS found nothing)."""

    learner_id: str
    items: tuple[PlannedItem, ...]
    objective: float
    conflicts: tuple[Conflict, ...]
    status: PlaylistStatus
    total_minutes: float = 0.0
    expected_gain: float = 0.0
    solver: str = "milp"
    solve_ms: float = 0.0
    gap: float = float("nan")

    @property
    def activity_ids(self) -> tuple[str, ...]:
        return tuple(i.activity_id for i in self.items)
