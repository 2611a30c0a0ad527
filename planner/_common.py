"""Shared vocabulary of the planner's types: modalities, groupings and a read-only mapping.

Imported by ``planner.model``, ``planner.request`` and ``planner.results`` (which
``planner.model`` re-exports); nothing here imports another planner module.
"""

from __future__ import annotations

from collections.abc import Mapping

MODALITIES: tuple[str, ...] = ("online", "teacher_led", "collaborative", "independent_offline")
"""Every modality an activity can have (also the station types of a rotation)."""

GROUPINGS: tuple[str, ...] = ("individual", "small_group", "whole_class")
"""Grouping of an activity, derived from its ``group_max`` (see ``PlanActivity.grouping``)."""

MASTERED_THRESHOLD: float = 0.95
"""The default mastery threshold θ in (0, 1]: a skill with mastery >= θ counts as mastered
(readiness, review, reasons, class groups, the simulator's policies). Only a default: every
planner entry point reads θ from its settings (``PlaylistRequest.mastered_threshold``,
``ModelSettings.mastered_threshold``, ``Cohort.mastered_threshold``), which the engine fills
from the tenant's ``PlanningPolicy``."""


class FrozenMap(dict):
    """A read-only dict (picklable, unlike ``MappingProxyType``) used inside frozen types."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("this mapping is read-only; build a new object with dataclasses.replace")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return (FrozenMap, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def empty_map() -> Mapping:
    return FrozenMap()


def frozen_map(value: Mapping | None) -> Mapping:
    return value if isinstance(value, FrozenMap) else FrozenMap(value or {})
