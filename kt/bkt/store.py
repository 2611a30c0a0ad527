"""Fitted BKT parameters in compact flat arrays, sparse per item class.

Skill ``s`` owns ``p_guess[gs_off[s]:gs_off[s+1]]`` (one value per guess/slip class seen with
the skill), ``p_learn/p_forget[lr_off[s]:lr_off[s+1]]`` (per learn class) and
``p_init[pr_off[s]:pr_off[s+1]]`` (per prior class). Labels name the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kt.errors import UnknownSkillError


@dataclass(frozen=True)
class ParamStore:
    """Flat per-skill, per-class parameters of a fitted model (arrays are float64 / int64)."""

    skill_names: tuple[str, ...]
    gs_off: np.ndarray
    lr_off: np.ndarray
    pr_off: np.ndarray
    p_guess: np.ndarray
    p_slip: np.ndarray
    p_learn: np.ndarray
    p_forget: np.ndarray
    p_init: np.ndarray
    gs_labels: tuple[tuple[str, ...], ...]
    lr_labels: tuple[tuple[str, ...], ...]
    pr_labels: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.skill_names)})
        object.__setattr__(self, "_fallbacks", None)
        object.__setattr__(self, "_class_dicts", {})  # (kind, skill) -> {label: index}, lazy

    @property
    def n_skills(self) -> int:
        return len(self.skill_names)

    def skill_index(self, skill: str) -> int:
        try:
            return self._index[skill]  # type: ignore[attr-defined]
        except KeyError:
            raise UnknownSkillError(
                f"skill {skill!r} was not fitted (model has {self.n_skills} skills); "
                "fit on data that contains it, or pass unknown='prior' to use population "
                "default parameters"
            ) from None

    def class_index(self, kind: str, s: int, label: str) -> int:
        """Local index of class ``label`` of kind 'gs' | 'lr' | 'pr' in skill ``s``, or -1."""
        dicts = self._class_dicts  # type: ignore[attr-defined]
        table = dicts.get((kind, s))
        if table is None:
            labels = getattr(self, f"{kind}_labels")[s]
            table = {c: j for j, c in enumerate(labels)}
            dicts[(kind, s)] = table
        return table.get(label, -1)

    def block(self, s: int) -> dict:
        """Skill ``s``'s parameters: name -> array per class, plus class labels."""
        g = slice(self.gs_off[s], self.gs_off[s + 1])
        lr = slice(self.lr_off[s], self.lr_off[s + 1])
        pr = slice(self.pr_off[s], self.pr_off[s + 1])
        return {
            "p_init": self.p_init[pr].copy(),
            "p_learn": self.p_learn[lr].copy(),
            "p_forget": self.p_forget[lr].copy(),
            "p_guess": self.p_guess[g].copy(),
            "p_slip": self.p_slip[g].copy(),
            "init_classes": list(self.pr_labels[s]),
            "learn_classes": list(self.lr_labels[s]),
            "guess_slip_classes": list(self.gs_labels[s]),
        }

    def with_fallbacks(self):
        """Flat arrays extended by per-skill class means (index total+s) and a population
        mean (index total+S): (guess, slip, learn, forget, init). Computed once (read-only)."""
        if self._fallbacks is None:  # type: ignore[attr-defined]
            object.__setattr__(self, "_fallbacks", self._compute_fallbacks())
        return self._fallbacks  # type: ignore[attr-defined]

    def _compute_fallbacks(self):
        out = []
        for name, off in (
            ("p_guess", self.gs_off),
            ("p_slip", self.gs_off),
            ("p_learn", self.lr_off),
            ("p_forget", self.lr_off),
            ("p_init", self.pr_off),
        ):
            values = getattr(self, name)
            counts = np.diff(off)
            sums = np.add.reduceat(values, off[:-1]) if len(values) else np.zeros(0)
            means = sums / np.maximum(counts, 1)
            population = float(means.mean()) if len(means) else 0.5
            arr = np.concatenate([values, means, [population]]).astype(np.float64)
            arr.flags.writeable = False
            out.append(arr)
        return tuple(out)


def from_skill_params(params) -> ParamStore:
    """A one-class-per-skill store from ``{skill name: SkillParams}`` (dict order kept)."""
    names = tuple(str(n) for n in params)
    values = list(params.values())
    n = len(names)
    off = np.arange(n + 1, dtype=np.int64)
    default = (("*",),) * n  # kt.bkt.layout.DEFAULT_CLASS: the one class of a skill

    def column(p: str) -> np.ndarray:
        return np.array([getattr(v, p) for v in values], dtype=np.float64)

    return ParamStore(
        skill_names=names, gs_off=off, lr_off=off.copy(), pr_off=off.copy(),
        p_guess=column("p_guess"), p_slip=column("p_slip"), p_learn=column("p_learn"),
        p_forget=column("p_forget"), p_init=column("p_init"),
        gs_labels=default, lr_labels=default, pr_labels=default,
    )


class ParamsView(Mapping):
    """``params_``: {skill: parameter block} built from the store on first access per skill."""

    def __init__(self, store: ParamStore) -> None:
        self._store = store
        self._blocks: dict[str, dict] = {}

    def __getitem__(self, skill: str) -> dict:
        block = self._blocks.get(skill)
        if block is None:
            index = self._store._index.get(skill)  # type: ignore[attr-defined]
            if index is None:
                raise KeyError(skill)
            block = self._blocks[skill] = self._store.block(index)
        return block

    def __iter__(self):
        return iter(self._store.skill_names)

    def __len__(self) -> int:
        return self._store.n_skills

    def __repr__(self) -> str:
        return repr(dict(self.items()))
