"""What one learner's playlist must satisfy: ``PlaylistRequest`` and its objective weights.

Re-exported by ``planner.model``. Units: minutes, item counts, probabilities in [0, 1], days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from planner._common import MASTERED_THRESHOLD, MODALITIES, empty_map, frozen_map
from planner.errors import PlanInputError


@dataclass(frozen=True)
class PlanWeights:
    """Objective weights. Gains dominate; preference/variety terms are small tie-breakers.

    objective = sum_k w_k * gain_k + preference * sum_a pref_a x_a + variety * #formats used
    where w_k = goal weight (x ``review`` for spaced review, x ``prerequisite_gap`` for gaps)
    + ``unlock`` x the goal weights of the skill's not-yet-mastered direct successors (the
    value of what mastering it opens up in the graph; 0 = one-step gain only).
    ``chain_residual`` in [0, 1]: how much of an activity's learning survives on a chained
    skill while its unmet prerequisite is still unknown; a chained skill's learn probability
    is multiplied by prod_j (q_j + (1 - q_j) chain_residual) over its unmet prerequisites j,
    q_j = P(j known after this playlist) = p_j + (1 - p_j) max_b T_bj (1 = no risk
    discount, the old objective). ``diagnostic`` x the value of information of a check on a
    skill not yet mastered is added to every assessment-kind candidate on it
    (:mod:`planner.diagnostic`; 0, the default = checks earn only their own learning: the term
    did not pay in the simulated worlds; a school can try 1 in an experiment arm).
    ``lookahead_depth`` graph steps (>= 1) and ``lookahead_discount`` in [0, 1] per step: the
    ``unlock`` value looks that far ahead (:func:`planner.lookahead.horizon_unlock_values`;
    1 = the direct successors only). ``protect`` x what a review protects from forgetting
    over ``protect_horizon_days`` (with ``protect_consolidation``, the half-life factor a
    review buys) is added to every mastered skill with a known last practice
    (:mod:`planner.protection`; 0, the default = off: over 13 simulated worlds it paid in
    "forgetting", 1.08x E_p, but cost up to 3 % where nothing is forgotten, 1.001x on average;
    the engine sets 1 only once the tenant's retention checks show forgetting,
    ``planner.forgetting.ForgettingModel.forgets``, which paid 0.998x on average with no
    world losing more than 2 %). See planner/README.md.
    """

    default_goal_weight: float = 1.0
    review: float = 0.6
    prerequisite_gap: float = 0.8
    preference: float = 0.04
    variety: float = 0.01
    slack_penalty: float = 100.0
    unlock: float = 0.3
    chain_residual: float = 0.25
    diagnostic: float = 0.0
    lookahead_depth: int = 1
    lookahead_discount: float = 0.5
    protect: float = 0.0
    protect_horizon_days: float = 7.0
    protect_consolidation: float = 1.5


TYPICAL_ACTIVITY_MIN = 15.0
"""Minutes of a typical activity, for the number of items a session holds."""


def auto_format_cap(budget_min: float, length_max: int) -> int:
    """Per-format cap from the session: half the items the session holds (at least 2), so any
    two formats can fill it — ``max(2, ceil(min(length_max, budget / 15 min) / 2))``; 2 for an
    hour, 5 for a 150-minute class with room for 12 items."""
    items = min(float(length_max), float(budget_min) / TYPICAL_ACTIVITY_MIN)
    return max(2, math.ceil(items / 2.0 - 1e-9))


@dataclass(frozen=True)
class PlaylistRequest:
    """Constraints of one learner's playlist (one session or one week).

    ``budget_min``: total minutes. ``modality_bounds``: modality -> (min, max) item counts.
    ``format_cap``: max items per format (None = no cap; "auto", the default = from the
    session: ``auto_format_cap(budget_min, length_max)``, so a long session can be filled
    from a few formats); ``format_caps`` overrides per format. The cap counts an activity
    under each of its formats, under its kind when it has none (per-kind cap).
    ``skill_cap``: max items working on one skill. ``length_min``/``length_max``: item count.
    ``pins``: activities the teacher wants in. ``removes``: activities never to plan.
    ``locks``: activity -> fixed 0-based position. ``must_cover``: skills that need >= 1 item.
    ``available_places``: places usable in this session (None = any). ``seats_left``: activity
    -> seats still free (0 = full). ``review_half_life_days``: mastery of a skill not practised
    for this many days counts half-way back towards ``review_floor`` for spaced review (with
    the defaults a skill at 0.97 comes up for review after ~8 days, one at 0.99 after ~15).
    ``mastered_threshold``: θ in (0, 1], mastery at or above it counts as mastered
    (default ``MASTERED_THRESHOLD``; the engine passes the tenant's). ``time_limit_s``: HiGHS
    time limit; ``exact`` drops the limit and closes the gap fully.
    """

    budget_min: float = 60.0
    modality_bounds: Mapping[str, tuple[int, int]] = field(default_factory=empty_map)
    format_cap: int | None | Literal["auto"] = "auto"
    format_caps: Mapping[str, int] = field(default_factory=empty_map)
    skill_cap: int = 2
    length_min: int = 1
    length_max: int = 8
    pins: tuple[str, ...] = ()
    removes: frozenset[str] = frozenset()
    locks: Mapping[str, int] = field(default_factory=empty_map)
    must_cover: tuple[str, ...] = ()
    mastered_threshold: float = MASTERED_THRESHOLD
    available_places: frozenset[str] | None = None
    seats_left: Mapping[str, int] = field(default_factory=empty_map)
    review_half_life_days: float = 120.0
    review_floor: float = 0.5
    weights: PlanWeights = field(default_factory=PlanWeights)
    time_limit_s: float = 0.01
    exact: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality_bounds", frozen_map(
            {m: (int(lo), int(hi)) for m, (lo, hi) in dict(self.modality_bounds).items()}))
        object.__setattr__(self, "format_caps", frozen_map(self.format_caps))
        object.__setattr__(self, "locks", frozen_map(self.locks))
        object.__setattr__(self, "seats_left", frozen_map(self.seats_left))
        object.__setattr__(self, "pins", tuple(self.pins))
        object.__setattr__(self, "must_cover", tuple(self.must_cover))
        object.__setattr__(self, "removes", frozenset(self.removes))
        if self.available_places is not None:
            object.__setattr__(self, "available_places", frozenset(self.available_places))
        if not (self.budget_min >= 0):
            raise PlanInputError(f"budget_min={self.budget_min}; it must be >= 0 minutes")
        for m, (lo, hi) in self.modality_bounds.items():
            if m not in MODALITIES:
                raise PlanInputError(f"modality_bounds has {m!r}; use one of {MODALITIES}")
            if lo < 0 or hi < lo:
                raise PlanInputError(
                    f"modality_bounds[{m!r}]=({lo}, {hi}); need 0 <= min <= max"
                )
        if self.length_min < 0 or self.length_max < self.length_min:
            raise PlanInputError(
                f"length_min={self.length_min}, length_max={self.length_max}; need "
                "0 <= length_min <= length_max"
            )
        if self.skill_cap < 1:
            raise PlanInputError(f"skill_cap={self.skill_cap}; it must be >= 1")
        if self.format_cap == "auto":
            object.__setattr__(self, "format_cap", auto_format_cap(self.budget_min,
                                                                   self.length_max))
        if self.format_cap is not None and (isinstance(self.format_cap, str)
                                            or self.format_cap < 1):
            raise PlanInputError(
                f"format_cap={self.format_cap!r}; use None for no cap, 'auto' or an int >= 1")
        if not (0.0 < self.mastered_threshold <= 1.0):
            raise PlanInputError(
                f"mastered_threshold={self.mastered_threshold}; it must be in (0, 1]"
            )
        for a, pos in self.locks.items():
            if int(pos) < 0:
                raise PlanInputError(f"lock position {pos} for {a!r}; positions start at 0")
        if not (self.time_limit_s > 0):
            raise PlanInputError(f"time_limit_s={self.time_limit_s}; it must be > 0 seconds")

    def cap_for_format(self, fmt: str) -> int | None:
        return self.format_caps.get(fmt, self.format_cap)
