"""Tenant scope, audit rows, API keys, teacher logins, tenant secret — a mixin of ``TenantBackend``."""

from __future__ import annotations

import secrets

from engine.access import TeacherScope, hash_key, new_api_key
from engine.errors import ConflictError, NotFoundError, ValidationError
from service.ops._common import (
    LOGIN_KIND,
    SECRET_KIND,
    _iso,
    key_id_of,
)


class AccessOps:
    # ---------------------------------------------------------------- scope / audit
    def teacher_scope(self, teacher_id: str | None) -> TeacherScope:
        rosters = {c.id: c.roster for c in self.view.classes.values() if teacher_id in c.teachers}
        return TeacherScope.from_rosters(rosters)

    def audit(self, entry) -> None:
        rec = entry.to_record()
        resource = rec["resource"]
        if rec.get("learner_id"):
            resource = f"{resource}:{rec['learner_id']}"
        detail = {k: rec[k] for k in ("role", "resource_id", "request_id") if rec.get(k)}
        detail.update(rec.get("detail") or {})
        self.ts.append_audit(rec["actor"], rec["action"], resource, detail)

    def list_audit(self, *, limit: int, after: int) -> list[dict]:
        return [
            {"seq": e.seq, "at": _iso(e.at), "actor": e.actor, "action": e.action,
             "resource": e.resource, "detail": e.detail}
            for e in self.ts.list_audit(after_seq=after or None, limit=limit)
        ]

    # ---------------------------------------------------------------- keys & logins
    def create_key(self, role: str, *, name: str = "", teacher_id: str | None = None,
                   created_by: str = "system", key: str | None = None) -> tuple[str, str]:
        """A new key in this tenant; returns (key_id, key). Only the hash is stored."""
        if role == "teacher" and teacher_id is None:
            raise ValidationError("a teacher key needs teacher_id")
        key = key or new_api_key(role)
        h = hash_key(key)
        self.backend.store.put_api_key(h, self.tenant, role, subject=teacher_id, label=name or None)
        return key_id_of(h), key

    def list_keys(self) -> list[dict]:
        return [{"key_id": key_id_of(k.key_hash), "role": k.role, "label": k.label,
                 "teacher_id": k.subject if k.role == "teacher" else None,
                 "created_at": _iso(k.created_at), "revoked": k.revoked_at is not None}
                for k in self.ts.list_api_keys()]

    def revoke_key(self, key_id: str) -> None:
        for k in self.ts.list_api_keys():
            if key_id_of(k.key_hash) == key_id and k.revoked_at is None:
                self.backend.store.revoke_api_key(k.key_hash)
                return
        raise NotFoundError(f"no live API key {key_id!r} in tenant {self.tenant!r}")

    def put_login(self, username: str, password_hash: str, key: str) -> None:
        """A teacher login: the password hash and the login's session key (hashed)."""
        self.ts.put_document(LOGIN_KIND, username, {"password": password_hash, "key_hash": hash_key(key)})

    def get_login(self, username: str) -> dict | None:
        try:
            return self.ts.get_document(LOGIN_KIND, username).payload
        except NotFoundError:
            return None

    def tenant_secret(self) -> str:
        try:
            return self.ts.get_document(SECRET_KIND, "pseudonym").payload["secret"]
        except NotFoundError:
            secret = secrets.token_hex(32)
            try:
                self.ts.put_document(SECRET_KIND, "pseudonym", {"secret": secret}, expected_version=0)
            except ConflictError:
                return self.ts.get_document(SECRET_KIND, "pseudonym").payload["secret"]
            return secret
