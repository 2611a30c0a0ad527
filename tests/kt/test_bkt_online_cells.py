"""BKT.update_cells (kernel ``kt.bkt._online_kernels.trace_cells``) against its plain NumPy
twin and against ``update_many`` per learner; bad input names the row."""

from __future__ import annotations

import numpy as np
import pytest

from kt.bkt import BKT, SkillParams
from kt.errors import ParameterError, UnknownSkillError
from tests.kt import bkt_reference as ref

P = {
    "a": SkillParams(p_init=0.2, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1),
    "b": SkillParams(p_init=0.5, p_learn=0.3, p_forget=0.05, p_guess=0.25, p_slip=0.15),
    "c": SkillParams(p_init=0.1, p_learn=0.05, p_forget=0.0, p_guess=0.3, p_slip=0.05),
}
NAMES = ("a", "b", "c")


def twin_cells(values, skills, scores, cells, obs_ptr):
    """Plain NumPy/Python twin of ``trace_cells``: cells are independent filters; an
    observation's P(correct) is the mean over its rows from the values before it."""
    values = values.copy()
    pcs, before, after = [], [], []
    for o in range(len(obs_ptr) - 1):
        rows = range(obs_ptr[o], obs_ptr[o + 1])
        start = {}
        for e in rows:
            p = values[cells[e]]
            start[e] = P[NAMES[skills[e]]].p_init if np.isnan(p) else p
        pcs.append(np.mean([ref.scalar_step(start[e], scores[e], P[NAMES[skills[e]]])[0]
                            for e in rows]))
        for e in rows:
            p = values[cells[e]]
            p = P[NAMES[skills[e]]].p_init if np.isnan(p) else p
            nxt = ref.scalar_step(p, scores[e], P[NAMES[skills[e]]])[1]
            before.append(p)
            after.append(nxt)
            values[cells[e]] = nxt
    return values, np.array(pcs), np.array(before), np.array(after)


def _random_batch(rng, n_cells=7, n_obs=40):
    """Cells = (learner, skill) pairs; an observation names 1-2 distinct cells of one learner."""
    cell_skill = rng.integers(0, 3, n_cells)
    skills, cells, ptr = [], [], [0]
    for _ in range(n_obs):
        k = int(rng.integers(1, 3))
        chosen = rng.choice(n_cells, size=k, replace=False)
        cells += chosen.tolist()
        skills += cell_skill[chosen].tolist()
        ptr.append(len(cells))
    scores = rng.choice([0.0, 1.0, 0.25, 0.6], len(cells))
    values = np.where(rng.random(n_cells) < 0.4, np.nan, rng.random(n_cells))
    return values, np.array(skills), scores, np.array(cells), np.array(ptr)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update_cells_matches_its_numpy_twin(seed):
    model = BKT.from_skill_params(P)
    values, skills, scores, cells, ptr = _random_batch(np.random.default_rng(seed))
    expected = twin_cells(values, skills, scores, cells, ptr)
    got_values = values.copy()
    pc, before, after = model.update_cells(got_values, skills, scores, cells, ptr)
    np.testing.assert_allclose(got_values, expected[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pc, expected[1], rtol=1e-12)
    np.testing.assert_allclose(before, expected[2], rtol=1e-12)
    np.testing.assert_allclose(after, expected[3], rtol=1e-12)


def test_update_cells_gives_update_many_numbers_bit_for_bit():
    """Two learners interleaved in one call equal each learner's own update_many."""
    model = BKT.from_skill_params(P)
    rows = {  # learner -> observations, each a list of (skill position, score)
        "x": [[(0, 1.0)], [(1, 0.25), (2, 1.0)], [(0, 0.0)], [(2, 0.6)]],
        "y": [[(1, 1.0), (0, 0.0)], [(1, 0.6)], [(2, 0.0)]],
    }
    cell_of = {}
    skills, scores, cells, ptr = [], [], [], [0]
    order = [("x", 0), ("y", 0), ("x", 1), ("y", 1), ("x", 2), ("x", 3), ("y", 2)]
    for lid, o in order:
        for k, s in rows[lid][o]:
            cells.append(cell_of.setdefault((lid, k), len(cell_of)))
            skills.append(k)
            scores.append(s)
        ptr.append(len(cells))
    values = np.full(len(cell_of), np.nan)
    pc, _, after = model.update_cells(values, skills, scores, cells, ptr)
    for lid, observations in rows.items():
        flat = [(k, s, i) for i, obs in enumerate(observations) for k, s in obs]
        state, p = model.update_many(model.init_state(), [k for k, _, _ in flat],
                                     [s for _, s, _ in flat], None, [i for *_, i in flat])
        mine = [i for i, (learner, _) in enumerate(order) if learner == lid]
        assert pc[mine].tolist() == p.tolist()
        for (learner, k), c in cell_of.items():
            if learner == lid:
                assert values[c] == state.p_mastered[k]


def test_update_cells_bad_input_names_the_row_and_changes_nothing():
    model = BKT.from_skill_params(P)
    values = np.array([0.3, np.nan])
    kept = values.copy()
    with pytest.raises(UnknownSkillError, match=r"skills\[1\]=3"):
        model.update_cells(values, [0, 3], [1.0, 1.0], [0, 1], [0, 1, 2])
    with pytest.raises(ParameterError, match=r"cells\[0\]=2"):
        model.update_cells(values, [0, 1], [1.0, 1.0], [2, 1], [0, 1, 2])
    with pytest.raises(ParameterError, match=r"scores\[1\]=1.5"):
        model.update_cells(values, [0, 1], [1.0, 1.5], [0, 1], [0, 1, 2])
    with pytest.raises(ParameterError, match="obs_ptr must rise strictly from 0 to 2"):
        model.update_cells(values, [0, 1], [1.0, 1.0], [0, 1], [0, 2, 2])
    with pytest.raises(ParameterError, match="contiguous float64"):
        model.update_cells([0.3, 0.2], [0, 1], [1.0, 1.0], [0, 1], [0, 1, 2])
    np.testing.assert_array_equal(values, kept)


def test_update_many_without_events_matches_the_scalar_twin():
    """The per-learner path (int positions, events None: kernel ``replay_rows``)."""
    model = BKT.from_skill_params(P)
    rng = np.random.default_rng(5)
    skills = rng.integers(0, 3, 30)
    scores = rng.choice([0.0, 1.0, 0.4], 30)
    state, pc = model.update_many(model.init_state(), skills, scores)
    twin_state, twin_pc = ref.replay_observations(
        {}, [[(NAMES[k], x)] for k, x in zip(skills, scores, strict=True)], P)
    np.testing.assert_allclose(pc, twin_pc, rtol=1e-12)
    for k, name in enumerate(NAMES):
        np.testing.assert_allclose(state.p_mastered[k], twin_state.get(name, P[name].p_init),
                                   rtol=1e-12)
    with pytest.raises(UnknownSkillError, match=r"skills\[2\]=7"):
        model.update_many(model.init_state(), np.array([0, 1, 7]), [1.0, 0.0, 1.0])
    with pytest.raises(ParameterError, match=r"scores\[1\]=2"):
        model.update_many(model.init_state(), np.array([0, 1]), [1.0, 2.0])


def test_update_cell_is_update_cells_of_one_row():
    model = BKT.from_skill_params(P)
    for value in (np.nan, 0.3):
        for k, x in ((0, 1.0), (1, 0.25), (2, 0.0)):
            values = np.array([value])
            pc, before, after = model.update_cells(values, [k], [x], [0], [0, 1])
            assert model.update_cell(value, k, x) == (pc[0], before[0], after[0])
    with pytest.raises(UnknownSkillError, match="skill=3"):
        model.update_cell(0.2, 3, 1.0)
    with pytest.raises(ParameterError, match="score=1.5"):
        model.update_cell(0.2, 0, 1.5)
