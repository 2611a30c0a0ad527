"""``BKT.predict``: filter a log's rows through a fitted model (``kt.bkt._kernels.predict``).

The log is laid out by skill (``kt.bkt.layout``) and every row's class is mapped to a global
index into the store's flat parameters, with the fallbacks of ``unknown="prior"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kt.bkt import layout as lay
from kt.bkt.online import UNKNOWN_MODES
from kt.bkt.store import ParamStore
from kt.errors import ParameterError, UnknownSkillError
from kt.log import ObservationLog


@dataclass(frozen=True)
class Prediction:
    """Per-row predictions aligned with the log's rows (float64 (n,) each)."""

    p_correct: np.ndarray
    p_mastered: np.ndarray
    p_mastered_after: np.ndarray


def _model_positions(store: ParamStore, log: ObservationLog, present, unknown: str):
    """int64 (S,) store position of each present log skill (-1 = unknown, allowed only with
    ``unknown="prior"``)."""
    model_pos = np.empty(len(present), dtype=np.int64)
    for j, code in enumerate(present):
        name = str(log.skill_names[code])
        pos = store._index.get(name, -1)  # type: ignore[attr-defined]
        if pos < 0 and unknown == "error":
            store.skill_index(name)  # raises UnknownSkillError
        model_pos[j] = pos
    return model_pos


def _global_classes(store: ParamStore, kind: str, labels: list, s: int, unknown: str):
    """int64 global parameter index of each class label of store skill ``s`` (-1 = unknown
    skill: the population fallback; an unknown label: the skill's class-average fallback)."""
    off = getattr(store, f"{kind}_off")
    total = int(off[-1])
    if s < 0:
        return np.full(len(labels), total + store.n_skills, dtype=np.int64)
    g = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        c = store.class_index(kind, s, label)
        if c >= 0:
            g[i] = off[s] + c
        elif unknown == "error":
            raise UnknownSkillError(
                f"item class {label!r} of skill {store.skill_names[s]!r} was not seen when "
                f"fitting ({kind} classes); refit with it, or pass unknown='prior' to use the "
                "skill's class average"
            )
        else:
            g[i] = total + s
    return g


def map_rows(store: ParamStore, variant: lay.Variant, log: ObservationLog, unknown: str):
    """(layout of ``log``, {kind: int32 global parameter index per row ("gs", "lr") or per
    sequence ("pr")}) against the fitted ``store``."""
    if unknown not in UNKNOWN_MODES:
        raise ParameterError(f"unknown={unknown!r} must be one of {UNKNOWN_MODES}")
    present = (np.flatnonzero(np.bincount(log.skill, minlength=log.n_skills))
               if len(log) else np.empty(0, np.int64))
    layout = lay.build(log, present.astype(np.int32), variant)
    n_sk = len(present)
    model_pos = _model_positions(store, log, present, unknown)
    idx = {}
    for kind, key, owner, bnd, col, pair in (
        ("gs", layout.gs_key, layout.row_skill, layout.row_start, variant.gs_col, False),
        ("lr", layout.lr_key, layout.row_skill, layout.row_start, variant.lr_col, variant.pair),
        ("pr", layout.pr_key, layout.seq_skill, layout.seq_start, variant.prior_col, False),
    ):
        codes, local = lay.per_skill_codes(bnd, key, n_sk, len(owner))
        glob = [_global_classes(store, kind, lay.class_labels(log, col, pair, codes[j]),
                                int(model_pos[j]), unknown) for j in range(n_sk)]
        lookup = np.concatenate(glob) if glob else np.empty(0, np.int64)
        starts = np.concatenate([[0], np.cumsum([len(c) for c in codes])]).astype(np.int64)
        idx[kind] = lookup[starts[owner] + local].astype(np.int32) if len(owner) else \
            np.empty(0, np.int32)
    return layout, idx


def predict(store: ParamStore, variant: lay.Variant, log: ObservationLog, unknown: str,
            kernels) -> Prediction:
    """Per-row P(correct), P(mastered) before and after (see ``BKT.predict``); the filter
    reads the log's scores as soft evidence when it has them (``Layout.score``)."""
    layout, idx = map_rows(store, variant, log, unknown)
    guess, slip, learn, forget, prior = store.with_fallbacks()
    m = layout.n_rows
    pc, pm, pn = np.empty(m), np.empty(m), np.empty(m)
    kernels.predict(
        layout.seq_row, layout.seq_len, idx["pr"], layout.score, idx["gs"], idx["lr"],
        guess, slip, learn, forget, prior, pc, pm, pn,
    )
    n = len(log)
    out = [np.empty(n), np.empty(n), np.empty(n)]
    for arr, src in zip(out, (pc, pm, pn), strict=True):
        arr[layout.rows] = src
    return Prediction(*out)
