"""The demo activity catalog: a few hundred activities over the grade 3-8 skills.

Every skill gets two single-skill activities whose (kind, modality) pairs cycle
through a fixed menu so every kind, modality and place occurs; skills with a
prerequisite also get occasional two-skill projects, small-group lessons and
assessments spanning the skill and one prerequisite. Deterministic given the generator.
"""

from __future__ import annotations

import numpy as np

from engine.domain.catalog import Accommodation, Activity, ActivityCatalog
from engine.graph.competency import CompetencyGraph

# (kind, modality, place, title suffix, formats, group_min, group_max, device, minutes range)
MENU = (
    ("lesson", "online", "school", "video lesson", ("video",), 1, 1, "laptop", (8, 15)),
    ("practice", "online", "school", "adaptive practice", ("game",), 1, 1, "laptop", (10, 20)),
    ("lesson", "teacher_led", "school", "mini-lesson", ("discussion",), 3, 8, None, (10, 20)),
    ("practice", "independent_offline", "school", "practice set", ("reading",), 1, 1, None,
     (10, 25)),
    ("online_module", "online", "home", "online module", ("video", "game"), 1, 1, "tablet",
     (15, 30)),
    ("practice", "collaborative", "school", "partner game", ("game", "discussion"), 2, 4, None,
     (10, 20)),
    ("online_module", "online", "school", "interactive module", ("reading", "game"), 1, 1,
     "laptop", (15, 30)),
    ("lesson", "independent_offline", "home", "reading guide", ("reading",), 1, 1, None,
     (10, 20)),
    ("assessment", "online", "school", "quick check", ("reading",), 1, 1, "laptop", (5, 10)),
    ("practice", "independent_offline", "school", "manipulatives task", ("hands_on",), 1, 2,
     None, (15, 25)),
)
PROJECT_THEMES = (
    ("space", "mission to Mars"), ("sports", "league statistics"), ("music", "beat maker"),
    ("art", "mural design"), ("animals", "animal shelter budget"), ("cooking", "recipe scaling"),
    ("gaming", "game level design"), ("building", "tiny house plan"),
    ("nature", "garden planning"), ("fashion", "pattern design"), ("coding", "app prototype"),
    ("history", "timeline museum"), ("cars", "road trip planner"), ("robots", "robot race"),
)


def _accommodations(modality: str, formats: tuple[str, ...], rng: np.random.Generator
                    ) -> list[str]:
    acc = [Accommodation.EXTENDED_TIME.value] if rng.random() < 0.7 else []
    if modality == "online":
        acc.append(Accommodation.TEXT_TO_SPEECH.value)
        if rng.random() < 0.4:
            acc.append(Accommodation.SPEECH_TO_TEXT.value)
    else:
        acc.append(Accommodation.REDUCED_SCREEN_TIME.value)
        if "reading" in formats and rng.random() < 0.5:
            acc.append(Accommodation.LARGE_PRINT.value)
    if "hands_on" in formats or "video" in formats:
        acc.append(Accommodation.VISUAL_SUPPORTS.value)
    if modality in ("teacher_led", "collaborative") and rng.random() < 0.3:
        acc.append(Accommodation.MOVEMENT_BREAKS.value)
    if modality == "independent_offline" and rng.random() < 0.4:
        acc.append(Accommodation.QUIET_SPACE.value)
    return acc


def _difficulty(graph: CompetencyGraph, skill_id: str, rng: np.random.Generator) -> float:
    # later skills of a grade (deeper in the prerequisite graph) are harder
    depth = len(graph.ancestors(skill_id))
    return float(np.round(np.clip(0.2 + 0.04 * min(depth, 12) + rng.normal(0, 0.08), 0.05,
                                  0.95), 2))


def build_catalog(graph: CompetencyGraph, rng: np.random.Generator) -> ActivityCatalog:
    """About 560 activities for the skills of ``graph``."""
    acts: list[Activity] = []
    k = 0
    for i, skill in enumerate(graph.skills):
        diff = _difficulty(graph, skill.id, rng)
        for j in range(2):
            kind, modality, place, suffix, formats, gmin, gmax, device, dur = MENU[
                (2 * i + j) % len(MENU)]
            k += 1
            language = "es" if rng.random() < 0.08 else "en"
            acc = _accommodations(modality, formats, rng)
            if language == "es":
                acc.append(Accommodation.TRANSLATED_MATERIALS.value)
            if device == "laptop" and rng.random() < 0.3:
                device = "tablet"
            acts.append(Activity(
                id=f"A{k:04d}", title=f"{skill.title}: {suffix}", skills=((skill.id, 1.0),),
                kind=kind, modality=modality, place=place,
                duration_min=int(rng.integers(dur[0], dur[1] + 1)),
                difficulty=float(np.clip(diff + rng.normal(0, 0.05), 0, 1).round(2)),
                group_min=gmin, group_max=gmax, device=device, formats=formats,
                interests=(), language=language, accommodations=acc,
            ))
        prereqs = graph.prerequisites(skill.id)
        if not prereqs:
            continue
        pre = prereqs[int(rng.integers(len(prereqs)))]
        roll = rng.random()
        if roll < 0.25:
            interest, theme = PROJECT_THEMES[int(rng.integers(len(PROJECT_THEMES)))]
            k += 1
            acts.append(Activity(
                id=f"A{k:04d}", title=f"{skill.title}: {theme} project",
                skills=((skill.id, 0.7), (pre, 0.3)), kind="project", modality="collaborative",
                place="community" if rng.random() < 0.3 else "school",
                duration_min=int(rng.integers(30, 61)), difficulty=min(1.0, diff + 0.1),
                group_min=2, group_max=5, device=None, formats=("hands_on", "discussion"),
                interests=(interest,), language="en",
                accommodations=_accommodations("collaborative", ("hands_on",), rng),
            ))
        elif roll < 0.45:
            k += 1
            acts.append(Activity(
                id=f"A{k:04d}", title=f"{skill.title}: small-group reteach",
                skills=((skill.id, 0.6), (pre, 0.4)), kind="small_group", modality="teacher_led",
                place="school", duration_min=int(rng.integers(12, 21)),
                difficulty=max(0.0, diff - 0.1), group_min=2, group_max=6, device=None,
                formats=("discussion", "hands_on"), interests=(), language="en",
                accommodations=_accommodations("teacher_led", ("hands_on",), rng),
            ))
        elif roll < 0.55:
            k += 1
            acts.append(Activity(
                id=f"A{k:04d}", title=f"{skill.title}: unit check",
                skills=((skill.id, 0.5), (pre, 0.5)), kind="assessment",
                modality="independent_offline", place="school",
                duration_min=int(rng.integers(10, 21)), difficulty=diff, group_min=1,
                group_max=1, device=None, formats=("reading",), interests=(), language="en",
                accommodations=_accommodations("independent_offline", ("reading",), rng),
            ))
    return ActivityCatalog(tuple(acts))
