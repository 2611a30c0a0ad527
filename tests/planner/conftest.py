"""Shared planner fixtures: a hand-built fractions instance, a synthetic school, and an
independent checker of every hard playlist constraint (written from the PlanActivity
objects, not from the planner's own row code)."""

from __future__ import annotations

from collections import Counter

import pytest

from planner.model import (
    PlanActivity,
    PlanLearner,
    PlanSkill,
    Playlist,
    PlaylistRequest,
    SkillGraph,
)
from planner.playlist.synthetic import synthetic_catalog, synthetic_graph, synthetic_learner


@pytest.fixture(scope="session")
def fractions_graph() -> SkillGraph:
    return SkillGraph.from_skills([
        PlanSkill("equiv", title="equivalent fractions"),
        PlanSkill("common", ("equiv",), title="common denominators"),
        PlanSkill("add", ("equiv", "common"), title="adding fractions"),
        PlanSkill("mult", ("equiv",), title="multiplying fractions"),
        PlanSkill("ratio", ("add", "mult"), title="ratios"),
    ])


def act(aid, skills, **kw) -> PlanActivity:
    kw.setdefault("title", aid)
    if isinstance(skills, str):
        skills = ((skills, 1.0),)
    return PlanActivity(id=aid, skills=tuple(skills), **kw)


@pytest.fixture(scope="session")
def fractions_catalog() -> list[PlanActivity]:
    return [
        act("common-video", "common", modality="online", formats=("video",), duration_min=15,
            p_learn=0.3, device="laptop", accommodations=frozenset({"text-to-speech"})),
        act("common-practice", "common", modality="independent_offline", formats=("practice",),
            duration_min=20, p_learn=0.25),
        act("mult-game", "mult", modality="online", formats=("game",), duration_min=15,
            p_learn=0.3, device="tablet", interests=("space",)),
        act("mult-group", "mult", modality="collaborative", formats=("project",),
            duration_min=30, p_learn=0.35, group_max=4),
        act("add-lesson", "add", modality="teacher_led", formats=("discussion",),
            duration_min=20, p_learn=0.4, group_max=8),
        act("add-practice", "add", modality="online", formats=("practice",), duration_min=15,
            p_learn=0.3, device="laptop"),
        act("ratio-project", "ratio", modality="collaborative", formats=("project",),
            duration_min=40, p_learn=0.4, group_max=4),
        act("equiv-review", "equiv", modality="online", formats=("practice",), duration_min=10,
            p_learn=0.2),
        act("mult-lab", "mult", modality="online", place="lab", formats=("video",),
            duration_min=10, p_learn=0.2, language="es"),
    ]


@pytest.fixture()
def fractions_learner() -> PlanLearner:
    return PlanLearner(
        id="ana",
        mastery={"equiv": 0.97, "common": 0.4, "add": 0.1, "mult": 0.3, "ratio": 0.05},
        goals={"add": 2.0},
        interests=frozenset({"space"}),
        preferred_formats=frozenset({"video"}),
        devices=frozenset({"laptop", "tablet"}),
        places=frozenset({"classroom", "lab"}),
    )


@pytest.fixture(scope="session")
def school():
    graph = synthetic_graph(3, n_skills=30, n_layers=5)
    return graph, synthetic_catalog(graph, 3, n_activities=90)


@pytest.fixture(scope="session")
def school_learners(school):
    graph, _ = school
    return [synthetic_learner(graph, s) for s in range(6)]


def check_hard(graph: SkillGraph, catalog, learner: PlanLearner, request: PlaylistRequest,
               playlist: Playlist, *, exempt: frozenset[str] = frozenset()) -> list[str]:
    """Every hard-constraint violation of ``playlist`` (``exempt``: frozen item ids)."""
    by_id = {a.id: a for a in catalog}
    items = [by_id[i.activity_id] for i in playlist.items]
    out = []
    ids = [a.id for a in items]
    if len(set(ids)) != len(ids):
        out.append("duplicate item")
    if [i.position for i in playlist.items] != list(range(len(items))):
        out.append("positions not 0..n-1")
    if sum(a.duration_min for a in items) > request.budget_min + 1e-6:
        out.append("budget")
    if len(items) > request.length_max:
        out.append("length_max")
    mods = Counter(a.modality for a in items)
    for m, (_lo, hi) in request.modality_bounds.items():
        if mods[m] > hi:
            out.append(f"modality_max:{m}")
    fmts = Counter(f for a in items for f in (a.formats or (a.kind,)))
    for f, n in fmts.items():
        cap = request.format_caps.get(f, request.format_cap)
        if cap is not None and n > cap:
            out.append(f"format_cap:{f}")
    theta = request.mastered_threshold
    for a in items:
        if a.id not in exempt:
            out += _item_violations(a, learner, request)
    # per-skill cap over un-mastered skills
    sk = Counter(k for a in items for k, _ in a.skills if learner.mastery_of(k) < theta)
    for k, n in sk.items():
        if n > request.skill_cap:
            out.append(f"skill_cap:{k}")
    # prerequisite order: every un-mastered prerequisite of a planned (non-forced) item's
    # skill is taught by an earlier item
    forced = set(request.pins) | set(request.locks) | exempt
    for pos, a in enumerate(items):
        if a.id in forced:
            continue
        for k, _ in a.skills:
            if learner.mastery_of(k) >= theta:
                continue
            for p in graph.prerequisites_of(k):
                if learner.mastery_of(p) >= theta:
                    continue
                if not any(p in b.skill_ids for b in items[:pos]):
                    out.append(f"prerequisite_order:{a.id}<-{p}")
    return out


def _item_violations(a, learner: PlanLearner, request: PlaylistRequest) -> list[str]:
    """The per-activity hard filters ``a`` breaks for this learner and request."""
    out = []
    if a.id in request.removes:
        out.append(f"removed:{a.id}")
    if not learner.accommodations <= a.accommodations:
        out.append(f"accommodation:{a.id}")
    if a.device and learner.devices and a.device not in learner.devices:
        out.append(f"device:{a.id}")
    if learner.places and a.place not in learner.places:
        out.append(f"place:{a.id}")
    if request.available_places is not None and a.place not in request.available_places:
        out.append(f"place:{a.id}")
    if learner.languages and a.language not in learner.languages:
        out.append(f"language:{a.id}")
    if request.seats_left.get(a.id, 1) <= 0:
        out.append(f"capacity:{a.id}")
    return out
