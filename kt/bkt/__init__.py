"""Bayesian Knowledge Tracing: batch EM fitting (Numba) and an O(1) online update.

Public names: ``BKT`` (estimator), ``SkillParams``, ``BKTState``, ``Prediction``.
``BKT`` and ``Prediction`` are imported lazily so ``from kt.bkt import SkillParams``
does not load Numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kt.bkt.params import BKTState, SkillParams

if TYPE_CHECKING:  # pragma: no cover
    from kt.bkt.model import BKT, Prediction

__all__ = ["BKT", "BKTState", "Prediction", "SkillParams"]


def __getattr__(name: str):
    if name in ("BKT", "Prediction"):
        from kt.bkt import model

        return getattr(model, name)
    raise AttributeError(f"module 'kt.bkt' has no attribute {name!r}")
