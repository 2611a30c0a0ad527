"""Fixtures: a demo-school store built once per session and copied for each test module.

Two tenants: ``demo`` (the bundled demo school, with demo keys) and ``rival`` (a tiny
school of its own) for cross-tenant attempts.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings

RIVAL_KEYS = {"admin": "pw-rival-admin", "lms": "pw-rival-lms", "teacher": "pw-rival-teacher",
              "researcher": "pw-rival-researcher"}


def _rival_school():
    from engine.domain import Activity, Class, Learner, Skill, Teacher
    from engine.domain.classes import Flex
    from engine.graph import CompetencyGraph
    from engine.graph.competency import Edge

    skills = (Skill("r.1", "R.1", "Counting", "3", "R"), Skill("r.2", "R.2", "Adding", "3", "R"))
    graph = CompetencyGraph(skills, (Edge("r.1", "r.2"),), "rival")
    act = Activity(id="RA1", title="Rival counting game", skills=(("r.1", 1.0),), kind="practice",
                   modality="online", place="school", duration_min=15, difficulty=0.3)
    learner = Learner("R001", "Rita R.", "3")
    cls = Class("rc-1", "Rival class", "3", ("t-rival",), ("R001",), Flex(1, 15, 4))

    @dataclass
    class School:
        graph: object
        catalog: tuple
        learners: tuple
        classes: tuple
        teachers: tuple = (Teacher("t-rival", "Ms Rival"),)
        evidence: tuple = ()

    return School(graph, (act,), (learner,), (cls,))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """A SQLite file with the demo school (tenant demo) and the rival school, plus keys."""
    from engine.app import Pathwise
    from engine.app.demo import ensure_demo

    path = tmp_path_factory.mktemp("template") / "pathwise.db"
    pathwise = Pathwise.open(f"sqlite:///{path}")
    try:
        ensure_demo(pathwise, "demo")
        rival = pathwise.school("rival")
        rival.engine.load_school(_rival_school())
        pathwise.invalidate("rival")
        for role, key in RIVAL_KEYS.items():
            rival.setup_key(role, name=f"rival {role}", key=key,
                            teacher_id="t-rival" if role == "teacher" else None)
    finally:
        pathwise.close()
    return path


def copy_db(template: Path, dest_dir: Path) -> str:
    dest = dest_dir / "pathwise.db"
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(template) + suffix)
        if src.exists():
            shutil.copy(src, str(dest) + suffix)
    return f"sqlite:///{dest}"


def make_client(template: Path, dest_dir: Path, **overrides) -> TestClient:
    from service.app import create_app

    settings = Settings(db_url=copy_db(template, dest_dir), demo=True, tenant="demo",
                        warm_kernels=False, log_level="WARNING", session_secret="test-secret",
                        **overrides)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def client(template_db, tmp_path_factory):
    """One app per test module over its own copy of the template store."""
    with make_client(template_db, tmp_path_factory.mktemp("db")) as c:
        yield c


@pytest.fixture()
def fresh_client(template_db, tmp_path):
    """An app over a fresh copy, for tests that change or delete data."""
    with make_client(template_db, tmp_path) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


ADMIN = auth("pw-demo-admin")
LMS = auth("pw-demo-lms")
RESEARCHER = auth("pw-demo-researcher")
ORTIZ = auth("pw-demo-teacher-t-ortiz")  # teaches c-3-station
NGUYEN = auth("pw-demo-teacher-t-nguyen")  # teaches c-4-lab
RIVAL_ADMIN = auth(RIVAL_KEYS["admin"])
RIVAL_LMS = auth(RIVAL_KEYS["lms"])
RIVAL_TEACHER = auth(RIVAL_KEYS["teacher"])


def roster(client, class_id: str) -> list[str]:
    r = client.get(f"/v1/classes/{class_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["roster"]]


def run_serve(monkeypatch, workers: int) -> tuple[Settings | None, dict[str, str]]:
    """``pathwise serve --workers N`` (``service.cli.serve_command.run``) with no server and no
    store: the settings its one-process app was built with (None for several workers) and the
    ``PATHWISE_*`` environment it leaves for worker processes (undone after the test)."""
    import os

    import uvicorn

    import service.app
    from service.cli import serve_command

    seen: dict[str, Settings] = {}
    monkeypatch.setattr(service.app, "create_app", lambda settings, **kw: seen.setdefault("one", settings))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setattr(serve_command, "_prepare_once", lambda settings: (None, None))
    for name in serve_command._worker_env(Settings()):
        monkeypatch.delenv(name, raising=False)  # run() sets them for its workers
    args = serve_command.argparse.Namespace(
        db="sqlite:///unused.db", host=None, port=None, tenant=None, demo=False, log_level=None,
        no_warm=True, workers=workers)
    assert serve_command.run(args) == 0
    return seen.get("one"), {k: v for k, v in os.environ.items() if k.startswith("PATHWISE_")}
