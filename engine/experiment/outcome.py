"""Outcomes from the engine's evidence and mastery history (pure functions).

A learner's primary outcome is their mastery gain on the target skills between the start and
the end of the experiment: for each target skill, P(mastered) at the end (after the last
history row before the end) minus P(mastered) at the start (after the last row before the
start, else just before the first row inside the window, else the model's prior), averaged
over the target skills. A learner with no observation on a target skill inside the window has
no outcome (counted as missing, never as zero gain). Secondary: minutes on task (catalog
minutes of each activity done, once per activity and day), observations on target skills,
mean mastery at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Outcome:
    """One learner's outcome row: ``arm``, ``class_id`` and ``values`` (metric name ->
    number: ``mastery_gain`` in [-1, 1], ``time_on_task_min`` >= 0, ``observations`` >= 0,
    ``end_mastery`` in [0, 1])."""

    learner_id: str
    class_id: str
    arm: str
    values: Mapping[str, float] = field(default_factory=dict)


def window(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00 UTC, the day after end 00:00 UTC)``: both dates count."""
    return (datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC))


def learner_values(history: Sequence, observations: Sequence, targets: Sequence[str], start: date,
                   end: date, *, prior: Mapping[str, float], minutes: Mapping[str, float]) -> dict | None:
    """Metric values of one learner, or None when they have no target-skill evidence in the
    window. ``history``: their ``MasteryChange`` rows in fold order; ``observations``: their
    ``Observation`` objects; ``prior``: skill -> P(mastered) before any evidence;
    ``minutes``: activity id -> catalog minutes."""
    lo, hi = window(start, end)
    wanted = set(targets)
    inside = [o for o in observations if lo <= o.observed_at < hi and wanted & set(o.skill_ids)]
    if not inside:
        return None
    before: dict[str, float] = {}
    first_in: dict[str, float] = {}
    last_in: dict[str, float] = {}
    for ch in history:
        if ch.skill_id not in wanted or ch.at >= hi:
            continue
        if ch.at < lo:
            before[ch.skill_id] = ch.after
        else:
            first_in.setdefault(ch.skill_id, ch.before)
            last_in[ch.skill_id] = ch.after
    gains, ends = [], []
    for k in targets:
        p0 = before.get(k, first_in.get(k, float(prior.get(k, 0.0))))
        p1 = last_in.get(k, p0)
        gains.append(p1 - p0)
        ends.append(p1)
    sessions = {(o.activity_id, o.observed_at.date()) for o in observations if lo <= o.observed_at < hi}
    return {"mastery_gain": sum(gains) / len(gains),
            "time_on_task_min": float(sum(minutes.get(a, 0.0) for a, _day in sessions)),
            "observations": float(len(inside)),
            "end_mastery": sum(ends) / len(ends)}
