"""Teachers, learners (with co-created profiles) and the seven classes of the demo school.

Deterministic given the random generator. One class per blended-learning model,
each with at most 20 learners. The per-learner latent traits used by the evidence
simulation (``ability``) are returned beside the domain objects, never stored in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from engine.domain.catalog import Accommodation, Format, Place
from engine.domain.classes import (
    ALaCarte,
    Class,
    EnrichedVirtual,
    Flex,
    Flipped,
    IndividualRotation,
    LabRotation,
    SessionSlot,
    Station,
    StationRotation,
    Teacher,
)
from engine.domain.learners import Actor, Availability, Grouping, Learner, LearnerProfile
from engine.graph.competency import CompetencyGraph

TERM_START = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)

FIRST_NAMES = (
    "Amara", "Ben", "Camila", "Dev", "Elif", "Farah", "Gabriel", "Hana", "Isaac", "Jade",
    "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiden", "Bea", "Chen", "Dara",
    "Emil", "Fatima", "Gus", "Ines", "Jonah", "Keiko", "Luca", "Maya", "Noah", "Olga",
    "Pablo", "Rhea", "Sofia", "Theo", "Uma", "Victor", "Wren", "Yara", "Zain", "Ada",
)
LAST_INITIALS = "ABCDEFGHJKLMNOPRSTVWYZ"
INTERESTS = ("space", "sports", "music", "art", "animals", "cooking", "gaming", "building",
             "nature", "fashion", "coding", "dance", "history", "cars", "robots", "comics")
ASPIRATIONS = {
    "space": "work at a space agency", "sports": "coach a team", "music": "write songs",
    "art": "become an illustrator", "animals": "become a vet", "cooking": "open a bakery",
    "gaming": "design video games", "building": "be an architect", "nature": "protect forests",
    "fashion": "design clothes", "coding": "build apps", "dance": "dance on stage",
    "history": "run a museum", "cars": "be an engineer", "robots": "build robots",
    "comics": "draw a comic book",
}
TEACHERS = (
    Teacher("t-ortiz", "Ms. Ortiz"), Teacher("t-nguyen", "Mr. Nguyen"),
    Teacher("t-adeyemi", "Dr. Adeyemi"), Teacher("t-kowalski", "Ms. Kowalski"),
    Teacher("t-haddad", "Mr. Haddad"), Teacher("t-lindqvist", "Ms. Lindqvist"),
    Teacher("t-rao", "Mr. Rao"),
)
WEEK = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True, slots=True)
class DemoClassSpec:
    """Blueprint of one demo class (grade, size, model, schedule)."""

    id: str
    name: str
    grade: str
    size: int
    teachers: tuple[str, ...]
    model: object
    schedule: tuple[SessionSlot, ...]


def _slots(days: tuple[str, ...], start: str, minutes: int) -> tuple[SessionSlot, ...]:
    return tuple(SessionSlot(d, start, minutes) for d in days)


def demo_class_specs() -> tuple[DemoClassSpec, ...]:
    """The seven demo classes, one per blended model."""
    st = Station
    return (
        DemoClassSpec("c-3-station", "Grade 3 Math - Station Rotation", "3", 18, ("t-ortiz",),
                  StationRotation((
                      st("Teacher table", "small_group", 20, 6, teacher_led=True),
                      st("Online practice", "online_module", 20, 8, online=True),
                      st("Math workshop", "project", 20, 6, collaborative=True),
                  ), small_group_cap=6),
                  _slots(WEEK, "14:00", 60)),
        DemoClassSpec("c-4-lab", "Grade 4 Math - Lab Rotation", "4", 20, ("t-nguyen",),
                  LabRotation(classroom_minutes=45, lab_minutes=30, lab_devices=24),
                  _slots(WEEK, "15:00", 75)),
        DemoClassSpec("c-5-individual", "Grade 5 Math - Individual Rotation", "5", 16,
                  ("t-adeyemi",),
                  IndividualRotation((
                      st("Mini-lesson", "lesson", 15, 5, teacher_led=True),
                      st("Adaptive online", "online_module", 15, 8, online=True),
                      st("Partner task", "practice", 15, 6, collaborative=True),
                      st("Independent practice", "practice", 15, 8),
                      st("Check-in quiz", "assessment", 15, 8, online=True),
                  ), max_stations_per_learner=4, small_group_cap=5),
                  _slots(WEEK, "13:30", 60)),
        DemoClassSpec("c-6-flipped", "Grade 6 Math - Flipped", "6", 19, ("t-kowalski",),
                  Flipped(home_minutes=20, class_minutes=55, home_device_required=True),
                  _slots(WEEK, "16:00", 55)),
        DemoClassSpec("c-7-flex", "Grade 7 Math - Flex Studio", "7", 17, ("t-haddad", "t-rao"),
                  Flex(pullout_slots=3, pullout_minutes=15, pullout_max_group=5),
                  _slots(WEEK, "14:30", 70)),
        DemoClassSpec("c-8-alacarte", "Grade 8 Algebra Readiness - A la Carte", "8", 12,
                  ("t-lindqvist",),
                  ALaCarte(online_minutes_per_week=150, course_name="Algebra Readiness Online",
                           at_school=True),
                  _slots(("mon", "wed", "fri"), "18:00", 50)),
        DemoClassSpec("c-7-virtual", "Grade 7 Math - Enriched Virtual", "7", 15, ("t-rao",),
                  EnrichedVirtual(in_person_days=frozenset({"tue", "thu"}),
                                  in_person_minutes=60, virtual_minutes_per_week=120),
                  _slots(("tue", "thu"), "15:30", 60)),
    )


@dataclass(frozen=True, slots=True)
class LearnerTraits:
    """Latent traits the simulation uses (not part of the domain objects)."""

    ability: float       # standard-normal general math ability
    learn_rate: float    # multiplier on p_learn, exp(0.35 * ability) * pace noise


def _pick(rng: np.random.Generator, pool: tuple[str, ...], k: int) -> list[str]:
    return [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]


def _day(n: int, hour: int = 0) -> datetime:
    return TERM_START + timedelta(days=n, hours=hour)


def build_school(graph: CompetencyGraph, rng: np.random.Generator,
                 ) -> tuple[tuple[Teacher, ...], tuple[Learner, ...], tuple[Class, ...],
                            dict[str, LearnerTraits]]:
    """Teachers, learners, classes and per-learner traits (profiles without diagnosis)."""
    learners: list[Learner] = []
    classes: list[Class] = []
    traits: dict[str, LearnerTraits] = {}
    n = 0
    for spec in demo_class_specs():
        roster = []
        for _ in range(spec.size):
            n += 1
            lid = f"L{n:03d}"
            ability = float(rng.normal())
            pace = float(np.clip(np.round(1.0 + 0.2 * ability + rng.normal(0, 0.1), 2),
                                 0.6, 1.5))
            traits[lid] = LearnerTraits(ability, float(np.exp(0.35 * ability) * pace))
            first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            name = f"{first} {LAST_INITIALS[int(rng.integers(len(LAST_INITIALS)))]}."
            learners.append(Learner(lid, name, spec.grade, _profile(graph, spec, rng, pace),
                                    language="es" if rng.random() < 0.1 else "en"))
            roster.append(lid)
        classes.append(Class(spec.id, spec.name, spec.grade, spec.teachers, tuple(roster),
                             spec.model, spec.schedule, size_cap=20))  # type: ignore[arg-type]
    return TEACHERS, tuple(learners), tuple(classes), traits


def _profile(graph: CompetencyGraph, spec: DemoClassSpec, rng: np.random.Generator,
             pace: float) -> LearnerProfile:
    p = LearnerProfile.create(set_by=Actor.SYSTEM, at=TERM_START)
    interests = _pick(rng, INTERESTS, int(rng.integers(1, 4)))
    p = p.with_field("interests", interests, Actor.STUDENT, _day(2, 1))
    p = p.with_field("aspirations", [ASPIRATIONS[interests[0]]], Actor.STUDENT, _day(2, 1))
    formats = _pick(rng, tuple(f.value for f in Format), int(rng.integers(1, 3)))
    p = p.with_field("preferred_formats", formats, Actor.STUDENT, _day(2, 2))
    groupings = _pick(rng, tuple(g.value for g in Grouping), int(rng.integers(1, 3)))
    p = p.with_field("preferred_groupings", groupings, Actor.STUDENT, _day(2, 2))
    r = rng.random()
    acc: list[str] = []
    if r < 0.3:
        acc = _pick(rng, tuple(a.value for a in Accommodation), int(rng.integers(1, 3)))
        if isinstance(spec.model, ALaCarte):  # a learner kept off screens is not put in an
            acc = [a for a in acc if a != Accommodation.REDUCED_SCREEN_TIME.value]  # online course
    if acc:
        p = p.with_field("accommodations", acc, Actor.TEACHER, _day(1))
    home = rng.random()
    devices = (["laptop"] if home < 0.45 else ["tablet"] if home < 0.7
               else ["phone"] if home < 0.85 else [])
    needs_home = isinstance(spec.model, Flipped | EnrichedVirtual)
    if needs_home and not devices:
        devices = ["loaner laptop"]
    minutes = int(rng.choice([0, 60, 90, 120, 150])) if not needs_home else int(
        rng.choice([100, 120, 150, 180]))
    places = [Place.SCHOOL.value] + ([Place.HOME.value] if minutes else []) + (
        [Place.COMMUNITY.value] if rng.random() < 0.2 else [])
    days = _pick(rng, WEEK, int(rng.integers(2, 6))) if minutes else []
    p = p.with_field("availability", Availability(frozenset(days), frozenset(places),
                                                  frozenset(devices), minutes),
                     Actor.PARENT, _day(3, 3))
    grade_skills = [s.id for s in graph.skills if s.grade == spec.grade]
    goals = [grade_skills[int(i)] for i in sorted(rng.choice(len(grade_skills), 3, replace=False))]
    p = p.with_field("goal_skills", goals, Actor.TEACHER, _day(9, 2))
    choices = {"project_topic": interests[0]}
    if rng.random() < 0.5:
        choices["work_style"] = str(rng.choice(["quiet corner", "with a partner", "standing desk"]))
    p = p.with_field("choices", choices, Actor.STUDENT, _day(9, 3))
    p = p.with_field("pace", pace, Actor.SYSTEM, _day(21))
    if rng.random() < 0.35:  # a student revises their interests in October
        extra = _pick(rng, INTERESTS, 1)
        p = p.with_field("interests", sorted(set(interests) | set(extra)), Actor.STUDENT,
                         _day(38, 2))
    return p


def add_diagnostics(graph: CompetencyGraph, learners: tuple[Learner, ...],
                    known: dict[str, set[str]], rng: np.random.Generator) -> tuple[Learner, ...]:
    """Learners whose teacher recorded strengths / growth areas from the start-of-term
    knowledge ``known`` (learner id -> skills known)."""
    return tuple(_diagnose(graph, lr, known[lr.id], rng) for lr in learners)


def _diagnose(graph: CompetencyGraph, learner: Learner, known: set[str],
              rng: np.random.Generator) -> Learner:
    """Teacher records strengths and growth areas after the mid-September diagnostic."""
    grade = int(learner.grade)
    below = [s.id for s in graph.skills if s.grade.isdigit() and int(s.grade) == grade - 1]
    if not below:  # lowest grade of the graph: judge on the learner's own grade
        below = [s.id for s in graph.skills if s.grade == learner.grade]
    strengths = [s for s in below if s in known]
    growth = [s for s in below if s not in known]
    strengths = [strengths[int(i)] for i in sorted(rng.choice(
        len(strengths), min(3, len(strengths)), replace=False))] if strengths else []
    growth = [growth[int(i)] for i in sorted(rng.choice(
        len(growth), min(3, len(growth)), replace=False))] if growth else []
    at = _day(15, 4)
    learner = learner.with_profile_field("strengths", strengths, Actor.TEACHER, at)
    return learner.with_profile_field("growth_areas", growth, Actor.TEACHER, at)
