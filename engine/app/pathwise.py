"""The multi-tenant application: one open store, API-key authentication, and one
:class:`~engine.app.school.SchoolApp` per tenant (school/district).

    app = Pathwise.open("sqlite:///pathwise.db")
    principal = app.authenticate(key)                  # None for an unknown or revoked key
    school = app.school(principal.tenant)              # every use case of that tenant
    school.mastery(Caller(principal), "L001")
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from engine.access import (
    SCRYPT_N,
    LoginThrottle,
    Principal,
    dummy_password_hash,
    hash_key,
    hash_password,
    needs_rehash,
    verify_password,
)
from engine.app._coherence import CHECK_INTERVAL_S, bump_token, read_token
from engine.app._throttle import StoreFailureLog
from engine.app._view import SchoolView, load_view
from engine.app.jobs import JobRunner
from engine.errors import ConflictError, NotFoundError, TooManyAttempts

# seconds a key revoked through another server process may keep working here; after it a
# key costs one indexed lookup per second per process (a revocation made through this
# process clears the cache at once)
KEY_CACHE_TTL = 1.0
VIEW_TTL = 60.0  # seconds a tenant's cached school may lag writes made by another process
LOGIN_KIND = "teacher_login"
PAGE_ROLES = ("teacher", "admin", "student", "guardian")  # roles with a page login
# Roles whose key names a person (api_keys.subject): teacher_id, learner_id (student), guardian_id.
SUBJECT_ROLES = ("teacher", "student", "guardian")
SYSTEM_TENANT = "pathwise.system"  # installation-wide documents (the session secret); no keys, no school
SECRET_KIND = "secret"
ENDED_SESSION_KIND = "ended_page_session"  # logged-out teacher-page sessions (by session id)

log = logging.getLogger("pathwise.app")


def key_id_of(key_hash: str) -> str:
    """Public id of a key: the first 12 hex chars of its hash (safe to log and audit)."""
    return "key_" + key_hash[:12]


class Pathwise:
    """Open store + per-tenant schools and caches. Thread-safe (the store serialises its
    connection; the caches have their own lock). ``jobs`` runs fit jobs on one worker."""

    def __init__(self, store: Any, *, url: str = "") -> None:
        self.store = store
        self.url = url
        self.kind = getattr(store, "dialect", "sqlite")
        self.jobs = JobRunner()
        self._views: dict[str, SchoolView] = {}
        self._keys: dict[str, tuple[float, Principal]] = {}
        self._schools: dict[str, Any] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.RLock()
        # failed logins counted in the store: shared by every server process (--workers N)
        self.login_throttle = LoginThrottle(log=StoreFailureLog(store.for_tenant(SYSTEM_TENANT)))
        self.password_n = SCRYPT_N  # scrypt cost of new hashes (tests lower it)

    @classmethod
    def open(cls, url: str) -> Pathwise:
        """Open (and migrate) the store at ``url`` (``sqlite:///path.db``, ``postgresql://...``)."""
        from engine.store import open_store

        return cls(open_store(url), url=url)

    def close(self) -> None:
        self.jobs.shutdown()
        self.store.close()

    # ---------------------------------------------------------------- schools
    def school(self, tenant: str):
        """The tenant's :class:`~engine.app.school.SchoolApp` (one per tenant, cached)."""
        with self._lock:
            app = self._schools.get(tenant)
            if app is None:
                from engine.app.school import SchoolApp

                app = SchoolApp(self, tenant)
                self._schools[tenant] = app
            return app

    def existing_school(self, tenant: str):
        """The tenant's SchoolApp when the tenant exists (it has had at least one key: made by
        ``pathwise admin init-tenant`` or the demo); NotFoundError otherwise, without caching
        anything for the unknown name (public, unauthenticated doors such as LTI use this)."""
        with self._lock:
            app = self._schools.get(tenant)
        if app is not None:
            return app
        if not self.store.for_tenant(tenant).list_api_keys():
            raise NotFoundError(f"tenant {tenant!r} does not exist on this server")
        return self.school(tenant)

    def run_together(self, calls):
        """Several requests' write use cases (``calls``: callables taking no argument, each
        e.g. ``school.ingest_evidence`` bound to its arguments) in one store transaction where
        the store has one writer; one :class:`~engine.app._together.Outcome` per call, in
        order. A call that raises fails alone (:mod:`engine.app._together`)."""
        from engine.app._together import run_together

        return run_together(self.store, calls)

    @property
    def store_file(self) -> str | None:
        """The SQLite database file's path (``None`` in memory or on PostgreSQL): server
        processes sharing it can agree on one writer (``service.forward``)."""
        return self.store.file_path

    def try_write_turn(self) -> bool:
        """False when another server process is writing to the store now; True when this
        process's next transaction will start at once (``Store.try_write_turn``; the turn is
        then this process's until that transaction ends, or :meth:`end_write_turn`)."""
        return self.store.try_write_turn()

    def end_write_turn(self) -> None:
        """Give back a write turn that no transaction used (``Store.end_write_turn``)."""
        self.store.end_write_turn()

    def view(self, tenant: str) -> SchoolView:
        """The tenant's cached school. Loaded on first use, after a local write, or when the
        store's reference token shows a write through another process (checked at most every
        ``CHECK_INTERVAL_S``, see :mod:`engine.app._coherence`); once older than ``VIEW_TTL``
        it is also refreshed in the background while requests keep the old one.

        The store is never read while ``self._lock`` is held: a request inside a store
        transaction may ask for the view, so holding the cache lock while waiting for the
        store would deadlock the two threads."""
        with self._lock:
            v = self._views.get(tenant)
            now = time.monotonic()
            check = v is not None and now - v.checked_at > CHECK_INTERVAL_S
            if check:
                v.checked_at = now
        if check and read_token(self.school(tenant).store) != v.token:
            v = None  # another process wrote: reload now
        if v is None:
            fresh = self._load_view(tenant)
            with self._lock:
                self._views[tenant] = fresh
            return fresh
        with self._lock:
            if now - v.loaded_at > VIEW_TTL and tenant not in self._refreshing:
                self._refreshing.add(tenant)
                threading.Thread(target=self._refresh, args=(tenant, v), daemon=True,
                                 name=f"pathwise-refresh-{tenant}").start()
        return v

    def _refresh(self, tenant: str, old: SchoolView) -> None:
        try:
            fresh = self._load_view(tenant)
            with self._lock:
                if self._views.get(tenant) is old:  # not invalidated meanwhile
                    self._views[tenant] = fresh
        except Exception:  # the old view stays; the next request past the TTL tries again
            log.exception("school cache refresh failed")
        finally:
            with self._lock:
                self._refreshing.discard(tenant)

    def invalidate(self, tenant: str) -> None:
        """Forget the tenant's cached school after a write through this process, and tell the
        other processes (a new reference token in the store)."""
        with self._lock:
            self._views.pop(tenant, None)
        bump_token(self.school(tenant).store)

    def _load_view(self, tenant: str) -> SchoolView:
        school = self.school(tenant)
        token = read_token(school.store)  # before loading: a write meanwhile reloads next check
        view = load_view(school.store, school.engine)
        view.token = token
        return view

    # ---------------------------------------------------------------- credentials
    def authenticate(self, key: str) -> Principal | None:
        """Principal of a live key (cached ``KEY_CACHE_TTL`` seconds by hash), else None."""
        if not key or len(key) > 512:
            return None
        h = hash_key(key)
        now = time.monotonic()
        hit = self._keys.get(h)
        if hit is not None and now - hit[0] < KEY_CACHE_TTL:
            return hit[1]
        principal = self.principal_of(h)
        if principal is None:
            self._keys.pop(h, None)
            return None
        self._keys[h] = (now, principal)
        return principal

    def principal_of(self, key_hash: str, tenant: str | None = None) -> Principal | None:
        """The principal of a live key by its hash (uncached; ``tenant``: must match)."""
        rec = self.store.find_api_key(key_hash)
        if rec is None or (tenant is not None and rec.tenant_id != tenant):
            return None
        subject = {f"{rec.role}_id": rec.subject} if rec.role in SUBJECT_ROLES else {}
        if rec.role == "student":
            subject = {"learner_id": rec.subject}
        return Principal(tenant=rec.tenant_id, role=rec.role, key_id=key_id_of(rec.key_hash),
                         name=rec.label or "", **subject)

    def forget_cached_keys(self) -> None:
        with self._lock:
            self._keys.clear()

    def page_login(self, tenant: str, *, username: str = "", password: str = "",
                   api_key: str = "", address: str | None = None) -> tuple[str, str] | None:
        """``(tenant, key hash)`` of a page session: an API key of a page role
        (:data:`PAGE_ROLES`: teacher, admin, student, guardian), or a page login's username and
        password in ``tenant`` (``pathwise admin add-user``); None when neither is valid.

        ``address``: the client's address, for :class:`~engine.access.LoginThrottle`; raises
        :class:`TooManyAttempts` while the username or the address is locked out."""
        wait = self.login_throttle.retry_after(tenant, username, address)
        if wait > 0:
            raise TooManyAttempts(f"too many failed logins; try again in {int(wait // 60) + 1} minutes",
                                  retry_after=wait)
        key_hash = None
        if api_key.strip():
            principal = self.authenticate(api_key.strip())
            if principal is not None and principal.role in PAGE_ROLES:
                key_hash = hash_key(api_key.strip())
        elif username.strip():
            key_hash = self._password_login(tenant, username.strip(), password)
        found = None if key_hash is None else self.store.find_api_key(key_hash)
        if found is None:
            self.login_throttle.failed(tenant, username, address)
            return None
        self.login_throttle.succeeded(tenant, username)
        return found.tenant_id, key_hash

    def _password_login(self, tenant: str, username: str, password: str) -> str | None:
        """The login's key hash when the password matches; an unknown user verifies against
        a dummy hash (same cost). A legacy or cheaper hash is upgraded on success."""
        store = self.store.for_tenant(tenant)
        try:
            rec = store.get_document(LOGIN_KIND, username).payload
        except NotFoundError:
            verify_password(password, dummy_password_hash(self.password_n))
            return None
        if not verify_password(password, rec["password"]):
            return None
        if needs_rehash(rec["password"], n=self.password_n):
            fresh = hash_password(password, n=self.password_n, min_length=1)
            store.put_document(LOGIN_KIND, username, {**rec, "password": fresh})
        return rec["key_hash"]

    def end_page_session(self, tenant: str, session_id: str, expires_at: float) -> None:
        """Revoke one teacher-page session (logout) in the store: every process refuses its
        cookie from now on. ``expires_at``: the cookie's own expiry (epoch seconds)."""
        self.store.for_tenant(tenant).put_document(ENDED_SESSION_KIND, session_id,
                                                   {"expires_at": float(expires_at)})

    def page_session_ended(self, tenant: str, session_id: str) -> bool:
        try:
            self.store.for_tenant(tenant).get_document(ENDED_SESSION_KIND, session_id)
            return True
        except NotFoundError:
            return False

    def session_secret(self) -> str:
        """The teacher page's session-signing secret kept in the store (created once, 256
        bits), so sessions survive restarts and work across server processes."""
        store = self.store.for_tenant(SYSTEM_TENANT)
        try:
            return store.get_document(SECRET_KIND, "session").payload["secret"]
        except NotFoundError:
            pass
        try:
            store.put_document(SECRET_KIND, "session", {"secret": secrets.token_hex(32)}, expected_version=0)
        except ConflictError:  # another process created it first: use theirs
            pass
        return store.get_document(SECRET_KIND, "session").payload["secret"]

    def page_principal(self, tenant: str, key_hash: str) -> Principal | None:
        """The principal of a page session (a live key of a page role in ``tenant``)."""
        principal = self.principal_of(key_hash, tenant)
        return principal if principal is not None and principal.role in PAGE_ROLES else None
