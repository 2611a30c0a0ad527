"""Use cases of evidence: observation batches and xAPI statements (stored whole like an LRS,
statement-id idempotency, voiding, the tenant's verb table and identity map) — a part of
``SchoolApp``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.access import Caller
from engine.app._observations import PreparedEvidence, observations_from_rows
from engine.app.xapi import (
    DEFAULT_VERBS,
    XAPI_VERSION,
    MappedStatement,
    StatementError,
    check_verb_table,
    identity_key,
    map_statement,
)
from engine.domain.evidence import Observation
from engine.errors import AccessDenied, ConflictError, NotFoundError, ValidationError

VOIDED_KIND = "xapi_voided"  # doc id: a voided statement id that had not arrived yet
IDENTITY_KIND = "xapi_identity"  # doc id: identity key (engine.app.xapi.identity_key) -> learner_id
CONFIG_KIND = "xapi_config"  # "verbs": {"verbs": {IRI: rule}}; "identity": {"roster_home_pages": [...]}


@dataclass(frozen=True, slots=True)
class PreparedStatements:
    """Statements checked and mapped before the write lock: who sent them, when (epoch
    seconds, the ``stored`` time) and each one mapped, in the order sent."""

    by: Caller
    now: float
    mapped: tuple[MappedStatement, ...]


class EvidenceUseCases:
    # ---------------------------------------------------------------- observation batches
    def ingest_evidence(self, by: Caller, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Ingest API rows (``id, learner_id, activity_id``, one of ``score`` / ``correct`` /
        ``rubric_level`` + ``rubric_min`` + ``rubric_max``, ``observed_at``, optional
        ``skill_ids`` (default: the activity's), ``item_id``, ``source``). All-or-nothing;
        returns ``accepted``, ``duplicates`` and ``mastery_updates``. The same as
        :meth:`write_evidence` of :meth:`prepare_evidence`."""
        return self.write_evidence(self.prepare_evidence(by, rows))

    def prepare_evidence(self, by: Caller, rows: Sequence[Mapping[str, Any]]) -> PreparedEvidence:
        """Everything of :meth:`ingest_evidence` that needs no write lock: the caller's
        permission, each row checked against the school and made an observation, the batch made
        ready (:meth:`engine.engine.Engine.prepare`). Raises what ``ingest_evidence`` raises for
        those; :meth:`write_evidence` does the rest."""
        self.allow(by, "evidence:write")
        learners = sorted({r["learner_id"] for r in rows})
        if by.principal.role == "teacher":
            for lid in learners:
                self.allow(by, "evidence:write", learner_id=lid)
        return PreparedEvidence(by, tuple(learners),
                                self.engine.prepare(observations_from_rows(rows, self.view)))

    def write_evidence(self, prepared: PreparedEvidence) -> dict[str, int]:
        """Store and fold a batch :meth:`prepare_evidence` made, with its audit row, in one
        transaction (a group's when the caller opened one: ``Pathwise.run_together``)."""
        def audit(result) -> None:  # in the ingest's transaction: evidence and audit, or neither
            self._audit(prepared.by, "write", "evidence", detail={
                "n": prepared.n, "accepted": result.accepted, "learners": list(prepared.learners[:50])})

        # no outer transaction here: it would take the write lock before the engine's pure work
        result = self.engine.ingest(prepared.batch, then=audit)
        return {"accepted": result.accepted, "duplicates": result.duplicates,
                "mastery_updates": len(result.changes)}

    # ---------------------------------------------------------------- xAPI statements
    def store_statements(self, by: Caller, statements: Sequence[Any], *, array: bool = True,
                         now: float | None = None) -> dict[str, list]:
        """Store valid xAPI 1.0.3 statements whole and derive evidence from them (rules in
        :mod:`engine.app.xapi`). Returns ``ids`` (in order) and ``not_applied``
        (``[{id, note}]``: evidence-bearing statements stored but not applied, e.g.
        "stored, not applied: unknown learner mbox:mailto:x@y"). Same id + same content counts
        once; same id + different content is a ConflictError; an invalid statement is a
        StatementError and nothing is written. A voiding statement retracts the voided
        statement's evidence, also when the target arrives later; teachers may void only
        statements about learners in their classes. ``array``: the statements came as a JSON
        array (error fields are then ``statements[i].<field>``). The same as
        :meth:`write_statements` of :meth:`prepare_statements`."""
        return self.write_statements(self.prepare_statements(by, statements, array=array, now=now))

    def prepare_statements(self, by: Caller, statements: Sequence[Any], *, array: bool = True,
                           now: float | None = None) -> PreparedStatements:
        """Everything of :meth:`store_statements` that needs no write lock: the caller's
        permission and each statement checked and mapped (:func:`engine.app.xapi.map_statement`).
        Raises ``AccessDenied`` or ``StatementError`` for those; :meth:`write_statements` does
        the rest."""
        self.allow(by, "evidence:write")
        now = time.time() if now is None else now
        return PreparedStatements(by, now, tuple(self._map_statements(statements, array, now)))

    def write_statements(self, prepared: PreparedStatements) -> dict[str, list]:
        """Store the statements :meth:`prepare_statements` mapped and apply their evidence, with
        the audit row, all or nothing (in a group's transaction when the caller opened one)."""
        by, now, mapped = prepared.by, prepared.now, list(prepared.mapped)
        fresh, seen = self._fresh_statements(mapped)
        resolved = self._resolve_statements(by, fresh, seen)
        stamp = {"stored": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "authority": {"objectType": "Agent", "account": {"homePage": f"urn:pathwise:tenant:{self.tenant}",
                                                                  "name": by.principal.key_id}}}
        learners = sorted({r["learner_id"] for r in resolved.values() if r["learner_id"]})
        with self.store.transaction():  # evidence, voids, statement records, audit: all or nothing
            self._write_statements(fresh, resolved, stamp)
            self._audit(by, "write", "xapi", detail={"n": len(fresh), "learners": learners[:50],
                                                      "voided": [m.voids for m in fresh if m.voids]})
        notes = [{"id": m.statement_id, "note": resolved[m.statement_id]["note"]}
                 for m in fresh if resolved[m.statement_id]["note"]]
        return {"ids": [m.statement_id for m in mapped], "not_applied": notes}

    def _map_statements(self, statements: Sequence[Any], array: bool, now: float) -> list[MappedStatement]:
        verbs = self.xapi_verb_table()
        mapped = []
        for i, st in enumerate(statements):
            try:
                mapped.append(map_statement(st, now=now, verbs=verbs))
            except StatementError as exc:
                if not array:
                    raise
                raise StatementError(f"statements[{i}].{exc.field}", exc.message) from None
        return mapped

    def _fresh_statements(self, mapped: list[MappedStatement]) -> tuple[list[MappedStatement], dict]:
        """Statements not stored yet (idempotency within the batch and against the store);
        ``seen``: statement id -> the batch's mapped statement."""
        seen: dict[str, MappedStatement] = {}
        fresh = []
        for m in mapped:
            if m.statement_id in seen:
                if seen[m.statement_id].digest != m.digest:
                    raise ConflictError(f"statement id {m.statement_id} appears twice with different content")
                continue
            seen[m.statement_id] = m
            stored = self._statement(m.statement_id)
            if stored is not None:
                if stored["digest"] != m.digest:
                    raise ConflictError(
                        f"statement {m.statement_id} was already stored with different content; "
                        "statements are immutable, send a new id (or void the old one)")
                continue
            fresh.append(m)
        return fresh, seen

    def _resolve_statements(self, by: Caller, fresh: list[MappedStatement],
                            seen: dict[str, MappedStatement]) -> dict[str, dict]:
        """Per fresh statement: learner_id, activity_id, applied (bool), note (why an
        evidence-bearing statement is not applied, else None). Checks the teacher scope."""
        out: dict[str, dict] = {}
        voided_here = {m.voids for m in fresh if m.voids}
        homes = self._roster_home_pages()
        for m in fresh:
            learner = self._learner_for(m.identity, homes)
            acts = self.view.activities
            activity = next((k for k in m.activity_keys if k in acts), None)
            note = None
            if m.outcome is not None:
                if learner is None:
                    note = f"stored, not applied: unknown learner {m.identity}"
                elif activity is None:
                    note = f"stored, not applied: unknown activity {m.activity_keys[0]}"
                elif m.statement_id in voided_here or self._voided_early(m.statement_id):
                    note = "stored, not applied: voided"
            elif m.why_not and m.voids is None and not m.why_not.startswith("verb "):
                note = f"stored, not applied: {m.why_not}"
            out[m.statement_id] = {"learner_id": learner, "activity_id": activity, "note": note,
                                   "applied": m.outcome is not None and note is None}
        if by.principal.role == "teacher":
            self._check_teacher_scope(by, fresh, out, seen)
        return out

    def _check_teacher_scope(self, by: Caller, fresh, resolved: dict, seen: dict) -> None:
        """A teacher writes and voids only statements about learners in their classes."""
        for m in fresh:
            if m.voids is None:
                learner = resolved[m.statement_id]["learner_id"]
                if learner is None:
                    raise AccessDenied(f"statement {m.statement_id}: a teacher may only send statements "
                                       "about learners in their classes")
            else:
                target = self._statement(m.voids)
                if target is not None:
                    learner = target.get("learner_id")
                elif m.voids in seen:
                    learner = resolved.get(m.voids, {}).get("learner_id")
                else:
                    learner = None
                if learner is None:
                    raise AccessDenied(f"statement {m.statement_id}: a teacher may only void statements "
                                       "about learners in their classes")
            self.allow(by, "evidence:write", learner_id=learner)

    def _statement(self, statement_id: str) -> dict | None:
        return self.store.get_statement(statement_id)

    def _voided_early(self, statement_id: str) -> bool:
        try:
            self.store.get_document(VOIDED_KIND, statement_id)
            return True
        except NotFoundError:
            return False

    def _write_statements(self, mapped: list[MappedStatement], resolved: dict, stamp: dict) -> None:
        """Ingest applied evidence, retract voided statements, store every statement whole."""
        observations = []
        for m in mapped:
            r = resolved[m.statement_id]
            if r["applied"]:
                act = self._activity(r["activity_id"])
                observations.append(Observation(
                    observation_id=m.observation_id, learner_id=r["learner_id"], activity_id=act.id,
                    skill_ids=act.skill_ids, score=m.outcome,
                    observed_at=datetime.fromtimestamp(m.timestamp, UTC), source="lms"))
        if observations:
            self.engine.ingest(observations)
        for m in mapped:
            r = resolved[m.statement_id]
            if m.voids is not None:
                self._void(m)
            statement = {**m.statement, **stamp, "version": m.statement.get("version") or XAPI_VERSION}
            voided = r["note"] == "stored, not applied: voided"
            status = ("applied" if r["applied"] else "voided" if voided
                      else "pending" if m.outcome is not None else "stored")
            payload = {"digest": m.digest, "verb": m.verb, "learner_id": r["learner_id"],
                       "activity_id": r["activity_id"], "identity": m.identity, "voids": m.voids,
                       "activity_keys": list(m.activity_keys), "outcome": m.outcome, "timestamp": m.timestamp,
                       "observation_id": m.observation_id if r["applied"] else None, "status": status,
                       "applied": r["applied"], "note": r["note"], "voided": voided, "statement": statement}
            self.store.put_statement(m.statement_id, payload)

    def _void(self, m: MappedStatement) -> None:
        target = self._statement(m.voids)
        if target is None:  # not arrived yet (or later in this batch): it will never count
            self.store.put_document(VOIDED_KIND, m.voids, {"voided_by": m.statement_id})
            return
        if target.get("voids"):
            raise StatementError("object.id", f"statement {m.voids} is itself a voiding statement; "
                                 "it cannot be voided")
        if target.get("voided"):
            return
        if target.get("observation_id"):
            self.engine.retract([target["observation_id"]])
        self.store.put_statement(m.voids, {**target, "voided": True, "voided_by": m.statement_id,
                                           "observation_id": None, "applied": False, "status": "voided"})

    # ---------------------------------------------------------------- stored, not applied
    def pending_statements(self, by: Caller, *, limit: int = 100, offset: int = 0) -> list[dict]:
        """Admin view: evidence-bearing statements stored but not applied (oldest first):
        ``id, note, identity, activity, stored``."""
        self.allow(by, "learner:export")
        records = self.store.list_statements(status="pending", limit=limit, offset=offset)
        return [{"id": sid, "note": p.get("note"), "identity": p.get("identity"),
                 "activity": (p.get("activity_keys") or [None])[0],
                 "stored": p["statement"].get("stored")} for sid, p in records]

    def apply_pending_statements(self, by: Caller | None = None) -> int:
        """Apply the stored, not-applied statements whose learner and activity are now known,
        in time order (the engine folds late evidence in). Called after identity-map and
        catalog changes; ``by`` (an admin) when asked through the API. Returns how many."""
        if by is not None:
            self.allow(by, "policy:write")
        records = self.store.list_statements(status="pending")
        ready, homes = [], self._roster_home_pages()
        for sid, p in records:
            learner = self._learner_for(p.get("identity"), homes)
            activity = next((k for k in p.get("activity_keys") or () if k in self.view.activities), None)
            if learner is not None and activity is not None:
                ready.append((p["timestamp"], sid, p, learner, self._activity(activity)))
        if not ready:
            return 0
        ready.sort(key=lambda t: (t[0], t[1]))
        with self.store.transaction():
            self.engine.ingest([Observation(
                observation_id=f"xapi:{sid}", learner_id=learner, activity_id=act.id, skill_ids=act.skill_ids,
                score=p["outcome"], observed_at=datetime.fromtimestamp(ts, UTC), source="lms")
                for ts, sid, p, learner, act in ready])
            for _, sid, p, learner, act in ready:
                self.store.put_statement(sid, {
                    **p, "learner_id": learner, "activity_id": act.id, "observation_id": f"xapi:{sid}",
                    "applied": True, "status": "applied", "note": None})
            if by is not None:
                self._audit(by, "write", "xapi", detail={"applied_pending": len(ready)})
        return len(ready)

    # ---------------------------------------------------------------- verb table, identity map
    def xapi_verb_table(self) -> dict[str, str]:
        """The effective verb table: :data:`engine.app.xapi.DEFAULT_VERBS` with the tenant's
        overrides on top."""
        return {**DEFAULT_VERBS, **self._config("verbs").get("verbs", {})}

    def xapi_verbs(self, by: Caller) -> dict[str, dict]:
        """``defaults``, the tenant's ``overrides`` and the ``effective`` table."""
        self.allow(by, "policy:read")
        return {"defaults": dict(DEFAULT_VERBS), "overrides": self._config("verbs").get("verbs", {}),
                "effective": self.xapi_verb_table()}

    def set_xapi_verbs(self, by: Caller, overrides: Mapping[str, str]) -> dict[str, dict]:
        """Replace the tenant's verb overrides ``{verb IRI: attempt|graded|ignore}`` (admins).
        Applies to statements stored from now on."""
        self.allow(by, "policy:write")
        table = check_verb_table(overrides)
        with self.store.transaction():
            self.store.put_document(CONFIG_KIND, "verbs", {"verbs": table})
            self._audit(by, "write", "xapi_verbs", detail={"n": len(table)})
        return self.xapi_verbs(by)

    def _config(self, name: str) -> dict:
        try:
            return dict(self.store.get_document(CONFIG_KIND, name).payload)
        except NotFoundError:
            return {}

    def _roster_home_pages(self) -> list[str]:
        return list(self._config("identity").get("roster_home_pages", []))

    def _learner_for(self, identity: str | None, homes: Sequence[str] | None = None) -> str | None:
        """The learner an identity key maps to: an explicit map entry, else an account on one
        of the tenant's roster home pages (``homes``, read when None) whose name is a learner
        id; None when unknown."""
        if identity is None:
            return None
        try:
            learner = self.store.get_document(IDENTITY_KIND, identity).payload.get("learner_id")
        except NotFoundError:
            learner = None
            for home in self._roster_home_pages() if homes is None else homes:
                if identity.startswith(f"account:{home}|"):
                    learner = identity[len(f"account:{home}|"):]
        return learner if learner in self.view.learners else None

    def set_xapi_identities(self, by: Caller, entries: Sequence[Mapping[str, Any]],
                            roster_home_pages: Sequence[str] | None = None) -> dict[str, int]:
        """Map xAPI agents to learners (admins): ``entries`` ``[{agent, learner_id}]`` (agent:
        an xAPI Agent with one identifier; learner_id null removes the entry);
        ``roster_home_pages``: when given, replaces the home pages whose account names are
        learner ids. Returns ``mapped`` and ``removed`` counts."""
        self.allow(by, "policy:write")
        keys = []
        for i, e in enumerate(entries):
            try:
                key = identity_key(e.get("agent"), "agent")
            except StatementError as exc:
                raise ValidationError(f"entries[{i}].{exc}") from None
            lid = e.get("learner_id")
            if lid is not None and lid not in self.view.learners:
                raise NotFoundError(f"entries[{i}].learner_id: learner {lid!r} is unknown; register the learner first")
            keys.append((key, lid))
        with self.store.transaction():
            self._put_identities(keys)
            if roster_home_pages is not None:
                self.store.put_document(CONFIG_KIND, "identity", {"roster_home_pages": list(roster_home_pages)})
            self._audit(by, "write", "xapi_identities", detail={"n": len(keys)})
        self.apply_pending_statements()
        return {"mapped": sum(1 for _, lid in keys if lid), "removed": sum(1 for _, lid in keys if not lid)}

    def xapi_identities(self, by: Caller, *, limit: int = 100, offset: int = 0) -> dict:
        """Admin view of the identity map: ``roster_home_pages`` and ``entries``
        (``[{identity, learner_id}]``, identity keys as :func:`engine.app.xapi.identity_key`)."""
        self.allow(by, "learner:export")
        docs = self.store.list_documents(IDENTITY_KIND, limit=limit, offset=offset)
        return {"roster_home_pages": self._roster_home_pages(),
                "entries": [{"identity": d.doc_id, "learner_id": d.payload.get("learner_id")} for d in docs]}

    def _put_identities(self, keys: Sequence[tuple[str, str | None]]) -> None:
        for key, lid in keys:
            if lid is not None:
                self.store.put_document(IDENTITY_KIND, key, {"learner_id": lid})
            else:
                try:
                    self.store.delete_document(IDENTITY_KIND, key)
                except NotFoundError:
                    pass

    def seed_xapi_identities(self, *, home_page: str, mail_domain: str) -> None:
        """Demo rostering: accounts on ``home_page`` name learner ids, and
        ``mailto:<learner id>@<mail_domain>`` maps to that learner. Does nothing once the
        tenant has identity settings (an admin's edits are kept)."""
        if self._config("identity"):
            return
        with self.store.transaction():
            self.store.put_document(CONFIG_KIND, "identity", {"roster_home_pages": [home_page]})
            self._put_identities([(f"mbox:mailto:{lid}@{mail_domain}".lower(), lid) for lid in self.view.learners])
