"""Class plans for every blended model (station, lab and individual rotation, flipped
classroom, flex, a la carte, enriched virtual). Entry point: ``plan_class``."""

from planner.classplan.api import plan_class
from planner.classplan.types import (
    BLENDED_MODELS,
    ClassGroup,
    ClassPlan,
    ClassRequests,
    GroupLock,
    GroupReason,
    LearnerSchedule,
    ModelSettings,
    ScheduledItem,
    StationPlan,
)

__all__ = [
    "BLENDED_MODELS", "ClassGroup", "ClassPlan", "ClassRequests", "GroupLock", "GroupReason",
    "LearnerSchedule", "ModelSettings", "ScheduledItem", "StationPlan", "plan_class",
]
