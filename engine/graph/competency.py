"""The competency graph and its queries (ancestors, topological order, ready-to-learn, gaps).

Skills are indexed ``0..n-1`` in the order given. Prerequisite and parent/child
edges are kept as CSR index arrays (``int32``), built once in ``__post_init__``,
so the planner's frequent queries (``ready_to_learn``, ``gaps``) are a few NumPy
operations. Mastery values are probabilities in [0, 1].
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.domain import _checks as c
from engine.domain.policy import DEFAULT_POLICY
from engine.domain.skills import Skill
from engine.errors import GraphError, NotFoundError, ValidationError
from engine.graph.edges import (
    Edge,
    EdgeKind,
    Gap,
    csr,
    edge_arrays,
    skill_index,
    unique_edges,
)

__all__ = ["MASTERED", "CompetencyGraph", "Edge", "EdgeKind", "Gap"]

#: Default "mastered" threshold of the queries: the default PlanningPolicy's (callers pass the
#: tenant's ``PlanningPolicy.mastered_threshold``).
MASTERED = DEFAULT_POLICY.mastered_threshold


@dataclass(frozen=True, slots=True)
class CompetencyGraph:
    """An immutable, validated competency graph.

    Raises :class:`GraphError` on duplicate skill ids, edges naming unknown
    skills (dangling), or a cycle among prerequisite (or parent) edges — the
    message names the offending ids / the skills on the cycle. Identical edges
    and repeated related pairs are collapsed.
    """

    skills: tuple[Skill, ...]
    edges: tuple[Edge, ...] = ()
    name: str = ""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _prereq: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _dependent: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _parent: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _child: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _related: dict[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _topo: np.ndarray = field(init=False, repr=False, compare=False)
    _rank: np.ndarray = field(init=False, repr=False, compare=False)
    _psrc: np.ndarray = field(init=False, repr=False, compare=False)
    _pdst: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        skills = tuple(self.skills)
        index = skill_index(skills)
        edges = unique_edges(self.edges, index)
        set_ = object.__setattr__
        set_(self, "skills", skills)
        set_(self, "edges", tuple(edges))
        set_(self, "_index", index)
        n = len(skills)
        psrc, pdst = edge_arrays(edges, index, EdgeKind.PREREQUISITE)
        hsrc, hdst = edge_arrays(edges, index, EdgeKind.PARENT)
        set_(self, "_psrc", psrc)
        set_(self, "_pdst", pdst)
        set_(self, "_prereq", csr(n, psrc, pdst))      # prerequisites of each skill
        set_(self, "_dependent", csr(n, pdst, psrc))   # skills that need each skill
        set_(self, "_parent", csr(n, hsrc, hdst))      # parents of each skill
        set_(self, "_child", csr(n, hdst, hsrc))       # children of each skill
        related: dict[int, list[int]] = {}
        for e in edges:
            if e.kind == EdgeKind.RELATED:
                a, b = index[e.source], index[e.target]
                related.setdefault(a, []).append(b)
                related.setdefault(b, []).append(a)
        set_(self, "_related", {k: tuple(sorted(set(v))) for k, v in related.items()})
        self._check_acyclic(self._parent, self._child, "parent/child")
        topo = self._check_acyclic(self._prereq, self._dependent, "prerequisite")
        set_(self, "_topo", topo)
        rank = np.empty(n, dtype=np.int32)
        rank[topo] = np.arange(n, dtype=np.int32)
        set_(self, "_rank", rank)

    # ------------------------------------------------------------------ validation
    def _check_acyclic(self, preds: tuple[np.ndarray, np.ndarray],
                       succs: tuple[np.ndarray, np.ndarray], what: str) -> np.ndarray:
        """Kahn's algorithm (ties broken by skill index); raises GraphError on a cycle."""
        n = len(self.skills)
        pptr = preds[0]
        sptr, sidx = succs
        indeg = np.diff(pptr).astype(np.int64)
        heap = [i for i in range(n) if indeg[i] == 0]
        heapq.heapify(heap)
        order: list[int] = []
        while heap:
            i = heapq.heappop(heap)
            order.append(i)
            for j in sidx[sptr[i]:sptr[i + 1]]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    heapq.heappush(heap, int(j))
        if len(order) < n:
            cycle = self._find_cycle(preds, {i for i in range(n) if indeg[i] > 0})
            ids = [self.skills[i].id for i in cycle]
            raise GraphError(
                f"{what} edges form a cycle: {' -> '.join(ids + [ids[0]])}; "
                "remove one of these edges"
            )
        return np.array(order, dtype=np.int32)

    def _find_cycle(self, preds: tuple[np.ndarray, np.ndarray], left: set[int]) -> list[int]:
        # every node left by Kahn has a predecessor that is also left: walk back until repeat
        ptr, idx = preds
        start = min(left)
        path: list[int] = []
        pos: dict[int, int] = {}
        i = start
        while i not in pos:
            pos[i] = len(path)
            path.append(i)
            i = next(int(j) for j in idx[ptr[i]:ptr[i + 1]] if int(j) in left)
        cyc = path[pos[i]:]
        cyc.reverse()  # walked predecessors; report in prerequisite -> dependent order
        k = cyc.index(min(cyc))  # start at the lowest-index skill (deterministic)
        return cyc[k:] + cyc[:k]

    # ------------------------------------------------------------------ basic access
    def __len__(self) -> int:
        return len(self.skills)

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        """Skill ids in index order."""
        return tuple(s.id for s in self.skills)

    def index_of(self, skill_id: str) -> int:
        """Index of ``skill_id`` in ``skills``; :class:`NotFoundError` when unknown."""
        try:
            return self._index[skill_id]
        except (KeyError, TypeError):
            raise NotFoundError(
                f"unknown skill {skill_id!r}; it is not in the competency graph "
                f"({len(self)} skills) - check the id or import the skill first"
            ) from None

    def skill(self, skill_id: str) -> Skill:
        return self.skills[self.index_of(skill_id)]

    def by_code(self, code: str) -> Skill:
        """The first skill whose ``code`` is ``code``."""
        for s in self.skills:
            if s.code == code:
                return s
        raise NotFoundError(f"no skill has code {code!r}; check the code")

    def edges_of(self, kind: EdgeKind | str) -> tuple[Edge, ...]:
        k = c.enum("CompetencyGraph", "kind", kind, EdgeKind)
        return tuple(e for e in self.edges if e.kind == k)

    def _ids(self, idx: Iterable[int]) -> tuple[str, ...]:
        return tuple(self.skills[int(i)].id for i in idx)

    def _adj(self, kind: EdgeKind | str, up: bool) -> tuple[np.ndarray, np.ndarray]:
        k = c.enum("CompetencyGraph", "kind", kind, EdgeKind)
        if k == EdgeKind.PREREQUISITE:
            return self._prereq if up else self._dependent
        if k == EdgeKind.PARENT:
            return self._parent if up else self._child
        raise ValidationError(
            "related edges are undirected; use related() instead of ancestors/descendants"
        )

    def prerequisites(self, skill_id: str) -> tuple[str, ...]:
        """Direct prerequisites of ``skill_id``."""
        ptr, idx = self._prereq
        i = self.index_of(skill_id)
        return self._ids(idx[ptr[i]:ptr[i + 1]])

    def dependents(self, skill_id: str) -> tuple[str, ...]:
        """Skills that list ``skill_id`` as a direct prerequisite."""
        ptr, idx = self._dependent
        i = self.index_of(skill_id)
        return self._ids(idx[ptr[i]:ptr[i + 1]])

    def parents(self, skill_id: str) -> tuple[str, ...]:
        ptr, idx = self._parent
        i = self.index_of(skill_id)
        return self._ids(idx[ptr[i]:ptr[i + 1]])

    def children(self, skill_id: str) -> tuple[str, ...]:
        ptr, idx = self._child
        i = self.index_of(skill_id)
        return self._ids(idx[ptr[i]:ptr[i + 1]])

    def related(self, skill_id: str) -> tuple[str, ...]:
        return self._ids(self._related.get(self.index_of(skill_id), ()))

    def _bfs(self, start: int, adj: tuple[np.ndarray, np.ndarray]) -> dict[int, int]:
        ptr, idx = adj
        dist = {start: 0}
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for j in idx[ptr[i]:ptr[i + 1]]:
                j = int(j)
                if j not in dist:
                    dist[j] = dist[i] + 1
                    queue.append(j)
        del dist[start]
        return dist

    def ancestors(self, skill_id: str, kind: EdgeKind | str = EdgeKind.PREREQUISITE
                  ) -> tuple[str, ...]:
        """All transitive prerequisites (or hierarchy parents), nearest first."""
        dist = self._bfs(self.index_of(skill_id), self._adj(kind, up=True))
        return self._ids(sorted(dist, key=lambda j: (dist[j], self._rank[j])))

    def descendants(self, skill_id: str, kind: EdgeKind | str = EdgeKind.PREREQUISITE
                    ) -> tuple[str, ...]:
        """All skills that transitively depend on (or sit below) ``skill_id``, nearest first."""
        dist = self._bfs(self.index_of(skill_id), self._adj(kind, up=False))
        return self._ids(sorted(dist, key=lambda j: (dist[j], self._rank[j])))

    def topological_order(self) -> tuple[str, ...]:
        """Every skill, prerequisites before dependents (ties: graph order)."""
        return self._ids(self._topo)

    def roots(self) -> tuple[str, ...]:
        """Skills with no prerequisite, in topological order."""
        deg = np.diff(self._prereq[0])
        return self._ids(i for i in self._topo if deg[i] == 0)

    # ------------------------------------------------------------------ mastery queries
    def mastery_vector(self, mastery: Mapping[str, float] | Sequence[float] | np.ndarray,
                       default: float = 0.0) -> np.ndarray:
        """Mastery as a float64 array in skill-index order.

        ``mastery`` is either a mapping ``skill_id -> probability`` (skills absent get
        ``default``; unknown ids raise NotFoundError) or an array of length ``len(self)``.
        Values must be in [0, 1].
        """
        n = len(self)
        if isinstance(mastery, Mapping):
            vec = np.full(n, float(default))
            for sid, p in mastery.items():
                vec[self.index_of(sid)] = c.number("mastery", str(sid), p, lo=0.0, hi=1.0)
            return vec
        vec = np.asarray(mastery, dtype=np.float64)
        if vec.shape != (n,):
            raise ValidationError(
                f"mastery array has shape {vec.shape}; expected ({n},) in skill-index order"
            )
        bad = np.flatnonzero(~((vec >= 0.0) & (vec <= 1.0)))
        if bad.size:
            i = int(bad[0])
            raise ValidationError(
                f"mastery[{self.skills[i].id!r}]={float(vec[i])!r} is outside [0, 1]; "
                "give probabilities"
            )
        return vec

    def ready_mask(self, mastery: Mapping[str, float] | np.ndarray, mastered: float = MASTERED,
                   prerequisite_mastered: float | None = None) -> np.ndarray:
        """Boolean array (skill-index order) of the ready-to-learn set (see ready_to_learn)."""
        thr = c.number("ready_to_learn", "mastered", mastered, lo=0.0, hi=1.0)
        pthr = thr if prerequisite_mastered is None else c.number(
            "ready_to_learn", "prerequisite_mastered", prerequisite_mastered, lo=0.0, hi=1.0)
        m = self.mastery_vector(mastery)
        unmet = np.bincount(self._pdst, weights=(m[self._psrc] < pthr), minlength=len(self))
        return (m < thr) & (unmet == 0)

    def ready_to_learn(self, mastery: Mapping[str, float] | np.ndarray, mastered: float = MASTERED,
                       prerequisite_mastered: float | None = None) -> tuple[str, ...]:
        """Skills not yet mastered (``mastery < mastered``) whose direct prerequisites are
        all mastered (``>= prerequisite_mastered``, default ``mastered``), in topological
        order. Skills missing from a mastery mapping count as 0.0."""
        ok = self.ready_mask(mastery, mastered, prerequisite_mastered)
        return self._ids(i for i in self._topo if ok[i])

    def gaps(self, skill_id: str, mastery: Mapping[str, float] | np.ndarray,
             mastered: float = MASTERED) -> tuple[Gap, ...]:
        """Unmastered prerequisite ancestors of ``skill_id``: nearest first, then weakest
        (lowest mastery), then topological order."""
        thr = c.number("gaps", "mastered", mastered, lo=0.0, hi=1.0)
        m = self.mastery_vector(mastery)
        dist = self._bfs(self.index_of(skill_id), self._prereq)
        found = [j for j in dist if m[j] < thr]
        found.sort(key=lambda j: (dist[j], m[j], self._rank[j]))
        return tuple(Gap(self.skills[j].id, dist[j], float(m[j])) for j in found)

    # ------------------------------------------------------------------ derived graphs
    def subgraph(self, skill_ids: Iterable[str], name: str | None = None) -> CompetencyGraph:
        """The graph induced by ``skill_ids`` (edges with both ends kept), graph order kept."""
        keep = {self.index_of(s) for s in skill_ids}
        ids = {self.skills[i].id for i in keep}
        return CompetencyGraph(
            tuple(s for i, s in enumerate(self.skills) if i in keep),
            tuple(e for e in self.edges if e.source in ids and e.target in ids),
            self.name if name is None else name,
        )

    def prerequisite_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR ``(indptr, indices)`` int32: prerequisites of skill ``i`` are
        ``indices[indptr[i]:indptr[i+1]]`` (read-only copies)."""
        return self._prereq[0].copy(), self._prereq[1].copy()

    def topological_indices(self) -> np.ndarray:
        """Skill indices in topological order (int32 copy)."""
        return self._topo.copy()
