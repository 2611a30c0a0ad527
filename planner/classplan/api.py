"""``plan_class``: one entry point for every blended model."""

from __future__ import annotations

from collections.abc import Sequence

from planner.classplan.types import ClassPlan, ClassRequests, ModelSettings
from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, SkillGraph


def plan_class(settings: ModelSettings, learners: Sequence[PlanLearner],
               catalog: Sequence[PlanActivity], graph: SkillGraph,
               requests: ClassRequests | None = None, *, previous: ClassPlan | None = None,
               keep_slots: int = 0, symmetry_breaking: bool = True, fill: str = "milp") -> ClassPlan:
    """Plan one class session for ``settings.model``.

    ``learners``: the roster with their BKT mastery; ``catalog``: activities; ``graph``: the
    prerequisite DAG; ``requests``: keep-apart/keep-together pairs and locks. Rotation models
    accept ``previous`` + ``keep_slots`` (re-plan keeping the first rotations) and ``fill``
    ("milp" or "greedy" for each learner's own stations). Never raises for conflicting requests:
    the plan comes back with ``status="relaxed"`` and ``conflicts``. Raises ``PlanInputError``
    for malformed input (unknown ids, bad settings)."""
    if fill not in ("milp", "greedy", "station"):
        raise PlanInputError(f"fill={fill!r}; use 'milp', 'greedy' or 'station'")
    model = settings.model
    if model in ("station_rotation", "lab_rotation", "individual_rotation"):
        from planner.classplan.rotation import plan_rotation

        return plan_rotation(settings, learners, catalog, graph, requests, previous=previous,
                             keep_slots=keep_slots, symmetry_breaking=symmetry_breaking, fill=fill)
    if previous is not None or keep_slots:
        raise PlanInputError(f"{model} has no rotations to keep; re-plan it without previous/keep_slots")
    if model == "flex":
        from planner.classplan.flex import plan_flex

        return plan_flex(settings, learners, catalog, graph, requests,
                         symmetry_breaking=symmetry_breaking)
    if model == "flipped":
        from planner.classplan.flipped import plan_flipped

        return plan_flipped(settings, learners, catalog, graph, requests,
                            symmetry_breaking=symmetry_breaking)
    if model == "enriched_virtual":
        from planner.classplan.enriched_virtual import plan_enriched_virtual

        return plan_enriched_virtual(settings, learners, catalog, graph, requests,
                                     symmetry_breaking=symmetry_breaking)
    from planner.classplan.a_la_carte import plan_a_la_carte

    return plan_a_la_carte(settings, learners, catalog, graph, requests)
