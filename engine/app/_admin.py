"""Use cases of administration: API keys and teacher logins, the audit log, the pseudonymized
research export, the planning policy, model versions and fit jobs — a part of ``SchoolApp``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.access import (
    MIN_PASSWORD_LENGTH,
    Caller,
    check_new_password,
    hash_key,
    hash_password,
    new_api_key,
    pseudonymize,
)
from engine.app._view import POLICY_ID, POLICY_KIND
from engine.app.pathwise import LOGIN_KIND, key_id_of
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.planning import PlanningPolicy

SECRET_KIND = "tenant_secret"


def iso(dt: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` of an aware datetime (None stays None)."""
    return None if dt is None else dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AdminUseCases:
    # ---------------------------------------------------------------- keys and logins
    def create_key(self, by: Caller, role: str, *, name: str = "",
                   teacher_id: str | None = None, subject: str | None = None) -> tuple[str, str]:
        """A new key in this tenant, shown once: ``(key_id, key)``; only its hash is stored.

        ``subject``: the person a student or guardian key belongs to (learner id / guardian
        id); ``teacher_id`` for teacher keys."""
        self.allow(by, "keys:admin")
        known = {"student": self.view.learners, "guardian": self.view.guardians}.get(role)
        if known is not None and subject and subject not in known:
            raise NotFoundError(f"subject {subject!r} is not a {'learner' if role == 'student' else 'guardian'} "
                                f"of tenant {self.tenant!r}; roster them first")
        with self.store.transaction():
            key_id, key = self.setup_key(role, name=name, teacher_id=teacher_id, subject=subject)
            self._audit(by, "write", "api_key", resource_id=key_id, detail={"role": role})
        return key_id, key

    def setup_key(self, role: str, *, name: str = "", teacher_id: str | None = None,
                  key: str | None = None, subject: str | None = None) -> tuple[str, str]:
        """Store a key without a caller (installation and the demo: there is no principal
        yet). ``ConflictError`` when this key already exists."""
        if role == "teacher" and not teacher_id:
            raise ValidationError("a teacher key needs teacher_id (the id used in class rosters)")
        if role in ("student", "guardian") and not subject:
            who = "learner id" if role == "student" else "guardian id"
            raise ValidationError(f"a {role} key needs subject (the {who} it belongs to)")
        key = key or new_api_key(role)
        h = hash_key(key)
        self.home.store.put_api_key(h, self.tenant, role, subject=teacher_id or subject,
                                    label=name or None)
        return key_id_of(h), key

    def list_keys(self, by: Caller) -> list[dict]:
        self.allow(by, "keys:admin")
        return [{"key_id": key_id_of(k.key_hash), "role": k.role, "label": k.label,
                 "teacher_id": k.subject if k.role == "teacher" else None,
                 "subject": k.subject,
                 "created_at": iso(k.created_at), "revoked": k.revoked_at is not None}
                for k in self.store.list_api_keys()]

    def revoke_key(self, by: Caller, key_id: str) -> None:
        self.allow(by, "keys:admin")
        keys = self.store.list_api_keys()
        live_admins = sum(1 for k in keys if k.role == "admin" and k.revoked_at is None)
        for k in keys:
            if key_id_of(k.key_hash) == key_id and k.revoked_at is None:
                if k.role == "admin" and live_admins <= 1:
                    raise ConflictError(
                        f"key {key_id!r} is the last active admin key of tenant {self.tenant!r}; "
                        "create another admin key (POST /admin/keys with role admin) before revoking it")
                with self.store.transaction():
                    self.home.store.revoke_api_key(k.key_hash)
                    self._audit(by, "delete", "api_key", resource_id=key_id)
                self.home.forget_cached_keys()
                return
        raise NotFoundError(f"no live API key {key_id!r} in tenant {self.tenant!r}")

    def setup_login(self, username: str, password: str, key: str, *, seeded: bool = False) -> bool:
        """A teacher login (scrypt password hash + the login's session key, hashed) unless one
        exists; True when created. Without a caller, like :meth:`setup_key`. A password set by
        a user needs >= 12 characters; ``seeded=True`` (demo logins, password ``demo``) skips
        that minimum."""
        check_new_password(password, min_length=1 if seeded else MIN_PASSWORD_LENGTH)
        try:
            self.store.get_document(LOGIN_KIND, username)
            return False
        except NotFoundError:
            encoded = hash_password(password, n=self.home.password_n, min_length=1)
            self.store.put_document(LOGIN_KIND, username, {"password": encoded, "key_hash": hash_key(key)})
            return True

    # ---------------------------------------------------------------- page logins (any role)
    def add_login(self, by: Caller, username: str, password: str, *, role: str,
                  person: str | None = None, name: str = "") -> dict:
        """A page login (username + password -> a key of ``role``) for a rostered person:
        ``person`` is the teacher id, learner id (student) or guardian id; admins need none.
        Idempotent: the same username for the same person and role is left as it is
        (``created`` False); a username taken by someone else is a ``ConflictError``."""
        self.allow(by, "keys:admin")
        who = {"teacher": self.store.list_teachers, "student": lambda: self.view.learners.values(),
               "guardian": lambda: self.view.guardians.values()}
        if role not in (*who, "admin"):
            raise ValidationError(f"role {role!r} has no page login; use teacher, student, guardian or admin")
        if role in who:
            if not person:
                raise ValidationError(f"a {role} login needs the rostered person's id (--person)")
            if person not in {p.id for p in who[role]()}:
                raise NotFoundError(f"{role} {person!r} is not on the roster of tenant {self.tenant!r}; "
                                    "import the roster (pathwise roster import) or check the id")
        if not username or len(username) > 128 or any(c.isspace() for c in username):
            raise ValidationError(f"username {username!r} must be 1-128 characters without spaces")
        try:
            rec = self.store.get_document(LOGIN_KIND, username).payload
        except NotFoundError:
            rec = None
        if rec is not None:
            same = rec.get("person", username if "role" not in rec else None) == (person or None)
            if rec.get("role", "teacher") == role and same:
                return {"username": username, "role": role, "person": person, "created": False}
            raise ConflictError(f"username {username!r} is already taken in tenant {self.tenant!r}; choose another")
        check_new_password(password, min_length=MIN_PASSWORD_LENGTH)
        encoded = hash_password(password, n=self.home.password_n, min_length=1)
        with self.store.transaction():
            key_id, key = self.setup_key(role, name=name or username, teacher_id=person if role == "teacher" else None,
                                         subject=person if role in ("student", "guardian") else None)
            self.store.put_document(LOGIN_KIND, username, {"password": encoded, "key_hash": hash_key(key),
                                                           "role": role, "person": person})
            self._audit(by, "write", "login", resource_id=username, detail={"role": role, "key_id": key_id})
        return {"username": username, "role": role, "person": person, "created": True, "key_id": key_id}

    def reset_password(self, by: Caller, username: str, password: str) -> dict:
        """Give an existing page login a new password (>= 12 characters)."""
        self.allow(by, "keys:admin")
        try:
            doc = self.store.get_document(LOGIN_KIND, username)
        except NotFoundError:
            raise NotFoundError(f"no page login {username!r} in tenant {self.tenant!r}; add it first "
                                "(pathwise admin add-user)") from None
        check_new_password(password, min_length=MIN_PASSWORD_LENGTH)
        encoded = hash_password(password, n=self.home.password_n, min_length=1)
        with self.store.transaction():
            self.store.put_document(LOGIN_KIND, username, {**doc.payload, "password": encoded})
            self._audit(by, "write", "login", resource_id=username, detail={"op": "reset_password"})
        return {"username": username, "reset": True}

    def list_logins(self, by: Caller) -> list[dict]:
        self.allow(by, "keys:admin")
        live = {k.key_hash for k in self.store.list_api_keys() if k.revoked_at is None}
        return [{"username": d.doc_id, "role": d.payload.get("role", "teacher"),
                 "person": d.payload.get("person", d.doc_id if d.payload.get("role") is None else None),
                 "active": d.payload.get("key_hash") in live}
                for d in self.store.list_documents(LOGIN_KIND)]

    # ---------------------------------------------------------------- the whole tenant
    def export_tenant(self, by: Caller) -> dict:
        """Every row the tenant holds, JSON-ready (admin; secrets left out: key hashes cut to
        key ids, password hashes and the tenant's pseudonym secret dropped)."""
        self.allow(by, "learner:export")
        from engine.app._sso import SECRET_KINDS as SIGN_IN_SECRETS

        data = self.store.export_tenant(secret_kinds=(SECRET_KIND, *SIGN_IN_SECRETS))
        self._audit(by, "export", "tenant", detail={"tables": len(data["tables"])})
        return data

    def delete_tenant(self, by: Caller, *, confirm: str) -> dict[str, int]:
        """Delete everything the tenant holds (keys, logins and audit log included); one
        transaction. ``confirm`` must repeat the tenant id. Returns rows deleted per table."""
        self.allow(by, "learner:delete")
        if confirm != self.tenant:
            raise ValidationError(f"to delete tenant {self.tenant!r} confirm with its id (got {confirm!r})")
        counts = self.store.delete_tenant()
        self._invalidate()
        self.home.forget_cached_keys()
        return counts

    # ---------------------------------------------------------------- audit and research
    def audit_log(self, by: Caller, *, limit: int = 200, after: int = 0) -> list[dict]:
        self.allow(by, "audit:read")
        return [{"seq": e.seq, "at": iso(e.at), "actor": e.actor, "action": e.action,
                 "resource": e.resource, "detail": e.detail}
                for e in self.store.list_audit(after_seq=after or None, limit=limit)]

    def _tenant_secret(self) -> str:
        try:
            return self.store.get_document(SECRET_KIND, "pseudonym").payload["secret"]
        except NotFoundError:
            secret = secrets.token_hex(32)
            try:
                self.store.put_document(SECRET_KIND, "pseudonym", {"secret": secret}, expected_version=0)
            except ConflictError:
                return self.store.get_document(SECRET_KIND, "pseudonym").payload["secret"]
            return secret

    def research_export(self, by: Caller, *, limit: int = 100_000) -> list[dict]:
        """Every observation with learner and observation ids replaced by per-tenant pseudonyms
        and ``observed_at`` coarsened to the UTC day (``YYYY-MM-DD``): exact times could
        re-identify a learner together with a timetable."""
        self.allow(by, "research:export")
        secret = self._tenant_secret()
        rows = []
        for o in self.store.list_observations(limit=limit):
            rec = o.to_record()
            rec["learner_id"] = pseudonymize(o.learner_id, secret)
            rec["observation_id"] = pseudonymize(o.observation_id, secret)
            rec["observed_at"] = o.observed_at.astimezone(UTC).date().isoformat()  # day only
            rows.append(rec)
        self._audit(by, "export", "research", detail={"rows": len(rows)})
        return rows

    # ---------------------------------------------------------------- planning policy
    def planning_policy(self, by: Caller) -> PlanningPolicy:
        self.allow(by, "policy:read")
        return self.view.policy

    def set_planning_policy(self, by: Caller, changes: Mapping[str, Any]) -> PlanningPolicy:
        """Change some fields of the tenant's policy (validated); returns the new policy."""
        self.allow(by, "policy:write")
        policy = self.view.policy.with_changes(changes)
        with self.store.transaction():
            self.store.put_document(POLICY_KIND, POLICY_ID, policy.to_record())
            self._audit(by, "write", "planning_policy", detail=dict(changes))
        self._invalidate()
        return policy

    # ---------------------------------------------------------------- models and fit jobs
    def model_versions(self, by: Caller) -> list[dict]:
        self.allow(by, "model:read")
        return [_model_out(mv) for mv in self.engine.list_models()]

    def model_version(self, by: Caller, version: int) -> dict:
        self.allow(by, "model:read")
        for mv in self.engine.list_models():
            if mv.version == version:
                return _model_out(mv)
        raise NotFoundError(f"model version {version} is not stored")

    def start_fit(self, by: Caller, *, model: str = "bkt", skills: Sequence[str] | None = None,
                  max_iter: int | None = None) -> dict:
        """Queue a fit of ``model`` on the stored evidence (optionally some skills); the job's
        result is a new, active model version. Returns the job's first state.

        ``max_iter``: EM cap for BKT (None: the estimator's default, which converges)."""
        self.allow(by, "model:fit")
        actor = by.principal.key_id
        hyper: dict[str, Any] = {"max_iter": max_iter} if model == "bkt" and max_iter else {}
        if model == "bkt":
            hyper.update(num_fits=1, seed=0)

        def work(progress) -> dict:
            mv = self.engine.fit_model(model, progress=progress, meta={"by": actor},
                                       skills=list(skills) if skills else None, **hyper)
            self._invalidate()
            return {"version": mv.version, **{k: v for k, v in mv.meta.items() if k != "hyperparameters"}}

        job = self.home.jobs.submit(self.tenant, "fit", work, self.store)
        self._audit(by, "write", "model.fit", resource_id=job["job_id"])
        return job

    def job(self, by: Caller, job_id: str) -> dict:
        self.allow(by, "model:read")
        return self.home.jobs.get(self.tenant, job_id, self.store)


def _model_out(mv) -> dict:
    return {"version": mv.version, "created_at": iso(mv.created_at), "params": mv.params, "meta": mv.meta}
