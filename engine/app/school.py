"""``SchoolApp``: every use case of one tenant (school or district).

Each public method is one use case: it takes the :class:`~engine.access.Caller`, checks that
the principal may act (:func:`engine.access.authorize`, teachers within the classes they
teach), does the work, and appends the audit entry inside the same store transaction as the
change it records (reads are audited too). Results are domain objects (plans) or JSON-ready
dicts; errors are ``engine.errors`` (and ``planner.errors.NothingToPlan``).

The use cases live in small parts: :mod:`engine.app._admin` (keys, audit log, research
export, planning policy, models and fit jobs), :mod:`engine.app._evidence` (evidence batches,
xAPI statements), :mod:`engine.app._learners` (mastery, profile, readiness, export, erasure),
:mod:`engine.app._catalog` (competency graph, CASE merge, catalog, classes),
:mod:`engine.app._plans` (playlists, class plans, review) over :mod:`engine.app._planstore`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.access import Caller, Scope, audit_entry, authorize
from engine.app._admin import AdminUseCases
from engine.app._catalog import CatalogUseCases
from engine.app._evidence import EvidenceUseCases
from engine.app._experiments import ExperimentUseCases
from engine.app._family import FamilyUseCases
from engine.app._learners import LearnerUseCases
from engine.app._plans import PlanUseCases
from engine.app._plp import PlpUseCases
from engine.app._roster import RosterUseCases
from engine.app._sso import SsoUseCases
from engine.app._student import StudentUseCases
from engine.app._teacher_view import TeacherViewUseCases
from engine.app._view import SchoolView
from engine.app._xapi_resource import XapiResourceUseCases
from engine.errors import NotFoundError
from engine.lti.usecases import LtiUseCases


class SchoolApp(AdminUseCases, EvidenceUseCases, XapiResourceUseCases, LearnerUseCases, CatalogUseCases,
                PlanUseCases, SsoUseCases, LtiUseCases, RosterUseCases,
                StudentUseCases, FamilyUseCases, PlpUseCases, TeacherViewUseCases,
                ExperimentUseCases):
    """The use cases of one tenant over the shared store (get it from
    :meth:`engine.app.Pathwise.school`). Thread-safe like the store."""

    def __init__(self, home: Any, tenant: str) -> None:
        from engine.engine import Engine

        self.home = home
        self.tenant = tenant
        self.store = home.store.for_tenant(tenant)  # validates the tenant id
        self.engine = Engine(home.store, tenant)

    # ---------------------------------------------------------------- school snapshot
    @property
    def view(self) -> SchoolView:
        return self.home.view(self.tenant)

    def _invalidate(self) -> None:
        self.home.invalidate(self.tenant)

    # ---------------------------------------------------------------- access and audit
    def scope(self, by: Caller) -> Scope | None:
        """What a scoped caller may see (:class:`~engine.access.Scope`): a teacher's classes
        and their rosters, a student's own classes and themselves, a guardian's linked
        children; None for the unscoped roles (lms, researcher, admin)."""
        p = by.principal
        classes = self.view.classes.values()
        if p.role == "teacher":
            return Scope.from_rosters({c.id: c.roster for c in classes if p.teacher_id in c.teachers})
        if p.role == "student":
            return Scope(frozenset(c.id for c in classes if p.learner_id in c.roster),
                         frozenset({p.learner_id}))
        if p.role == "guardian":
            guardian = self.view.guardians.get(p.guardian_id)
            return Scope(frozenset(), frozenset(guardian.learner_ids if guardian else ()))
        return None

    def allow(self, by: Caller, action: str, *, learner_id: str | None = None,
              class_id: str | None = None) -> None:
        """Raise ``AccessDenied`` unless the caller may do ``action`` (on the learner/class)."""
        authorize(by.principal, action, tenant=self.tenant, learner_id=learner_id,
                  class_id=class_id, scope=self.scope(by))

    def _audit(self, by: Caller, action: str, resource: str, *, learner_id: str | None = None,
               resource_id: str | None = None, detail: Mapping | None = None) -> None:
        """Append one audit row (call inside the transaction of the change it records)."""
        detail = dict(detail or {})
        if by.via != "api":
            detail["via"] = by.via
        rec = audit_entry(by.principal, action, resource, learner_id=learner_id,
                          resource_id=resource_id, request_id=by.request_id, detail=detail).to_record()
        target = f"{resource}:{learner_id}" if learner_id else resource
        row = {k: rec[k] for k in ("role", "resource_id", "request_id") if rec.get(k)}
        row.update(rec["detail"])
        self.store.append_audit(rec["actor"], action, target, row)

    def _read(self, by: Caller, resource: str, **audit: Any) -> None:
        """Audit a read (its own one-row transaction)."""
        self._audit(by, "read", resource, **audit)

    # ---------------------------------------------------------------- lookups
    def _learner(self, learner_id: str):
        learner = self.view.learners.get(learner_id)
        if learner is None:
            raise NotFoundError(f"learner {learner_id!r} is not in tenant {self.tenant!r}")
        return learner

    def _activity(self, activity_id: str):
        act = self.view.activities.get(activity_id)
        if act is None:
            raise NotFoundError(f"activity {activity_id!r} is not in the catalog; add it first")
        return act

    def _class(self, class_id: str):
        c = self.view.classes.get(class_id)
        if c is None:
            raise NotFoundError(f"class {class_id!r} is not in tenant {self.tenant!r}")
        return c

    def _class_of(self, learner_id: str):
        for c in self.view.classes.values():
            if learner_id in c.roster:
                return c
        return None

    def _graph(self):
        g = self.view.graph
        if g is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return g
