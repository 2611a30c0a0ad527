"""Domain objects (frozen dataclasses): skills, activities, learners, classes.

Import from the submodules (``engine.domain.catalog`` ...) or from here.
``engine.domain.evidence`` (observations) is owned by the store.
"""

from engine.domain.catalog import (
    Accommodation,
    Activity,
    ActivityCatalog,
    ActivityKind,
    Format,
    Modality,
    Place,
)
from engine.domain.classes import (
    BLENDED_MODELS,
    MAX_CLASS_SIZE,
    ALaCarte,
    BlendedModel,
    Class,
    EnrichedVirtual,
    Flex,
    Flipped,
    Guardian,
    IndividualRotation,
    LabRotation,
    SessionSlot,
    Station,
    StationRotation,
    Teacher,
)
from engine.domain.learners import (
    Actor,
    Availability,
    Grouping,
    Learner,
    LearnerProfile,
    ProfileChange,
    Provenanced,
    Weekday,
)
from engine.domain.serialize import from_record, to_record
from engine.domain.skills import Skill

__all__ = [
    "ALaCarte", "Accommodation", "Activity", "ActivityCatalog", "ActivityKind", "Actor",
    "Availability", "BLENDED_MODELS", "BlendedModel", "Class", "EnrichedVirtual", "Flex",
    "Flipped", "Format", "Grouping", "Guardian", "IndividualRotation", "LabRotation", "Learner",
    "LearnerProfile", "MAX_CLASS_SIZE", "Modality", "Place", "ProfileChange", "Provenanced",
    "SessionSlot", "Skill", "Station", "StationRotation", "Teacher", "Weekday", "from_record",
    "to_record",
]
