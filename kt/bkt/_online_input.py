"""Input handling of the BKT online path (:mod:`kt.bkt.online`): kernel modules loaded on
first use, observation row pointers, skill positions, and the errors that name a bad row."""

from __future__ import annotations

import numpy as np

from kt.bkt.store import ParamStore
from kt.errors import ParameterError, UnknownSkillError

UNKNOWN_MODES = ("error", "prior")

_KERNELS = None


def bkt_kernels():
    """``kt.bkt._kernels``, imported on first use (importing it loads Numba); cached so the
    per-call online path does not pay for an import statement."""
    global _KERNELS
    if _KERNELS is None:
        from kt._aot import kernels  # compiled ahead of time where fresh (kt._aot)

        _KERNELS = kernels("kt.bkt._kernels")
    return _KERNELS


_ONLINE_KERNELS = None


def online_kernels():
    """``kt.bkt._online_kernels``, imported on first use (it loads Numba); cached."""
    global _ONLINE_KERNELS
    if _ONLINE_KERNELS is None:
        from kt.bkt import _online_kernels

        _ONLINE_KERNELS = _online_kernels
    return _ONLINE_KERNELS


def obs_pointers(events, m: int) -> np.ndarray:
    """int64 (n_obs + 1) row pointers of observations: rows sharing a consecutive ``events``
    id are one observation; ``events=None``: every row is its own observation."""
    if events is None:
        return np.arange(m + 1, dtype=np.int64)
    ev = np.asarray(events).reshape(-1)
    if len(ev) != m:
        raise ParameterError(f"{len(ev)} events for {m} scores; give one event id per row")
    if m == 0:
        return np.zeros(1, dtype=np.int64)
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(ev[1:], ev[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    out = np.empty(len(starts) + 1, dtype=np.int64)
    out[:-1] = starts
    out[-1] = m
    return out


def bad_score(score: np.ndarray) -> ParameterError:
    bad = int(np.flatnonzero(~((score >= 0.0) & (score <= 1.0)))[0])
    return ParameterError(
        f"scores[{bad}]={float(score[bad]):g} is outside [0, 1]; pass 0/1 or a partial score"
    )


def skill_positions(store: ParamStore, skills, m: int, unknown: str) -> np.ndarray:
    """int64 (m,) positions in ``store.skill_names`` (-1 = unknown skill, ``unknown="prior"``)."""
    sk = np.asarray(skills)
    if sk.dtype.kind in "iu":
        pos = sk.astype(np.int64).reshape(-1)
        if len(pos) and (pos.min() < 0 or pos.max() >= store.n_skills):
            raise UnknownSkillError(
                f"skill positions must be in 0..{store.n_skills - 1}; got "
                f"{int(pos.min())}..{int(pos.max())}"
            )
    else:
        names = sk.astype(str).reshape(-1)
        uniq, inv = np.unique(names, return_inverse=True)
        index = store._index  # type: ignore[attr-defined]
        known = np.array([index.get(u, -1) for u in uniq], dtype=np.int64)
        if unknown == "error" and np.any(known < 0):
            store.skill_index(str(uniq[np.flatnonzero(known < 0)[0]]))  # raises
        pos = known[inv] if len(uniq) else np.empty(0, np.int64)
    if len(pos) != m:
        raise ParameterError(f"{len(pos)} skills for {m} scores; give one skill per score")
    return pos


def bad_row(store: ParamStore, pos: np.ndarray, score: np.ndarray,
             bad: int) -> ParameterError | UnknownSkillError:
    """The error of row ``bad`` a replay kernel stopped at: its skill position or score."""
    if not (0 <= pos[bad] < store.n_skills):
        return UnknownSkillError(
            f"skills[{bad}]={int(pos[bad])} is not a skill position; use "
            f"0..{store.n_skills - 1} (positions in skill_names_)"
        )
    return bad_score(score)


def bad_cell_row(bad: int, m: int, pos, cell, score, n_values: int,
                  n_skills: int) -> ParameterError | UnknownSkillError:
    if bad == m:
        return ParameterError(
            f"obs_ptr must rise strictly from 0 to {m} (the number of rows); one entry per "
            "observation start, then the row count")
    if not 0 <= pos[bad] < n_skills:
        return UnknownSkillError(
            f"skills[{bad}]={int(pos[bad])} is not a skill position; use 0..{n_skills - 1}")
    if not 0 <= cell[bad] < n_values:
        return ParameterError(
            f"cells[{bad}]={int(cell[bad])} is not a cell; use 0..{n_values - 1} (one per value)")
    return bad_score(score)
