"""Import the Achieve the Core Coherence Map (``data.js``) as a CompetencyGraph.

The file is one JavaScript assignment ``window.cc = {...}``; the JSON after the
first ``=`` holds ``standards`` (480 math standards K-12), ``clusters``,
``domains``, ``edges`` (757 directed prerequisite edges ``from`` -> ``to``) and
``nd_edges`` (related standards, listed in either or both directions).

Each standard becomes a :class:`Skill` whose ``id`` and ``code`` are the
standard code built from grade, domain, cluster and ordinal, e.g. ``"3.OA.A.1"``,
``"4.NF.B.3.a"``, ``"HSA-SSE.A.1.a"``. The standards' text is never stored:
titles come from the ``titles`` mapping (code -> short title you wrote) or
default to ``"<domain name> <cluster>.<ordinal>"``. ELA content in the file is ignored.
Credit: Coherence Map by Student Achievement Partners (connections CC0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from engine.domain.skills import Skill
from engine.errors import GraphError, ImportFormatError
from engine.graph.competency import CompetencyGraph, Edge, EdgeKind
from engine.imports._paths import shared_data_dir

GRADES = ("K", "1", "2", "3", "4", "5", "6", "7", "8", "HS")


def default_coherence_map_path() -> Path:
    return shared_data_dir() / "coherence-map" / "data.js"


def parse_coherence_map(text: str, name: str = "data.js") -> dict[str, Any]:
    """The JSON object assigned in ``data.js`` (``window.cc = {...};``)."""
    head, eq, body = text.partition("=")
    if not eq or "cc" not in head:
        raise ImportFormatError(
            f"{name} is not a Coherence Map file: expected 'window.cc = {{...}}' at the start"
        )
    body = body.strip().rstrip(";").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{name}: the object after '=' is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); use an unmodified copy of the Coherence Map data.js"
        ) from None
    for key in ("standards", "clusters", "domains", "edges"):
        if key not in data:
            raise ImportFormatError(
                f"{name}: missing the {key!r} block; use an unmodified copy of data.js"
            )
    return data


def _clean_domain(name: str) -> str:
    words = name.replace("*", "").split()
    small = {"and", "of", "in", "the", "with", "to"}
    return " ".join(w.lower() if i and w.lower() in small else w for i, w in enumerate(words))


def standard_codes(data: Mapping[str, Any],
                   name: str = "data.js") -> dict[str, tuple[str, str, str, str]]:
    """``{standard id: (code, grade, domain name, "cluster.ordinal")}`` for every standard."""
    clusters, domains = data["clusters"], data["domains"]
    out: dict[str, tuple[str, str, str, str]] = {}
    for sid, s in data["standards"].items():
        try:
            cluster = clusters[s["ccmathcluster_id"]]
            domain = domains[cluster["ccmathdomain_id"]]
            grade = str(domain["grade"])
            ordinal = str(s["ordinal"])
            sep = "" if grade == "HS" else "."
            code = f"{grade}{sep}{domain['ordinal']}.{cluster['ordinal']}.{ordinal}"
        except KeyError as exc:
            raise ImportFormatError(
                f"{name}: standard {sid!r} refers to a missing cluster/domain or lacks "
                f"{exc}; use an unmodified copy of data.js"
            ) from None
        out[str(sid)] = (code, grade, _clean_domain(str(domain["name"])),
                         f"{cluster['ordinal']}.{ordinal}")
    return out


def _skills(codes: Mapping[str, Any], keep: set[str] | None,
            titles: Mapping[str, str]) -> list[Skill]:
    """Skills for the standards in ``codes`` (id -> (code, grade, domain, local)),
    ordered by grade then code, restricted to grades in ``keep`` (None = all)."""

    def order(sid: str) -> tuple[int, list[Any]]:
        code, grade, _, _ = codes[sid]
        return GRADES.index(grade), [int(x) if x.isdigit() else x for x in code.split(".")]

    skills = []
    for sid in sorted(codes, key=order):
        code, grade, domain, local = codes[sid]
        if keep is not None and grade not in keep:
            continue
        default = f"{domain} {local}"
        skills.append(Skill(code, code, titles.get(code, default), grade, domain))
    return skills


def _edges(rows: Any, kind: EdgeKind, *, codes: Mapping[str, Any], kept: set[str],
           source: str) -> list[Edge]:
    """Edges of ``kind`` from data.js rows (``from``/``to`` standard ids) between kept skills."""
    out = []
    for k, row in enumerate(rows):
        try:
            a, b = codes[str(row["from"])][0], codes[str(row["to"])][0]
        except KeyError as exc:
            raise ImportFormatError(
                f"{source}: {kind} edge #{k} {row!r} names unknown standard {exc}; "
                "use an unmodified copy of data.js"
            ) from None
        if a in kept and b in kept and a != b:
            out.append(Edge(a, b, kind))
    return out


def load_coherence_map(path: str | Path | None = None, *,
                       titles: Mapping[str, str] | None = None,
                       grades: Iterable[str] | None = None,
                       related: bool = True) -> CompetencyGraph:
    """Build the Coherence Map competency graph.

    Args:
        path: ``data.js`` (default: ``<shared data>/coherence-map/data.js``).
        titles: optional ``code -> short title``; other skills get a default title.
        grades: keep only these grades (e.g. ``["3", ..., "8"]``); edges are induced.
        related: include the related-standard (soft) edges.

    Skills are ordered by grade (K..8, HS), then code. Raises ImportFormatError
    for a malformed file or edges naming unknown standards.
    """
    p = Path(path) if path is not None else default_coherence_map_path()
    if not p.is_file():
        raise ImportFormatError(
            f"Coherence Map file {str(p)!r} not found; pass its path or set PATHWISE_SHARED_DATA"
        )
    data = parse_coherence_map(p.read_text(encoding="utf-8"), p.name)
    codes = standard_codes(data, p.name)
    keep = None if grades is None else {str(g) for g in grades}
    if keep is not None and not keep <= set(GRADES):
        raise ImportFormatError(f"unknown grade(s) {sorted(keep - set(GRADES))}; use {GRADES}")
    skills = _skills(codes, keep, titles or {})
    kept = {s.id for s in skills}
    edges = partial(_edges, codes=codes, kept=kept, source=p.name)
    all_edges = edges(data["edges"], EdgeKind.PREREQUISITE)
    if related:
        all_edges += edges(data.get("nd_edges", []), EdgeKind.RELATED)
    try:
        return CompetencyGraph(tuple(skills), tuple(all_edges), name="Coherence Map (CCSS math)")
    except GraphError as exc:
        raise ImportFormatError(f"{p.name}: {exc}") from None
