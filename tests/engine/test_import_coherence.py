"""Coherence Map import: 480 standards, 757 prerequisite edges, acyclic; errors named."""

from __future__ import annotations

import pytest

from engine.errors import ImportFormatError
from engine.graph import EdgeKind
from engine.imports import load_coherence_map
from engine.imports.coherence_map import parse_coherence_map
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def cmap():
    return require_shared("coherence-map/data.js")


@pytest.mark.shared_data
def test_full_coherence_map_counts(cmap):
    g = load_coherence_map(cmap)
    assert len(g) == 480
    assert len(g.edges_of(EdgeKind.PREREQUISITE)) == 757
    assert len(g.edges_of(EdgeKind.RELATED)) == 142
    assert {s.grade for s in g.skills} == {"K", "1", "2", "3", "4", "5", "6", "7", "8", "HS"}
    # longest prerequisite chain: 30 edges (31 standards)
    depth: dict[str, int] = {}
    for s in g.topological_order():
        depth[s] = max((depth[p] + 1 for p in g.prerequisites(s)), default=0)
    assert max(depth.values()) == 30


@pytest.mark.shared_data
def test_codes_titles_and_no_standard_text(cmap):
    g = load_coherence_map(cmap, titles={"3.OA.A.1": "Meaning of multiplication"})
    s = g.skill("3.OA.A.1")
    assert (s.code, s.grade, s.domain, s.title) == (
        "3.OA.A.1", "3", "Operations and Algebraic Thinking", "Meaning of multiplication")
    assert g.skill("4.NF.B.3.a").title == "Number and Operations-Fractions B.3.a"
    assert "HSA-SSE.A.1.a" in g
    assert max(len(x.title) for x in g.skills) < 70
    assert not any("<p>" in x.title for x in g.skills)
    assert "4.NF.A.1" in g.ancestors("5.NF.A.1")


@pytest.mark.shared_data
def test_grade_subset_is_induced(cmap):
    g = load_coherence_map(cmap, grades=["3", "4", "5", "6", "7", "8"], related=False)
    assert len(g) == 240 and {s.grade for s in g.skills} == {"3", "4", "5", "6", "7", "8"}
    assert len(g.edges_of(EdgeKind.PREREQUISITE)) == 340 and not g.edges_of("related")
    with pytest.raises(ImportFormatError, match=r"unknown grade\(s\) \['13'\]"):
        load_coherence_map(cmap, grades=["13"])


def test_malformed_files(tmp_path):
    with pytest.raises(ImportFormatError, match="not found"):
        load_coherence_map(tmp_path / "nope.js")
    with pytest.raises(ImportFormatError, match="expected 'window.cc = {...}'"):
        parse_coherence_map("var x;")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        parse_coherence_map("window.cc = {bad")
    with pytest.raises(ImportFormatError, match="missing the 'edges' block"):
        parse_coherence_map('window.cc = {"standards": {}, "clusters": {}, "domains": {}};')
    f = tmp_path / "data.js"
    f.write_text(
        'window.cc = {"standards": {"1": {"id": "1", "ccmathcluster_id": "9", "ordinal": "1"}},'
        '"clusters": {"9": {"ccmathdomain_id": "5", "ordinal": "A"}},'
        '"domains": {"5": {"grade": "3", "ordinal": "OA", "name": "Ops"}},'
        '"edges": [{"from": "1", "to": "77"}]};', encoding="utf-8")
    with pytest.raises(ImportFormatError, match="names unknown standard '77'"):
        load_coherence_map(f)
    f.write_text(f.read_text().replace('"to": "77"', '"to": "1"'), encoding="utf-8")
    g = load_coherence_map(f)  # self-edge dropped, one skill
    assert g.ids == ("3.OA.A.1",)
