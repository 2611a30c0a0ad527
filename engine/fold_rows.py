"""The fold of a model whose state *is* its mastery rows (:attr:`RuntimeModel.rows_hold_state`:
a plain BKT alone), used by :mod:`engine.fold_store` for learners whose stored state belongs to
the running model.

For such a model a skill's P(mastered) is the skill's own filter over the evidence on that
skill, and the learner's state is, skill by skill, the stored mastery row (no row: the
skill's ``p_init``). So nothing is decoded and no state document is kept (the learner's
``learner_states`` row holds :data:`ROW_STATE` and the counters):

* evidence no older than the learner's latest: each skill starts from its mastery row;
* late evidence (older than the learner's latest, earliest at time ``t``) is inserted at its
  place in time order, and only what it changes is recomputed: the chains of the skills it
  names after ``t``. Their stored history rows after ``t`` are read back (with the stored
  observations they belong to), each such skill restarts from ``p_before`` of its first row
  after ``t`` (its value at the insertion point), and those rows are updated in place; for an
  affected observation naming other skills too, those skills' rows keep their numbers except
  the observation's P(correct) (each starts from its own stored ``p_before``). Cost
  O(history rows of the late evidence's skills after ``t``), not O(the learner's evidence).

Final mastery rows and history equal in-order arrival's (``tests/engine/test_time_order.py``).
All learners of a batch run through one ``update_cells`` call (the BKT filter over
(learner, skill) cells: the same numbers as ``update_one`` per observation); a batch of one
in-order observation of one skill takes the scalar ``update_cell`` step instead
(:func:`fold_single`: the commonest ingest, one LMS event per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
class _Late:
    """What late evidence re-reads: per learner the affected stored observations and the
    skills whose chains restart (``skills``: skill -> value at the insertion point); per
    (observation id, skill) the stored row's id and ``p_before``."""

    stored: dict[str, list[Arrival]] = field(default_factory=dict)
    skills: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rows: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)


@dataclass(slots=True)
class _Cells:
    """The batch laid out for ``update_cells``: one shared cell per (learner, skill) whose
    chain is folded (``pairs``), one private cell per stored row kept as it is (pair
    ``None``: starts from its own ``p_before``), one entry per observation (each learner's in
    fold order) and per row. Keys and rows avoid per-row containers: a batch allocates few
    tracked objects, which keeps Python's cyclic collector out of the ingest path."""

    index: dict[str, int] = field(default_factory=dict)
    pairs: list[tuple[str, str] | None] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    row_cell: list[int] = field(default_factory=list)
    row_skill: list[int] = field(default_factory=list)
    row_score: list[float] = field(default_factory=list)
    obs_ptr: list[int] = field(default_factory=list)


def fold_rows(store: TenantStore, model: RuntimeModel, work: Sequence[Work], writes) -> tuple[
        list[MasteryChange], list[str]]:
    """Fold ``work`` (learners whose stored state belongs to ``model``) and stage its mastery
    rows, history rows and learner states in ``writes`` (:class:`engine.fold_store._Writes`);
    history rows late evidence changes are updated here.

    Returns the changes of the fresh observations (each learner's in fold order) and the
    learners that received late evidence.
    """
    late = _read_late(store, work)
    cells = _layout(model, work, late)
    current = store.mastery_values(p for p in cells.pairs if p is not None)
    values = cells.values
    for c, pair in enumerate(cells.pairs):
        if pair is None:
            continue
        starts = late.skills.get(pair[0]) if late.skills else None
        v = starts.get(pair[1]) if starts is not None else None
        if v is None:
            known = current.get(pair)
            if known is not None:
                v = known[0]
        if v is not None:
            values[c] = v
    if len(cells.row_cell) == 1:  # one answer on one skill: the scalar step, no arrays
        pc, b, a = model.update_cell(values[0], cells.row_skill[0], cells.row_score[0])
        values[0] = a
        p_correct, before, after = [pc], [b], [a]
    else:
        array = np.array(values, dtype=np.float64)
        p_correct, before, after = model.update_cells(
            array, cells.row_skill, cells.row_score, cells.row_cell, cells.obs_ptr)
        values = array.tolist()
    changes, updates = _stage(store.tenant_id, model, work, cells, late, values, current,
                              p_correct, before, after, writes)
    if updates:
        store.update_history(updates)
    return changes, sorted(late.skills)


def fold_single(store: TenantStore, model: RuntimeModel, obs: Observation,
                row: LearnerModelState, writes) -> tuple[list[MasteryChange], int] | None:
    """:func:`fold_rows` of the commonest ingest — one observation of one skill, no older than
    the learner's latest, for a learner whose stored state belongs to ``model`` — with the
    scalar filter step and no cell layout. Stages the same rows :func:`fold_rows` would and
    returns the change and the observation's seq; ``None`` (nothing staged) when the
    observation is not such a case."""
    if len(obs.skill_ids) != 1 or (
            row.last_observed_at is not None and obs.observed_at < row.last_observed_at):
        return None
    lid, skill, oid = obs.learner_id, obs.skill_ids[0], obs.observation_id
    known = store.mastery_values(((lid, skill),)).get((lid, skill))
    p_correct, before, after = model.update_cell(
        known[0] if known is not None else float("nan"), model.positions[skill], obs.score)
    at_text = writes.times[oid] = format_timestamp(obs.observed_at)
    writes.history_rows.append((store.tenant_id, lid, skill, oid, before, after, p_correct,
                                at_text))
    writes.rows.append((lid, skill, after, 1 + (known[1] if known is not None else 0), at_text,
                        oid))
    newest = row.last_observed_at
    if newest is None or obs.observed_at > newest:
        newest = obs.observed_at
    seq = row.last_seq + 1
    writes.states.append(LearnerModelState(lid, model.version, model.key, ROW_STATE,
                                           row.n_observations + 1, newest, seq))
    return [MasteryChange(lid, skill, oid, before, after, p_correct, obs.observed_at)], seq


def _read_late(store: TenantStore, work: Sequence[Work]) -> _Late:
    """The stored history rows and observations late evidence affects (module docstring)."""
    late = _Late()
    for lid, row, arrivals in work:
        first = min(o.observed_at for o, _ in arrivals)
        if row.last_observed_at is None or first >= row.last_observed_at:
            continue
        at = format_timestamp(first)
        fresh_skills = {s for o, _ in arrivals for s in o.skill_ids}
        starts: dict[str, float | None] = dict.fromkeys(fresh_skills)
        found = store.history_after(lid, at, fresh_skills)
        for hid, skill, oid, p_before in found:
            if starts[skill] is None:
                starts[skill] = p_before
            late.rows[(oid, skill)] = (hid, p_before)
        stored = store.observations_with_seq(dict.fromkeys(r[2] for r in found))
        others = {s for o, _ in stored.values() for s in o.skill_ids} - fresh_skills
        if others:
            for hid, skill, oid, p_before in store.history_after(lid, at, others):
                if oid in stored:
                    late.rows[(oid, skill)] = (hid, p_before)
        late.skills[lid] = starts
        late.stored[lid] = list(stored.values())
    return late


def _layout(model: RuntimeModel, work: Sequence[Work], late: _Late) -> _Cells:
    """Each learner's observations to fold (fresh arrivals, plus the stored ones late
    evidence affects) in fold order; shared cells start at NaN (filled by the caller)."""
    cells = _Cells()
    index, pairs, values, observations = cells.index, cells.pairs, cells.values, cells.observations
    row_cell, row_skill, row_score, obs_ptr = (
        cells.row_cell, cells.row_skill, cells.row_score, cells.obs_ptr)
    positions = model.positions
    nan = float("nan")
    for lid, _, arrivals in work:
        stored = late.stored.get(lid)
        merged = sorted([*stored, *arrivals] if stored else arrivals, key=fold_key)
        folded = late.skills.get(lid)
        prefix = lid + "\x1f"
        for obs, _ in merged:
            obs_ptr.append(len(row_cell))
            observations.append(obs)
            score = obs.score
            for skill in obs.skill_ids:
                if folded is not None and skill not in folded:  # a row kept as it is
                    c = len(values)
                    pairs.append(None)
                    values.append(late.rows[(obs.observation_id, skill)][1])
                else:
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


def _stage(tenant: str, model: RuntimeModel, work: Sequence[Work], cells: _Cells, late: _Late,
           final: list[float], current: dict[tuple[str, str], tuple[float, int]],
           p_correct: Any, before: Any, after: Any,
           writes) -> tuple[list[MasteryChange], list[tuple[float, float, float, int]]]:
    """History rows of the fresh observations (staged) and updates of the stored ones;
    mastery rows of the cells fresh evidence touched; learner states; the fresh changes."""
    stored_rows = late.rows
    times = writes.times
    history = writes.history_rows
    changes: list[MasteryChange] = []
    updates: list[tuple[float, float, float, int]] = []
    n = len(final)
    n_fresh, last_at, last_id = [0] * n, [""] * n, [""] * n
    pcs, bef, aft = _as_list(p_correct), _as_list(before), _as_list(after)
    row_cell = cells.row_cell
    r = 0
    for k, obs in enumerate(cells.observations):
        oid = obs.observation_id
        lid = obs.learner_id
        at_text = times.get(oid)
        if at_text is None:
            at_text = times[oid] = format_timestamp(obs.observed_at)
        p = pcs[k]
        for skill in obs.skill_ids:
            c = row_cell[r]
            last_at[c] = at_text
            last_id[c] = oid
            stored = stored_rows.get((oid, skill)) if stored_rows else None
            if stored is None:
                history.append((tenant, lid, skill, oid, bef[r], aft[r], p, at_text))
                n_fresh[c] += 1
                changes.append(MasteryChange(lid, skill, oid, bef[r], aft[r], p, obs.observed_at))
            else:
                updates.append((bef[r], aft[r], p, stored[0]))
            r += 1
    rows = writes.rows
    for c, pair in enumerate(cells.pairs):
        if n_fresh[c]:
            known = current.get(pair)
            rows.append((pair[0], pair[1], final[c],
                         n_fresh[c] + (known[1] if known is not None else 0), last_at[c],
                         last_id[c]))
    for lid, row, arrivals in work:
        newest = max(o.observed_at for o, _ in arrivals)
        if row.last_observed_at is not None and row.last_observed_at > newest:
            newest = row.last_observed_at
        writes.states.append(LearnerModelState(
            lid, model.version, model.key, ROW_STATE, row.n_observations + len(arrivals),
            newest, row.last_seq + len(arrivals)))
    return changes, updates


def _as_list(values: Any) -> list[float]:
    return values if isinstance(values, list) else values.tolist()
