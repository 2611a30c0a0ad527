"""The one online contract every Pathwise knowledge-tracing model implements.

A fitted model is a pure function of its parameters: a learner's state is a *fold* over their
evidence in time order, and nothing mutates the model or a state.

    model = model_from_dict(doc)               # any registered model, from its JSON document
    state = model.init_state()                 # a learner with no evidence
    state, p = model.update_one(state, ("3.OA.A.1",), 1.0, item="q17")
    model.mastery(state, "3.OA.A.1")           # in [0, 1], comparable across models
    doc = model.state_to_dict(state)           # JSON-ready; model.state_from_dict(doc) == state

Vocabulary and units:

* an **observation** is one answer (or one graded activity) of one learner, tagged with one
  or more skills, optionally an item, and a **score** in [0, 1] (1 correct, 0 incorrect,
  in between partial credit, used as soft evidence: never rounded);
* ``update_one`` predicts the observation *once*, from the state before it (a multi-skill
  answer combines its skills the model's own way), then applies it to every skill it names,
  and returns ``(new_state, p_correct)``;
* ``update_many`` does the same for a learner's rows in time order; rows sharing an
  ``events`` id are the skill copies of one observation; it returns ``(new_state, p)`` with
  one P(correct) per observation (per distinct consecutive event id). Replaying a log through
  ``update_many`` learner by learner, or row by row through ``update_one``, gives the same
  numbers (the replay protocol's per-answer predictions);
* **mastery** (``model.mastery(state, skill)``): for BKT, P(mastered) of the skill. For models
  that predict P(correct) only (Elo, PFA, Best-LR family) it is P(correct) on a *typical*
  item of the skill (an item with no item-specific evidence), calibrated onto BKT's mastery
  scale by inverting BKT's emission with the skill's guess/slip fitted on the same training
  log: ``mastery = clip((p - p_guess) / (1 - p_slip - p_guess), 0, 1)``. So one mastery
  threshold (the tenant's ``PlanningPolicy``) means the same thing whatever model runs.

Documents: ``model.to_dict()`` is a versioned JSON document whose ``"model"`` names the
registry entry (``kt.models.MODEL_NAMES``); :func:`model_from_dict` rebuilds any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class OnlineKT(Protocol):
    """What the engine and the replay protocol call. Implemented by ``kt.bkt.BKT`` and every
    ``kt.models`` model (see the module docstring for the semantics)."""

    name: str

    def init_state(self) -> Any:
        """The immutable state of a learner with no evidence."""

    def update_one(
        self, state: Any, skills: str | Sequence[str], score: float, item: str | None = None
    ) -> tuple[Any, float]:
        """Apply one observation; ``(new_state, P(correct) predicted before it)``."""

    def update_many(
        self,
        state: Any,
        skills: Sequence[str] | np.ndarray,
        scores: Sequence[float] | np.ndarray,
        items: Sequence[str | None] | np.ndarray | None = None,
        events: Sequence[int] | np.ndarray | None = None,
    ) -> tuple[Any, np.ndarray]:
        """Apply rows of one learner in time order; ``(new_state, p (n_observations,))``."""

    def mastery(self, state: Any, skill: str) -> float:
        """Mastery of ``skill`` in [0, 1] (see the module docstring)."""

    def state_to_dict(self, state: Any) -> dict[str, Any]:
        """The state as a JSON-ready dict."""

    def state_from_dict(self, doc: dict[str, Any]) -> Any:
        """A state from :meth:`state_to_dict`'s document."""

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as a versioned JSON document."""


def model_from_dict(doc: dict[str, Any]) -> OnlineKT:
    """Any registered fitted model from its ``to_dict`` document (``ModelFileError`` names
    what is wrong with a bad one)."""
    from kt.models import model_from_dict as _load

    return _load(doc)
