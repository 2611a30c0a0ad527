"""Graph and catalog → planner input (:class:`PlanningInput`), converted once per tenant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_P_LEARN = 0.15  # planner p_learn of a skill without a fitted model
P_LEARN_CAP = 0.95  # fitted p_learn above this is capped (one activity never guarantees mastery)


@dataclass(frozen=True)
class PlanningInput:
    """What the planner needs for one tenant, converted once and cached by the caller.

    graph: planner SkillGraph; activities: PlanActivity tuple; by_id: activity id → Activity
    (domain); titles: skill id → title.
    """

    graph: object
    activities: tuple
    by_id: Mapping[str, object]
    titles: Mapping[str, str]
    skill_grades: Mapping[str, str] = None  # type: ignore[assignment]
    _band_graphs: dict = field(default_factory=dict, compare=False, repr=False)

    def graph_for_grade(self, grade: str):
        """The prerequisite graph restricted to the grade band [grade - 2, grade] (prerequisites
        below the band are dropped, i.e. taken as known); the full graph for non-numeric grades."""
        band = grade_band(grade)
        if band is None or not self.skill_grades:
            return self.graph
        if band not in self._band_graphs:
            from planner.model import PlanSkill, SkillGraph

            lo, hi = band

            def inside(k: str) -> bool:
                g = _grade_num(self.skill_grades.get(k, ""))
                return g is None or lo <= g <= hi

            keep = [k for k in self.graph.ids if inside(k)]
            self._band_graphs[band] = SkillGraph.from_skills(
                PlanSkill(k, tuple(p for p in self.graph.prerequisites_of(k) if inside(p)),
                          self.graph.title_of(k)) for k in keep)
        return self._band_graphs[band]

    def activities_for_grade(self, grade: str) -> tuple:
        """Activities whose skills all lie in the grade band [grade - 2, grade] (numeric
        grades; every activity when the grade is not a number)."""
        band = grade_band(grade)
        if band is None or not self.skill_grades:
            return self.activities
        key = ("activities", band)
        if key in self._band_graphs:
            return self._band_graphs[key]
        lo, hi = band
        out = []
        for a in self.activities:
            ok = True
            for k, _w in a.skills:
                g = _grade_num(self.skill_grades.get(k, ""))
                if g is not None and not lo <= g <= hi:
                    ok = False
                    break
            if ok:
                out.append(a)
        self._band_graphs[key] = tuple(out) or self.activities
        return self._band_graphs[key]


def _grade_num(grade: str) -> int | None:
    text = str(grade).strip().upper()
    if text == "K":
        return 0
    return int(text) if text.isdigit() else None


def grade_band(grade: str, below: int = 2, above: int = 0) -> tuple[int, int] | None:
    g = _grade_num(grade)
    return None if g is None else (g - below, g + above)


def skill_graph(graph):
    """CompetencyGraph → planner SkillGraph (prerequisite edges only)."""
    from planner.model import PlanSkill, SkillGraph

    return SkillGraph.from_skills(
        PlanSkill(s.id, tuple(graph.prerequisites(s.id)), s.title) for s in graph.skills
    )


def _value(x) -> str:
    return getattr(x, "value", x)


def plan_activity(activity, p_learn: Mapping[str, float] | None = None):
    """Activity → PlanActivity; ``p_learn``: fitted skill → p_learn (default 0.15)."""
    from planner.model import PlanActivity

    learn: float | dict[str, float] = DEFAULT_P_LEARN
    if p_learn:
        learn = {k: min(P_LEARN_CAP, float(p_learn.get(k, DEFAULT_P_LEARN))) for k, _ in activity.skills}
    return PlanActivity(
        id=activity.id,
        title=activity.title,
        skills=tuple(activity.skills),
        kind=_value(activity.kind),
        modality=_value(activity.modality),
        place=_value(activity.place),
        duration_min=float(activity.duration_min),
        difficulty=float(activity.difficulty),
        group_min=int(activity.group_min),
        group_max=int(activity.group_max),
        device=activity.device,
        formats=tuple(sorted(_value(f) for f in activity.formats)),
        interests=tuple(sorted(activity.interests)),
        language=activity.language,
        accommodations=frozenset(_value(a) for a in activity.accommodations),
        p_learn=learn,
    )


def planning_input(graph, activities: Iterable, model_params: Mapping[str, Mapping] | None = None) -> PlanningInput:
    """Convert the tenant's graph and catalog once; activities on unknown skills are dropped."""
    sg = skill_graph(graph)
    p_learn = {k: float(v["p_learn"]) for k, v in (model_params or {}).items()}
    kept = [a for a in activities if all(k in sg for k, _ in a.skills)]
    plan_acts = tuple(plan_activity(a, p_learn) for a in kept)
    return PlanningInput(sg, plan_acts, {a.id: a for a in kept}, {s.id: s.title for s in graph.skills},
                         {s.id: s.grade for s in graph.skills})
