"""The bundled demo school: loads from data/ alone, is complete and varied, regenerates
byte-for-byte."""

from __future__ import annotations

import collections
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.demo import load_demo_school
from engine.demo.generate import FILES, build_graph, generate
from engine.domain import BLENDED_MODELS, MAX_CLASS_SIZE, Actor
from engine.domain.catalog import ActivityKind, Format, Modality, Place
from engine.errors import NotFoundError, ValidationError
from tests.conftest import REPO_ROOT, require_shared

DEMO = REPO_ROOT / "data" / "demo_school"


@pytest.fixture(scope="module")
def school():
    return load_demo_school()


def test_loads_without_shared_data(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWISE_SHARED_DATA", str(tmp_path / "no-shared"))
    monkeypatch.delenv("PATHWISE_DEMO_DATA", raising=False)
    s = load_demo_school()
    assert s.tenant_id == "demo" and s.path == DEMO
    assert len(s.graph) == 240 and len(s.classes) == 7


def test_graph_is_common_core_3_to_8(school):
    g = school.graph
    assert {s.grade for s in g.skills} == {"3", "4", "5", "6", "7", "8"}
    assert len(g.edges_of("prerequisite")) == 340
    assert all(s.id == s.code and 0 < len(s.title) < 45 for s in g.skills)
    assert "5.NF.A.1" in g.descendants("4.NF.A.1")


def test_catalog_covers_every_kind_modality_place_format(school):
    cat = school.catalog
    assert 300 <= len(cat) <= 800
    assert {a.kind for a in cat} == set(ActivityKind)
    assert {a.modality for a in cat} == set(Modality)
    assert {a.place for a in cat} == set(Place)
    assert set().union(*(a.formats for a in cat)) == set(Format)
    assert all(cat.for_skill(s) for s in school.graph.ids)  # every skill has activities
    assert {a.language for a in cat} == {"en", "es"}
    assert any(len(a.skills) == 2 for a in cat) and any(a.interests for a in cat)
    assert {a.device for a in cat} >= {None, "laptop", "tablet"}


def test_every_learner_has_enough_compatible_activities(school):
    """Each learner's accommodations and language are met by many activities of their grade
    band, yet accommodations still rule activities out (none online cuts screen time)."""
    grade = {s.id: int(s.grade) for s in school.graph.skills}
    cat = school.catalog
    for lr in school.learners:
        need = set(lr.profile.accommodations.value)
        g = int(lr.grade)
        fits = [a for a in cat if need <= a.accommodations and a.language == lr.language
                and all(g - 2 <= grade[k] <= g for k, _ in a.skills)]
        assert len(fits) >= 10, (lr.id, sorted(need), lr.language, len(fits))
    online = [a for a in cat if a.modality == "online"]
    assert not any("reduced_screen_time" in a.accommodations for a in online)
    for acc in ("text_to_speech", "extended_time", "speech_to_text", "quiet_space"):
        share = sum(acc in a.accommodations for a in cat) / len(cat)
        assert 0.3 < share < 1.0, (acc, share)  # common, but not universal
    assert sum(a.language == "es" for a in cat) >= 100


def test_classes_one_per_blended_model_and_small(school):
    assert {type(c.model).tag for c in school.classes} == set(BLENDED_MODELS)
    assert all(len(c.roster) <= MAX_CLASS_SIZE for c in school.classes)
    rosters = [lid for c in school.classes for lid in c.roster]
    assert sorted(rosters) == sorted(lr.id for lr in school.learners)  # disjoint, complete
    teacher_ids = {t.id for t in school.teachers}
    assert all(set(c.teachers) <= teacher_ids and c.schedule for c in school.classes)
    assert school.class_("c-3-station").grade == "3"
    with pytest.raises(NotFoundError):
        school.class_("c-9")


def test_learner_profiles_are_varied_and_provenanced(school):
    ls = school.learners
    assert 100 <= len(ls) <= 140
    assert len({lr.name for lr in ls}) > 50
    assert sum(bool(lr.profile.accommodations.value) for lr in ls) >= 15
    devices = collections.Counter(d for lr in ls for d in lr.profile.availability.value.devices)
    assert {"laptop", "tablet", "phone"} <= set(devices)
    assert len({i for lr in ls for i in lr.profile.interests.value}) >= 12
    assert all(lr.profile.aspirations.value and lr.profile.goal_skills.value for lr in ls)
    assert all(set(lr.profile.goal_skills.value) <= set(school.graph.ids) for lr in ls)
    setters = {getattr(lr.profile, f).set_by for lr in ls for f in lr.profile.FIELDS}
    assert setters == set(Actor)
    revised = [lr for lr in ls if len(lr.profile.audit("interests")) == 3]
    assert revised  # some students changed their interests during the term
    first = ls[0].profile.audit("interests")
    assert [c.previous.set_by for c in first][:2] == [Actor.SYSTEM, Actor.STUDENT]


def test_evidence_file_shape(school):
    with (DEMO / "evidence.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == ["observation_id", "learner_id", "activity_id", "skill_ids", "score",
                      "observed_at", "source"]
    assert 10_000 <= len(rows) <= 60_000 and len(rows) == len(school.evidence)
    ev = school.evidence
    assert len({o.observation_id for o in ev}) == len(ev)
    times = [o.observed_at for o in ev]
    assert times == sorted(times)
    assert all(0.0 <= o.score <= 1.0 for o in ev)
    assert {o.source for o in ev} == {"lms", "teacher_observation", "self_report"}
    assert all(r[5].endswith("Z") for r in rows[:100])
    assert any(";" in r[3] for r in rows)
    assert sum(p.stat().st_size for p in DEMO.iterdir()) < 5_000_000


def test_evidence_shows_learning(school):
    """Scores rise with practice on a skill (the BKT learning transition is visible)."""
    opp: collections.Counter = collections.Counter()
    by_opp = collections.defaultdict(list)
    for o in school.evidence:
        key = (o.learner_id, o.skill_ids[0])
        opp[key] += 1
        by_opp[min(opp[key], 6)].append(o.score)
    mean = {k: sum(v) / len(v) for k, v in by_opp.items()}
    assert mean[1] + 0.15 < mean[6]
    assert school.bkt_params is not None and set(school.bkt_params) == set(school.graph.ids)


def test_regenerates_byte_for_byte_without_shared(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWISE_SHARED_DATA", str(tmp_path / "no-shared"))
    counts = generate(tmp_path / "out")
    assert counts["graph_source"].startswith("committed")
    for name in FILES:
        assert (tmp_path / "out" / name).read_bytes() == (DEMO / name).read_bytes(), name
    again = load_demo_school(tmp_path / "out")
    assert again.graph == load_demo_school(with_evidence=False).graph


@pytest.mark.shared_data
def test_committed_graph_matches_the_coherence_map():
    from engine.demo.generate import _dump
    from engine.domain import to_record

    graph, source = build_graph(require_shared("coherence-map/data.js"))
    assert source.startswith("Coherence Map")
    committed = json.loads((DEMO / "graph.json").read_text(encoding="utf-8"))
    assert json.loads(_dump({"credit": committed["credit"], "graph": to_record(graph)})) == \
        committed


def test_load_errors_name_the_problem(tmp_path):
    bad = tmp_path / "demo"
    shutil.copytree(DEMO, bad)
    (bad / "learners.json").unlink()
    with pytest.raises(NotFoundError, match="learners.json is missing; regenerate it"):
        load_demo_school(bad, with_evidence=False)
    shutil.copy(DEMO / "learners.json", bad / "learners.json")
    school = json.loads((bad / "school.json").read_text())
    school["classes"][0]["roster"][0] = "L999"
    (bad / "school.json").write_text(json.dumps(school))
    with pytest.raises(NotFoundError, match=r"class 'c-3-station' names unknown learner\(s\) "
                                            r"\['L999'\]"):
        load_demo_school(bad, with_evidence=False)
    shutil.copy(DEMO / "school.json", bad / "school.json")
    lines = (DEMO / "evidence.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",lms", ",rumour").replace(",teacher_observation", ",rumour")\
        .replace(",self_report", ",rumour")
    (bad / "evidence.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError, match="source 'rumour' is unknown"):
        load_demo_school(bad)
    (bad / "catalog.json").write_text("{")
    with pytest.raises(ValidationError, match="catalog.json is not valid JSON"):
        load_demo_school(bad)


def test_generate_cli_help():
    out = subprocess.run([sys.executable, "-m", "engine.demo.generate", "--help"],
                         capture_output=True, text=True, cwd=Path(REPO_ROOT), check=True)
    assert "--coherence-map" in out.stdout and "--seed" in out.stdout
