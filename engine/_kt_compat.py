"""TEMPORARY: a plain BKT over per-skill parameters with the :mod:`kt.online` calls, used only
until ``kt.bkt.BKT`` implements the contract (``from_skill_params``, ``with_skills``,
``update_one(state, skills, score, item)``, ``mastery``, ``state_to_dict``). Delete then.

Same arithmetic as kt's online BKT step; a multi-skill observation's P(correct) is the mean of
its skills' P(correct) (kt's BKT combination), then each skill is updated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kt.bkt.online import soft_step
from kt.bkt.params import SkillParams


class ParamsBKT:
    name = "bkt"

    def __init__(self, params: Mapping[str, SkillParams]) -> None:
        self.params = dict(params)
        self.skill_names_ = np.array(sorted(self.params))

    def with_skills(self, extra: Mapping[str, SkillParams]) -> ParamsBKT:
        return ParamsBKT({**self.params, **extra})

    def init_state(self) -> dict[str, float]:
        return {}

    def update_one(self, state: dict[str, float], skills: Sequence[str] | str, score: float,
                   item: str | None = None) -> tuple[dict[str, float], float]:
        skills = (skills,) if isinstance(skills, str) else skills
        new = dict(state)
        before = [(s, new.get(s, self.params[s].p_init)) for s in skills]
        predicted = []
        for s, p in before:
            q = self.params[s]
            p_correct, new[s] = soft_step(p, score, q.p_guess, q.p_slip, q.p_learn, q.p_forget)
            predicted.append(p_correct)
        return new, float(sum(predicted) / len(predicted))

    def mastery(self, state: dict[str, float], skill: str) -> float:
        return state.get(skill, self.params[skill].p_init)

    def state_to_dict(self, state: dict[str, float]) -> dict[str, Any]:
        return {"p_mastered": dict(state)}

    def state_from_dict(self, doc: Mapping[str, Any]) -> dict[str, float]:
        return {str(k): float(v) for k, v in doc["p_mastered"].items()}

    def skill_params(self, skill: str) -> SkillParams:
        return self.params[skill]

    def to_dict(self) -> None:
        return None  # stored as a params-only version (a plain BKT)
