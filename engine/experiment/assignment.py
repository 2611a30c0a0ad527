"""Randomisation: which arm each learner (or class) is in.

At the start every unit is assigned by a seeded, stratified permutation (balanced within each
stratum: arms alternate down a shuffled list, the first arm of each stratum itself random); the
result is stored and never recomputed. A learner who arrives later is assigned once,
deterministically: their class's arm under class randomisation, else an arm from a hash of
(seed, experiment id, learner id) — the same answer on every machine, stored on first use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.experiment.design import Design


@dataclass(frozen=True)
class Unit:
    """One learner at the start: ``learner_id``, ``class_id`` (their class in the experiment)
    and ``grade`` (text, for stratifying)."""

    learner_id: str
    class_id: str
    grade: str = ""


def _rng(design: Design, salt: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{design.seed}:{design.id}:{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _balanced(ids: Sequence[str], design: Design, stratum: str) -> dict[str, str]:
    """Shuffle ``ids`` (sorted first, so input order does not matter) and alternate arms,
    starting from a random arm: each arm gets half, +-1."""
    rng = _rng(design, "stratum:" + stratum)
    order = [sorted(ids)[i] for i in rng.permutation(len(ids))]
    first = int(rng.integers(2))
    names = [a.name for a in design.arms]
    return {uid: names[(first + i) % 2] for i, uid in enumerate(order)}


def _stratum(grade: str, class_id: str, design: Design) -> str:
    if design.stratify_by == "class":
        return "class:" + class_id
    if design.stratify_by == "grade":
        return "grade:" + grade
    return "all"


def assign(design: Design, units: Sequence[Unit]) -> dict[str, str]:
    """``learner_id -> arm name`` for every unit, by learner or by class per ``design.unit``
    and stratified per ``design.stratify_by``. Deterministic in (seed, id, units)."""
    if design.unit == "class":
        class_grade: dict[str, str] = {}
        for u in units:
            class_grade.setdefault(u.class_id, u.grade)
        by_class = class_arms(design, class_grade)
        return {u.learner_id: by_class[u.class_id] for u in units}
    strata: dict[str, list[str]] = {}
    for u in units:
        strata.setdefault(_stratum(u.grade, u.class_id, design), []).append(u.learner_id)
    out: dict[str, str] = {}
    for key in sorted(strata):
        out.update(_balanced(strata[key], design, key))
    return out


def class_arms(design: Design, class_grade: Mapping[str, str]) -> dict[str, str]:
    """``class_id -> arm`` for class randomisation, balanced within grade when stratified."""
    strata: dict[str, list[str]] = {}
    for cid, grade in class_grade.items():
        strata.setdefault("grade:" + grade if design.stratify_by == "grade" else "all", []).append(cid)
    out: dict[str, str] = {}
    for key in sorted(strata):
        out.update(_balanced(strata[key], design, key))
    return out


def late_arm(design: Design, learner_id: str, class_arm: str | None = None) -> str:
    """The arm of a learner who joins after the start: ``class_arm`` (their class's arm) under
    class randomisation when known, else a hash of (seed, experiment id, learner id)."""
    if design.unit == "class" and class_arm is not None:
        return class_arm
    digest = hashlib.sha256(f"{design.seed}:{design.id}:late:{learner_id}".encode()).digest()
    return design.arms[digest[0] % 2].name
