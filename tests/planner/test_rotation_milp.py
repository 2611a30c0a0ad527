"""The class-level rotation MILP core: symmetry breaking keeps the optimum, and the optimum
of a tiny instance matches brute-force enumeration, and random pair requests are never
violated silently (moved from test_classplan.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from planner.classplan._rotation_milp import RotationProblem, solve_rotation


def _random_problem(seed: int, n_s: int = 10, n_t: int = 6, pairs: bool = False):
    rng = np.random.default_rng(seed)
    b = np.round(rng.random((n_s, n_t)) * (rng.random((n_s, n_t)) < 0.5), 3)
    kw = {}
    if pairs:
        kw = dict(keep_apart=((0, 1),), keep_together=((2, 3),), topic_locks=((4, 0),))
    return RotationProblem(benefit=b, teacher=0, capacity=np.array([4, 4, 4]), n_rotations=3,
                           g_min=2, group_stations=(0, 2), **kw)


@pytest.mark.parametrize("seed", range(6))
def test_symmetry_breaking_keeps_the_optimum(seed):
    p = _random_problem(seed, pairs=seed % 2 == 1)
    with_sb = solve_rotation(p, symmetry_breaking=True)
    without = solve_rotation(p, symmetry_breaking=False)
    assert with_sb.optimal and without.optimal
    assert with_sb.symmetry_breaking and not without.symmetry_breaking
    assert with_sb.objective == pytest.approx(without.objective, abs=1e-6)
    # rotations are ordered by topic index under symmetry breaking
    assert list(with_sb.topic[with_sb.topic >= 0]) == sorted(with_sb.topic[with_sb.topic >= 0])


def test_rotation_optimum_matches_brute_force():
    """Tiny instance: enumerate every assignment of 6 students to 3 teacher rotations."""
    from itertools import permutations, product

    rng = np.random.default_rng(11)
    b = np.round(rng.random((6, 4)) * (rng.random((6, 4)) < 0.6), 3)
    p = RotationProblem(benefit=b, teacher=0, capacity=np.array([2, 6, 6]), n_rotations=3,
                        g_min=2, group_stations=(0,))
    sol = solve_rotation(p)
    best = 0.0
    for rot in product(range(3), repeat=6):
        if sorted(Counter(rot).values()) != [2, 2, 2]:
            continue
        for topics in permutations(range(4), 3):
            best = max(best, sum(b[s, topics[rot[s]]] for s in range(6)))
    assert sol.objective == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_random_requests_never_silently_violated(seed):
    """Random pair requests on random instances: every request either holds in the decoded
    solution or is named in the slack (never violated silently)."""
    rng = np.random.default_rng(100 + seed)
    n_s = 8
    b = np.round(rng.random((n_s, 5)) * (rng.random((n_s, 5)) < 0.5), 3)
    pairs = [tuple(int(x) for x in rng.choice(n_s, 2, replace=False)) for _ in range(3)]
    apart, together = tuple(pairs[:2]), tuple(pairs[2:])
    p = RotationProblem(benefit=b, teacher=0, capacity=np.array([3, 3, 3]), n_rotations=3,
                        g_min=2, group_stations=(0, 2), keep_apart=apart, keep_together=together)
    sol = solve_rotation(p)
    named = {(t[0], t[1], t[2]) for t in sol.slack if t[0] in ("keep_apart", "keep_together")}
    for r in range(3):
        for s1, s2 in apart:
            if sol.station[s1, r] == sol.station[s2, r] and sol.station[s1, r] in (0, 2):
                assert ("keep_apart", s1, s2) in named
        for s1, s2 in together:
            if sol.station[s1, r] != sol.station[s2, r]:
                assert ("keep_together", s1, s2) in named
        for k in range(3):
            if (sol.station[:, r] == k).sum() > 3:
                assert any(t[0] in ("capacity", "group_size") for t in sol.slack)
    assert all(sorted(sol.station[s]) == [0, 1, 2] for s in range(n_s))
