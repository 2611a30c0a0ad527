"""The fold of a model whose state *is* its mastery rows (:attr:`RuntimeModel.rows_hold_state`:
a plain BKT alone), used by :mod:`engine.fold_store` for learners whose stored state belongs to
the running model.

For such a model a skill's P(mastered) is the skill's own filter over the evidence on that
skill, and the learner's state is, skill by skill, the stored mastery row (no row: the
skill's ``p_init``). So nothing is decoded and no state document is kept (the learner's
``learner_states`` row holds :data:`ROW_STATE` and the counters):

* evidence no older than the learner's latest: each skill starts from its mastery row;
* late evidence (older than the learner's latest, earliest at time ``t``): the refold starts
  at the insertion point instead of the learner's first observation. The stored observations
  newer than ``t`` are read back; each skill starts from ``p_before`` of its first history row
  after ``t`` (its value just before the insertion point, :mod:`engine.store._history`), else
  from its mastery row; the history rows after ``t`` are deleted and rewritten, with the new
  ones, in fold order. Cost O(evidence after ``t``), not O(the learner's evidence).

Final mastery rows and history equal in-order arrival's (``tests/engine/test_time_order.py``).
All learners of a batch run through one ``update_cells`` call (the BKT filter over
(learner, skill) cells: the same numbers as ``update_one`` per observation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.domain.evidence import (
    LearnerModelState,
    MasteryChange,
    Observation,
    format_timestamp,
)
from engine.fold import Arrival, fold_key
from engine.runtime import RuntimeModel
from engine.store.sqlstore import TenantStore

#: The ``learner_states.state`` document of a model whose state is its mastery rows.
ROW_STATE: dict[str, str] = {"p_mastered": "mastery rows"}

#: ``(learner, stored state row, fresh arrivals with their seq)`` of one learner.
Work = tuple[str, LearnerModelState, list[Arrival]]


@dataclass(slots=True)
class _Cells:
    """The batch laid out for ``update_cells``: one cell per (learner, skill) (``pairs``, first
    values ``values``), one entry per observation (each learner's in fold order) and per row
    (observation x skill). Keys and rows avoid per-row containers: a batch allocates few
    tracked objects, which keeps Python's cyclic collector out of the ingest path."""

    index: dict[str, int]
    pairs: list[tuple[str, str]]
    values: list[float]
    observations: list[Observation]
    row_cell: list[int]
    row_skill: list[int]
    row_score: list[float]
    obs_ptr: list[int]


def fold_rows(store: TenantStore, model: RuntimeModel, work: Sequence[Work], writes) -> tuple[
        list[MasteryChange], list[str]]:
    """Fold ``work`` (learners whose stored state belongs to ``model``) and stage its mastery
    rows, history rows and learner states in ``writes`` (:class:`engine.fold_store._Writes`).

    Returns the changes of the fresh observations (each learner's in fold order) and the
    learners that received late evidence (refolded from their insertion point).
    """
    late_at: dict[str, str] = {}
    for lid, row, arrivals in work:
        first = min(o.observed_at for o, _ in arrivals)
        if row.last_observed_at is not None and first < row.last_observed_at:
            late_at[lid] = format_timestamp(first)
    suffix = store.learner_observations_after(late_at) if late_at else {}
    starts = store.history_starts_after(late_at) if late_at else {}
    if late_at:
        store.delete_history_after(late_at)
    cells = _layout(model, work, suffix)
    current = store.mastery_values(cells.pairs)
    values = cells.values
    for c, pair in enumerate(cells.pairs):
        start = starts.get(pair[0])
        v = start.get(pair[1]) if start is not None else None
        if v is None:
            known = current.get(pair)
            if known is not None:
                v = known[0]
        if v is not None:
            values[c] = v
    array = np.array(values, dtype=np.float64)
    p_correct, before, after = model.update_cells(
        array, cells.row_skill, cells.row_score, cells.row_cell, cells.obs_ptr)
    changes = _stage(store.tenant_id, model, work, cells, array, current, p_correct, before,
                     after, writes)
    return changes, sorted(late_at)


def _layout(model: RuntimeModel, work: Sequence[Work], suffix: dict[str, list[Arrival]]
            ) -> _Cells:
    """Each learner's evidence to fold (fresh arrivals, plus the stored ones after a late
    arrival's insertion point) in fold order; cells start at NaN (filled by the caller)."""
    cells = _Cells({}, [], [], [], [], [], [], [])
    index, pairs, values, observations = cells.index, cells.pairs, cells.values, cells.observations
    row_cell, row_skill, row_score, obs_ptr = (
        cells.row_cell, cells.row_skill, cells.row_score, cells.obs_ptr)
    positions = model.positions
    nan = float("nan")
    for lid, _, arrivals in work:
        stored = suffix.get(lid)
        merged = sorted([*stored, *arrivals] if stored else arrivals, key=fold_key)
        prefix = lid + "\x1f"
        for obs, _ in merged:
            obs_ptr.append(len(row_cell))
            observations.append(obs)
            score = obs.score
            for skill in obs.skill_ids:
                key = prefix + skill
                c = index.get(key)
                if c is None:
                    c = index[key] = len(values)
                    pairs.append((lid, skill))
                    values.append(nan)
                row_cell.append(c)
                row_skill.append(positions[skill])
                row_score.append(score)
    obs_ptr.append(len(row_cell))
    return cells


def _stage(tenant: str, model: RuntimeModel, work: Sequence[Work], cells: _Cells,
           values: np.ndarray, current: dict[tuple[str, str], tuple[float, int]],
           p_correct: np.ndarray, before: np.ndarray, after: np.ndarray,
           writes) -> list[MasteryChange]:
    """History rows of every folded row; mastery rows of the cells fresh evidence touched;
    learner states; the fresh observations' changes."""
    n_fresh_obs = sum(len(arrivals) for _, _, arrivals in work)
    all_fresh = n_fresh_obs == len(cells.observations)
    fresh_ids = () if all_fresh else {o.observation_id for _, _, a in work for o, _ in a}
    times = writes.times
    history = writes.history_rows
    changes: list[MasteryChange] = []
    n_fresh = [0] * len(values)
    last_row = [0] * len(values)  # each cell's last row in fold order
    pcs, bef, aft = p_correct.tolist(), before.tolist(), after.tolist()
    row_cell = cells.row_cell
    r = 0
    for k, obs in enumerate(cells.observations):
        oid = obs.observation_id
        lid = obs.learner_id
        at_text = times.get(oid)
        if at_text is None:
            at_text = times[oid] = format_timestamp(obs.observed_at)
        p = pcs[k]
        fresh = all_fresh or oid in fresh_ids
        for skill in obs.skill_ids:
            history.append((tenant, lid, skill, oid, bef[r], aft[r], p, at_text))
            c = row_cell[r]
            last_row[c] = r
            if fresh:
                n_fresh[c] += 1
                changes.append(MasteryChange(lid, skill, oid, bef[r], aft[r], p, obs.observed_at))
            r += 1
    final = values.tolist()
    rows = writes.rows
    for c, pair in enumerate(cells.pairs):
        if n_fresh[c]:
            known = current.get(pair)
            last = history[len(history) - r + last_row[c]]
            rows.append((pair[0], pair[1], final[c],
                         n_fresh[c] + (known[1] if known is not None else 0), last[7], last[3]))
    for lid, row, arrivals in work:
        newest = max(o.observed_at for o, _ in arrivals)
        if row.last_observed_at is not None and row.last_observed_at > newest:
            newest = row.last_observed_at
        writes.states.append(LearnerModelState(
            lid, model.version, model.key, ROW_STATE, row.n_observations + len(arrivals),
            newest, row.last_seq + len(arrivals)))
    return changes
