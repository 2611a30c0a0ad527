"""Classes, teachers, guardians and the blended-learning model each class runs.

The blended model is a tagged union (``BlendedModel``); each variant carries a
``tag`` used by serialization. Personalized-learning classes are small:
the class-size cap is at most :data:`MAX_CLASS_SIZE` (40: rostered US classes hold 30 and
more; a class's own ``size_cap`` may be lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.domain import _checks as c
from engine.domain.catalog import ActivityKind
from engine.domain.learners import Weekday
from engine.errors import ValidationError

MAX_CLASS_SIZE = 40


@dataclass(frozen=True, slots=True)
class Teacher:
    id: str
    name: str

    def __post_init__(self) -> None:
        c.text("Teacher", "id", self.id)
        c.text(f"Teacher[{self.id!r}]", "name", self.name)


@dataclass(frozen=True, slots=True)
class Guardian:
    """A parent or guardian and the learners linked to them (the roster's guardian links).

    A guardian reads their children's plans and progress and adds notes to their profiles."""

    id: str
    name: str
    learner_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c.text("Guardian", "id", self.id)
        c.text(f"Guardian[{self.id!r}]", "name", self.name)
        object.__setattr__(self, "learner_ids", tuple(self.learner_ids))
        for lid in self.learner_ids:
            c.text(f"Guardian[{self.id!r}]", "learner_ids[]", lid)


@dataclass(frozen=True, slots=True)
class Station:
    """One station of a (station or individual) rotation.

    Attributes:
        name: unique within the rotation.
        kind: what happens there (lesson, practice, small_group...).
        minutes: length of one rotation at this station, integer in [1, 240].
        capacity: seats/devices, integer in [1, MAX_CLASS_SIZE].
        online, teacher_led, collaborative: what the station is (at most one of
            ``online`` and ``teacher_led``; none set = independent offline work).
    """

    name: str
    kind: ActivityKind
    minutes: int
    capacity: int
    online: bool = False
    teacher_led: bool = False
    collaborative: bool = False

    def __post_init__(self) -> None:
        c.text("Station", "name", self.name)
        o = f"Station[{self.name!r}]"
        object.__setattr__(self, "kind", c.enum(o, "kind", self.kind, ActivityKind))
        c.integer(o, "minutes", self.minutes, lo=1, hi=240)
        c.integer(o, "capacity", self.capacity, lo=1, hi=MAX_CLASS_SIZE)
        for flag in ("online", "teacher_led", "collaborative"):
            if not isinstance(getattr(self, flag), bool):
                raise ValidationError(f"{o}.{flag} must be true or false")
        if self.online and self.teacher_led:
            raise ValidationError(
                f"{o} is both online and teacher_led; split it into two stations"
            )


def _stations(owner: str, stations: object, small_group_cap: int) -> tuple[Station, ...]:
    st = tuple(stations)  # type: ignore[arg-type]
    if not st:
        raise ValidationError(f"{owner}.stations is empty; give at least one Station")
    names = [s.name for s in st]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"{owner} has duplicate station names {dup}; make names unique")
    for s in st:
        if s.teacher_led and s.capacity > small_group_cap:
            raise ValidationError(
                f"{owner}: teacher-led station {s.name!r} has capacity {s.capacity} above "
                f"the small-group cap {small_group_cap}; lower the capacity"
            )
    return st


@dataclass(frozen=True, slots=True)
class StationRotation:
    """Everyone rotates through every station; ``small_group_cap`` bounds teacher groups."""

    tag: ClassVar[str] = "station_rotation"
    stations: tuple[Station, ...]
    small_group_cap: int = 6

    def __post_init__(self) -> None:
        c.integer("StationRotation", "small_group_cap", self.small_group_cap, lo=1,
                  hi=MAX_CLASS_SIZE)
        object.__setattr__(self, "stations", _stations(
            "StationRotation", self.stations, self.small_group_cap))

    @property
    def minutes(self) -> int:
        return sum(s.minutes for s in self.stations)


@dataclass(frozen=True, slots=True)
class LabRotation:
    """Rotation between the classroom and a computer lab."""

    tag: ClassVar[str] = "lab_rotation"
    classroom_minutes: int
    lab_minutes: int
    lab_devices: int

    def __post_init__(self) -> None:
        c.integer("LabRotation", "classroom_minutes", self.classroom_minutes, lo=1, hi=480)
        c.integer("LabRotation", "lab_minutes", self.lab_minutes, lo=1, hi=480)
        c.integer("LabRotation", "lab_devices", self.lab_devices, lo=1, hi=200)


@dataclass(frozen=True, slots=True)
class IndividualRotation:
    """Each learner follows a personal schedule across the stations."""

    tag: ClassVar[str] = "individual_rotation"
    stations: tuple[Station, ...]
    max_stations_per_learner: int
    small_group_cap: int = 6

    def __post_init__(self) -> None:
        o = "IndividualRotation"
        c.integer(o, "small_group_cap", self.small_group_cap, lo=1, hi=MAX_CLASS_SIZE)
        st = _stations(o, self.stations, self.small_group_cap)
        object.__setattr__(self, "stations", st)
        c.integer(o, "max_stations_per_learner", self.max_stations_per_learner, lo=1,
                  hi=len(st))


@dataclass(frozen=True, slots=True)
class Flipped:
    """Online content at home before class, practice and projects in class."""

    tag: ClassVar[str] = "flipped"
    home_minutes: int
    class_minutes: int
    home_device_required: bool = True

    def __post_init__(self) -> None:
        c.integer("Flipped", "home_minutes", self.home_minutes, lo=1, hi=240)
        c.integer("Flipped", "class_minutes", self.class_minutes, lo=1, hi=480)


@dataclass(frozen=True, slots=True)
class Flex:
    """Mostly online, self-paced work; the teacher pulls out small groups on demand."""

    tag: ClassVar[str] = "flex"
    pullout_slots: int
    pullout_minutes: int
    pullout_max_group: int

    def __post_init__(self) -> None:
        c.integer("Flex", "pullout_slots", self.pullout_slots, lo=0, hi=20)
        c.integer("Flex", "pullout_minutes", self.pullout_minutes, lo=1, hi=240)
        c.integer("Flex", "pullout_max_group", self.pullout_max_group, lo=1, hi=MAX_CLASS_SIZE)


@dataclass(frozen=True, slots=True)
class ALaCarte:
    """A fully online course taken alongside face-to-face classes."""

    tag: ClassVar[str] = "a_la_carte"
    online_minutes_per_week: int
    course_name: str
    at_school: bool = True

    def __post_init__(self) -> None:
        c.integer("ALaCarte", "online_minutes_per_week", self.online_minutes_per_week,
                  lo=1, hi=3000)
        c.text("ALaCarte", "course_name", self.course_name)


@dataclass(frozen=True, slots=True)
class EnrichedVirtual:
    """Required in-person sessions on some days, online the rest of the week."""

    tag: ClassVar[str] = "enriched_virtual"
    in_person_days: frozenset[Weekday]
    in_person_minutes: int
    virtual_minutes_per_week: int

    def __post_init__(self) -> None:
        o = "EnrichedVirtual"
        days = c.enum_set(o, "in_person_days", self.in_person_days, Weekday)
        if not days:
            raise ValidationError(f"{o}.in_person_days is empty; give at least one weekday")
        object.__setattr__(self, "in_person_days", days)
        c.integer(o, "in_person_minutes", self.in_person_minutes, lo=1, hi=480)
        c.integer(o, "virtual_minutes_per_week", self.virtual_minutes_per_week, lo=1, hi=3000)


BlendedModel = (StationRotation | LabRotation | IndividualRotation | Flipped | Flex
                | ALaCarte | EnrichedVirtual)
BLENDED_MODELS: dict[str, type] = {
    cls.tag: cls for cls in (StationRotation, LabRotation, IndividualRotation, Flipped,
                               Flex, ALaCarte, EnrichedVirtual)
}


@dataclass(frozen=True, slots=True)
class SessionSlot:
    """A recurring class session: weekday, start ``"HH:MM"`` (24 h), length in minutes."""

    day: Weekday
    start: str
    minutes: int

    def __post_init__(self) -> None:
        o = "SessionSlot"
        object.__setattr__(self, "day", c.enum(o, "day", self.day, Weekday))
        c.text(o, "start", self.start)
        hh, _, mm = self.start.partition(":")
        if not (hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(hh) < 24
                and int(mm) < 60):
            raise ValidationError(f"{o}.start={self.start!r} is not a 24 h time; use 'HH:MM'")
        c.integer(o, "minutes", self.minutes, lo=1, hi=480)


@dataclass(frozen=True, slots=True)
class Class:
    """A class: roster (learner ids), teachers (teacher ids), blended model, schedule.

    ``size_cap`` <= :data:`MAX_CLASS_SIZE` (40) bounds the roster; ``small_group_cap`` bounds any small group.
    Station capacities must seat the whole roster in every rotation.
    """

    id: str
    name: str
    grade: str
    teachers: tuple[str, ...]
    roster: tuple[str, ...]
    model: BlendedModel
    schedule: tuple[SessionSlot, ...] = ()
    size_cap: int = MAX_CLASS_SIZE
    small_group_cap: int = 6

    def __post_init__(self) -> None:
        c.text("Class", "id", self.id)
        o = f"Class[{self.id!r}]"
        c.text(o, "name", self.name)
        c.text(o, "grade", self.grade)
        set_ = object.__setattr__
        set_(self, "teachers", c.unique_tuple(o, "teachers", self.teachers))
        if not self.teachers:
            raise ValidationError(f"{o}.teachers is empty; assign at least one teacher id")
        set_(self, "roster", c.unique_tuple(o, "roster", self.roster))
        c.integer(o, "size_cap", self.size_cap, lo=1, hi=MAX_CLASS_SIZE)
        c.integer(o, "small_group_cap", self.small_group_cap, lo=1, hi=self.size_cap)
        if len(self.roster) > self.size_cap:
            raise ValidationError(
                f"{o} has {len(self.roster)} learners, above its size cap {self.size_cap} "
                f"(personalized-learning classes hold at most {MAX_CLASS_SIZE}); split the class"
            )
        if not isinstance(self.model, tuple(BLENDED_MODELS.values())):
            raise ValidationError(
                f"{o}.model must be one of {', '.join(BLENDED_MODELS)}, got {self.model!r}"
            )
        stations = getattr(self.model, "stations", None)
        if stations is not None:
            if self.model.small_group_cap > self.small_group_cap:
                raise ValidationError(
                    f"{o}: model small_group_cap {self.model.small_group_cap} exceeds the "
                    f"class small_group_cap {self.small_group_cap}; lower it"
                )
            seats = sum(s.capacity for s in stations)
            if isinstance(self.model, StationRotation) and seats < len(self.roster):
                raise ValidationError(
                    f"{o}: stations seat {seats} learners per rotation but the roster has "
                    f"{len(self.roster)}; raise station capacities or add a station"
                )
        if isinstance(self.model, Flex) and self.model.pullout_max_group > self.small_group_cap:
            raise ValidationError(
                f"{o}: flex pullout_max_group {self.model.pullout_max_group} exceeds the "
                f"small_group_cap {self.small_group_cap}; lower it"
            )
        set_(self, "schedule", tuple(self.schedule))
        for slot in self.schedule:
            if not isinstance(slot, SessionSlot):
                raise ValidationError(f"{o}.schedule entries must be SessionSlot, got {slot!r}")
