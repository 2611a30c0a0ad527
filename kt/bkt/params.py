"""Parameter and state value objects of Bayesian Knowledge Tracing.

``SkillParams`` is one skill's (or one item class's) five BKT probabilities;
``BKTState`` is one learner's immutable P(mastered) per skill, the state of
the online path (``BKT.update_one`` / ``BKT.update_many``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kt.errors import ParameterError, UnknownSkillError

PARAM_NAMES = ("p_init", "p_learn", "p_forget", "p_guess", "p_slip")


def check_probability(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a probability in [0, 1]; else raise ``ParameterError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}={value!r} is not a number; give a probability in [0, 1]"
        ) from None
    if not (0.0 <= number <= 1.0) or math.isnan(number):
        raise ParameterError(f"{name}={value!r} is outside [0, 1]; give a probability in [0, 1]")
    return number


@dataclass(frozen=True, slots=True)
class SkillParams:
    """The five BKT probabilities of one skill (for one item class when the model has classes).

    p_init: P(mastered) before the first observation.
    p_learn: P(not mastered -> mastered) after each observation.
    p_forget: P(mastered -> not mastered) after each observation (0 in standard BKT).
    p_guess: P(correct | not mastered).
    p_slip: P(incorrect | mastered).
    All in [0, 1]; construction validates and raises ``ParameterError`` otherwise.
    """

    p_init: float
    p_learn: float
    p_forget: float = 0.0
    p_guess: float = 0.2
    p_slip: float = 0.1

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            object.__setattr__(self, name, check_probability(name, getattr(self, name)))

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in PARAM_NAMES}


@dataclass(frozen=True, eq=False)
class BKTState:
    """One learner's knowledge state: P(mastered) per skill of a fitted model. Immutable.

    Attributes (``K`` = number of skills of the model):
        skill_names: tuple of K skill names, the model's order.
        p_mastered: float64 (K,) read-only, P(mastered) before the learner's next observation
            of each skill (NaN for a multiprior model before the learner's first observation of
            that skill: the prior is chosen by that observation's class).
        last_class: int32 (K,) read-only, the model's item-class index of the last observation
            of each skill (-1 = none yet); multipair models need it for the next learn class.
    """

    skill_names: tuple[str, ...]
    p_mastered: np.ndarray
    last_class: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        k = len(self.skill_names)
        p = np.array(self.p_mastered, dtype=np.float64, copy=True).reshape(-1)
        if p.shape != (k,):
            raise ParameterError(
                f"p_mastered has {p.shape[0]} values for {k} skills; give one value per skill"
            )
        finite = p[~np.isnan(p)]
        if np.any((finite < 0.0) | (finite > 1.0)):
            raise ParameterError("p_mastered values must be probabilities in [0, 1]")
        if self.last_class is None:
            last = np.full(k, -1, dtype=np.int32)
        else:
            last = np.array(self.last_class, dtype=np.int32, copy=True).reshape(-1)
            if last.shape != (k,):
                raise ParameterError(f"last_class must have {k} values, one per skill")
        p.flags.writeable = False
        last.flags.writeable = False
        object.__setattr__(self, "skill_names", tuple(str(s) for s in self.skill_names))
        object.__setattr__(self, "p_mastered", p)
        object.__setattr__(self, "last_class", last)

    @classmethod
    def _trusted(cls, skill_names: tuple[str, ...], p_mastered: np.ndarray,
                 last_class: np.ndarray) -> BKTState:
        """Wrap arrays produced by the model itself (fresh, valid, owned) without copying."""
        state = object.__new__(cls)
        p_mastered.flags.writeable = False
        last_class.flags.writeable = False
        object.__setattr__(state, "skill_names", skill_names)
        object.__setattr__(state, "p_mastered", p_mastered)
        object.__setattr__(state, "last_class", last_class)
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BKTState):
            return NotImplemented
        return (
            self.skill_names == other.skill_names
            and np.array_equal(self.p_mastered, other.p_mastered, equal_nan=True)
            and np.array_equal(self.last_class, other.last_class)
        )

    def __hash__(self) -> int:
        return hash((self.skill_names, self.p_mastered.tobytes(), self.last_class.tobytes()))

    def index(self, skill: str) -> int:
        """Position of ``skill``; raises ``UnknownSkillError`` naming it when absent."""
        try:
            return self.skill_names.index(skill)
        except ValueError:
            raise UnknownSkillError(
                f"skill {skill!r} is not in this mastery state (the model was fitted on "
                f"{len(self.skill_names)} skills); fit the model on data containing it"
            ) from None

    def mastery(self, skill: str) -> float:
        """P(mastered) of ``skill`` before the next observation."""
        return float(self.p_mastered[self.index(skill)])

    def as_dict(self) -> dict[str, float]:
        return {s: float(p) for s, p in zip(self.skill_names, self.p_mastered, strict=True)}
