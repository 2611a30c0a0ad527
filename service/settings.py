"""Service settings, read from the environment (``PATHWISE_*``) or the CLI.

Nothing is read at import time: call :func:`Settings.from_env` (optionally with
CLI overrides) when the app is built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

DEFAULT_DB_URL = "sqlite:///pathwise.db"


def _env_bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to start.

    db_url: store URL (``sqlite:///path.db`` or ``postgresql://...``).
    host/port: where ``pathwise serve`` listens (loopback by default).
    demo: load the bundled demo school and create demo credentials on startup.
    max_body_bytes: request bodies larger than this get 413 (default 2 MiB).
    max_batch: most observations or statements in one request (default 5,000).
    session_secret: signs the teacher page's session cookie; when empty, a secret generated once
        and kept in the store (sessions survive restarts and work across processes).
    trusted_proxies: addresses or CIDRs (``PATHWISE_TRUSTED_PROXIES``, comma-separated) of TLS
        proxies whose ``X-Forwarded-Proto``/``X-Forwarded-For`` give the scheme (so the session
        cookie keeps its Secure flag) and the client address (login throttling); none by default.
    warm_kernels: compile/warm the Numba kernels during startup.
    freeze_heap: once startup is done, collect garbage and freeze what is left (``gc.freeze``),
        so the collector's full passes walk only what requests made, not the ~240,000 objects
        of startup (modules, functions, the school cache); those passes took 100-166 ms each,
        every ~2 s under a batched load. ``pathwise serve`` turns it on; off by default because
        a frozen object is never collected (apps built in tests come and go).
    forward_writes: on a SQLite file, one process writes every evidence batch of 100 to 1,000
        observations and the others send theirs to it (``service.forward``); ``pathwise serve
        --workers N`` (N > 1) turns it on and starts that process (``service.writer_process``).
    log_json: structured JSON logs on stderr (else plain text).
    """

    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    tenant: str = "demo"
    max_body_bytes: int = 2 * 1024 * 1024
    max_batch: int = 5000
    session_secret: str = ""
    trusted_proxies: tuple[str, ...] = ()
    warm_kernels: bool = True
    freeze_heap: bool = False
    forward_writes: bool = False
    log_json: bool = True
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from ``PATHWISE_*`` variables, then apply non-None ``overrides``."""
        env = os.environ if environ is None else environ
        base = cls(
            db_url=env.get("PATHWISE_DB", DEFAULT_DB_URL),
            host=env.get("PATHWISE_HOST", "127.0.0.1"),
            port=int(env.get("PATHWISE_PORT", "8000")),
            demo=_env_bool(env.get("PATHWISE_DEMO"), False),
            tenant=env.get("PATHWISE_TENANT", "demo"),
            max_body_bytes=int(env.get("PATHWISE_MAX_BODY_BYTES", str(2 * 1024 * 1024))),
            max_batch=int(env.get("PATHWISE_MAX_BATCH", "5000")),
            session_secret=env.get("PATHWISE_SESSION_SECRET", ""),
            trusted_proxies=tuple(p.strip() for p in env.get("PATHWISE_TRUSTED_PROXIES", "").split(",")
                                  if p.strip()),
            warm_kernels=_env_bool(env.get("PATHWISE_WARM_KERNELS"), True),
            freeze_heap=_env_bool(env.get("PATHWISE_FREEZE_HEAP"), False),
            forward_writes=_env_bool(env.get("PATHWISE_FORWARD_WRITES"), False),
            log_json=_env_bool(env.get("PATHWISE_LOG_JSON"), True),
            log_level=env.get("PATHWISE_LOG_LEVEL", "INFO"),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **clean)
