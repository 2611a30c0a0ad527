"""Tenant store part: the mastery history (one row per observation and skill).

A learner's history rows, read in ``id`` order, are in the order of their fold (time order,
ties by arrival): ingest appends them in fold order, and a refold deletes the rows from its
refold point on and appends their replacements. So the rows of observations newer than a
time ``t`` are exactly the rows with ``at > t`` (``at`` is the observation's fixed-width
``observed_at`` text), and the first such row of a skill holds, in ``p_before``, the
skill's mastery just before ``t``'s insertion point (:mod:`engine.fold_rows`).
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
        sql += " ORDER BY id"
        return [
            MasteryChange(r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]),
                          parse_timestamp(r[6]))
            for r in self._q(sql, params)
        ]

    def history_starts_after(self, after: Mapping[str, str]) -> dict[str, dict[str, float]]:
        """``learner -> skill -> p_before`` of the skill's first history row with ``at`` later
        than ``after[learner]`` (formatted ``observed_at`` text): the skill's mastery just
        before that time's insertion point. Skills without such a row are absent."""
        out: dict[str, dict[str, float]] = {}
        with self._read() as driver:
            for lid, at in after.items():
                first: dict[str, float] = {}
                for skill, p in driver.execute(
                    "SELECT skill_id, p_before FROM mastery_history WHERE tenant_id = ? AND "
                    "learner_id = ? AND at > ? ORDER BY id",
                    (self.tenant_id, lid, at),
                ):
                    if skill not in first:
                        first[skill] = float(p)
                out[lid] = first
        return out

    def delete_history_after(self, after: Mapping[str, str]) -> None:
        """Delete each learner's history rows with ``at`` later than ``after[learner]``."""
        driver = self._driver
        with driver.transaction():
            driver.executemany(
                "DELETE FROM mastery_history WHERE tenant_id = ? AND learner_id = ? AND at > ?",
                [(self.tenant_id, lid, at) for lid, at in after.items()],
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
