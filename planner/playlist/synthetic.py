"""Realistic synthetic planning instances (skill DAG, catalog, learners) for tests and benchmarks.

Deterministic for a given seed. Defaults match the design-note instance: 60 skills in 6
layers, 200 activities, learners whose mastery front sits somewhere in the middle layers.
"""

from __future__ import annotations

import numpy as np

from planner.model import MODALITIES, PlanActivity, PlanLearner, PlanSkill, SkillGraph

FORMATS = ("video", "practice", "game", "project", "reading", "hands-on", "discussion")
INTERESTS = ("space", "sports", "music", "animals", "art", "games", "cooking")
ACCOMMODATIONS = ("text-to-speech", "large-print", "extended-time")
_FORMATS_BY_MODALITY = {
    "online": ("video", "practice", "game", "reading"),
    "teacher_led": ("discussion", "practice"),
    "collaborative": ("project", "discussion", "game", "hands-on"),
    "independent_offline": ("reading", "practice", "hands-on"),
}


def synthetic_graph(seed: int = 0, n_skills: int = 60, n_layers: int = 6) -> SkillGraph:
    """A layered prerequisite DAG; each non-root skill has 1-3 prerequisites one layer up."""
    rng = np.random.default_rng(seed)
    per = max(1, n_skills // n_layers)
    skills: list[PlanSkill] = []
    layers: list[list[str]] = []
    for i in range(n_skills):
        layer = min(i // per, n_layers - 1)
        if layer == len(layers):
            layers.append([])
        sid = f"s{i:02d}"
        prereqs: tuple[str, ...] = ()
        if layer > 0:
            above = layers[layer - 1]
            k = int(rng.integers(1, min(3, len(above)) + 1))
            prereqs = tuple(sorted(rng.choice(above, size=k, replace=False).tolist()))
        skills.append(PlanSkill(sid, prereqs, title=f"skill {i}"))
        layers[layer].append(sid)
    return SkillGraph.from_skills(skills)


def synthetic_catalog(graph: SkillGraph, seed: int = 0, n_activities: int = 200) -> list[PlanActivity]:
    """Activities on one primary skill (plus a neighbour 30 % of the time)."""
    rng = np.random.default_rng(seed + 1)
    ids = list(graph.ids)
    out = []
    mod_p = np.array([0.45, 0.15, 0.2, 0.2])
    for i in range(n_activities):
        k = ids[i % len(ids)] if i < len(ids) else ids[int(rng.integers(len(ids)))]
        skills = [(k, 1.0)]
        if rng.random() < 0.3:
            near = list(graph.prerequisites_of(k)) + list(graph.successors_of(k))
            if near:
                skills.append((str(rng.choice(near)), float(rng.choice([0.5, 0.7]))))
        m = MODALITIES[int(rng.choice(4, p=mod_p))]
        fmt = str(rng.choice(_FORMATS_BY_MODALITY[m]))
        acc = frozenset(a for a in ACCOMMODATIONS if rng.random() < 0.6)
        device = None
        if m == "online":
            device = str(rng.choice(["laptop", "tablet"], p=[0.7, 0.3]))
        place = "lab" if (m == "online" and rng.random() < 0.2) else "classroom"
        gmax = {"online": 1, "teacher_led": 8, "collaborative": 4, "independent_offline": 1}[m]
        out.append(PlanActivity(
            id=f"a{i:03d}", title=f"{fmt} on {graph.title_of(k)} #{i}",
            skills=tuple(skills), kind=fmt, modality=m, place=place,
            duration_min=float(rng.choice([10, 15, 20, 25, 30])),
            difficulty=float(rng.random()), group_min=1 if gmax == 1 else 2, group_max=gmax,
            device=device, formats=(fmt,),
            interests=tuple(rng.choice(INTERESTS, size=int(rng.integers(0, 3)), replace=False)),
            accommodations=acc, p_learn=float(rng.uniform(0.08, 0.35)),
        ))
    return out


def synthetic_learner(graph: SkillGraph, seed: int = 0, learner_id: str | None = None) -> PlanLearner:
    """A learner whose mastery front is in layers 1-4, with goals, preferences and needs."""
    rng = np.random.default_rng(seed + 7)
    front = float(rng.uniform(0.8, 3.8))
    mastery = {}
    days = {}
    for sid in graph.ids:
        r = graph.rank_of(sid) + rng.normal(0, 0.6)
        if r < front:
            mastery[sid] = float(rng.uniform(0.95, 0.995))
            if rng.random() < 0.25:
                days[sid] = float(rng.integers(1, 60))
        else:
            mastery[sid] = float(np.clip(rng.beta(2, 5), 0.01, 0.9))
    goals = {str(s): 2.0 for s in rng.choice(graph.ids, size=min(8, len(graph)), replace=False)}
    struggling = frozenset(str(s) for s in rng.choice(graph.ids, size=1)) if rng.random() < 0.3 else frozenset()
    return PlanLearner(
        id=learner_id or f"learner-{seed}",
        mastery=mastery, goals=goals,
        interests=frozenset(rng.choice(INTERESTS, size=2, replace=False).tolist()),
        preferred_formats=frozenset(rng.choice(FORMATS, size=2, replace=False).tolist()),
        preferred_groupings=frozenset([str(rng.choice(["individual", "small_group"]))]),
        accommodations=frozenset([str(rng.choice(ACCOMMODATIONS))]) if rng.random() < 0.2 else frozenset(),
        devices=frozenset(["laptop", "tablet"]) if rng.random() < 0.8 else frozenset(["tablet"]),
        places=frozenset(["classroom", "lab"]),
        days_since_practice=days,
        struggling=struggling,
    )
