"""Constraint rows of the playlist problem, shared by the MILP, the greedy and the checker.

Hard rows (never violated): budget, modality max, per-format cap, per-skill cap, length max,
prerequisite chaining. Soft rows (elastic; slack is reported as a ``Conflict``): pins, locks,
frozen items, must-cover skills, modality min, length min.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates


@dataclass(frozen=True, eq=False)
class SoftRow:
    """sum_{a in members} x_a >= rhs, elastic. ``name`` e.g. "pin:act-3", "modality_min:online"."""

    name: str
    members: tuple[int, ...]
    rhs: float
    penalty: float

    @property
    def idx(self) -> np.ndarray:
        """``members`` as an int array (cached)."""
        arr = self.__dict__.get("_idx")
        if arr is None:
            arr = np.asarray(self.members, dtype=np.int64)
            object.__setattr__(self, "_idx", arr)
        return arr


@dataclass(frozen=True, eq=False)
class HardLimits:
    """Dense helpers for fast feasibility checks (A candidates, F formats, K skills)."""

    fmt: np.ndarray  # (A, F) bool
    fmt_cap: np.ndarray  # (F,) float, inf = no cap
    touch: np.ndarray  # (A, K + E) bool, activity works on skill column (see ``cap_skills``)
    mod_hi: np.ndarray  # (4,) float
    mod_lo: np.ndarray  # (4,) float
    chain: np.ndarray  # (R, A) float, 1 where activity teaches the prerequisite of row r
    chain_owner: np.ndarray  # (R,) int, the chained activity of row r
    fmt_of: tuple[np.ndarray, ...] = ()  # per activity: its format indices
    skills_of: tuple[np.ndarray, ...] = ()  # per activity: its ``touch`` columns
    rows_taught: tuple[np.ndarray, ...] = ()  # per activity: chain rows it satisfies
    cap_skills: tuple[str, ...] = ()  # (K + E,) the skill of each ``touch`` column


def hard_limits(c: Candidates) -> HardLimits:
    """Dense helpers of ``c`` (computed once per candidate set, then cached)."""
    lim = c.cache.get("hard_limits")
    if lim is None:
        lim = c.cache["hard_limits"] = _hard_limits(c)
    return lim


def _hard_limits(c: Candidates) -> HardLimits:
    r = c.request
    A, F = c.n, len(c.formats)
    fmt = np.zeros((A, F), dtype=bool)
    for f, members in enumerate(c.format_members):
        fmt[list(members), f] = True
    cap = np.array([np.inf if r.cap_for_format(f) is None else float(r.cap_for_format(f))
                    for f in c.formats])
    hi = np.full(len(MODALITIES), np.inf)
    lo = np.zeros(len(MODALITIES))
    for m, (mlo, mhi) in r.modality_bounds.items():
        hi[MODALITIES.index(m)] = mhi
        lo[MODALITIES.index(m)] = mlo
    chain = np.zeros((len(c.chain_rows), A))
    owner = np.zeros(len(c.chain_rows), dtype=np.int64)
    for n, (a, bs) in enumerate(c.chain_rows):
        chain[n, list(bs)] = 1.0
        owner[n] = a
    extra, touch_extra = _unready_skills(c)
    touch = np.hstack([c.T > 0, touch_extra])
    return HardLimits(
        fmt=fmt, fmt_cap=cap, touch=touch, mod_hi=hi, mod_lo=lo, chain=chain, chain_owner=owner,
        fmt_of=tuple(np.flatnonzero(row) for row in fmt),
        skills_of=tuple(np.flatnonzero(row) for row in touch),
        rows_taught=tuple(np.flatnonzero(col) for col in chain.T),
        cap_skills=tuple(c.skills) + extra,
    )


def _unready_skills(c: Candidates) -> tuple[tuple[str, ...], np.ndarray]:
    """The skill cap counts every skill the learner has not mastered, not only the K
    gain-bearing ones: a teacher may pin activities on skills that are not ready (no gain
    there). Returns the E other un-mastered skills candidates work on and their (A, E) bool
    columns."""
    theta, K = c.request.mastered_threshold, c.skill_index
    cols: dict[str, list[int]] = {}
    for a, act in enumerate(c.activities):
        for k, _w in act.skills:
            if k not in K and c.learner.mastery_of(k) < theta:
                cols.setdefault(k, []).append(a)
    extra = tuple(sorted(cols))
    out = np.zeros((c.n, len(extra)), dtype=bool)
    for e, k in enumerate(extra):
        out[cols[k], e] = True
    return extra, out


def soft_rows(c: Candidates, extra_forced: tuple[int, ...] = ()) -> list[SoftRow]:
    """Every elastic row of the request (teacher requests and lower bounds)."""
    W = c.request.weights
    rows: list[SoftRow] = []
    for ai, kind in sorted(c.forced.items()):
        mult = 10.0 if kind == "frozen" else 2.0 if kind == "lock" else 1.0
        rows.append(SoftRow(f"{kind}:{c.activities[ai].id}", (ai,), 1.0, W.slack_penalty * mult))
    for ai in extra_forced:
        rows.append(SoftRow(f"force:{c.activities[ai].id}", (ai,), 1.0, W.slack_penalty * 5))
    for k in c.request.must_cover:
        ki = c.skill_index.get(k)
        members = tuple(int(a) for a in np.nonzero(c.T[:, ki] > 0)[0]) if ki is not None else ()
        rows.append(SoftRow(f"must_cover:{k}", members, 1.0, W.slack_penalty))
    for m, (lo, _hi) in c.request.modality_bounds.items():
        if lo > 0:
            mi = MODALITIES.index(m)
            members = tuple(int(a) for a in np.nonzero(c.modality == mi)[0])
            rows.append(SoftRow(f"modality_min:{m}", members, float(lo), W.slack_penalty * 0.5))
    if c.request.length_min > 0:
        rows.append(SoftRow("length_min", tuple(range(c.n)), float(c.request.length_min),
                            W.slack_penalty * 0.5))
    return rows


def hard_violations(c: Candidates, x: np.ndarray, lim: HardLimits | None = None,
                    *, ignore_chain_for: frozenset[int] = frozenset()) -> list[str]:
    """Names of the hard rows selection ``x`` violates (empty list = feasible)."""
    lim = lim or hard_limits(c)
    r = c.request
    sel = x > 0.5
    out: list[str] = []
    if c.duration[sel].sum() > r.budget_min + 1e-6:
        out.append("budget")
    counts = np.bincount(c.modality[sel], minlength=len(MODALITIES))
    for mi, m in enumerate(MODALITIES):
        if counts[mi] > lim.mod_hi[mi]:
            out.append(f"modality_max:{m}")
    if lim.fmt.shape[1]:
        fc = lim.fmt[sel].sum(axis=0)
        for f in np.nonzero(fc > lim.fmt_cap)[0]:
            out.append(f"format_cap:{c.formats[f]}")
    if lim.touch.shape[1]:
        sc = lim.touch[sel].sum(axis=0)
        for k in np.nonzero(sc > r.skill_cap)[0]:
            out.append(f"skill_cap:{lim.cap_skills[k]}")
    if sel.sum() > r.length_max:
        out.append("length_max")
    for (a, bs), (_a, sk) in zip(c.chain_rows, c.chain_skills, strict=True):
        if sel[a] and a not in ignore_chain_for and not any(sel[b] for b in bs):
            out.append(f"prerequisite:{sk}")
    return out
