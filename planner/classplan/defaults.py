"""Default station sets of the rotation models (used when ``ModelSettings.stations`` is empty)."""

from __future__ import annotations

import math

from planner.classplan.types import ModelSettings, StationPlan


def default_stations(settings: ModelSettings, n_learners: int) -> tuple[StationPlan, ...]:
    """Stations of a rotation model for a class of ``n_learners``.

    Station and individual rotation: teacher-led, online, collaborative and independent
    stations of 20 min. Lab rotation: teacher-led and collaborative in the classroom and an
    online station in the computer lab (a fourth, independent classroom station when the class
    would overflow the teacher groups). Every station seats the whole class except the teacher
    station (g_max)."""
    if settings.stations:
        return settings.stations
    n = max(1, n_learners)
    seats = n
    if settings.model == "lab_rotation":
        out = [StationPlan("teacher", "teacher_led", 20.0, settings.g_max),
               StationPlan("lab", "online", 20.0, settings.lab_capacity or seats, place="lab"),
               StationPlan("project", "collaborative", 20.0, seats)]
        if math.ceil(n / 3) > settings.g_max:
            out.append(StationPlan("independent", "independent_offline", 20.0, seats))
        return tuple(out)
    return (StationPlan("teacher", "teacher_led", 20.0, settings.g_max),
            StationPlan("online", "online", 20.0, seats),
            StationPlan("collaborative", "collaborative", 20.0, seats),
            StationPlan("independent", "independent_offline", 20.0, seats))
