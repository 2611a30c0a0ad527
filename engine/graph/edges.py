"""Edges of the competency graph and the checks and index arrays the graph is built from
(:class:`engine.graph.competency.CompetencyGraph` validates and indexes with these)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from engine.domain import _checks as c
from engine.domain.skills import Skill
from engine.errors import GraphError


class EdgeKind(StrEnum):
    """``prerequisite``: source must be learned before target (hard).
    ``related``: soft, undirected link. ``parent``: source is the parent of target."""

    PREREQUISITE = "prerequisite"
    RELATED = "related"
    PARENT = "parent"


@dataclass(frozen=True, slots=True, order=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind = EdgeKind.PREREQUISITE

    def __post_init__(self) -> None:
        c.text("Edge", "source", self.source)
        c.text("Edge", "target", self.target)
        object.__setattr__(self, "kind", c.enum("Edge", "kind", self.kind, EdgeKind))
        if self.source == self.target:
            raise GraphError(
                f"{self.kind} edge {self.source!r} -> {self.target!r} is a self-loop; remove it"
            )


class Gap(NamedTuple):
    """An unmastered prerequisite ancestor found by :meth:`CompetencyGraph.gaps`."""

    skill_id: str
    distance: int  # prerequisite hops from the diagnosed skill (1 = direct prerequisite)
    mastery: float


def csr(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each node ``i`` in ``dst``: its ``src`` neighbours (indptr, indices), sorted."""
    order = np.lexsort((src, dst))
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    return indptr, src[order].astype(np.int32)


def skill_index(skills: tuple[Skill, ...]) -> dict[str, int]:
    """Skill id -> position; GraphError for a non-Skill or duplicate ids."""
    for s in skills:
        if not isinstance(s, Skill):
            raise GraphError(f"CompetencyGraph.skills holds Skill objects, got {s!r}")
    index: dict[str, int] = {}
    dups: list[str] = []
    for i, s in enumerate(skills):
        if s.id in index:
            dups.append(s.id)
        index[s.id] = i
    if dups:
        raise GraphError(
            f"duplicate skill id(s) {sorted(set(dups))[:20]}; give every skill a unique id"
        )
    return index


def unique_edges(given: Iterable[Edge], index: Mapping[str, int]) -> list[Edge]:
    """``given`` without repeats (related pairs are unordered); GraphError for a non-Edge
    or edges naming skills not in ``index`` (dangling)."""
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    dangling: list[str] = []
    for e in given:
        if not isinstance(e, Edge):
            raise GraphError(f"CompetencyGraph.edges holds Edge objects, got {e!r}")
        missing = [x for x in (e.source, e.target) if x not in index]
        if missing:
            dangling.append(f"{e.kind} {e.source!r}->{e.target!r} (unknown {missing})")
            continue
        key = ((min(e.source, e.target), max(e.source, e.target), e.kind)
               if e.kind == EdgeKind.RELATED else (e.source, e.target, e.kind))
        if key in seen:
            continue
        seen.add(key)
        edges.append(e)
    if dangling:
        raise GraphError(
            f"{len(dangling)} dangling edge(s) reference skills not in the graph: "
            + "; ".join(dangling[:10]) + ("; ..." if len(dangling) > 10 else "")
            + " - add the skills or remove the edges"
        )
    return edges


def edge_arrays(edges: list[Edge], index: Mapping[str, int],
                 kind: EdgeKind) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) int32 (m,) skill positions of the edges of ``kind``."""
    pairs = [(index[e.source], index[e.target]) for e in edges if e.kind == kind]
    a = np.array(pairs, dtype=np.int32).reshape(-1, 2)
    return a[:, 0].copy(), a[:, 1].copy()
