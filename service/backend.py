"""The service's only door to the engine: opens the store, caches each tenant's school, and
offers the operations routes need (``TenantBackend``, composed of the mixins in
``service.ops``). The engine's ingest/retract/class-plan entry points are called only from the
small ``_engine_*`` adapters in ``service.ops.evidence`` and ``service.ops.plans``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from engine import planning
from engine.access import Principal, hash_key
from engine.errors import NotFoundError
from service.ops._common import key_id_of
from service.ops.access import AccessOps
from service.ops.catalog import CatalogOps
from service.ops.evidence import EvidenceOps
from service.ops.learners import LearnerOps
from service.ops.models import ModelOps
from service.ops.plans import PlanOps

# seconds a key revoked through another server process may keep working here; after it a
# key costs one indexed lookup per second per process (a revocation made through this
# process clears the cache at once)
KEY_CACHE_TTL = 1.0
VIEW_TTL = 60.0  # seconds a tenant's cached school may lag writes made by another process


@dataclasses.dataclass
class SchoolView:
    """One tenant's graph, catalog, learners and classes, cached in memory."""

    graph: Any
    skills: dict[str, Any]
    activities: dict[str, Any]
    learners: dict[str, Any]
    classes: dict[str, Any]
    model_params: dict[str, dict[str, float]]
    planning: Any = None  # planning.PlanningInput, built lazily
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    loaded_at: float = dataclasses.field(default_factory=time.monotonic)

    def planning_input(self):
        with self.lock:
            if self.planning is None and self.graph is not None:
                self.planning = planning.planning_input(self.graph, self.activities.values(),
                                                        self.model_params)
            return self.planning


class Backend:
    """Open store + per-tenant caches. Thread-safe (the store serialises its connection)."""

    def __init__(self, store, *, url: str = "") -> None:
        self.store = store
        self.url = url
        self.kind = getattr(store, "dialect", "sqlite")
        self._views: dict[str, SchoolView] = {}
        self._keys: dict[str, tuple[float, Principal]] = {}
        self._engines: dict[str, Any] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.RLock()

    @classmethod
    def open(cls, url: str) -> Backend:
        from engine.store import open_store

        return cls(open_store(url), url=url)

    def close(self) -> None:
        self.store.close()

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
        rec = self.store.find_api_key(h)
        if rec is None:
            self._keys.pop(h, None)
            return None
        principal = Principal(tenant=rec.tenant_id, role=rec.role, key_id=key_id_of(h),
                              name=rec.label or "", teacher_id=rec.subject if rec.role == "teacher" else None)
        self._keys[h] = (now, principal)
        return principal

    def forget_cached_keys(self) -> None:
        self._keys.clear()

    def for_tenant(self, tenant: str) -> TenantBackend:
        return TenantBackend(self, tenant)

    def engine(self, tenant: str):
        """The tenant's :class:`engine.engine.Engine` over the shared store (cached)."""
        with self._lock:
            eng = self._engines.get(tenant)
            if eng is None:
                from engine.engine import Engine

                eng = Engine(self.store, tenant)
                self._engines[tenant] = eng
            return eng

    def view(self, tenant: str) -> SchoolView:
        """The tenant's cached school. Loaded on first use (or after a local write); once older
        than ``VIEW_TTL`` it is refreshed in the background while requests keep the old one."""
        with self._lock:
            v = self._views.get(tenant)
            if v is None:
                v = self._load_view(tenant)
                self._views[tenant] = v
            elif time.monotonic() - v.loaded_at > VIEW_TTL and tenant not in self._refreshing:
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
            import logging

            logging.getLogger("pathwise.backend").exception("school cache refresh failed")
        finally:
            with self._lock:
                self._refreshing.discard(tenant)

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._views.pop(tenant, None)

    def _load_view(self, tenant: str) -> SchoolView:
        ts = self.store.for_tenant(tenant)
        try:
            graph = ts.get_graph()
        except NotFoundError:
            graph = None
        skills = {s.id: s for s in ts.list_skills()}
        model = ts.get_model()
        return SchoolView(
            graph=graph,
            skills=skills,
            activities={a.id: a for a in ts.list_activities()},
            learners={learner.id: learner for learner in ts.list_learners()},
            classes={c.id: c for c in ts.list_classes()},
            model_params=dict(model.params) if model is not None else {},
        )


class TenantBackend(AccessOps, EvidenceOps, LearnerOps, CatalogOps, PlanOps, ModelOps):
    """The operations of one tenant (mixins in ``service.ops``). Every store call goes through
    ``store.for_tenant``, so each is scoped to this tenant by the store layer."""

    def __init__(self, backend: Backend, tenant: str) -> None:
        self.backend = backend
        self.tenant = tenant
        self.ts = backend.store.for_tenant(tenant)

    @property
    def view(self) -> SchoolView:
        return self.backend.view(self.tenant)

    @property
    def engine(self):
        return self.backend.engine(self.tenant)

    def _invalidate(self) -> None:
        self.backend.invalidate(self.tenant)


__all__ = ["Backend", "SchoolView", "TenantBackend", "key_id_of"]
