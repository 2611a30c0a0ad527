"""Input and output types of class plans (frozen dataclasses).

Learners, activities, the skill graph, planned items, reasons and conflicts are the shared
planner types of ``planner.model``; this module adds the blended-model settings, the teacher's
class-level requests and the ``ClassPlan`` itself. Minutes everywhere; rotations and slots are
0-based in data and shown 1-based in sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from planner.errors import PlanInputError
from planner.model import MASTERED_THRESHOLD, MODALITIES, Conflict, PlannedItem

BLENDED_MODELS: tuple[str, ...] = (
    "station_rotation", "lab_rotation", "individual_rotation", "flipped", "flex",
    "a_la_carte", "enriched_virtual",
)
"""Every blended-learning model a class can run (Christensen Institute taxonomy)."""

BlendedModel = Literal["station_rotation", "lab_rotation", "individual_rotation",
                       "flipped", "flex", "a_la_carte", "enriched_virtual"]
ClassPlanStatus = Literal["optimal", "feasible", "relaxed"]


@dataclass(frozen=True)
class StationPlan:
    """One station of a rotation. ``kind`` is a modality (``planner.model.MODALITIES``):
    "teacher_led" (small-group instruction), "online" (each learner's own content),
    "collaborative" (group activities), "independent_offline". ``minutes`` > 0 is the slot
    length, ``capacity`` >= 1 the seats or devices (for the teacher station: g_max is used),
    ``place`` where it happens (e.g. "classroom", "lab")."""

    id: str
    kind: str
    minutes: float = 20.0
    capacity: int = 30
    place: str = "classroom"

    def __post_init__(self) -> None:
        if not self.id:
            raise PlanInputError("StationPlan.id is empty; give every station an id")
        if self.kind not in MODALITIES:
            raise PlanInputError(f"station {self.id!r} has kind {self.kind!r}; use one of {MODALITIES}")
        if not self.minutes > 0:
            raise PlanInputError(f"station {self.id!r} has minutes={self.minutes}; it must be > 0")
        if self.capacity < 1:
            raise PlanInputError(f"station {self.id!r} has capacity={self.capacity}; it must be >= 1")


@dataclass(frozen=True)
class ModelSettings:
    """A class's blended model and its settings.

    Rotation models (station, lab, individual) use ``stations`` (empty = a default set, see
    ``planner.classplan.defaults``). Teacher small groups hold ``g_min..g_max`` learners;
    ``n_topics`` candidate mini-lessons (class-frontier skills with the largest total benefit).
    ``teacher_p_learn``: learn probability of a mini-lesson. ``session_minutes``: minutes in
    class (flex, flipped, enriched virtual). ``remote_minutes``: minutes at home (flipped,
    enriched virtual). ``pull_out_slots``/``pull_out_minutes``: flex teacher pull-out groups.
    ``course_minutes``: the a-la-carte online course's minutes in this period.
    ``max_stations_per_learner``: individual rotation only — at most this many stations per
    learner (teacher-led first, then online, collaborative, independent).
    ``lab_capacity``: computer-lab seats of the default lab-rotation stations (None = class).
    ``mastered_threshold``: θ in (0, 1] of the readiness rule (default
    ``planner.model.MASTERED_THRESHOLD``; the engine passes the tenant's). ``time_limit_s``: per MILP solve.
    ``protect``: >= 0, the forgetting-protection weight (``PlanWeights.protect``,
    :mod:`planner.protection`) of each learner's own items — station, flex, home and course
    playlists — so that a mastered skill fading since its last practice can be reviewed there;
    0 (the default) = off. Mini-lessons and group activities are chosen for learning only.
    """

    model: str
    stations: tuple[StationPlan, ...] = ()
    g_min: int = 2
    g_max: int = 8
    n_topics: int = 12
    teacher_p_learn: float = 0.3
    session_minutes: float = 60.0
    remote_minutes: float = 60.0
    pull_out_slots: int = 3
    pull_out_minutes: float = 15.0
    course_minutes: float = 120.0
    lab_capacity: int | None = None
    max_stations_per_learner: int | None = None
    home_place: str = "home"
    mastered_threshold: float = MASTERED_THRESHOLD
    time_limit_s: float = 10.0
    protect: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stations", tuple(self.stations))
        if self.model not in BLENDED_MODELS:
            raise PlanInputError(f"unknown blended model {self.model!r}; use one of {BLENDED_MODELS}")
        if not (1 <= self.g_min <= self.g_max):
            raise PlanInputError(f"g_min={self.g_min}, g_max={self.g_max}; need 1 <= g_min <= g_max")
        ids = [s.id for s in self.stations]
        if len(set(ids)) != len(ids):
            raise PlanInputError(f"station ids {ids} repeat; give every station its own id")
        if sum(s.kind == "teacher_led" for s in self.stations) > 1:
            raise PlanInputError("more than one teacher_led station; a class has one teacher station")
        for name in ("session_minutes", "remote_minutes", "pull_out_minutes", "course_minutes"):
            if not getattr(self, name) >= 0:
                raise PlanInputError(f"{name}={getattr(self, name)}; it must be >= 0 minutes")
        if self.max_stations_per_learner is not None and self.max_stations_per_learner < 1:
            raise PlanInputError(f"max_stations_per_learner={self.max_stations_per_learner}; "
                                 "it must be >= 1")
        if self.lab_capacity is not None and self.lab_capacity < 1:
            raise PlanInputError(f"lab_capacity={self.lab_capacity}; it must be >= 1 seat")
        if self.n_topics < 1 or self.pull_out_slots < 0:
            raise PlanInputError(f"n_topics={self.n_topics}, pull_out_slots={self.pull_out_slots};"
                                 " need n_topics >= 1 and pull_out_slots >= 0")
        if not (0.0 < self.teacher_p_learn < 1.0):
            raise PlanInputError(f"teacher_p_learn={self.teacher_p_learn}; it must be in (0, 1)")
        if not (0.0 < self.mastered_threshold <= 1.0):
            raise PlanInputError(f"mastered_threshold={self.mastered_threshold}; it must be in (0, 1]")
        if not (self.protect >= 0.0):
            raise PlanInputError(f"protect={self.protect}; it must be >= 0 (0 = no forgetting protection)")


@dataclass(frozen=True)
class GroupLock:
    """Teacher lock: ``learner_id`` must get mini-lesson ``topic`` (a skill id), and/or be at
    station ``station`` (id) — in rotation ``rotation`` (0-based) when given. Naming a rotation
    disables symmetry breaking between rotations."""

    learner_id: str
    topic: str | None = None
    station: str | None = None
    rotation: int | None = None

    def __post_init__(self) -> None:
        if self.topic is None and self.station is None:
            raise PlanInputError(f"lock for {self.learner_id!r} names neither a topic nor a station")
        if self.rotation is not None and self.station is None:
            raise PlanInputError(f"lock for {self.learner_id!r} names rotation {self.rotation} but "
                                 "no station; add the station id")


@dataclass(frozen=True)
class ClassRequests:
    """Teacher requests on the whole class. ``keep_apart``: pairs never in the same group
    (teacher group, collaborative station, pull-out slot). ``keep_together``: pairs always in
    the same group (same station each rotation). ``locks``: see ``GroupLock``."""

    keep_apart: tuple[tuple[str, str], ...] = ()
    keep_together: tuple[tuple[str, str], ...] = ()
    locks: tuple[GroupLock, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep_apart", tuple(tuple(p) for p in self.keep_apart))
        object.__setattr__(self, "keep_together", tuple(tuple(p) for p in self.keep_together))
        object.__setattr__(self, "locks", tuple(self.locks))


@dataclass(frozen=True)
class GroupReason:
    """Why a group exists: the shared need in data plus one plain ``sentence``.
    ``need_count`` of ``size`` members have ``topic`` in their readiness set with mastery in
    ``mastery_range``; ``constraints``: teacher requests that shaped the group."""

    topic: str | None
    topic_title: str
    size: int
    need_count: int
    mastery_range: tuple[float, float] | None
    prerequisites_mastered: bool
    constraints: tuple[str, ...]
    sentence: str


@dataclass(frozen=True)
class ClassGroup:
    """A group of learners at one station (or pull-out slot / in-class group) in one slot.
    ``slot`` is the rotation (or pull-out slot) index, ``start_min`` minutes from session
    start. ``activity_id``: the shared activity (None for a teacher mini-lesson without a
    catalog activity)."""

    id: str
    station_id: str
    kind: str
    slot: int
    start_min: float
    minutes: float
    learner_ids: tuple[str, ...]
    topic: str | None
    activity_id: str | None
    reason: GroupReason


@dataclass(frozen=True)
class ScheduledItem:
    """One entry of a learner's schedule: where (``station_id``, ``place``), when
    (``slot``, ``start_min``, ``minutes``), what (``item``; None = open time) and with whom
    (``group_id``; None = on their own)."""

    learner_id: str
    slot: int
    start_min: float
    minutes: float
    station_id: str
    kind: str
    place: str
    item: PlannedItem | None
    group_id: str | None = None


@dataclass(frozen=True)
class LearnerSchedule:
    """A learner's whole schedule for the session, in time order."""

    learner_id: str
    items: tuple[ScheduledItem, ...]

    @property
    def activity_ids(self) -> tuple[str, ...]:
        return tuple(i.item.activity_id for i in self.items if i.item is not None)


@dataclass(frozen=True)
class ClassPlan:
    """A whole class's session plan.

    ``groups``: every group (teacher small groups, collaborative groups, pull-outs).
    ``schedules``: one per learner, in roster order. ``conflicts``: teacher requests or
    capacities that could not all hold (with the slack they needed); ``status`` "relaxed" then.
    ``objective``: total expected mastery gain of the teacher groups from the class-level MILP
    (a la carte, which has no groups: the learners' playlists' expected gain).
    ``n_slots``: rotations (or pull-out slots); ``symmetry_breaking``: whether it was used.
    """

    model: str
    groups: tuple[ClassGroup, ...]
    schedules: tuple[LearnerSchedule, ...]
    conflicts: tuple[Conflict, ...]
    status: ClassPlanStatus
    objective: float
    n_slots: int
    symmetry_breaking: bool = False
    solve_ms: float = 0.0
    stations: tuple[StationPlan, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    def schedule_of(self, learner_id: str) -> LearnerSchedule:
        for s in self.schedules:
            if s.learner_id == learner_id:
                return s
        raise PlanInputError(f"learner {learner_id!r} is not in this class plan")

    def group(self, group_id: str) -> ClassGroup:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise PlanInputError(f"group {group_id!r} is not in this class plan")
