"""Load the bundled demo school from ``data/demo_school/`` (no shared data needed)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.domain.catalog import ActivityCatalog
from engine.domain.classes import Class, Teacher
from engine.domain.evidence import Observation
from engine.domain.learners import Learner
from engine.domain.serialize import from_record
from engine.errors import NotFoundError, ValidationError
from engine.graph.competency import CompetencyGraph

REPO_ROOT = Path(__file__).resolve().parents[2]
_FIX = "regenerate it with `python -m engine.demo.generate`"


@dataclass(frozen=True)
class DemoSchool:
    """The demo school: everything one tenant (``tenant_id`` = ``"demo"``) needs.

    Attributes:
        graph: Common Core math grades 3-8 (240 skills, prerequisite + related edges).
        catalog: the activity catalog.
        learners, classes, teachers: tuples of domain objects.
        evidence: observations from ``evidence.csv``, in time order.
        bkt_params: skill id -> generating BKT parameters (p_init, p_learn, p_guess,
            p_slip, p_forget) of the synthetic evidence.
        path: the folder it was read from.
    """

    graph: CompetencyGraph
    catalog: ActivityCatalog
    learners: tuple[Learner, ...]
    classes: tuple[Class, ...]
    evidence: tuple[Observation, ...]
    teachers: tuple[Teacher, ...] = ()
    tenant_id: str = "demo"
    name: str = ""
    bkt_params: dict[str, dict[str, float]] | None = None
    path: Path | None = None

    def learner(self, learner_id: str) -> Learner:
        for lr in self.learners:
            if lr.id == learner_id:
                return lr
        raise NotFoundError(f"unknown learner {learner_id!r} in the demo school")

    def class_(self, class_id: str) -> Class:
        for c in self.classes:
            if c.id == class_id:
                return c
        raise NotFoundError(f"unknown class {class_id!r} in the demo school")


def default_demo_path() -> Path:
    """``$PATHWISE_DEMO_DATA``, else ``<repo>/data/demo_school`` (or ``./data/demo_school``
    when the package is installed outside the repository)."""
    env = os.environ.get("PATHWISE_DEMO_DATA")
    if env:
        return Path(env)
    bundled = REPO_ROOT / "data" / "demo_school"
    local = Path.cwd() / "data" / "demo_school"
    return bundled if bundled.is_dir() or not local.is_dir() else local


def _json(path: Path) -> Any:
    if not path.is_file():
        raise NotFoundError(f"demo school file {path} is missing; {_FIX}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not valid JSON ({exc}); {_FIX}") from None


def read_graph(path: Path) -> CompetencyGraph:
    data = _json(path)
    return from_record(CompetencyGraph, data["graph"] if "graph" in data else data)


def read_evidence(path: Path) -> tuple[Observation, ...]:
    """Observations of an ``evidence.csv`` (columns ``observation_id, learner_id,
    activity_id, skill_ids (';'-joined), score, observed_at, source``)."""
    if not path.is_file():
        raise NotFoundError(f"demo evidence file {path} is missing; {_FIX}")
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out.append(Observation(
                    observation_id=row["observation_id"], learner_id=row["learner_id"],
                    activity_id=row["activity_id"],
                    skill_ids=tuple(row["skill_ids"].split(";")), score=float(row["score"]),
                    observed_at=row["observed_at"], source=row["source"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValidationError(f"{path.name} line {i}: {exc}; {_FIX}") from None
    return tuple(out)


def load_demo_school(path: str | Path | None = None, *, with_evidence: bool = True
                     ) -> DemoSchool:
    """Read and cross-check the demo school (default :func:`default_demo_path`).

    Raises NotFoundError / ValidationError naming the file and the bad reference.
    """
    root = Path(path) if path is not None else default_demo_path()
    graph = read_graph(root / "graph.json")
    catalog = from_record(ActivityCatalog, _json(root / "catalog.json"))
    catalog.check_skills(graph.ids)
    school = _json(root / "school.json")
    teachers = tuple(from_record(Teacher, t) for t in school["teachers"])
    classes = tuple(from_record(Class, c) for c in school["classes"])
    learners = tuple(from_record(Learner, lr) for lr in _json(root / "learners.json"))
    learner_ids = {lr.id for lr in learners}
    teacher_ids = {t.id for t in teachers}
    for c in classes:
        bad = [x for x in c.roster if x not in learner_ids]
        bad_t = [x for x in c.teachers if x not in teacher_ids]
        if bad or bad_t:
            raise NotFoundError(
                f"school.json class {c.id!r} names unknown learner(s) {bad} / teacher(s) "
                f"{bad_t}; {_FIX}"
            )
    params = _json(root / "bkt_params.json")["skills"] if (root / "bkt_params.json").is_file() \
        else None
    evidence: tuple[Observation, ...] = ()
    if with_evidence:
        evidence = read_evidence(root / "evidence.csv")
        for ob in evidence:
            if ob.learner_id not in learner_ids or ob.activity_id not in catalog or any(
                    s not in graph for s in ob.skill_ids):
                raise NotFoundError(
                    f"evidence.csv observation {ob.observation_id!r} names an unknown learner, "
                    f"activity or skill ({ob.learner_id}, {ob.activity_id}, {ob.skill_ids}); "
                    f"{_FIX}"
                )
    return DemoSchool(graph, catalog, learners, classes, evidence, teachers,
                      school.get("tenant_id", "demo"), school.get("name", ""), params, root)
