"""Every kt.models Numba kernel against its plain Python twin (tests.kt.test_models_twins.py)."""

from __future__ import annotations

import numpy as np
import pytest

from kt.models import _kernels as K
from kt.models.base import event_pointers
from kt.models.counters import PFA, BestLR, RBestLR, RBestLRElo
from tests.kt.test_models_data import synthetic_log
from tests.kt.test_models_twins import bkt_twin, counters_twin, elo_twin


@pytest.fixture(scope="module")
def log():
    return synthetic_log(n_learners=12, per_learner=20, seed=3)


def _ptrs(log):
    return event_pointers(log.event, log.learner)


@pytest.mark.parametrize("cls", [PFA, BestLR, RBestLR, RBestLRElo])
def test_counters_kernel_matches_twin(log, cls):
    m = cls()
    m._begin_fit(log)
    m.offsets_, m.n_columns_, m.column_ranges_ = m._layout()
    rng = np.random.default_rng(1)
    m.weights_ = rng.normal(0, 0.3, m.n_columns_)
    m.b_item_ = rng.normal(0, 1, m.n_items_ + 1)
    ev_ptr, lr_ptr = _ptrs(log)
    X, y = m.design(log)
    p = m.predict(log)
    p_twin, feats = counters_twin(
        log.skill, log.item, log.outcome, ev_ptr, lr_ptr, m.n_skills_, m.offsets_,
        list(m.decays), m.weights_, b_item=m.b_item_, elo_ab=(m.elo_alpha, m.elo_beta),
    )
    np.testing.assert_allclose(p, p_twin, rtol=1e-10, atol=1e-12)
    dense = X.toarray()
    for e, f in enumerate(feats):
        row = np.zeros(m.n_columns_)
        for c, v in f.items():
            row[c] += v
        np.testing.assert_allclose(dense[e], row, atol=1e-12)
    np.testing.assert_array_equal(y, log.outcome[ev_ptr[:-1]])


def test_elo_kernel_matches_twin(log):
    ev_ptr, lr_ptr = _ptrs(log)
    b = np.random.default_rng(2).normal(0, 1, len(log.item_ids) + 1)
    cap = 256
    out = np.empty(len(ev_ptr) - 1)
    K.elo_run(np.full(cap, -1, np.int64), np.zeros((cap, 2)), np.zeros(2), log.skill, log.item,
              log.outcome, ev_ptr, lr_ptr, b, 0.8, 0.1, out)
    np.testing.assert_allclose(out, elo_twin(log.skill, log.item, log.outcome, ev_ptr, lr_ptr, b,
                                             0.8, 0.1), rtol=1e-12)


def test_bkt_kernel_matches_twin(log):
    ev_ptr, lr_ptr = _ptrs(log)
    rng = np.random.default_rng(4)
    k = log.n_skills
    params = np.vstack([rng.uniform(0.1, 0.6, k), rng.uniform(0.05, 0.3, k), rng.uniform(0, 0.1, k),
                        rng.uniform(0.1, 0.3, k), rng.uniform(0.05, 0.2, k)])
    # the one BKT filter (kt.bkt's replay kernel behind BKT.update_many), events as one
    # observation each, learner by learner
    from kt.bkt import BKT, SkillParams

    model = BKT.from_skill_params({
        str(n): SkillParams(*params[:, j]) for j, n in enumerate(log.skill_names)})
    out = np.empty(len(ev_ptr) - 1)
    for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
        r0, r1 = ev_ptr[a], ev_ptr[b]
        _, out[a:b] = model.update_many(model.init_state(), log.skill[r0:r1].astype(np.int64),
                                        log.outcome[r0:r1], events=log.event[r0:r1])
    np.testing.assert_allclose(out, bkt_twin(log.skill, log.outcome, ev_ptr, lr_ptr, params),
                               rtol=1e-12)


def test_rehash_keeps_every_key():
    keys = np.full(16, -1, np.int64)
    vals = np.zeros((16, 2))
    for key in (3, 19, 35, 7):  # 3, 19, 35 collide modulo 16 under many hashes
        s = K._hash_slot(keys, key)
        keys[s] = key
        vals[s] = [key, -key]
    nk, nv = K.rehash(keys, vals, 64)
    got = {int(k): tuple(v) for k, v in zip(nk, nv, strict=True) if k >= 0}
    assert got == {3: (3, -3), 19: (19, -19), 35: (35, -35), 7: (7, -7)}
