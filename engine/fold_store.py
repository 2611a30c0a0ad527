"""Folding evidence into the store: the in-order fast path and learner refolds.

Called by :mod:`engine.mastery` inside its transaction, after the learner locks. Per learner:

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
from engine.runtime import RuntimeModel
from engine.store.sqlstore import TenantStore

MasteryRow = tuple[str, str, float, int, str, str]


class _Writes:
    """What one transaction writes: mastery rows, history (per learner in fold order),
    learner states."""

    def __init__(self) -> None:
        self.rows: list[MasteryRow] = []
        self.history: list[MasteryChange] = []
        self.states: list[LearnerModelState] = []
        self.times: dict[str, str] = {}


def _restore(model: RuntimeModel, row: LearnerModelState) -> Any | None:
    """The stored state as a model state; ``None`` when the model cannot read it."""
    try:
        return model.restore(row.learner_id, row.state)
    except Exception:  # noqa: BLE001 - unreadable state: recompute it from evidence instead
        return None


def fold_batch(
    store: TenantStore, model: RuntimeModel, fresh: Sequence[Observation]
) -> tuple[list[MasteryChange], list[str]]:
    """Fold accepted observations (batch order = arrival order) and write everything.

    Returns the changes of ``fresh`` (each learner's in fold order) and the refolded learners.
    """
    by_learner: dict[str, list[Observation]] = {}
    for obs in fresh:
        by_learner.setdefault(obs.learner_id, []).append(obs)
    rows = store.learner_states(by_learner)
    writes = _Writes()
    seqs: dict[str, int] = {}
    fast: list[tuple[str, LearnerModelState, Any, list[Arrival]]] = []
    slow: dict[str, list[Observation]] = {}
    for lid, observations in by_learner.items():
        row = rows.get(lid)
        base = row.last_seq if row is not None else 0
        arrivals = [(o, base + i + 1) for i, o in enumerate(observations)]
        state = None
        if (row is not None and row.model_key == model.key
                and in_time_order(arrivals, row.last_observed_at)):
            state = _restore(model, row)
        if state is None:
            slow[lid] = observations
            continue
        for o, seq in arrivals:
            seqs[o.observation_id] = seq
        fast.append((lid, row, state, arrivals))
    if fast:
        _fold_fast(store, model, fast, writes)
    refolded = sorted(slow)
    if slow:
        stored = store.learner_observations(slow)
        for lid in refolded:
            _refold_one(store, model, lid, stored.get(lid, []), slow[lid], rows.get(lid),
                        writes, seqs=seqs)
    store.write_evidence(fresh, writes.rows, writes.history, writes.times, seqs)
    store.put_learner_states(writes.states)
    if not slow:
        return writes.history, refolded
    fresh_ids = {o.observation_id for o in fresh}
    return [c for c in writes.history if c.observation_id in fresh_ids], refolded


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
        doc = model.state_to_dict(final)
        model.remember(lid, doc, final)
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
        doc = model.state_to_dict(result.state)
        model.remember(lid, doc, result.state)
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
    store.write_evidence([], writes.rows, writes.history, writes.times)
    store.put_learner_states(writes.states)
