"""CASE 1.0 import: every shared package loads (schema-validated); malformed input is named."""

from __future__ import annotations

import copy
import json

import pytest

from engine.errors import ImportFormatError
from engine.graph import EdgeKind
from engine.imports import load_case_package
from tests.conftest import require_shared

PACKAGES = ["sample-framework.json", "Ordering.json", "SmartLevelFramework.json",
            "SequenceNumberFramework.json", "Utf8TestFramework.json"]
SCHEMA = "case/case-v1p0-cfpackage-schema.json"


def tiny_package():
    doc = "d0000000-0000-0000-0000-000000000000"

    def item(i):
        return {"identifier": f"00000000-0000-0000-0000-00000000000{i}",
                "uri": f"https://x/{i}", "lastChangeDateTime": "2020-01-01T00:00:00+00:00",
                "fullStatement": f"Item {i}", "humanCodingScheme": f"T.{i}"}

    def assoc(i, origin, kind, dest):
        return {"identifier": f"a0000000-0000-0000-0000-00000000000{i}", "uri": f"https://x/a{i}",
                "lastChangeDateTime": "2020-01-01T00:00:00+00:00", "associationType": kind,
                "originNodeURI": {"title": "o", "identifier": origin, "uri": "https://x/o"},
                "destinationNodeURI": {"title": "d", "identifier": dest, "uri": "https://x/d"}}

    items = [item(i) for i in range(1, 4)]
    ids = [it["identifier"] for it in items]
    return {
        "CFDocument": {"identifier": doc, "uri": "https://x/doc", "creator": "t",
                       "title": "Tiny", "lastChangeDateTime": "2020-01-01T00:00:00+00:00"},
        "CFItems": items,
        "CFAssociations": [
            assoc(1, ids[0], "isChildOf", doc),
            assoc(2, ids[1], "isChildOf", ids[0]),
            assoc(3, ids[2], "isChildOf", ids[0]),
            assoc(4, ids[1], "precedes", ids[2]),
            assoc(5, ids[1], "isRelatedTo", ids[0]),
        ],
    }


@pytest.fixture(scope="module")
def schema_path():
    return require_shared(SCHEMA)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", PACKAGES)
def test_every_shared_case_package_loads_and_validates(name, schema_path):
    result = load_case_package(require_shared(f"case/{name}"), schema=schema_path)
    assert result.schema_validated
    raw = json.loads((schema_path.parent / name).read_text(encoding="utf-8"))
    assert len(result.graph) == len(raw["CFItems"])
    assert result.document_id == raw["CFDocument"]["identifier"]
    assert all(s.case_id == s.id for s in result.graph.skills)
    result.graph.topological_order()  # acyclic


@pytest.mark.shared_data
def test_sample_framework_mapping(schema_path):
    r = load_case_package(require_shared("case/sample-framework.json"), schema=schema_path)
    g = r.graph
    assert len(g) == 16
    assert len(g.edges_of(EdgeKind.PARENT)) == 14        # 16 isChildOf, 2 point at the document
    assert len(g.edges_of(EdgeKind.PREREQUISITE)) == 2   # 3 precedes, 1 leaves the package
    assert len(r.skipped) == 3 and all("not an item of this package" in s for s in r.skipped)
    # the two export quirks are normalised and reported
    assert any("sequenceNumber" in w and "read as integer" in w for w in r.warnings)
    assert any("null treated as absent" in w for w in r.warnings)
    s = g.by_code("CCSS.Math.Content.6.RP.A.1")
    assert s.grade == "06" and s.domain == "Standard"
    assert g.parents(s.id) == (g.by_code("CCSS.Math.Content.6.RP.A").id,)
    with pytest.raises(ImportFormatError, match=r"CFAssociations\[32\]: dangling reference"):
        load_case_package(require_shared("case/sample-framework.json"), schema=schema_path,
                          strict=True)


def test_tiny_package_without_schema_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWISE_CASE_SCHEMA", str(tmp_path / "missing.json"))
    r = load_case_package(tiny_package())
    assert not r.schema_validated
    assert any("schema not found" in w and "structural checks" in w for w in r.warnings)
    g = r.graph
    a, b, c = (s.id for s in g.skills)
    assert g.children(a) == (b, c) and g.prerequisites(c) == (b,) and g.related(a) == (b,)
    assert g.skill(a).code == "T.1" and g.skill(a).title == "Item 1"
    with pytest.raises(ImportFormatError, match="the CASE 1.0 JSON schema is not at"):
        load_case_package(tiny_package(), schema=True)


@pytest.mark.shared_data
def test_tiny_package_validates_against_official_schema(schema_path):
    assert load_case_package(tiny_package(), schema=schema_path).schema_validated


@pytest.mark.shared_data
def test_schema_violation_names_the_entry(schema_path):
    pkg = tiny_package()
    pkg["CFItems"][1]["lastChangeDateTime"] = 12
    with pytest.raises(ImportFormatError) as exc:
        load_case_package(pkg, schema=schema_path)
    msg = str(exc.value)
    assert "CFItems[1].lastChangeDateTime" in msg and "CFPackageItem" in msg
    assert "fix these entries" in msg


def _broken(mutate):
    pkg = tiny_package()
    mutate(pkg)
    return pkg


@pytest.mark.parametrize("mutate, msg", [
    (lambda p: p.pop("CFDocument"), "CFDocument: missing or not an object"),
    (lambda p: p["CFItems"][2].update(identifier=p["CFItems"][0]["identifier"]),
     r"CFItems\[2\].identifier: duplicate identifier"),
    (lambda p: p["CFItems"][0].pop("fullStatement"), r"CFItems\[0\].fullStatement: missing"),
    (lambda p: p["CFAssociations"][1].pop("originNodeURI"),
     r"CFAssociations\[1\].originNodeURI: missing"),
    (lambda p: p["CFAssociations"].append(copy.deepcopy(p["CFAssociations"][3]) | {
        "originNodeURI": p["CFAssociations"][3]["destinationNodeURI"],
        "destinationNodeURI": p["CFAssociations"][3]["originNodeURI"]}),
     "prerequisite edges form a cycle"),
    (lambda p: p.update(CFItems="nope"), "CFItems: is not a list"),
])
def test_malformed_packages_raise_named_errors(mutate, msg):
    with pytest.raises(ImportFormatError, match=msg):
        load_case_package(_broken(mutate), schema=False)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"CFDocument": {', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"'bad.json' is not valid JSON: .* line 1"):
        load_case_package(bad)
    with pytest.raises(ImportFormatError, match="does not exist"):
        load_case_package(tmp_path / "nope.json")
    lst = tmp_path / "list.json"
    lst.write_text("[]", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="must be a JSON object"):
        load_case_package(lst, schema=False)


@pytest.mark.shared_data
def test_load_case_folder_loads_every_package():
    folder = require_shared("case/sample-framework.json").parent
    from engine.imports import load_case_folder

    loaded = load_case_folder(folder)
    assert sorted(loaded) == sorted(PACKAGES)
    assert all(r.schema_validated for r in loaded.values())
    with pytest.raises(ImportFormatError, match="CASE folder .* does not exist"):
        load_case_folder(folder / "nope")


@pytest.mark.parametrize("code, expected", [
    ("CCSS.Math.Content.6.RP.A.3a", "6.RP.A.3.a"),
    ("CCSS.Math.Content.6.RP.A", "6.RP.A"),
    ("CCSS.Math.Content.HSA-SSE.A.1a", "HSA-SSE.A.1.a"),
    ("K.CC.A.1", "K.CC.A.1"),
    ("4.NF.B.3.a", "4.NF.B.3.a"),
    ("H.A.MATH.GM", None),
    ("SNT.1", None),
    ("Item 1", None),
])
def test_ccss_code(code, expected):
    from engine.imports import ccss_code

    assert ccss_code(code) == expected


@pytest.mark.shared_data
def test_attach_case_ids_links_coherence_map_skills():
    from engine.imports import attach_case_ids, load_coherence_map

    case = load_case_package(require_shared("case/sample-framework.json"))
    graph, linked = attach_case_ids(load_coherence_map(require_shared("coherence-map/data.js")),
                                    case)
    assert linked == 14  # 6.RP.A.1-3 + a-d and 7.RP.A.1-3 + a-d (clusters are not skills)
    s = graph.skill("6.RP.A.3.a")
    assert s.case_id == case.graph.by_code("CCSS.Math.Content.6.RP.A.3a").id
    assert graph.skill("3.OA.A.1").case_id is None
