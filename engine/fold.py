"""A learner's model state as a fold over their evidence in time order (pure, no store).

Fold order: by ``observed_at``; observations with equal times keep their arrival order (the
learner's arrival sequence number ``seq``: batch order within a batch, batches in the order
they were ingested). Each observation is one ``model.update_one`` call with all its skills,
its item and its float score; it yields one :class:`MasteryChange` per skill (mastery of the
skill just before and after, and the observation's P(correct) predicted before it).

:func:`refold` recomputes a learner from their whole evidence after late evidence or a
retraction: it returns the changes from the first position where the new fold order departs
from the stored one (the *refold point*) and which stored history rows they replace, so the
final state, mastery rows and history equal those of in-order arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.domain.evidence import MasteryChange, Observation, format_timestamp
from engine.runtime import RuntimeModel, item_of

#: ``(observation, arrival seq)`` of one learner.
Arrival = tuple[Observation, int]


@dataclass(slots=True)
class Tally:
    """Bookkeeping of one (learner, skill) over the folded evidence: observation count,
    newest ``observed_at`` (formatted text) and the latest observation id in fold order."""

    n: int
    at_text: str
    last_id: str


@dataclass(slots=True)
class FoldResult:
    """Outcome of folding a learner's observations.

    ``changes``: recorded :class:`MasteryChange` rows in fold order; ``tallies``: per skill;
    ``replaced``: stored observation ids whose history rows the changes replace (``None`` =
    all of the learner's history); ``n``/``last_at``/``last_seq`` describe the folded evidence.
    """

    state: Any
    changes: list[MasteryChange] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)
    replaced: list[str] | None = field(default_factory=list)
    n: int = 0
    last_at: datetime | None = None
    last_seq: int = 0


def fold_key(arrival: Arrival) -> tuple[datetime, int]:
    """Sort key of the fold order: (observed_at, arrival seq)."""
    return arrival[0].observed_at, arrival[1]


def apply(
    model: RuntimeModel,
    state: Any,
    arrivals: Sequence[Arrival],
    times: dict[str, str],
    result: FoldResult,
    *,
    record: bool = True,
) -> Any:
    """Fold ``arrivals`` (already in fold order) into ``state``; updates ``result``'s tallies
    and counters, appends its changes when ``record``; returns the new state.

    ``times`` maps observation id -> formatted ``observed_at`` (filled in as needed).
    """
    masteries = model.masteries
    update = model.update_one
    changes = result.changes
    append = changes.append
    tallies = result.tallies
    n = result.n
    last_at = result.last_at
    last_seq = result.last_seq
    for obs, seq in arrivals:
        skills = obs.skill_ids
        oid = obs.observation_id
        at = obs.observed_at
        at_text = times.get(oid)
        if at_text is None:
            at_text = times[oid] = format_timestamp(at)
        if record:
            before = masteries(state, skills)
            state, p_correct = update(state, skills, obs.score, item_of(obs))
            lid = obs.learner_id
            for skill, b, a in zip(skills, before, masteries(state, skills), strict=True):
                append(MasteryChange(lid, skill, oid, b, a, p_correct, at))
        else:
            state, _ = update(state, skills, obs.score, item_of(obs))
        for skill in skills:
            tally = tallies.get(skill)
            if tally is None:
                tallies[skill] = Tally(1, at_text, oid)
            else:
                tally.n += 1
                tally.at_text = at_text
                tally.last_id = oid
        n += 1
        last_at = at
        if seq > last_seq:
            last_seq = seq
    result.n = n
    result.last_at = last_at
    result.last_seq = last_seq
    return state


def refold(
    model: RuntimeModel,
    stored: Sequence[Arrival],
    fresh: Sequence[Arrival],
    times: dict[str, str],
    *,
    removed: frozenset[str] = frozenset(),
    keep_prefix: bool = True,
) -> FoldResult:
    """Fold a learner's evidence from a fresh state: ``stored`` (in fold order, as its history
    was written) minus ``removed`` ids, plus ``fresh`` arrivals.

    With ``keep_prefix`` the stored history up to the refold point is kept (its rows were made
    by this same model in this same order) and only later changes are recorded; otherwise
    every change is recorded and the learner's whole history is replaced.
    """
    merged = [a for a in stored if a[0].observation_id not in removed]
    merged.extend(fresh)
    merged.sort(key=fold_key)
    point = 0
    if keep_prefix:
        limit = min(len(stored), len(merged))
        while point < limit and merged[point][0].observation_id == stored[point][0].observation_id:
            point += 1
    result = FoldResult(model.init_state())
    state = apply(model, result.state, merged[:point], times, result, record=False)
    result.state = apply(model, state, merged[point:], times, result)
    result.replaced = [a[0].observation_id for a in stored[point:]] if keep_prefix else None
    result.last_seq = max([result.last_seq, *(seq for _, seq in stored)])
    return result


def in_time_order(arrivals: Sequence[Arrival], after: datetime | None) -> bool:
    """True when ``arrivals`` (arrival order) are non-decreasing in time and none is older
    than ``after``: then folding them onto the stored state equals a refold."""
    last = after
    for obs, _ in arrivals:
        if last is not None and obs.observed_at < last:
            return False
        last = obs.observed_at
    return True
