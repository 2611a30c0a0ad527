"""lab rotation (a rotation model): see ``planner.classplan.rotation`` for the formulation."""

from __future__ import annotations

from collections.abc import Sequence

from planner.classplan.rotation import plan_rotation
from planner.classplan.types import ClassPlan, ClassRequests, ModelSettings
from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, SkillGraph


def plan_lab_rotation(settings: ModelSettings, learners: Sequence[PlanLearner],
              catalog: Sequence[PlanActivity], graph: SkillGraph,
              requests: ClassRequests | None = None, **kwargs) -> ClassPlan:
    """Plan one lab rotation session; keyword arguments as ``plan_rotation``."""
    if settings.model != "lab_rotation":
        raise PlanInputError(f"settings.model is {settings.model!r}; plan_lab_rotation needs 'lab_rotation'")
    return plan_rotation(settings, learners, catalog, graph, requests, **kwargs)
