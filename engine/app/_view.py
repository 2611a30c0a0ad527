"""One tenant's school held in memory: graph, skills, catalog, learners, classes, model
parameters and planning policy, loaded from the store and cached by :class:`engine.app.Pathwise`."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from engine import planning
from engine.errors import NotFoundError
from engine.planning import PlanningPolicy

POLICY_KIND = "planning_policy"
POLICY_ID = "tenant"


@dataclasses.dataclass
class SchoolView:
    """One tenant's graph, catalog, learners, classes, model parameters and policy (read-only
    snapshot; a write through this process replaces it, another process's after ``VIEW_TTL``)."""

    graph: Any
    skills: dict[str, Any]
    activities: dict[str, Any]
    learners: dict[str, Any]
    classes: dict[str, Any]
    model_params: dict[str, dict[str, float]]
    policy: PlanningPolicy = dataclasses.field(default_factory=PlanningPolicy)
    guardians: dict[str, Any] = dataclasses.field(default_factory=dict)  # id -> domain Guardian
    planning: Any = None  # planning.PlanningInput, built lazily
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    loaded_at: float = dataclasses.field(default_factory=time.monotonic)
    token: str = ""  # the store's reference token when loaded (engine.app._coherence)
    checked_at: float = dataclasses.field(default_factory=time.monotonic)

    def planning_input(self) -> planning.PlanningInput | None:
        """The planner's input for this school (None without a competency graph)."""
        with self.lock:
            if self.planning is None and self.graph is not None:
                self.planning = planning.planning_input(self.graph, self.activities.values(),
                                                        self.model_params)
            return self.planning


def load_view(tenant_store: Any, engine: Any) -> SchoolView:
    """Read one tenant's school from its store (``engine``: the tenant's Engine, for the
    running model's per-skill parameters)."""
    ts = tenant_store
    try:
        graph = ts.get_graph()
    except NotFoundError:
        graph = None
    active = engine.active_model()
    params = {s: dict(p) for s, p in active.params.items()} if active is not None else {}
    return SchoolView(
        graph=graph,
        skills={s.id: s for s in ts.list_skills()},
        activities={a.id: a for a in ts.list_activities()},
        learners={learner.id: learner for learner in ts.list_learners()},
        classes={c.id: c for c in ts.list_classes()},
        model_params=params,
        policy=load_policy(ts),
        guardians={g.id: g for g in ts.list_guardians()},
    )


def load_policy(tenant_store: Any) -> PlanningPolicy:
    """The tenant's stored planning policy (the default policy when none is stored)."""
    try:
        return PlanningPolicy.from_record(tenant_store.get_document(POLICY_KIND, POLICY_ID).payload)
    except NotFoundError:
        return PlanningPolicy()

