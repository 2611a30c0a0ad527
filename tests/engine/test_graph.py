"""CompetencyGraph: validation, traversal, ready-to-learn and gap diagnosis on hand-built graphs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.domain import Skill
from engine.errors import GraphError, NotFoundError, ValidationError
from engine.graph import CompetencyGraph, Edge, EdgeKind, Gap


def sk(*ids):
    return tuple(Skill(i, i.upper(), f"title {i}") for i in ids)


def graph(edges, ids="abcdefg", **kw):
    return CompetencyGraph(sk(*ids), tuple(Edge(*e) for e in edges), **kw)


# a -> b -> d -> f ; a -> c -> d ; e -> f ; g isolated
DIAMOND = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "f"), ("e", "f")]


def test_cycle_reported_with_the_skills_on_it():
    with pytest.raises(GraphError) as exc:
        graph(DIAMOND + [("f", "b")])
    msg = str(exc.value)
    assert "prerequisite edges form a cycle" in msg
    assert "b -> d -> f -> b" in msg
    assert "remove one of these edges" in msg


def test_hierarchy_cycle_detected():
    with pytest.raises(GraphError, match="parent/child edges form a cycle: a -> b -> a"):
        graph([("a", "b", "parent"), ("b", "a", "parent")])


def test_dangling_and_duplicate_and_self_loop_named():
    with pytest.raises(GraphError, match=r"dangling edge.*'a'->'zz' \(unknown \['zz'\]\)"):
        graph([("a", "zz")])
    with pytest.raises(GraphError, match=r"duplicate skill id\(s\) \['b'\]"):
        CompetencyGraph(sk("a", "b", "b"))
    with pytest.raises(GraphError, match="self-loop"):
        Edge("a", "a")
    with pytest.raises(ValidationError, match="kind='before'"):
        Edge("a", "b", "before")


def test_duplicate_edges_collapse_and_related_is_undirected():
    g = graph([("a", "b"), ("a", "b"), ("a", "c", "related"), ("c", "a", "related")])
    assert len(g.edges_of(EdgeKind.PREREQUISITE)) == 1
    assert len(g.edges_of("related")) == 1
    assert g.related("a") == ("c",) and g.related("c") == ("a",)


def test_traversals():
    g = graph(DIAMOND + [("a", "b", "parent"), ("b", "e", "parent")])
    assert g.prerequisites("d") == ("b", "c")
    assert g.dependents("a") == ("b", "c")
    assert g.ancestors("f") == ("d", "e", "b", "c", "a")  # nearest first, then graph order
    assert g.descendants("a") == ("b", "c", "d", "f")
    assert g.ancestors("a") == () and g.descendants("g") == ()
    assert g.ancestors("e", kind="parent") == ("b", "a")
    assert g.descendants("a", kind=EdgeKind.PARENT) == ("b", "e")
    assert g.parents("b") == ("a",) and g.children("b") == ("e",)
    with pytest.raises(ValidationError, match="related edges are undirected"):
        g.ancestors("a", kind="related")
    with pytest.raises(NotFoundError, match="unknown skill 'q'"):
        g.ancestors("q")


def test_topological_order_respects_every_edge_and_is_deterministic():
    g = graph(DIAMOND)
    order = g.topological_order()
    pos = {s: i for i, s in enumerate(order)}
    assert sorted(order) == sorted("abcdefg")
    assert all(pos[u] < pos[v] for u, v in DIAMOND)
    assert order == ("a", "b", "c", "d", "e", "f", "g")
    assert g.roots() == ("a", "e", "g")


def test_ready_to_learn_thresholds():
    g = graph(DIAMOND)
    assert g.ready_to_learn({}) == ("a", "e", "g")
    m = {"a": 0.97, "b": 0.96, "c": 0.90, "e": 0.99}
    assert g.ready_to_learn(m) == ("c", "g")          # d needs c >= 0.95
    assert g.ready_to_learn(m, prerequisite_mastered=0.9) == ("c", "d", "g")
    assert g.ready_to_learn(m, mastered=0.8) == ("d", "g")
    # array input in skill-index order gives the same answer
    vec = g.mastery_vector(m)
    assert g.ready_to_learn(vec) == ("c", "g")
    assert g.ready_mask(vec).dtype == bool


def test_mastery_input_validated():
    g = graph(DIAMOND)
    with pytest.raises(NotFoundError, match="unknown skill 'zz'"):
        g.ready_to_learn({"zz": 0.5})
    with pytest.raises(ValidationError, match=r"mastery.a=1.5 is out of range"):
        g.ready_to_learn({"a": 1.5})
    with pytest.raises(ValidationError, match=r"shape \(3,\); expected \(7,\)"):
        g.ready_to_learn(np.zeros(3))
    with pytest.raises(ValidationError, match=r"mastery\['b'\]=nan is outside"):
        g.ready_to_learn(np.array([0, np.nan, 0, 0, 0, 0, 0]))
    with pytest.raises(ValidationError, match="mastered=2"):
        g.ready_to_learn({}, mastered=2)


def test_gaps_nearest_then_weakest():
    g = graph(DIAMOND)
    m = {"a": 0.3, "b": 0.6, "c": 0.2, "d": 0.5, "e": 0.99}
    assert g.gaps("f", m) == (
        Gap("d", 1, 0.5), Gap("c", 2, 0.2), Gap("b", 2, 0.6), Gap("a", 3, 0.3))
    assert g.gaps("f", m, mastered=0.55) == (Gap("d", 1, 0.5), Gap("c", 2, 0.2),
                                              Gap("a", 3, 0.3))
    assert g.gaps("a", m) == ()
    assert g.gaps("f", {s: 1.0 for s in "abcdefg"}) == ()


def _reference_ready(edges, ids, m, thr, pthr):
    """Plain-Python twin of ready_to_learn (as a set)."""
    pre = {i: [u for u, v in edges if v == i] for i in ids}
    return {i for i in ids if m.get(i, 0.0) < thr and all(m.get(p, 0.0) >= pthr for p in pre[i])}


def _reference_ancestors(edges, node):
    out, stack = set(), [node]
    while stack:
        x = stack.pop()
        for u, v in edges:
            if v == x and u not in out:
                out.add(u)
                stack.append(u)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_queries_match_plain_python_twin_on_random_dags(seed):
    rng = np.random.default_rng(seed)
    n = 40
    ids = [f"s{i:02d}" for i in range(n)]
    perm = rng.permutation(n)
    edges = sorted({(ids[perm[i]], ids[perm[j]])
                    for i, j in itertools.combinations(range(n), 2) if rng.random() < 0.08})
    g = CompetencyGraph(tuple(Skill(i, i, i) for i in ids), tuple(Edge(u, v) for u, v in edges))
    m = {i: float(rng.random()) for i in ids if rng.random() < 0.8}
    for thr, pthr in [(0.95, 0.95), (0.6, 0.4), (0.3, 0.7)]:
        got = g.ready_to_learn(m, mastered=thr, prerequisite_mastered=pthr)
        assert set(got) == _reference_ready(edges, ids, m, thr, pthr)
    for node in ids[:10]:
        assert set(g.ancestors(node)) == _reference_ancestors(edges, node)
        gaps = g.gaps(node, m, mastered=0.5)
        assert {x.skill_id for x in gaps} == {a for a in _reference_ancestors(edges, node)
                                              if m.get(a, 0.0) < 0.5}
        keys = [(x.distance, x.mastery) for x in gaps]
        assert keys == sorted(keys)
    pos = {s: i for i, s in enumerate(g.topological_order())}
    assert all(pos[u] < pos[v] for u, v in edges)


def test_subgraph_and_arrays():
    g = graph(DIAMOND)
    sub = g.subgraph(["a", "b", "d"], name="sub")
    assert sub.ids == ("a", "b", "d") and sub.name == "sub"
    assert {(e.source, e.target) for e in sub.edges} == {("a", "b"), ("b", "d")}
    indptr, indices = g.prerequisite_arrays()
    assert indptr.dtype == np.int32 and list(indices[indptr[3]:indptr[4]]) == [1, 2]
    assert list(g.topological_indices()) == [0, 1, 2, 3, 4, 5, 6]
    assert g.by_code("D").id == "d" and g.index_of("f") == 5 and len(g) == 7 and "a" in g
