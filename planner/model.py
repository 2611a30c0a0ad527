"""Plain input and output types of the planner (frozen dataclasses, no engine imports).

The engine converts its domain objects into these; the planner never imports engine. This
module holds the skill graph, activities and learners, and re-exports the request types
(``planner.request``) and the results (``planner.results``) so ``planner.model`` names every
planner type.

Units: minutes for durations and budgets, probabilities in [0, 1], days for
time since practice. Skill and activity ids are plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from planner._common import (
    GROUPINGS,
    MASTERED_THRESHOLD,
    MODALITIES,
    FrozenMap,
    empty_map,
    frozen_map,
)
from planner.errors import PlanInputError
from planner.request import PlanWeights, PlaylistRequest
from planner.results import Conflict, PlannedItem, Playlist, PlaylistStatus, Reason

__all__ = [
    "GROUPINGS", "MASTERED_THRESHOLD", "MODALITIES", "Conflict", "FrozenMap", "PlanActivity",
    "PlanLearner", "PlanSkill", "PlanWeights", "PlannedItem", "Playlist", "PlaylistRequest",
    "PlaylistStatus", "Reason", "SkillGraph",
]


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
    index: Mapping[str, int] = field(default_factory=empty_map)
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
            object.__setattr__(self, "p_learn", frozen_map(self.p_learn))
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
    ``half_life_days``: skill -> this learner's forgetting half-life in days (e.g. fitted by
    ``planner.forgetting``); skills not listed use ``PlaylistRequest.review_half_life_days``.
    ``ever_mastered``: skills that once crossed the mastery threshold (review when they fell).
    ``struggling``: skills the learner is currently struggling with (adds prerequisite gaps).
    """

    id: str
    mastery: Mapping[str, float]
    goals: Mapping[str, float] = field(default_factory=empty_map)
    interests: frozenset[str] = frozenset()
    preferred_formats: frozenset[str] = frozenset()
    preferred_groupings: frozenset[str] = frozenset()
    accommodations: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    days_since_practice: Mapping[str, float] = field(default_factory=empty_map)
    ever_mastered: frozenset[str] = frozenset()
    struggling: frozenset[str] = frozenset()
    half_life_days: Mapping[str, float] = field(default_factory=empty_map)

    def __post_init__(self) -> None:
        object.__setattr__(self, "half_life_days", frozen_map(self.half_life_days))
        for k, h in self.half_life_days.items():
            if not (float(h) > 0):
                raise PlanInputError(
                    f"learner {self.id!r} has half_life_days {h} on {k!r}; it must be > 0 days")
        object.__setattr__(self, "mastery", frozen_map(self.mastery))
        object.__setattr__(self, "goals", frozen_map(self.goals))
        object.__setattr__(self, "days_since_practice", frozen_map(self.days_since_practice))
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
