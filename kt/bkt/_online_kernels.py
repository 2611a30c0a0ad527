"""Numba kernel of the BKT online path over many independent (learner, skill) *cells*.

Private: called only through ``kt.bkt.online`` (``BKT.update_cells``), which validates inputs.
Its plain NumPy twin is in ``tests/kt/test_bkt_online_cells.py``. The filter step is
``kt.bkt._kernels._filter_step`` (the one BKT filter) and the observation step is
``kt.bkt._kernels.observe``, the same one ``replay_simple`` runs, so the numbers are
bit-identical to ``update_many`` of each learner.
"""

from __future__ import annotations

from numba import njit

from kt.bkt._kernels import observe


@njit(cache=True, inline="always", error_model="numpy")
def _check_cells(n_values, obs_ptr, row_cell, row_skill, row_score, n_skills):
    """-1 when every input of :func:`trace_cells` is valid, else the first bad row (cell
    outside 0..n_values-1, skill outside 0..n_skills-1 or score outside [0, 1]), or
    ``len(row_cell)`` when ``obs_ptr`` is not 0, strictly increasing, ..., len(row_cell)."""
    m = row_cell.shape[0]
    if obs_ptr.shape[0] < 1 or obs_ptr[0] != 0 or obs_ptr[obs_ptr.shape[0] - 1] != m:
        return m
    for o in range(obs_ptr.shape[0] - 1):
        if obs_ptr[o + 1] <= obs_ptr[o]:
            return m
    for e in range(m):
        c = row_cell[e]
        k = row_skill[e]
        if c < 0 or c >= n_values or k < 0 or k >= n_skills or not (0.0 <= row_score[e] <= 1.0):
            return e
    return -1


@njit(cache=True, error_model="numpy")
def trace_cells(values, obs_ptr, row_cell, row_skill, row_score, table, out_pc, out_before,
                out_after):
    """Fold observations into cells and record every row's P(mastered) before and after.

    values float64 (C,): P(mastered) of each cell (NaN = no evidence yet: the skill's prior),
        updated in place; obs_ptr int64 (O+1,): rows of observation o are
        ``obs_ptr[o]:obs_ptr[o+1]`` (one learner's distinct cells, applied in order);
    row_cell int64 (m,) cell of each row; row_skill int64 (m,) its skill column of ``table``
        (float64 (5, K): guess, slip, learn, forget, prior); row_score float64 (m,) in [0, 1].
    Writes out_pc (O,) P(correct) predicted before each observation (multi-row: the mean over
    its rows, all from the values before it) and out_before / out_after (m,) each row's cell
    value before and after its step.

    Returns -1, or without changing anything the first bad row (:func:`_check_cells`).
    """
    bad = _check_cells(values.shape[0], obs_ptr, row_cell, row_skill, row_score, table.shape[1])
    if bad >= 0:
        return bad
    for o in range(obs_ptr.shape[0] - 1):
        out_pc[o] = observe(values, row_cell, row_skill, row_score, table, obs_ptr[o],
                            obs_ptr[o + 1], out_before, out_after, True)
    return -1


@njit(cache=True, error_model="numpy")
def replay_rows(p_state, last_cls, ev_skill, ev_score, table, out_pc):
    """``kt.bkt._kernels.replay_simple`` when every row is its own observation (``events``
    None: no row pointers to build per call). p_state float64 (K,) and last_cls int32 (K,)
    are updated in place; ev_skill int64 (m,), ev_score float64 (m,); table float64 (5, K)
    (guess, slip, learn, forget, prior by skill column); out_pc (m,) P(correct) before each
    row. Validates as it goes: returns -1, or the first row whose skill is outside 0..K-1 or
    whose score is outside [0, 1] (the caller then discards ``p_state``)."""
    n_skills = p_state.shape[0]
    for e in range(ev_skill.shape[0]):
        k = ev_skill[e]
        x = ev_score[e]
        if k < 0 or k >= n_skills or not (0.0 <= x <= 1.0):
            return e
        out_pc[e] = observe(p_state, ev_skill, ev_skill, ev_score, table, e, e + 1, out_pc,
                            out_pc, False)
        last_cls[k] = 0
    return -1
