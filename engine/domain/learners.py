"""Learners and their co-created, auditable learner profiles.

Every profile field is a :class:`Provenanced` value: the value plus who set it
(student, teacher, parent or system), their name (``author``, for "written by Ms. Ortiz")
and when. Profiles are immutable; :meth:`LearnerProfile.with_field` returns a new profile
and keeps the superseded value in ``history`` so the whole story of the profile can be audited.

Per-field ownership (:data:`FIELD_OWNERS`, checked by :func:`check_may_write`): the student
owns their interests, aspirations, how they learn best, their goals and preferred formats and
groupings; the teacher owns strengths, areas of growth, accommodations, pace and goal skills;
the parent or guardian owns the family notes and the availability at home; the system owns
what it learns from the student's choices (``choices``: the choice counts of the choice
boards). An admin may write any field on behalf of its owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from engine.domain import _checks as c
from engine.domain.catalog import Accommodation, Format, Place
from engine.errors import ValidationError

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Actor(StrEnum):
    """Who set a profile field."""

    STUDENT = "student"
    TEACHER = "teacher"
    PARENT = "parent"
    SYSTEM = "system"


class Grouping(StrEnum):
    INDIVIDUAL = "individual"
    PAIR = "pair"
    SMALL_GROUP = "small_group"
    WHOLE_CLASS = "whole_class"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


@dataclass(frozen=True, slots=True)
class Provenanced(Generic[T]):
    """A value with its provenance: who set it (``set_by``) and when (``set_at``, aware)."""

    value: T
    set_by: Actor
    set_at: datetime
    author: str = ""  # display name or id of the person who wrote it ("" = unknown / system)

    def __post_init__(self) -> None:
        object.__setattr__(self, "set_by", c.enum("Provenanced", "set_by", self.set_by, Actor))
        object.__setattr__(self, "set_at", c.aware_datetime("Provenanced", "set_at", self.set_at))
        c.text("Provenanced", "author", self.author, allow_empty=True)


@dataclass(frozen=True, slots=True)
class Availability:
    """When, where and with which devices a learner can work.

    Attributes:
        days: weekdays the learner can work outside the class sessions.
        places: places the learner can work (school, home, community).
        devices: devices the learner has access to (``"laptop"``, ``"tablet"``...).
        home_minutes_per_week: minutes available for home work, integer in [0, 3000].
    """

    days: frozenset[Weekday] = frozenset()
    places: frozenset[Place] = frozenset({Place.SCHOOL})
    devices: frozenset[str] = frozenset()
    home_minutes_per_week: int = 0

    def __post_init__(self) -> None:
        o = "Availability"
        object.__setattr__(self, "days", c.enum_set(o, "days", self.days, Weekday))
        object.__setattr__(self, "places", c.enum_set(o, "places", self.places, Place))
        object.__setattr__(self, "devices", c.text_set(o, "devices", self.devices))
        c.integer(o, "home_minutes_per_week", self.home_minutes_per_week, lo=0, hi=3000)


def _pairs(owner: str, name: str, value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, dict):
        value = value.items()
    try:
        pairs = [(c.text(owner, name, k), c.text(owner, name, v)) for k, v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(
            f"{owner}.{name} must be (key, value) string pairs or a dict, got {value!r}"
        ) from None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValidationError(f"{owner}.{name} repeats a key in {keys}; give each key once")
    return tuple(sorted(pairs))


# Field name -> coercer of the plain value (without provenance).
_COERCE: dict[str, Any] = {
    "strengths": lambda v: c.text_set("LearnerProfile", "strengths", v),
    "growth_areas": lambda v: c.text_set("LearnerProfile", "growth_areas", v),
    "interests": lambda v: c.text_set("LearnerProfile", "interests", v),
    "aspirations": lambda v: c.text_tuple("LearnerProfile", "aspirations", v),
    "goal_skills": lambda v: c.text_set("LearnerProfile", "goal_skills", v),
    "preferred_formats": lambda v: c.enum_set("LearnerProfile", "preferred_formats", v, Format),
    "preferred_groupings": lambda v: c.enum_set(
        "LearnerProfile", "preferred_groupings", v, Grouping),
    "accommodations": lambda v: c.enum_set("LearnerProfile", "accommodations", v, Accommodation),
    "pace": lambda v: c.number("LearnerProfile", "pace", v, lo=0.25, hi=4.0),
    "availability": lambda v: _availability(v),
    "choices": lambda v: _pairs("LearnerProfile", "choices", v),
    "how_i_learn": lambda v: _notes("how_i_learn", v),
    "goals": lambda v: _notes("goals", v),
    "family_notes": lambda v: _notes("family_notes", v),
    "home_availability": lambda v: _notes("home_availability", v),
}

MAX_NOTE_CHARS = 500
MAX_NOTES = 50


def _notes(name: str, v: object) -> tuple[str, ...]:
    """Free text in the writer's own words: a tuple of at most ``MAX_NOTES`` non-blank
    strings of at most ``MAX_NOTE_CHARS`` characters each (surrounding blanks stripped)."""
    if isinstance(v, str):
        v = (v,)
    items = tuple(t.strip() for t in c.text_tuple("LearnerProfile", name, v))
    if len(items) > MAX_NOTES:
        raise ValidationError(f"LearnerProfile.{name} has {len(items)} entries; keep at most {MAX_NOTES}")
    for t in items:
        if len(t) > MAX_NOTE_CHARS:
            raise ValidationError(f"LearnerProfile.{name}: an entry has {len(t)} characters; "
                                  f"keep each under {MAX_NOTE_CHARS}")
    return items

_DEFAULTS: dict[str, Any] = {
    "strengths": frozenset(),
    "growth_areas": frozenset(),
    "interests": frozenset(),
    "aspirations": (),
    "goal_skills": frozenset(),
    "preferred_formats": frozenset(),
    "preferred_groupings": frozenset(),
    "accommodations": frozenset(),
    "pace": 1.0,
    "availability": None,
    "choices": (),
    "how_i_learn": (),
    "goals": (),
    "family_notes": (),
    "home_availability": (),
}

# Who owns which field (the only role that may write it; an admin writes on the owner's behalf).
FIELD_OWNERS: dict[str, Actor] = {
    "interests": Actor.STUDENT, "aspirations": Actor.STUDENT, "how_i_learn": Actor.STUDENT,
    "goals": Actor.STUDENT, "preferred_formats": Actor.STUDENT, "preferred_groupings": Actor.STUDENT,
    "strengths": Actor.TEACHER, "growth_areas": Actor.TEACHER, "accommodations": Actor.TEACHER,
    "pace": Actor.TEACHER, "goal_skills": Actor.TEACHER,
    "family_notes": Actor.PARENT, "home_availability": Actor.PARENT, "availability": Actor.PARENT,
    "choices": Actor.SYSTEM,
}


def fields_of(actor: Actor | str) -> tuple[str, ...]:
    """The profile fields ``actor`` owns, in profile order."""
    a = c.enum("profile", "actor", actor, Actor)
    return tuple(f for f in _COERCE if FIELD_OWNERS[f] == a)


def check_may_write(actor: Actor | str, names: Any) -> None:
    """Raise ValidationError for an unknown field name and :class:`engine.errors.AccessDenied`
    when ``actor`` does not own one of ``names`` (the message names the owner and the fields
    ``actor`` may write)."""
    from engine.errors import AccessDenied

    a = c.enum("profile", "actor", actor, Actor)
    for name in names:
        if name not in _COERCE:
            raise ValidationError(f"fields.{name}: unknown profile field; use one of {', '.join(_COERCE)}")
        owner = FIELD_OWNERS[name]
        if owner != a:
            raise AccessDenied(f"fields.{name}: the {owner.value} owns this field; a {a.value} may "
                               f"write only {', '.join(fields_of(a)) or 'no field'}")


def _availability(v: object) -> Availability:
    if v is None:
        return Availability()
    if isinstance(v, dict):
        return Availability(**v)
    if not isinstance(v, Availability):
        raise ValidationError(
            f"LearnerProfile.availability must be an Availability, got {type(v).__name__}"
        )
    return v


def _unset(name: str) -> Provenanced[Any]:
    return Provenanced(_DEFAULTS[name], Actor.SYSTEM, EPOCH)


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """A superseded value of one profile field (kept in ``LearnerProfile.history``)."""

    field: str
    previous: Provenanced[Any]


@dataclass(frozen=True, slots=True)
class LearnerProfile:
    """The learner's story, every field provenanced.

    Attributes (each a ``Provenanced`` of the type shown):
        strengths, growth_areas: frozenset[str] skill ids.
        interests: frozenset[str] interest tags (lower case).
        aspirations: tuple[str] free-text aspirations / goals in the learner's words.
        goal_skills: frozenset[str] skill ids the learner and teacher aim at.
        preferred_formats: frozenset[Format]; preferred_groupings: frozenset[Grouping].
        accommodations: frozenset[Accommodation].
        pace: float in [0.25, 4], relative speed (1.0 typical, 0.5 needs twice the time).
        availability: Availability (when / where / devices).
        choices: tuple[(key, value)] student choices, e.g. ``("project_topic", "space")``, and
            the choice-board counts (``planner.choices.learn_preferences``).
        how_i_learn, goals: tuple[str] in the student's words ("with pictures", "read a chapter
            book"); family_notes, home_availability: tuple[str] in the guardian's words.
        history: superseded values, oldest first.
    """

    strengths: Provenanced[frozenset[str]]
    growth_areas: Provenanced[frozenset[str]]
    interests: Provenanced[frozenset[str]]
    aspirations: Provenanced[tuple[str, ...]]
    goal_skills: Provenanced[frozenset[str]]
    preferred_formats: Provenanced[frozenset[Format]]
    preferred_groupings: Provenanced[frozenset[Grouping]]
    accommodations: Provenanced[frozenset[Accommodation]]
    pace: Provenanced[float]
    availability: Provenanced[Availability]
    choices: Provenanced[tuple[tuple[str, str], ...]]
    how_i_learn: Provenanced[tuple[str, ...]] = field(default_factory=lambda: _unset("how_i_learn"))
    goals: Provenanced[tuple[str, ...]] = field(default_factory=lambda: _unset("goals"))
    family_notes: Provenanced[tuple[str, ...]] = field(default_factory=lambda: _unset("family_notes"))
    home_availability: Provenanced[tuple[str, ...]] = field(
        default_factory=lambda: _unset("home_availability"))
    history: tuple[ProfileChange, ...] = ()

    FIELDS = tuple(_COERCE)

    def __post_init__(self) -> None:
        for name in _COERCE:
            p = getattr(self, name)
            if not isinstance(p, Provenanced):
                raise ValidationError(
                    f"LearnerProfile.{name} must be a Provenanced value (value, set_by, "
                    f"set_at), got {type(p).__name__}; build profiles with "
                    "LearnerProfile.create(...)"
                )
            v = _COERCE[name](p.value)
            if v is not p.value:
                object.__setattr__(self, name, Provenanced(v, p.set_by, p.set_at, p.author))
        history = []
        for ch in self.history:
            if not isinstance(ch, ProfileChange) or ch.field not in _COERCE:
                raise ValidationError(
                    f"LearnerProfile.history entry {ch!r} is not a ProfileChange of a known field"
                )
            v = _COERCE[ch.field](ch.previous.value)
            if v is not ch.previous.value:
                ch = ProfileChange(ch.field, Provenanced(v, ch.previous.set_by,
                                                         ch.previous.set_at, ch.previous.author))
            history.append(ch)
        object.__setattr__(self, "history", tuple(history))

    @classmethod
    def create(cls, *, set_by: Actor | str = Actor.SYSTEM, at: datetime = EPOCH,
               **values: Any) -> LearnerProfile:
        """A profile whose given ``values`` (and defaults for the rest) were set by
        ``set_by`` at ``at``. Unknown field names raise ValidationError."""
        unknown = sorted(set(values) - set(_COERCE))
        if unknown:
            raise ValidationError(
                f"unknown LearnerProfile field(s) {unknown}; use: {', '.join(_COERCE)}"
            )
        return cls(**{
            name: Provenanced(_COERCE[name](values.get(name, _DEFAULTS[name])), set_by, at)
            for name in _COERCE
        })

    def with_field(self, name: str, value: Any, set_by: Actor | str,
                   at: datetime, author: str = "") -> LearnerProfile:
        """A new profile with field ``name`` set to ``value`` by ``set_by`` at ``at``.

        The superseded value is appended to ``history``. ``at`` must not be earlier
        than the field's current ``set_at`` (changes are recorded in time order).
        """
        if name not in _COERCE:
            raise ValidationError(
                f"unknown LearnerProfile field {name!r}; use one of: {', '.join(_COERCE)}"
            )
        new = Provenanced(_COERCE[name](value), set_by, at, author)
        current: Provenanced[Any] = getattr(self, name)
        if new.set_at < current.set_at:
            raise ValidationError(
                f"LearnerProfile.{name}: change at {new.set_at.isoformat()} is earlier than "
                f"the current value's {current.set_at.isoformat()}; record changes in time order"
            )
        return replace(self, **{name: new},
                       history=self.history + (ProfileChange(name, current),))

    def value(self, name: str) -> Any:
        """The plain current value of field ``name``."""
        if name not in _COERCE:
            raise ValidationError(
                f"unknown LearnerProfile field {name!r}; use one of: {', '.join(_COERCE)}"
            )
        return getattr(self, name).value

    def values(self) -> dict[str, Any]:
        """``{field: current plain value}`` for every field."""
        return {name: getattr(self, name).value for name in _COERCE}

    def audit(self, name: str | None = None) -> tuple[ProfileChange, ...]:
        """Every value the field(s) ever had, oldest first, current values included."""
        names = _COERCE if name is None else (name,)
        for n in names:
            if n not in _COERCE:
                raise ValidationError(f"unknown LearnerProfile field {n!r}")
        trail = [ch for ch in self.history if ch.field in names]
        trail += [ProfileChange(n, getattr(self, n)) for n in names]
        return tuple(sorted(trail, key=lambda ch: ch.previous.set_at))


@dataclass(frozen=True, slots=True)
class Learner:
    """A learner: id, display name, grade level, language and profile."""

    id: str
    name: str
    grade: str
    profile: LearnerProfile = field(default_factory=LearnerProfile.create)
    language: str = "en"

    def __post_init__(self) -> None:
        c.text("Learner", "id", self.id)
        o = f"Learner[{self.id!r}]"
        c.text(o, "name", self.name)
        c.text(o, "grade", self.grade)
        c.text(o, "language", self.language)
        if not isinstance(self.profile, LearnerProfile):
            raise ValidationError(f"{o}.profile must be a LearnerProfile, got {self.profile!r}")

    def with_profile_field(self, name: str, value: Any, set_by: Actor | str,
                           at: datetime) -> Learner:
        """A new learner whose profile has ``name`` updated (see ``with_field``)."""
        return replace(self, profile=self.profile.with_field(name, value, set_by, at))
