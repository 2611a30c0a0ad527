"""Starting values, fixed values and warm starts of BKT fits.

``fixed`` / ``init`` specs are normalised to {skill: {param: value}} and expanded to per
skill-class arrays (NaN = unset). Random starting values come from a counter-based generator
(splitmix64) keyed by (seed, skill name, restart, parameter, class): the same skill gets the
same starts whichever other skills are fitted, and no generator state is shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat

import numpy as np

from kt.bkt.params import PARAM_NAMES, SkillParams, check_probability
from kt.bkt.store import ParamStore
from kt.errors import ParameterError


def per_skill_spec(spec, names: list[str], what: str) -> dict[str, dict]:
    """Normalise ``fixed`` / ``init`` to {skill: {param: value}}."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ParameterError(f"{what} must be a dict, got {type(spec).__name__}")
    if spec and all(k in PARAM_NAMES for k in spec):
        spec = {n: spec for n in names}
    out = {}
    for skill, values in spec.items():
        if isinstance(values, SkillParams):
            values = values.as_dict()
        if not isinstance(values, Mapping):
            raise ParameterError(f"{what}[{skill!r}] must be a dict of parameter values")
        bad = [k for k in values if k not in PARAM_NAMES]
        if bad:
            raise ParameterError(
                f"{what}[{skill!r}] has unknown parameter {bad[0]!r}; use {', '.join(PARAM_NAMES)}"
            )
        out[str(skill)] = dict(values)
    return out


PARAM_ID = {"p_init": 1, "p_learn": 2, "p_forget": 3, "p_guess": 4, "p_slip": 5}
# random starting values as pyBKT's random_model_uni: prior U(0,1), learn U(0,.4),
# forget U(0,1) (0 without forgets), guess U(0,.4), slip U(0,.3)
HIGH = {"p_init": 1.0, "p_learn": 0.4, "p_forget": 1.0, "p_guess": 0.4, "p_slip": 0.3}
_MASK64 = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(seed: int, skill_hash: np.ndarray, restart: np.ndarray, param: int,
             cls: np.ndarray) -> np.ndarray:
    """Deterministic U[0, 1) per (seed, skill hash, restart, parameter, class), float64."""
    base = _mix(np.array([seed & _MASK64], dtype=np.uint64))
    z = _mix(base ^ skill_hash.astype(np.uint64))
    z = _mix(z ^ (restart.astype(np.uint64) << np.uint64(8)) ^ np.uint64(param))
    z = _mix(z ^ cls.astype(np.uint64))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def spec_array(spec: dict, names: list[str], labels: list, off: np.ndarray, param: str,
                what: str, label_index: dict | None = None) -> np.ndarray:
    """Per skill-class values of ``param`` from a normalised fixed/init spec (NaN = unset).

    ``label_index``: optional cache {skill position: _LabelIndex} shared by the calls for
    parameters with the same classes (guess and slip), filled on first use."""
    out = np.full(int(off[-1]), np.nan)
    if not spec:
        return out
    position = {name: s for s, name in enumerate(names)}
    one_class = np.array_equal(off, np.arange(len(names) + 1))
    fast_pos: list[int] = []
    fast_val: list[float] = []
    for name, values in spec.items():
        s = position.get(name)
        if s is None or param not in values:
            continue
        value = values[param]
        if type(value) is float and 0.0 <= value <= 1.0:  # the common case, no checks needed
            if one_class:  # skill s owns entry s: filled in one go below
                fast_pos.append(s)
                fast_val.append(value)
            else:
                out[off[s]:off[s + 1]] = value
            continue
        lo, hi = off[s], off[s + 1]
        label = f"{what}[{name!r}][{param!r}]"
        if isinstance(value, Mapping):
            cache = {} if label_index is None else label_index
            if s not in cache:
                cache[s] = _LabelIndex(labels[s])
            out[lo:hi] = _expand_mapping(value, labels[s], label, cache[s])
        elif np.ndim(value) == 0:
            out[lo:hi] = check_probability(label, value)
        else:
            out[lo:hi] = expand(value, labels[s], label)
    if fast_pos:
        out[np.array(fast_pos, dtype=np.int64)] = fast_val
    return out


def expand(value, labels: Sequence[str], what: str) -> np.ndarray:
    """A scalar, per-class sequence or {label: value} -> float64 (len(labels),) (NaN = unset)."""
    n = len(labels)
    if isinstance(value, Mapping):
        return _expand_mapping(value, labels, what, _LabelIndex(labels))
    if np.ndim(value) == 0:
        return np.full(n, check_probability(what, value))
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if len(arr) != n:
        raise ParameterError(f"{what} has {len(arr)} values for {n} classes; give one per class")
    for v in arr:
        check_probability(what, v)
    return arr


def warm_values(warm: ParamStore, name: str, gs_labels, lr_labels, pr_labels) -> dict:
    s = warm.skill_index(name)
    b = warm.block(s)
    out = {}
    for p, key, labels in (
        ("p_init", "init_classes", pr_labels), ("p_learn", "learn_classes", lr_labels),
        ("p_forget", "learn_classes", lr_labels), ("p_guess", "guess_slip_classes", gs_labels),
        ("p_slip", "guess_slip_classes", gs_labels),
    ):
        index = {c: i for i, c in enumerate(b[key])}
        mean = float(np.mean(b[p]))
        out[p] = np.array([b[p][index[c]] if c in index else mean for c in labels])
    return out


def merge(old: ParamStore, new: ParamStore) -> ParamStore:
    """Skills of ``new`` replace or extend those of ``old`` (order: old first)."""
    names = list(old.skill_names) + [n for n in new.skill_names if n not in old._index]  # type: ignore[attr-defined]
    blocks = []
    for n in names:
        src = new if n in new._index else old  # type: ignore[attr-defined]
        blocks.append(src.block(src.skill_index(n)))

    def offsets(key):
        return np.concatenate([[0], np.cumsum([len(b[key]) for b in blocks])]).astype(np.int64)

    def cat(key):
        return np.concatenate([b[key] for b in blocks])

    return ParamStore(
        skill_names=tuple(names), gs_off=offsets("p_guess"), lr_off=offsets("p_learn"),
        pr_off=offsets("p_init"), p_guess=cat("p_guess"), p_slip=cat("p_slip"),
        p_learn=cat("p_learn"), p_forget=cat("p_forget"), p_init=cat("p_init"),
        gs_labels=tuple(tuple(b["guess_slip_classes"]) for b in blocks),
        lr_labels=tuple(tuple(b["learn_classes"]) for b in blocks),
        pr_labels=tuple(tuple(b["init_classes"]) for b in blocks),
    )



class _LabelIndex:
    """One skill's {label: class index}, plus the positions found for the last mapping's
    keys (guess and slip specs usually list the same labels in the same order: looked up once)."""

    __slots__ = ("index", "keys", "pos")

    def __init__(self, labels: Sequence[str]) -> None:
        self.index = dict(zip(labels, range(len(labels)), strict=True))
        self.keys: list | None = None
        self.pos: np.ndarray | None = None

    def positions(self, keys: list) -> np.ndarray:
        """int64 (len(keys),) class index of each key, -1 for labels the skill lacks."""
        if self.pos is not None and keys == self.keys:
            return self.pos
        pos = np.fromiter(map(self.index.get, keys, repeat(-1)), dtype=np.int64,
                          count=len(keys))
        for j in np.flatnonzero(pos < 0).tolist():  # labels given as non-strings, 7 for "7"
            if type(keys[j]) is not str:
                pos[j] = self.index.get(str(keys[j]), -1)
        self.keys, self.pos = keys, pos
        return pos


def _expand_mapping(value: Mapping, labels: Sequence[str], what: str,
                    index: _LabelIndex) -> np.ndarray:
    """{label: probability} -> float64 (len(labels),), NaN where no value; labels the model
    does not have are ignored. Validated in one vectorised pass (thousands of item classes
    under multigs); a bad value raises ``ParameterError`` naming its label."""
    out = np.full(len(labels), np.nan)
    if not value:
        return out
    try:
        vals = np.fromiter(value.values(), dtype=np.float64, count=len(value))
    except (TypeError, ValueError):
        vals = None
    if vals is None or not (vals.min() >= 0.0 and vals.max() <= 1.0):  # NaN fails too
        # slow path, only for odd or bad input: raises at the first bad value, by label
        vals = np.array([check_probability(f"{what}[{label!r}]", v) for label, v in value.items()])
    pos = index.positions(list(value))
    keep = pos >= 0
    out[pos[keep]] = vals[keep]
    return out
