"""Activities (what a learner can do) and the activity catalog that indexes them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from engine.domain import _checks as c
from engine.errors import NotFoundError, ValidationError


class ActivityKind(StrEnum):
    LESSON = "lesson"
    PRACTICE = "practice"
    PROJECT = "project"
    SMALL_GROUP = "small_group"
    ONLINE_MODULE = "online_module"
    ASSESSMENT = "assessment"


class Modality(StrEnum):
    ONLINE = "online"
    TEACHER_LED = "teacher_led"
    COLLABORATIVE = "collaborative"
    INDEPENDENT_OFFLINE = "independent_offline"


class Place(StrEnum):
    SCHOOL = "school"
    HOME = "home"
    COMMUNITY = "community"


class Format(StrEnum):
    VIDEO = "video"
    READING = "reading"
    HANDS_ON = "hands_on"
    GAME = "game"
    DISCUSSION = "discussion"


class Accommodation(StrEnum):
    """Supports an activity can offer and a learner can need."""

    EXTENDED_TIME = "extended_time"
    TEXT_TO_SPEECH = "text_to_speech"
    SPEECH_TO_TEXT = "speech_to_text"
    REDUCED_SCREEN_TIME = "reduced_screen_time"
    LARGE_PRINT = "large_print"
    VISUAL_SUPPORTS = "visual_supports"
    TRANSLATED_MATERIALS = "translated_materials"
    MOVEMENT_BREAKS = "movement_breaks"
    QUIET_SPACE = "quiet_space"


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity of the catalog.

    Attributes:
        id: unique activity id.
        title: short title.
        skills: ``((skill_id, weight), ...)``, weight in (0, 1] = how much of the
            activity targets that skill; at least one skill, no skill twice.
        kind, modality, place: see the enums.
        duration_min: minutes, integer in [1, 600].
        difficulty: in [0, 1] (0 easiest).
        group_min, group_max: learners per instance, ``1 <= group_min <= group_max <= 40``.
        device: device needed (``"laptop"``, ``"tablet"``, ...) or ``None``.
        formats: format tags; interests: interest tags (free text, lower case).
        language: BCP 47 language tag (``"en"``, ``"es"``).
        accommodations: accommodations this activity supports.
    """

    id: str
    title: str
    skills: tuple[tuple[str, float], ...]
    kind: ActivityKind
    modality: Modality
    place: Place
    duration_min: int
    difficulty: float
    group_min: int = 1
    group_max: int = 1
    device: str | None = None
    formats: frozenset[Format] = frozenset()
    interests: frozenset[str] = frozenset()
    language: str = "en"
    accommodations: frozenset[Accommodation] = frozenset()

    def __post_init__(self) -> None:
        o = f"Activity[{self.id!r}]"
        c.text("Activity", "id", self.id)
        c.text(o, "title", self.title)
        set_ = object.__setattr__
        set_(self, "skills", _weights(o, self.skills))
        set_(self, "kind", c.enum(o, "kind", self.kind, ActivityKind))
        set_(self, "modality", c.enum(o, "modality", self.modality, Modality))
        set_(self, "place", c.enum(o, "place", self.place, Place))
        c.integer(o, "duration_min", self.duration_min, lo=1, hi=600)
        set_(self, "difficulty", c.number(o, "difficulty", self.difficulty, lo=0.0, hi=1.0))
        c.integer(o, "group_min", self.group_min, lo=1, hi=40)
        c.integer(o, "group_max", self.group_max, lo=1, hi=40)
        if self.group_min > self.group_max:
            raise ValidationError(
                f"{o}.group_min={self.group_min} exceeds group_max={self.group_max}; "
                "make group_min <= group_max"
            )
        c.optional_text(o, "device", self.device)
        set_(self, "formats", c.enum_set(o, "formats", self.formats, Format))
        set_(self, "interests", c.text_set(o, "interests", self.interests))
        c.text(o, "language", self.language)
        set_(self, "accommodations",
             c.enum_set(o, "accommodations", self.accommodations, Accommodation))

    @property
    def skill_ids(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.skills)

    def weight(self, skill_id: str) -> float:
        """Weight of ``skill_id`` in this activity (0.0 when it is not targeted)."""
        for s, w in self.skills:
            if s == skill_id:
                return w
        return 0.0


def _weights(owner: str, value: object) -> tuple[tuple[str, float], ...]:
    if isinstance(value, dict):
        value = tuple(value.items())
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{owner}.skills must be a list of (skill_id, weight) pairs, got {value!r}"
        )
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for pair in value:
        if isinstance(pair, str):
            raise ValidationError(
                f"{owner}.skills entry {pair!r} has no weight; give (skill_id, weight) "
                "pairs such as ('3.OA.A.1', 1.0)"
            )
        try:
            sid, w = pair
        except (TypeError, ValueError):
            raise ValidationError(
                f"{owner}.skills entry {pair!r} is not a (skill_id, weight) pair"
            ) from None
        sid = c.text(owner, "skills[].skill_id", sid)
        w = c.number(owner, f"skills[{sid!r}].weight", w, lo=0.0, hi=1.0, lo_open=True)
        if sid in seen:
            raise ValidationError(f"{owner}.skills lists skill {sid!r} twice; list it once")
        seen.add(sid)
        out.append((sid, w))
    if not out:
        raise ValidationError(f"{owner}.skills is empty; an activity must target >= 1 skill")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ActivityCatalog:
    """An immutable, indexed set of activities (ids unique).

    Lookups are dict-based: ``get`` and ``for_skill`` are O(1) plus the result size.
    """

    activities: tuple[Activity, ...]
    _by_id: dict[str, Activity] = field(init=False, repr=False, compare=False)
    _by_skill: dict[str, tuple[Activity, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        acts = tuple(self.activities)
        by_id: dict[str, Activity] = {}
        by_skill: dict[str, list[Activity]] = {}
        for a in acts:
            if not isinstance(a, Activity):
                raise ValidationError(
                    f"ActivityCatalog holds Activity objects, got {type(a).__name__} {a!r}"
                )
            if a.id in by_id:
                raise ValidationError(
                    f"duplicate activity id {a.id!r} in the catalog; give each activity a "
                    "unique id"
                )
            by_id[a.id] = a
            for sid in a.skill_ids:
                by_skill.setdefault(sid, []).append(a)
        object.__setattr__(self, "activities", acts)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_skill", {k: tuple(v) for k, v in by_skill.items()})

    def __len__(self) -> int:
        return len(self.activities)

    def __iter__(self) -> Iterator[Activity]:
        return iter(self.activities)

    def __contains__(self, activity_id: object) -> bool:
        return activity_id in self._by_id

    def get(self, activity_id: str) -> Activity:
        """The activity with this id; :class:`NotFoundError` when absent."""
        try:
            return self._by_id[activity_id]
        except KeyError:
            raise NotFoundError(
                f"unknown activity {activity_id!r}; it is not in the catalog "
                f"({len(self)} activities) - check the id or add the activity first"
            ) from None

    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def skill_ids(self) -> frozenset[str]:
        """Every skill id some activity targets."""
        return frozenset(self._by_skill)

    def for_skill(self, skill_id: str) -> tuple[Activity, ...]:
        """Activities targeting ``skill_id`` (empty tuple when none)."""
        return self._by_skill.get(skill_id, ())

    def filter(
        self,
        *,
        skill_ids: Iterable[str] | None = None,
        kinds: Iterable[ActivityKind | str] | None = None,
        modalities: Iterable[Modality | str] | None = None,
        places: Iterable[Place | str] | None = None,
        max_duration_min: int | None = None,
        devices_available: Iterable[str] | None = None,
        formats: Iterable[Format | str] | None = None,
        interests: Iterable[str] | None = None,
        accommodations_needed: Iterable[Accommodation | str] | None = None,
        group_size: int | None = None,
        language: str | None = None,
    ) -> tuple[Activity, ...]:
        """Activities passing every given criterion (``None`` = no constraint).

        ``skill_ids``/``kinds``/``modalities``/``places``/``formats``/``interests``: any match;
        ``devices_available``: the activity needs no device or one of these;
        ``accommodations_needed``: the activity supports all of them;
        ``group_size``: within ``[group_min, group_max]``.
        """
        pool = self._pool(skill_ids)
        checks = _criteria(
            kinds=kinds, modalities=modalities, places=places, max_duration_min=max_duration_min,
            devices_available=devices_available, formats=formats, interests=interests,
            accommodations_needed=accommodations_needed, group_size=group_size, language=language,
        )
        return tuple(a for a in pool if all(ok(a) for ok in checks))

    def _pool(self, skill_ids: Iterable[str] | None) -> Iterable[Activity]:
        """Activities targeting any of ``skill_ids`` (each once, first-seen order), or all."""
        if skill_ids is None:
            return self.activities
        seen: dict[str, Activity] = {}
        for sid in skill_ids:
            for a in self.for_skill(sid):
                seen.setdefault(a.id, a)
        return seen.values()

    def check_skills(self, known_skill_ids: Iterable[str]) -> None:
        """Raise :class:`NotFoundError` naming activities that target unknown skills."""
        known = set(known_skill_ids)
        bad = sorted((a.id, s) for a in self.activities for s in a.skill_ids if s not in known)
        if bad:
            shown = ", ".join(f"{a}->{s}" for a, s in bad[:10])
            raise NotFoundError(
                f"{len(bad)} activity skill reference(s) name skills not in the graph: "
                f"{shown}{' ...' if len(bad) > 10 else ''}; add the skills or fix the ids"
            )


def _criteria(*, kinds, modalities, places, max_duration_min, devices_available, formats,
              interests, accommodations_needed, group_size, language) -> list[Callable[[Activity], bool]]:
    """One predicate per given criterion of :meth:`ActivityCatalog.filter` (arguments as there);
    enum and text sets are checked here, so bad values raise before any activity is tested."""
    o = "ActivityCatalog.filter"
    checks: list[Callable[[Activity], bool]] = []
    if kinds is not None:
        k = c.enum_set(o, "kinds", kinds, ActivityKind)
        checks.append(lambda a: a.kind in k)
    if modalities is not None:
        m = c.enum_set(o, "modalities", modalities, Modality)
        checks.append(lambda a: a.modality in m)
    if places is not None:
        p = c.enum_set(o, "places", places, Place)
        checks.append(lambda a: a.place in p)
    if formats is not None:
        f = c.enum_set(o, "formats", formats, Format)
        checks.append(lambda a: bool(a.formats & f))
    if accommodations_needed is not None:
        acc = c.enum_set(o, "accommodations_needed", accommodations_needed, Accommodation)
        checks.append(lambda a: acc <= a.accommodations)
    if devices_available is not None:
        dev = c.text_set(o, "devices", devices_available)
        checks.append(lambda a: a.device is None or a.device in dev)
    if interests is not None:
        ints = c.text_set(o, "interests", interests)
        checks.append(lambda a: bool(a.interests & ints))
    if max_duration_min is not None:
        checks.append(lambda a: a.duration_min <= max_duration_min)
    if group_size is not None:
        checks.append(lambda a: a.group_min <= group_size <= a.group_max)
    if language is not None:
        checks.append(lambda a: a.language == language)
    return checks
