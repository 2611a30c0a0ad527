"""The Pathwise application: every use case of a school, over the engine and its store.

* :class:`Pathwise` — the multi-tenant application: opens the store, authenticates API keys
  and teacher-page sessions, runs background jobs, hands out one :class:`SchoolApp` per tenant.
* :class:`SchoolApp` — the use cases of one tenant (school/district). Each takes a
  :class:`~engine.access.Caller`, checks that the principal may act, does the work and writes
  its audit entry in the same transaction: evidence batches and xAPI statements, mastery,
  profiles, readiness and gaps, CASE import, catalog, classes, playlists and class plans with
  their review lifecycle (teachers decide: see :mod:`engine.app._planstore`), fit jobs, model
  versions, the tenant's :class:`~engine.planning.PlanningPolicy`, export and erasure.

The HTTP service (``service/``) only parses requests, authenticates, calls one use case and
maps ``engine.errors`` to HTTP statuses.
"""

from engine.access import Caller
from engine.app.pathwise import Pathwise, key_id_of
from engine.app.school import SchoolApp
from engine.planning import PlanningPolicy

__all__ = ["Caller", "Pathwise", "PlanningPolicy", "SchoolApp", "key_id_of"]
