"""Constants and small helpers shared by the operation mixins."""

from __future__ import annotations

from datetime import UTC, datetime

STATEMENT_KIND = "xapi_statement"
PLAN_KIND = "plan"
SECRET_KIND = "tenant_secret"
LOGIN_KIND = "teacher_login"


def key_id_of(key_hash: str) -> str:
    """Public id of a key: the first 12 hex chars of its hash (safe to log and audit)."""
    return "key_" + key_hash[:12]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _value(x):
    return getattr(x, "value", x)
