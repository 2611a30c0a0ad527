"""The service's scheduled pull from a district LRS (off by default).

Settings (environment): ``PATHWISE_LRS_SYNC_URL`` (the LRS's xAPI endpoint; empty = off),
``PATHWISE_LRS_SYNC_INTERVAL`` (seconds between passes, default 300; 0 = off),
``PATHWISE_LRS_SYNC_TENANT`` (default: the service's tenant), ``PATHWISE_LRS_USER`` and
``PATHWISE_LRS_PASSWORD``, ``PATHWISE_LRS_SYNC_PAGE_SIZE`` (default 500). Each pass is
:meth:`engine.app.SchoolApp.sync_statements` (resumes from the stored cursor; idempotent), so
several server processes running it only repeat work, never double it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.access import Caller, Principal
from service.schedule import start_periodic

SYNC_KEY_ID = "lrs-sync"


@dataclass(frozen=True)
class LrsSyncSettings:
    url: str = ""
    interval_s: float = 300.0
    tenant: str = ""
    username: str = ""
    password: str = ""
    page_size: int = 500

    @property
    def enabled(self) -> bool:
        return bool(self.url) and self.interval_s > 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, default_tenant: str = "demo") -> LrsSyncSettings:
        env = os.environ if environ is None else environ
        try:
            interval = float(env.get("PATHWISE_LRS_SYNC_INTERVAL", "300"))
            page_size = int(env.get("PATHWISE_LRS_SYNC_PAGE_SIZE", "500"))
        except ValueError as exc:
            raise ValueError(f"PATHWISE_LRS_SYNC_INTERVAL / PATHWISE_LRS_SYNC_PAGE_SIZE must be numbers ({exc})") from None
        return cls(url=env.get("PATHWISE_LRS_SYNC_URL", ""), interval_s=interval,
                   tenant=env.get("PATHWISE_LRS_SYNC_TENANT", "") or default_tenant,
                   username=env.get("PATHWISE_LRS_USER", ""), password=env.get("PATHWISE_LRS_PASSWORD", ""),
                   page_size=page_size)


def sync_caller(tenant: str, source: str) -> Caller:
    """The principal a sync writes as: an LMS-role caller named ``lrs-sync`` (in the audit)."""
    return Caller(Principal(tenant=tenant, role="lms", key_id=SYNC_KEY_ID, name=f"LRS sync from {source}"),
                  via="lrs-sync")


def sync_once(pathwise, tenant: str, client, *, max_pages: int | None = None) -> dict:
    """One pass from ``client`` (a :class:`service.lrs_client.LrsClient`) into ``tenant``."""
    school = pathwise.school(tenant)
    return school.sync_statements(sync_caller(tenant, client.source), client.source, client, max_pages=max_pages)


def start_lrs_sync(pathwise, default_tenant: str, log, environ: Mapping[str, str] | None = None) -> Callable[[], None]:
    """Start the scheduled sync when configured; returns a function that stops it."""
    from service.lrs_client import LrsClient

    settings = LrsSyncSettings.from_env(environ, default_tenant=default_tenant)
    if not settings.enabled:
        return lambda: None
    client = LrsClient(settings.url, settings.username, settings.password, page_size=settings.page_size)

    def one_pass() -> None:
        counts = sync_once(pathwise, settings.tenant, client)
        log.info("lrs sync pass", extra={k: counts[k] for k in ("received", "stored", "duplicates", "rejected")})

    return start_periodic("pathwise-lrs-sync", settings.interval_s, one_pass, log)
