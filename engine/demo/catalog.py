"""The demo activity catalog: a few hundred activities over the grade 3-8 skills.

Every skill gets two single-skill activities whose (kind, modality) pairs cycle
through a fixed menu so every kind, modality and place occurs; skills with a
prerequisite also get occasional two-skill projects, small-group lessons and
assessments spanning the skill and one prerequisite. About a quarter of the English
single-skill activities also come in a Spanish edition, so Spanish-speaking learners have
enough to choose from. Which accommodations an activity supports depends on its modality
(``SUPPORT``). Deterministic given the generators.
"""

from __future__ import annotations

from dataclasses import replace

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


# Share of activities of each modality that offer an accommodation (a teacher or partner
# reads aloud / scribes in person; online tools have read-aloud, dictation, zoom). Some
# supports are genuinely missing (no reduced screen time online, little quiet space in
# collaborative work, no extended time on timed online checks), so the constraint still bites.
SUPPORT = {
    #                    online teacher_led collaborative independent_offline
    "extended_time":       (0.85, 0.9, 0.85, 0.95),
    "text_to_speech":      (1.0, 0.85, 0.75, 0.6),
    "speech_to_text":      (0.7, 0.8, 0.75, 0.35),
    "reduced_screen_time": (0.0, 1.0, 1.0, 1.0),
    "large_print":         (0.8, 0.6, 0.5, 0.7),
    "visual_supports":     (0.6, 0.7, 0.6, 0.6),
    "translated_materials": (0.5, 0.35, 0.3, 0.45),
    "movement_breaks":     (0.45, 0.75, 0.85, 0.6),
    "quiet_space":         (0.6, 0.35, 0.1, 0.8),
}
SPANISH_EDITION_SHARE = 0.25  # English single-skill activities that also come in Spanish
_MODALITY_COL = {"online": 0, "teacher_led": 1, "collaborative": 2, "independent_offline": 3}


def _accommodations(modality: str, formats: tuple[str, ...], kind: str,
                    rng: np.random.Generator) -> list[str]:
    """Accommodations one activity supports: a draw per accommodation with the modality's
    share in ``SUPPORT`` (always visual supports for video / hands-on work; timed online
    checks never give extended time)."""
    col = _MODALITY_COL[modality]
    draws = rng.random(len(Accommodation))
    acc = [a.value for a, u in zip(Accommodation, draws, strict=True)
           if u < SUPPORT[a.value][col]]
    if ("hands_on" in formats or "video" in formats) and (
            Accommodation.VISUAL_SUPPORTS.value not in acc):
        acc.append(Accommodation.VISUAL_SUPPORTS.value)
    if kind == "assessment" and modality == "online" and (
            Accommodation.EXTENDED_TIME.value in acc):
        acc.remove(Accommodation.EXTENDED_TIME.value)
    return [a.value for a in Accommodation if a.value in acc]


def _difficulty(graph: CompetencyGraph, skill_id: str, rng: np.random.Generator) -> float:
    # later skills of a grade (deeper in the prerequisite graph) are harder
    depth = len(graph.ancestors(skill_id))
    return float(np.round(np.clip(0.2 + 0.04 * min(depth, 12) + rng.normal(0, 0.08), 0.05,
                                  0.95), 2))


def build_catalog(graph: CompetencyGraph, rng: np.random.Generator,
                  acc_rng: np.random.Generator | None = None) -> ActivityCatalog:
    """About 670 activities for the skills of ``graph``; ``acc_rng`` draws the supported
    accommodations (default ``rng``), so the rest of the catalog does not depend on them."""
    acc_rng = rng if acc_rng is None else acc_rng
    acts: list[Activity] = []
    k = 0
    for i, skill in enumerate(graph.skills):
        diff = _difficulty(graph, skill.id, rng)
        core, k = _core_activities(i, skill, diff, k, rng, acc_rng)
        acts += core
        extra, k = _mixed_activity(graph, skill, diff, k, rng, acc_rng)
        if extra is not None:
            acts.append(extra)
    return ActivityCatalog(tuple(acts))


def _core_activities(i: int, skill, diff: float, k: int, rng: np.random.Generator,
                     acc_rng: np.random.Generator) -> tuple[list[Activity], int]:
    """The two single-skill activities of skill number ``i`` (from ``MENU``), each possibly
    followed by its Spanish edition; returns them and the last activity number used."""
    out: list[Activity] = []
    for j in range(2):
        kind, modality, place, suffix, formats, gmin, gmax, device, dur = MENU[
            (2 * i + j) % len(MENU)]
        k += 1
        language = "es" if rng.random() < 0.08 else "en"
        acc = _accommodations(modality, formats, kind, acc_rng)
        if language == "es" and Accommodation.TRANSLATED_MATERIALS.value not in acc:
            acc.append(Accommodation.TRANSLATED_MATERIALS.value)
        if device == "laptop" and rng.random() < 0.3:
            device = "tablet"
        out.append(Activity(
            id=f"A{k:04d}", title=f"{skill.title}: {suffix}", skills=((skill.id, 1.0),),
            kind=kind, modality=modality, place=place,
            duration_min=int(rng.integers(dur[0], dur[1] + 1)),
            difficulty=float(np.clip(diff + rng.normal(0, 0.05), 0, 1).round(2)),
            group_min=gmin, group_max=gmax, device=device, formats=formats,
            interests=(), language=language, accommodations=acc,
        ))
        if language == "en" and acc_rng.random() < SPANISH_EDITION_SHARE:
            k += 1
            es_acc = sorted(set(acc) | {Accommodation.TRANSLATED_MATERIALS.value})
            out.append(replace(out[-1], id=f"A{k:04d}",
                               title=f"{out[-1].title} (Spanish edition)", language="es",
                               accommodations=es_acc))
    return out, k


def _mixed_activity(graph: CompetencyGraph, skill, diff: float, k: int,
                    rng: np.random.Generator, acc_rng: np.random.Generator,
                    ) -> tuple[Activity | None, int]:
    """Maybe one activity on the skill and one of its prerequisites (a project, a small-group
    reteach or a unit check); returns it (or None) and the last activity number used."""
    prereqs = graph.prerequisites(skill.id)
    if not prereqs:
        return None, k
    pre = prereqs[int(rng.integers(len(prereqs)))]
    roll = rng.random()
    if roll < 0.25:
        interest, theme = PROJECT_THEMES[int(rng.integers(len(PROJECT_THEMES)))]
        k += 1
        return Activity(
            id=f"A{k:04d}", title=f"{skill.title}: {theme} project",
            skills=((skill.id, 0.7), (pre, 0.3)), kind="project", modality="collaborative",
            place="community" if rng.random() < 0.3 else "school",
            duration_min=int(rng.integers(30, 61)), difficulty=min(1.0, diff + 0.1),
            group_min=2, group_max=5, device=None, formats=("hands_on", "discussion"),
            interests=(interest,), language="en",
            accommodations=_accommodations("collaborative", ("hands_on",), "project", acc_rng),
        ), k
    if roll < 0.45:
        k += 1
        return Activity(
            id=f"A{k:04d}", title=f"{skill.title}: small-group reteach",
            skills=((skill.id, 0.6), (pre, 0.4)), kind="small_group", modality="teacher_led",
            place="school", duration_min=int(rng.integers(12, 21)),
            difficulty=max(0.0, diff - 0.1), group_min=2, group_max=6, device=None,
            formats=("discussion", "hands_on"), interests=(), language="en",
            accommodations=_accommodations("teacher_led", ("hands_on",), "small_group",
                                           acc_rng),
        ), k
    if roll < 0.55:
        k += 1
        return Activity(
            id=f"A{k:04d}", title=f"{skill.title}: unit check",
            skills=((skill.id, 0.5), (pre, 0.5)), kind="assessment",
            modality="independent_offline", place="school",
            duration_min=int(rng.integers(10, 21)), difficulty=diff, group_min=1,
            group_max=1, device=None, formats=("reading",), interests=(), language="en",
            accommodations=_accommodations("independent_offline", ("reading",),
                                           "assessment", acc_rng),
        ), k
    return None, k
