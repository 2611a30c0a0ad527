"""Engine → planner adapter: turn the school's domain objects into planner input, and
planner output into reviewable plans.

Nothing here decides *what* to plan (that is the planner's job); it only translates, under the
tenant's :class:`PlanningPolicy` (mastery threshold, goal weights, struggling rule):

* :mod:`engine.planning._input` — graph and catalog → ``PlanningInput`` (``skill_graph``,
  ``plan_activity``, ``planning_input``, grade bands).
* :mod:`engine.planning._playlist` — one learner: ``plan_learner`` (goals, preferences,
  accommodations, devices, places, spaced review), ``playlist_request`` (the class's blended
  model's budget and modality mix, the teacher's pins and removals), ``plan_playlist_for``,
  ``why_not_for`` and ``playlist_items`` (planner Playlist → review PlanItems).
* :mod:`engine.planning._learned` — activity effectiveness and forgetting fitted on the
  tenant's evidence (``LearnedCache``, ``learned_switches``): by policy (effectiveness once
  the tenant's tickets show activities differ, by default) or arm.
* :mod:`engine.planning._classplan` — a class: ``model_settings`` (blended model →
  ``planner.classplan.ModelSettings``) and ``plan_class_session`` (a reviewable class plan
  body and each learner's share of the session).
"""

from engine.domain.policy import DEFAULT_POLICY, PlanningPolicy
from engine.planning._classplan import model_settings, plan_class_session
from engine.planning._input import (
    DEFAULT_P_LEARN,
    PlanningInput,
    grade_band,
    plan_activity,
    planning_input,
    skill_graph,
)
from engine.planning._learned import (
    LearnedCache,
    LearnedModels,
    learn_when_shown,
    learned_switches,
    protect_when_shown,
)
from engine.planning._playlist import (
    DEFAULT_BUDGET_MIN,
    class_budget,
    plan_learner,
    plan_playlist_for,
    playlist_items,
    playlist_request,
    uses_own_devices,
    why_not_for,
)

__all__ = [
    "DEFAULT_BUDGET_MIN",
    "DEFAULT_POLICY",
    "DEFAULT_P_LEARN",
    "LearnedCache",
    "LearnedModels",
    "PlanningInput",
    "PlanningPolicy",
    "class_budget",
    "learn_when_shown",
    "learned_switches",
    "protect_when_shown",
    "grade_band",
    "model_settings",
    "plan_activity",
    "plan_class_session",
    "plan_learner",
    "plan_playlist_for",
    "planning_input",
    "playlist_items",
    "playlist_request",
    "skill_graph",
    "uses_own_devices",
    "why_not_for",
]
