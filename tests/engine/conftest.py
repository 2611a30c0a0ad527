"""Engine test fixtures: the real temporary PostgreSQL server and a store of each backend."""

from __future__ import annotations

import pytest

from tests.engine.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    """A fresh store URL: an SQLite file, or a new database on the temporary PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url):
    from engine.store import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def school():
    """A tiny school: 4 skills (S1 -> S2 -> S3 prerequisites, S4 alone), 3 activities,
    3 learners, 1 class (L1, L2; teacher T1)."""
    from types import SimpleNamespace

    from engine.domain.catalog import Activity
    from engine.domain.classes import Class, Flipped
    from engine.domain.learners import Learner
    from engine.domain.skills import Skill
    from engine.graph import CompetencyGraph, Edge

    skills = tuple(Skill(f"S{i}", f"S.{i}", f"Skill {i}", grade="3", domain="OA") for i in range(1, 5))
    graph = CompetencyGraph(skills, (Edge("S1", "S2"), Edge("S2", "S3")), name="tiny")
    activities = (
        Activity("A1", "Practice 1-2", (("S1", 1.0), ("S2", 0.5)), "practice", "online", "school", 15, 0.3),
        Activity("A2", "Lesson 3", (("S3", 1.0),), "lesson", "teacher_led", "school", 20, 0.5),
        Activity("A3", "Project 4", (("S4", 1.0),), "project", "collaborative", "home", 40, 0.6),
    )
    learners = tuple(Learner(f"L{i}", f"Learner {i}", "3") for i in range(1, 4))
    classes = (Class("C1", "Class one", "3", ("T1",), ("L1", "L2"), Flipped(20, 40)),)
    return SimpleNamespace(graph=graph, catalog=activities, learners=learners, classes=classes,
                           evidence=None)
