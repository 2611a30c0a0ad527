"""Folding evidence into the store: the in-order fast path and learner refolds.

Called by :mod:`engine.mastery` inside its transaction, after the learner locks. Learners
whose state belongs to a model that keeps it in the mastery rows (a plain BKT) and learners
without evidence yet go to :mod:`engine.fold_rows` (one kernel call per batch, late evidence
from its insertion point; a batch of one in-order observation of one skill takes its scalar
step, :func:`engine.fold_rows.fold_single`). Otherwise, per learner:

* **fast path** — the stored state was made by the running model and the new observations
  are no older than the learner's latest: fold them onto the stored state and append history;
* **refold** — otherwise (late evidence, a retraction, a state of another model, no stored
  state): fold the learner's whole evidence from a fresh state (:func:`engine.fold.refold`),
  delete the history rows it replaces and write the new ones.

Every path writes the mastery rows of the skills whose read-out may have changed (for BKT the
skills observed; for other models every skill of the learner) and the learner's new state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine.domain.evidence import LearnerModelState, MasteryChange, Observation, format_timestamp
from engine.fold import Arrival, FoldResult, apply, in_time_order, refold
from engine.fold_rows import ROW_STATE, Work, fold_rows, fold_single
from engine.runtime import RuntimeModel
from engine.store._history import HistoryRow
from engine.store.sqlstore import TenantStore

MasteryRow = tuple[str, str, float, int, str, str]


class _Writes:
    """What one transaction writes: mastery rows, history (per learner in fold order),
    learner states."""

    def __init__(self, times: dict[str, str] | None = None) -> None:
        self.rows: list[MasteryRow] = []
        self.history: list[MasteryChange] = []
        self.history_rows: list[HistoryRow] = []
        self.states: list[LearnerModelState] = []
        self.times: dict[str, str] = {} if times is None else times


def _restore(model: RuntimeModel, row: LearnerModelState) -> Any | None:
    """The stored state as a model state; ``None`` when the model cannot read it."""
    try:
        return model.restore(row.learner_id, row.state)
    except Exception:  # noqa: BLE001 - unreadable state: recompute it from evidence instead
        return None


def _state_doc(model: RuntimeModel, lid: str, state: Any) -> dict[str, Any]:
    """The learner's stored state document (:data:`ROW_STATE` when the mastery rows hold the
    state); remembered for :meth:`RuntimeModel.restore`."""
    if model.rows_hold_state:
        return ROW_STATE
    doc = model.state_to_dict(state)
    model.remember(lid, doc, state)
    return doc


def fold_batch(
    store: TenantStore, model: RuntimeModel, fresh: Sequence[Observation], *,
    times: dict[str, str] | None = None,
) -> tuple[list[MasteryChange], list[str]]:
    """Fold accepted observations (batch order = arrival order) and write everything;
    ``times``: id -> :func:`format_timestamp` text, made before the write lock (or here).
    Returns the changes of ``fresh`` (each learner's in fold order) and the refolded learners
    (late evidence, or a state to recompute)."""
    if len(fresh) == 1 and model.rows_hold_state:
        done = _fold_single(store, model, fresh[0])
        if done is not None:
            return done, []
    by_learner: dict[str, list[Observation]] = {}
    for obs in fresh:
        by_learner.setdefault(obs.learner_id, []).append(obs)
    rows = store.learner_states(by_learner)
    writes = _Writes(times)
    seqs: dict[str, int] = {}
    fast: list[tuple[str, LearnerModelState, Any, list[Arrival]]] = []
    by_rows: list[Work] = []
    slow: dict[str, list[Observation]] = {}
    for lid, observations in by_learner.items():
        row = rows.get(lid)
        if row is None or row.model_key != model.key:
            slow[lid] = observations
            continue
        base = row.last_seq
        arrivals = [(o, base + i + 1) for i, o in enumerate(observations)]
        if model.rows_hold_state:
            by_rows.append((lid, row, arrivals))
        elif in_time_order(arrivals, row.last_observed_at) and (
                state := _restore(model, row)) is not None:
            fast.append((lid, row, state, arrivals))
        else:
            slow[lid] = observations
            continue
        for o, seq in arrivals:
            seqs[o.observation_id] = seq
    stored = store.learner_observations(slow) if slow else {}
    if model.rows_hold_state:
        _new_learners_by_rows(model, slow, stored, by_rows, seqs)
    changes: list[MasteryChange] = []
    refolded: list[str] = []
    if by_rows:
        changes, refolded = fold_rows(store, model, by_rows, writes)
    if fast:
        _fold_fast(store, model, fast, writes)
    if slow:
        for lid in sorted(slow):
            _refold_one(store, model, lid, stored.get(lid, []), slow[lid], rows.get(lid),
                        writes, seqs=seqs)
    store.write_evidence(fresh, writes.rows, writes.history, writes.times, seqs,
                         writes.history_rows, writes.states)
    if slow:
        fresh_ids = {o.observation_id for o in fresh}
        changes += [c for c in writes.history if c.observation_id in fresh_ids]
        refolded = sorted([*refolded, *slow])
    else:
        changes += writes.history
    return changes, refolded


def _fold_single(store: TenantStore, model: RuntimeModel, obs: Observation
                 ) -> list[MasteryChange] | None:
    """The one-observation path (:func:`engine.fold_rows.fold_single`); ``None`` when the
    learner's stored state does not qualify (then :func:`fold_batch` runs as usual)."""
    row = store.learner_states((obs.learner_id,)).get(obs.learner_id)
    if row is None or row.model_key != model.key:
        return None
    writes = _Writes()
    done = fold_single(store, model, obs, row, writes)
    if done is None:
        return None
    changes, seq = done
    store.write_evidence((obs,), writes.rows, (), writes.times, {obs.observation_id: seq},
                         writes.history_rows, writes.states)
    return changes


def _new_learners_by_rows(model: RuntimeModel, slow: dict[str, list[Observation]],
                          stored: dict[str, list[Arrival]], by_rows: list[Work],
                          seqs: dict[str, int]) -> None:
    """Move learners without stored evidence from ``slow`` to ``by_rows`` (an empty fold)."""
    for lid in [lid for lid in slow if lid not in stored]:
        arrivals = [(o, i + 1) for i, o in enumerate(slow.pop(lid))]
        by_rows.append((lid, LearnerModelState(lid, model.version, model.key, ROW_STATE, 0,
                                               None, 0), arrivals))  # type: ignore[arg-type]
        for o, seq in arrivals:
            seqs[o.observation_id] = seq


def _fold_fast(
    store: TenantStore,
    model: RuntimeModel,
    fast: Sequence[tuple[str, LearnerModelState, Any, list[Arrival]]],
    writes: _Writes,
) -> None:
    current = store.mastery_values(
        (lid, s) for lid, _, _, arrivals in fast for o, _ in arrivals for s in o.skill_ids
    )
    others = {} if model.local else store.get_mastery_many(lid for lid, *_ in fast)
    for lid, row, state, arrivals in fast:
        result = FoldResult(state, writes.history)
        final = apply(model, state, arrivals, writes.times, result)
        tallies = result.tallies
        for (skill, tally), p in zip(tallies.items(), model.masteries(final, list(tallies)),
                                    strict=True):
            known = current.get((lid, skill))
            n = tally.n + (known[1] if known is not None else 0)
            writes.rows.append((lid, skill, p, n, tally.at_text, tally.last_id))
        for skill, m in others.get(lid, {}).items():
            if skill not in result.tallies:
                writes.rows.append((lid, skill, model.mastery(final, skill), m.n_observations,
                                    format_timestamp(m.updated_at), m.last_observation_id))
        doc = _state_doc(model, lid, final)
        writes.states.append(LearnerModelState(
            lid, model.version, model.key, doc, row.n_observations + result.n, result.last_at,
            result.last_seq,
        ))


def _refold_one(
    store: TenantStore,
    model: RuntimeModel,
    lid: str,
    stored: list[Arrival],
    fresh: Sequence[Observation],
    row: LearnerModelState | None,
    writes: _Writes,
    *,
    removed: frozenset[str] = frozenset(),
    full: bool = False,
    seqs: dict[str, int] | None = None,
) -> FoldResult:
    """Refold one learner: ``stored`` evidence minus ``removed`` plus ``fresh`` (arrival
    order, numbered after every stored seq); stage its history, mastery rows and state."""
    base = max([row.last_seq if row is not None else 0, *(seq for _, seq in stored)])
    arrivals = [(o, base + i + 1) for i, o in enumerate(fresh)]
    if seqs is not None:
        for o, seq in arrivals:
            seqs[o.observation_id] = seq
    keep = not full and row is not None and row.model_key == model.key
    result = refold(model, stored, arrivals, writes.times, removed=removed, keep_prefix=keep)
    if result.replaced is None:
        if stored:
            store.delete_history(lid)
    elif result.replaced:
        store.delete_history(lid, result.replaced)
    writes.history.extend(result.changes)
    for skill, tally in result.tallies.items():
        writes.rows.append(
            (lid, skill, model.mastery(result.state, skill), tally.n, tally.at_text, tally.last_id)
        )
    if result.n:
        doc = _state_doc(model, lid, result.state)
        writes.states.append(LearnerModelState(
            lid, model.version, model.key, doc, result.n, result.last_at, result.last_seq,
        ))
    return result


def refold_learners(
    store: TenantStore,
    model: RuntimeModel,
    learners: Iterable[str],
    *,
    removed: frozenset[str] = frozenset(),
    full: bool = False,
) -> None:
    """Refold ``learners`` from their stored evidence minus ``removed`` ids (retraction), or
    from scratch with ``full`` (a recompute); skills left without evidence lose their mastery
    row and a learner left without evidence loses their state."""
    learners = list(learners)
    rows = store.learner_states(learners)
    stored = store.learner_observations(learners)
    writes = _Writes()
    gone_pairs: list[tuple[str, str]] = []
    gone_learners: list[str] = []
    for lid in learners:
        evidence = stored.get(lid, [])
        result = _refold_one(store, model, lid, evidence, (), rows.get(lid), writes,
                             removed=removed, full=full)
        before = {s for o, _ in evidence for s in o.skill_ids}
        gone_pairs += [(lid, s) for s in sorted(before - set(result.tallies))]
        if not result.n:
            gone_learners.append(lid)
    if gone_pairs:
        store.delete_mastery(gone_pairs)
    if gone_learners:
        store.delete_learner_states(gone_learners)
    store.write_evidence([], writes.rows, writes.history, writes.times,
                         history=writes.history_rows, states=writes.states)
