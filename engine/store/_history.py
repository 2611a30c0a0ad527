"""Tenant store part: the mastery history (one row per observation and skill).

A learner's history in fold order (time, ties by arrival) is its rows ordered by ``(at, id)``
(``at`` is the observation's fixed-width ``observed_at`` text): rows are inserted in fold
order, a row keeps its id when a late observation changes its numbers (updated in place,
:mod:`engine.fold_rows`), and a generic refold deletes the rows from its refold point on and
inserts their replacements in fold order. So the rows of observations newer than a time ``t``
are the rows with ``at > t``, and the first such row of a skill holds, in ``p_before``, the
skill's mastery just before ``t``'s insertion point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.domain.evidence import MasteryChange, format_timestamp, parse_timestamp
from engine.store._sql import TenantBase, _chunks, _marks

#: One ``mastery_history`` row: ``(tenant_id, learner_id, skill_id, observation_id, p_before,
#: p_after, p_correct, at text)`` (columns ``_HISTORY_COLUMNS``).
HistoryRow = tuple[str, str, str, str, float, float, float, str]


class HistoryPart(TenantBase):
    """Tenant store part: mastery history rows."""

    def list_history(self, learner_id: str, skill_id: str | None = None) -> list[MasteryChange]:
        """Every mastery change of the learner (optionally one skill) in the order applied."""
        sql = (
            "SELECT learner_id, skill_id, observation_id, p_before, p_after, p_correct, at "
            "FROM mastery_history WHERE tenant_id = ? AND learner_id = ?"
        )
        params: list[Any] = [self.tenant_id, learner_id]
        if skill_id is not None:
            sql += " AND skill_id = ?"
            params.append(skill_id)
        sql += " ORDER BY at, id"
        return [
            MasteryChange(r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]),
                          parse_timestamp(r[6]))
            for r in self._q(sql, params)
        ]

    def history_after(self, learner_id: str, at: str,
                      skill_ids: Iterable[str]) -> list[tuple[int, str, str, float]]:
        """``(id, skill_id, observation_id, p_before)`` of the learner's history rows of
        ``skill_ids`` with ``at`` later than ``at`` (formatted ``observed_at`` text), in fold
        order."""
        skills = list(dict.fromkeys(skill_ids))
        out: list[tuple[int, str, str, float, str]] = []
        with self._read() as driver:
            for chunk in _chunks(skills):
                out += [
                    (int(i), sid, oid, float(p), at_text)
                    for i, sid, oid, p, at_text in driver.execute(
                        "SELECT id, skill_id, observation_id, p_before, at FROM mastery_history "
                        "WHERE tenant_id = ? AND learner_id = ? AND skill_id IN "
                        f"({_marks(len(chunk))}) AND at > ?",
                        (self.tenant_id, learner_id, *chunk, at),
                    )
                ]
        out.sort(key=lambda r: (r[4], r[0]))
        return [r[:4] for r in out]

    def history_marker(self) -> tuple[int, int]:
        """``(rows, largest id)`` of the tenant's mastery history: changes whenever evidence
        is added, refolded or erased (a cheap "has anything changed?" for fitted caches)."""
        n, top = self._q(
            "SELECT COUNT(*), MAX(id) FROM mastery_history WHERE tenant_id = ?", (self.tenant_id,)
        )[0]
        return int(n), int(top or 0)

    def learning_evidence(self) -> list[tuple[str, str, str, float, float, str]]:
        """Every history row of the tenant with its observation, for the planner's learned
        models (:mod:`engine.planning._learned`): ``(learner_id, skill_id, activity_id,
        score, p_before, at text)``, ordered by learner, skill and fold order (``at``, id).
        ``p_before`` is the learner's mastery of the skill just before the observation;
        ``score`` in [0, 1]. Read-only."""
        rows = self._q(
            "SELECT h.learner_id, h.skill_id, o.activity_id, o.score, h.p_before, h.at "
            "FROM mastery_history h JOIN observations o ON o.tenant_id = h.tenant_id "
            "AND o.observation_id = h.observation_id WHERE h.tenant_id = ? "
            "ORDER BY h.learner_id, h.skill_id, h.at, h.id",
            (self.tenant_id,),
        )
        return [(r[0], r[1], r[2] or "", float(r[3]), float(r[4]), r[5]) for r in rows]

    def retention_evidence(self, threshold: float) -> list[tuple[str, str, float, str, str]]:
        """The history rows the forgetting model reads (:func:`engine.planning._learned.
        fit_forgetting`): every row with ``p_before`` >= ``threshold`` that has an earlier row
        of the same learner and skill, as ``(learner_id, skill_id, score, at text, previous
        at text)``; the same rows and pairs that :meth:`learning_evidence` yields in order,
        selected by the database (a window over the history, no row order). Read-only."""
        rows = self._q(
            "SELECT w.learner_id, w.skill_id, o.score, w.at, w.prev_at FROM ("
            "SELECT learner_id, skill_id, observation_id, p_before, at, "
            "LAG(at) OVER (PARTITION BY learner_id, skill_id ORDER BY at, id) AS prev_at "
            "FROM mastery_history WHERE tenant_id = ?) AS w "
            "JOIN observations o ON o.tenant_id = ? AND o.observation_id = w.observation_id "
            "WHERE w.p_before >= ? AND w.prev_at IS NOT NULL",
            (self.tenant_id, self.tenant_id, float(threshold)),
        )
        return [(r[0], r[1], float(r[2]), r[3], r[4]) for r in rows]

    def update_history(self, rows: Sequence[tuple[float, float, float, int]]) -> None:
        """Set ``(p_before, p_after, p_correct)`` of history rows by ``id`` (the last item of
        each tuple): numbers a late observation changed; the rows keep their place."""
        driver = self._driver
        with driver.transaction():
            driver.executemany(
                "UPDATE mastery_history SET p_before = ?, p_after = ?, p_correct = ? "
                "WHERE id = ? AND tenant_id = ?",
                [(*r, self.tenant_id) for r in rows],
            )

    def delete_history(self, learner_id: str, observation_ids: Iterable[str] | None = None) -> None:
        """Delete the learner's history rows of ``observation_ids`` (all of them when None);
        :mod:`engine.mastery` rewrites them when it refolds the learner's evidence."""
        driver = self._driver
        with driver.transaction():
            if observation_ids is None:
                driver.execute(
                    "DELETE FROM mastery_history WHERE tenant_id = ? AND learner_id = ?",
                    (self.tenant_id, learner_id),
                )
                return
            for chunk in _chunks(list(dict.fromkeys(observation_ids))):
                driver.execute(
                    "DELETE FROM mastery_history WHERE tenant_id = ? AND learner_id = ? AND "
                    f"observation_id IN ({_marks(len(chunk))})",
                    (self.tenant_id, learner_id, *chunk),
                )


def history_rows(tenant: str, changes: Sequence[MasteryChange], rows: Sequence[HistoryRow],
                 times: Mapping[str, str]) -> list[tuple]:
    """``mastery_history`` rows (columns ``_HISTORY_COLUMNS``): ``changes`` then ``rows``
    (rows of this tenant)."""
    out = [
        (
            tenant,
            c.learner_id,
            c.skill_id,
            c.observation_id,
            c.before,
            c.after,
            c.p_correct_predicted,
            times.get(c.observation_id) or format_timestamp(c.at),
        )
        for c in changes
    ]
    out += rows
    return out
