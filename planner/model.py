"""Plain input and output types of the planner (frozen dataclasses, no engine imports).

The engine converts its domain objects into these; the planner never imports engine.

Units: minutes for durations and budgets, probabilities in [0, 1], days for
time since practice. Skill and activity ids are plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from planner.errors import PlanInputError

MODALITIES: tuple[str, ...] = ("online", "teacher_led", "collaborative", "independent_offline")
"""Every modality an activity can have (also the station types of a rotation)."""

GROUPINGS: tuple[str, ...] = ("individual", "small_group", "whole_class")
"""Grouping of an activity, derived from its ``group_max`` (see ``PlanActivity.grouping``)."""

PlaylistStatus = Literal["optimal", "feasible", "relaxed"]

class FrozenMap(dict):
    """A read-only dict (picklable, unlike ``MappingProxyType``) used inside frozen types."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("this mapping is read-only; build a new object with dataclasses.replace")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return (FrozenMap, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _empty() -> Mapping:
    return FrozenMap()


def _frozen_map(value: Mapping | None) -> Mapping:
    return value if isinstance(value, FrozenMap) else FrozenMap(value or {})


# ---------------------------------------------------------------------------------------------
# skills


@dataclass(frozen=True)
class PlanSkill:
    """One skill of the competency graph: its id and the ids of its direct prerequisites."""

    id: str
    prerequisites: tuple[str, ...] = ()
    title: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise PlanInputError("PlanSkill.id is empty; give every skill a non-empty id")
        object.__setattr__(self, "prerequisites", tuple(self.prerequisites))
        if self.id in self.prerequisites:
            raise PlanInputError(f"skill {self.id!r} lists itself as a prerequisite; remove it")


@dataclass(frozen=True, eq=False)
class SkillGraph:
    """Read-only view of the prerequisite DAG as plain arrays.

    ``ids[i]`` is skill i; ``edge_src[e] -> edge_dst[e]`` means skill ``edge_src[e]`` is a
    direct prerequisite of ``edge_dst[e]`` (int32 arrays of shape (E,)). ``rank[i]`` is the
    length of the longest prerequisite chain ending at i (0 for roots), shape (n,), so every
    prerequisite has a strictly smaller rank than its dependants. Build with ``from_skills``.
    """

    ids: tuple[str, ...]
    edge_src: np.ndarray
    edge_dst: np.ndarray
    rank: np.ndarray
    titles: tuple[str, ...] = ()
    index: Mapping[str, int] = field(default_factory=_empty)
    _prereqs: tuple[tuple[int, ...], ...] = ()
    _succs: tuple[tuple[int, ...], ...] = ()

    @classmethod
    def from_skills(cls, skills: Iterable[PlanSkill]) -> SkillGraph:
        """Validate (unique ids, known prerequisites, no cycle) and build the arrays."""
        skills = list(skills)
        ids = tuple(s.id for s in skills)
        index: dict[str, int] = {}
        for i, sid in enumerate(ids):
            if sid in index:
                raise PlanInputError(f"skill id {sid!r} appears twice; skill ids must be unique")
            index[sid] = i
        src: list[int] = []
        dst: list[int] = []
        prereqs: list[list[int]] = [[] for _ in ids]
        succs: list[list[int]] = [[] for _ in ids]
        for s in skills:
            for p in s.prerequisites:
                if p not in index:
                    raise PlanInputError(
                        f"skill {s.id!r} has unknown prerequisite {p!r}; add a PlanSkill for it "
                        "or drop the prerequisite"
                    )
                src.append(index[p])
                dst.append(index[s.id])
                prereqs[index[s.id]].append(index[p])
                succs[index[p]].append(index[s.id])
        # Kahn's algorithm: longest-path rank, and cycle detection.
        n = len(ids)
        indeg = [len(p) for p in prereqs]
        rank = [0] * n
        queue = [i for i in range(n) if indeg[i] == 0]
        seen = 0
        while queue:
            i = queue.pop()
            seen += 1
            for j in succs[i]:
                rank[j] = max(rank[j], rank[i] + 1)
                indeg[j] -= 1
                if indeg[j] == 0:
                    queue.append(j)
        if seen != n:
            cyclic = sorted(ids[i] for i in range(n) if indeg[i] > 0)
            raise PlanInputError(
                f"prerequisite graph has a cycle through {cyclic[:5]}; break the cycle"
            )
        return cls(
            ids=ids,
            edge_src=np.asarray(src, dtype=np.int32),
            edge_dst=np.asarray(dst, dtype=np.int32),
            rank=np.asarray(rank, dtype=np.int32),
            titles=tuple(s.title or s.id for s in skills),
            index=FrozenMap(index),
            _prereqs=tuple(tuple(p) for p in prereqs),
            _succs=tuple(tuple(s) for s in succs),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self.index

    def prerequisites_of(self, skill_id: str) -> tuple[str, ...]:
        """Direct prerequisites of ``skill_id`` (ids)."""
        return tuple(self.ids[j] for j in self._prereqs[self._idx(skill_id)])

    def successors_of(self, skill_id: str) -> tuple[str, ...]:
        """Skills that list ``skill_id`` as a direct prerequisite (ids)."""
        return tuple(self.ids[j] for j in self._succs[self._idx(skill_id)])

    def rank_of(self, skill_id: str) -> int:
        return int(self.rank[self._idx(skill_id)])

    def title_of(self, skill_id: str) -> str:
        return self.titles[self._idx(skill_id)] if self.titles else skill_id

    def _idx(self, skill_id: str) -> int:
        try:
            return self.index[skill_id]
        except KeyError:
            raise PlanInputError(f"unknown skill id {skill_id!r}; it is not in the graph") from None


# ---------------------------------------------------------------------------------------------
# activities and learners


@dataclass(frozen=True)
class PlanActivity:
    """One catalog activity as the planner sees it.

    ``skills``: (skill_id, weight) pairs, weight in (0, 1] = how strongly the activity works
    on that skill. The learn probability on skill k is ``p_learn_for(k) * weight``.
    ``p_learn``: one probability for every skill, or a mapping skill -> probability.
    ``duration_min`` > 0 minutes. ``difficulty`` in [0, 1]. ``group_min``/``group_max``:
    learners per group. ``device``: required device (None = none). ``formats``: e.g.
    ("video",), ("hands-on", "game"); the per-format cap counts an activity under each format
    (under ``kind`` when ``formats`` is empty). ``accommodations``: accommodations the activity
    supports (a learner needing one it does not support never gets it).
    """

    id: str
    title: str
    skills: tuple[tuple[str, float], ...]
    kind: str = "practice"
    modality: str = "online"
    place: str = "classroom"
    duration_min: float = 15.0
    difficulty: float = 0.5
    group_min: int = 1
    group_max: int = 1
    device: str | None = None
    formats: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    language: str = "en"
    accommodations: frozenset[str] = frozenset()
    p_learn: float | Mapping[str, float] = 0.15

    def __post_init__(self) -> None:
        if not self.id:
            raise PlanInputError("PlanActivity.id is empty; give every activity an id")
        skills = tuple((str(k), float(w)) for k, w in self.skills)
        object.__setattr__(self, "skills", skills)
        object.__setattr__(self, "formats", tuple(self.formats))
        object.__setattr__(self, "interests", tuple(self.interests))
        object.__setattr__(self, "accommodations", frozenset(self.accommodations))
        if isinstance(self.p_learn, Mapping):
            object.__setattr__(self, "p_learn", _frozen_map(self.p_learn))
        if self.modality not in MODALITIES:
            raise PlanInputError(
                f"activity {self.id!r} has modality {self.modality!r}; use one of {MODALITIES}"
            )
        if not (self.duration_min > 0):
            raise PlanInputError(
                f"activity {self.id!r} has duration_min={self.duration_min}; it must be > 0"
            )
        for k, w in skills:
            if not (0.0 < w <= 1.0):
                raise PlanInputError(
                    f"activity {self.id!r} skill {k!r} has weight {w}; weights must be in (0, 1]"
                )
        values = self.p_learn.values() if isinstance(self.p_learn, Mapping) else [self.p_learn]
        for v in values:
            if not (0.0 <= float(v) < 1.0):
                raise PlanInputError(
                    f"activity {self.id!r} has p_learn {v}; it must be in [0, 1)"
                )
        if self.group_min < 1 or self.group_max < self.group_min:
            raise PlanInputError(
                f"activity {self.id!r} has group_min={self.group_min}, group_max={self.group_max};"
                " need 1 <= group_min <= group_max"
            )

    def __hash__(self) -> int:  # p_learn may be a mapping; the id identifies an activity
        return hash(("PlanActivity", self.id))

    def p_learn_for(self, skill_id: str) -> float:
        """Learn probability on ``skill_id`` before the skill weight (0 when not listed)."""
        if isinstance(self.p_learn, Mapping):
            return float(self.p_learn.get(skill_id, 0.0))
        return float(self.p_learn)

    def learn_probability(self, skill_id: str) -> float:
        """T_ak: ``p_learn_for(k) * weight(k)``, in [0, 1)."""
        for k, w in self.skills:
            if k == skill_id:
                return self.p_learn_for(k) * w
        return 0.0

    @property
    def skill_ids(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.skills)

    @property
    def format_keys(self) -> tuple[str, ...]:
        """Formats counted by the per-format cap (``formats``, or ``(kind,)`` when empty)."""
        return self.formats or (self.kind,)

    @property
    def grouping(self) -> str:
        """"individual" (group_max 1), "small_group" (<= 8) or "whole_class"."""
        if self.group_max <= 1:
            return "individual"
        return "small_group" if self.group_max <= 8 else "whole_class"


@dataclass(frozen=True)
class PlanLearner:
    """One learner's state and preferences.

    ``mastery``: skill -> BKT P(L) in [0, 1] (missing skills count as 0).
    ``goals``: skill -> weight >= 0 for areas of growth and goals (skills not listed weigh
    ``PlanWeights.default_goal_weight``). ``accommodations``: accommodations this learner needs.
    ``devices``/``places``: what is available to this learner (empty = no restriction).
    ``languages``: languages the learner can work in (empty = any).
    ``days_since_practice``: skill -> days since last practice (spaced review).
    ``ever_mastered``: skills that once crossed the mastery threshold (review when they fell).
    ``struggling``: skills the learner is currently struggling with (adds prerequisite gaps).
    """

    id: str
    mastery: Mapping[str, float]
    goals: Mapping[str, float] = field(default_factory=_empty)
    interests: frozenset[str] = frozenset()
    preferred_formats: frozenset[str] = frozenset()
    preferred_groupings: frozenset[str] = frozenset()
    accommodations: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    days_since_practice: Mapping[str, float] = field(default_factory=_empty)
    ever_mastered: frozenset[str] = frozenset()
    struggling: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mastery", _frozen_map(self.mastery))
        object.__setattr__(self, "goals", _frozen_map(self.goals))
        object.__setattr__(self, "days_since_practice", _frozen_map(self.days_since_practice))
        for name in ("interests", "preferred_formats", "preferred_groupings", "accommodations",
                     "devices", "places", "languages", "ever_mastered", "struggling"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        for k, p in self.mastery.items():
            if not (0.0 <= float(p) <= 1.0):
                raise PlanInputError(
                    f"learner {self.id!r} has mastery {p} on {k!r}; it must be in [0, 1]"
                )
        for k, g in self.goals.items():
            if not (float(g) >= 0.0):
                raise PlanInputError(
                    f"learner {self.id!r} has goal weight {g} on {k!r}; it must be >= 0"
                )

    def __hash__(self) -> int:  # mappings inside; the id identifies a learner
        return hash(("PlanLearner", self.id))

    def mastery_of(self, skill_id: str) -> float:
        return float(self.mastery.get(skill_id, 0.0))


# ---------------------------------------------------------------------------------------------
# request


@dataclass(frozen=True)
class PlanWeights:
    """Objective weights. Gains dominate; preference/variety terms are small tie-breakers.

    objective = sum_k w_k * gain_k + preference * sum_a pref_a x_a + variety * #formats used
    where w_k = goal weight (x ``review`` for spaced review, x ``prerequisite_gap`` for gaps).
    """

    default_goal_weight: float = 1.0
    review: float = 0.6
    prerequisite_gap: float = 0.8
    preference: float = 0.04
    variety: float = 0.01
    slack_penalty: float = 100.0


@dataclass(frozen=True)
class PlaylistRequest:
    """Constraints of one learner's playlist (one session or one week).

    ``budget_min``: total minutes. ``modality_bounds``: modality -> (min, max) item counts.
    ``format_cap``: max items per format (None = no cap); ``format_caps`` overrides per format.
    ``skill_cap``: max items working on one skill. ``length_min``/``length_max``: item count.
    ``pins``: activities the teacher wants in. ``removes``: activities never to plan.
    ``locks``: activity -> fixed 0-based position. ``must_cover``: skills that need >= 1 item.
    ``available_places``: places usable in this session (None = any). ``seats_left``: activity
    -> seats still free (0 = full). ``review_half_life_days``: mastery of a skill not practised
    for this many days counts half-way back towards ``review_floor`` for spaced review (with
    the defaults a skill at 0.97 comes up for review after ~8 days, one at 0.99 after ~15).
    ``time_limit_s``: HiGHS time limit; ``exact`` drops the limit and closes the gap fully.
    """

    budget_min: float = 60.0
    modality_bounds: Mapping[str, tuple[int, int]] = field(default_factory=_empty)
    format_cap: int | None = 2
    format_caps: Mapping[str, int] = field(default_factory=_empty)
    skill_cap: int = 2
    length_min: int = 1
    length_max: int = 8
    pins: tuple[str, ...] = ()
    removes: frozenset[str] = frozenset()
    locks: Mapping[str, int] = field(default_factory=_empty)
    must_cover: tuple[str, ...] = ()
    mastered_threshold: float = 0.95
    available_places: frozenset[str] | None = None
    seats_left: Mapping[str, int] = field(default_factory=_empty)
    review_half_life_days: float = 120.0
    review_floor: float = 0.5
    weights: PlanWeights = field(default_factory=PlanWeights)
    time_limit_s: float = 0.01
    exact: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality_bounds", _frozen_map(
            {m: (int(lo), int(hi)) for m, (lo, hi) in dict(self.modality_bounds).items()}))
        object.__setattr__(self, "format_caps", _frozen_map(self.format_caps))
        object.__setattr__(self, "locks", _frozen_map(self.locks))
        object.__setattr__(self, "seats_left", _frozen_map(self.seats_left))
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
        if self.format_cap is not None and self.format_cap < 1:
            raise PlanInputError(f"format_cap={self.format_cap}; use None for no cap or >= 1")
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


# ---------------------------------------------------------------------------------------------
# outputs


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
    """A constraint that could not hold. ``amount`` = slack it needed (items or minutes).

    ``constraint``: the request row that gave way, e.g. "pin:act-7", "modality_min:online",
    "must_cover:frac.add", "length_min", "lock:act-3". ``blocked_by``: the hard constraints it
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
    ``conflicts``). ``objective`` is the exact (not linearised) objective of the items."""

    learner_id: str
    items: tuple[PlannedItem, ...]
    objective: float
    conflicts: tuple[Conflict, ...]
    status: PlaylistStatus
    total_minutes: float = 0.0
    expected_gain: float = 0.0
    solver: str = "milp"
    solve_ms: float = 0.0

    @property
    def activity_ids(self) -> tuple[str, ...]:
        return tuple(i.activity_id for i in self.items)
