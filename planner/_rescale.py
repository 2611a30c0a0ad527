"""A catalog with learned multipliers on its learn probabilities (:mod:`planner.effectiveness`,
``engine.planning``): each ``p_learn`` times the activity's multiplier, capped at 0.95."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from planner.model import PlanActivity


def rescaled(catalog: Sequence[PlanActivity], mult: Mapping[str, float], *, relative: bool,
             per_skill: bool = False) -> list[PlanActivity]:
    """``catalog`` with each listed activity's ``p_learn`` times its multiplier in ``mult``
    (activity id -> multiplier > 0), capped at 0.95; ``relative``: the multipliers are first
    divided by their geometric mean (keep the ranking, not the level: beliefs that are off — a
    miscalibrated prior, unknown prerequisites — shift every multiplier alike); with
    ``per_skill`` the geometric mean of the activities on the same first skill (an activity
    is ranked only against the other ways to learn its skill: learners who reach different
    skills differ, and that difference is not the activities')."""
    if relative and mult:  # one geometric mean per group: the first skill, or the whole catalog
        first = {a.id: a.skills[0][0] for a in catalog if per_skill and a.id in mult and a.skills}
        logs: dict[str, list[float]] = {}
        for k, v in mult.items():
            logs.setdefault(first.get(k, ""), []).append(float(np.log(v)))
        scale = {s: float(np.exp(np.mean(v))) for s, v in logs.items()}
        mult = {k: v / scale[first.get(k, "")] for k, v in mult.items()}
    return [replace(a, p_learn=scaled_p_learn(a.p_learn, mult[a.id])) if a.id in mult else a
            for a in catalog]


def scaled_p_learn(p_learn: float | Mapping[str, float], m: float):
    """``p_learn`` (one probability or skill -> probability) times ``m``, capped at 0.95."""
    if isinstance(p_learn, Mapping):
        return {k: min(float(v) * m, 0.95) for k, v in p_learn.items()}
    return min(float(p_learn) * m, 0.95)
