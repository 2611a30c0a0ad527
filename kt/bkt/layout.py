"""Turn an ``ObservationLog`` into the skill-grouped arrays the BKT kernels read.

Rows are regrouped by skill (stable, so each skill's rows stay learner-then-time), one
sequence per (skill, learner) run. Item classes are coded per skill, sparsely: a skill
only has the classes that occur with it, and each row carries its class index.

Class labels (strings, stored in saved models):
    no variant: the single class ``"*"``;
    multigs / multilearn: the class column's value;
    multipair: ``json.dumps([previous, current])`` for the pair of item classes, ``"*"`` for
        the first row of a sequence (no previous item);
    multiprior: the value of the class column at the learner's first row of the skill
        (``"0"`` / ``"1"`` = first outcome when the column is the outcome).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kt.errors import LogFormatError
from kt.log import ObservationLog

DEFAULT_CLASS = "*"
OUTCOME = "__outcome__"


@dataclass(frozen=True)
class Variant:
    """Which columns drive the class-dependent parameters (None = one class)."""

    gs_col: str | None = None  # multigs
    lr_col: str | None = None  # multilearn or multipair
    pair: bool = False  # lr_col gives (previous, current) pairs
    prior_col: str | None = None  # multiprior (OUTCOME = first outcome)


@dataclass(frozen=True)
class Layout:
    """Skill-grouped arrays; see ``kt.bkt._kernels`` for the meaning of each kernel array.

    skills: int32 (S,), log skill codes in layout order.
    rows: int64 (m,), the log row of each layout row.
    gs_key, lr_key: int64 (m,), per-row class codes (see ``class_labels``), or None when the
        model has no such class column (one class per skill);
    pr_key: int64 (Q,), per-sequence prior class code, or None (one prior per skill).
    row_start: int64 (S+1,): rows of skill s are ``row_start[s]:row_start[s+1]``.
    soft: float64 (m,), the log's ``score`` of each row (soft evidence in [0, 1]), or None
        when the log has no score column (then ``obs`` is the evidence).
    """

    skills: np.ndarray
    rows: np.ndarray
    seq_start: np.ndarray
    seq_row: np.ndarray
    seq_len: np.ndarray
    obs: np.ndarray
    gs_key: np.ndarray | None
    lr_key: np.ndarray | None
    pr_key: np.ndarray | None
    seq_skill: np.ndarray  # int64 (Q,) skill position (0..S-1) of each sequence
    row_start: np.ndarray
    soft: np.ndarray | None = None

    @cached_property
    def row_skill(self) -> np.ndarray:
        """int64 (m,) skill position of each row (built on first use)."""
        return np.repeat(np.arange(len(self.skills), dtype=np.int64), np.diff(self.row_start))

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def score(self) -> np.ndarray:
        """float64 (m,) evidence of each row for filtering: the log's scores, else the
        outcomes as 0.0 / 1.0."""
        return self.obs.astype(np.float64) if self.soft is None else self.soft


def _class_column(log: ObservationLog, name: str) -> np.ndarray:
    if name == OUTCOME:
        return log.outcome.astype(np.int64)
    if name not in log.classes:
        have = ", ".join(sorted(log.classes)) or "none"
        raise LogFormatError(
            f"class column {name!r} is not in this log (class columns: {have}); "
            "read the log with that column mapped as a class column"
        )
    return log.classes[name].astype(np.int64)


def build(log: ObservationLog, skill_codes: np.ndarray, variant: Variant) -> Layout:
    """Layout of the log rows whose skill is in ``skill_codes`` (in that order)."""
    from kt.bkt.online import bkt_kernels

    _kernels = bkt_kernels()  # compiled ahead of time where fresh (kt._aot)

    skill_codes = np.asarray(skill_codes, dtype=np.int32)
    position = np.full(max(log.n_skills, 1), -1, dtype=np.int64)
    position[skill_codes] = np.arange(len(skill_codes))
    rows, obs, row_start, seq_row, seq_len, seq_skill, seq_start = _kernels.group_by_skill(
        log.skill, log.learner, log.outcome, position, len(skill_codes)
    )
    m = len(rows)
    gs_key = _class_column(log, variant.gs_col)[rows] if variant.gs_col else None
    if variant.lr_col:
        cur = _class_column(log, variant.lr_col)[rows]
        if variant.pair:
            width = _pair_width(log, variant.lr_col)
            prev = np.empty_like(cur)
            prev[1:] = cur[:-1]
            prev[:1] = 0
            first = np.zeros(m, dtype=bool)
            first[seq_row] = True
            lr_key = np.where(first, 0, 1 + prev * width + cur)
        else:
            lr_key = cur
    else:
        lr_key = None
    if variant.prior_col:
        pr_key = _class_column(log, variant.prior_col)[rows][seq_row]
    else:
        pr_key = None
    return Layout(
        skills=skill_codes,
        rows=rows,
        seq_start=seq_start,
        seq_row=seq_row,
        seq_len=seq_len,
        obs=obs,
        gs_key=None if gs_key is None else np.ascontiguousarray(gs_key, dtype=np.int64),
        lr_key=None if lr_key is None else np.ascontiguousarray(lr_key, dtype=np.int64),
        pr_key=None if pr_key is None else np.ascontiguousarray(pr_key, dtype=np.int64),
        seq_skill=seq_skill,
        row_start=row_start,
        soft=None if log.score is None else np.ascontiguousarray(log.score[rows]),
    )


def per_skill_codes(bounds: np.ndarray, key: np.ndarray | None, n_skills: int, length: int):
    """Sorted distinct class codes per skill and each entry's index among them.

    ``bounds``: int64 (S+1,), the entries of skill s are ``bounds[s]:bounds[s+1]`` (rows:
    ``layout.row_start``; sequences: ``layout.seq_start``); ``key``: int64 (length,) class
    codes, or None = class 0 for every entry. Returns (codes_by_skill: list of int64 arrays,
    local: int32 (length,)).
    """
    if key is None:  # no class column: one class (code 0) per skill
        one = np.zeros(1, np.int64)
        return [one] * n_skills, np.zeros(length, np.int32)
    from kt.bkt.online import bkt_kernels

    _kernels = bkt_kernels()  # compiled ahead of time where fresh (kt._aot)

    width = int(key.max()) + 1 if len(key) else 1
    local, codes, code_start = _kernels.code_classes(bounds, key, width)
    return [codes[code_start[s] : code_start[s + 1]] for s in range(n_skills)], local


def class_labels(log: ObservationLog, column: str | None, pair: bool, codes: np.ndarray) -> list:
    """String labels of class codes (see the module docstring)."""
    if column is None:
        return [DEFAULT_CLASS] * len(codes)
    if column == OUTCOME:
        return [str(int(c)) for c in codes]
    vocab = log.class_vocab[column]
    if not pair:
        picked = vocab[np.asarray(codes, dtype=np.intp)]
        if picked.dtype.kind == "U":  # already text: tolist() gives str
            return picked.tolist()
        return [str(x) for x in picked.tolist()]
    width = _pair_width(log, column)
    labels = []
    for c in codes:
        c = int(c)
        if c == 0:
            labels.append(DEFAULT_CLASS)
        else:
            prev, cur = divmod(c - 1, width)
            labels.append(json.dumps([str(vocab[prev]), str(vocab[cur])]))
    return labels


def _pair_width(log: ObservationLog, column: str) -> int:
    col = log.classes[column]
    return int(col.max()) + 1 if len(col) else 1
