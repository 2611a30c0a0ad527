"""r-best-lr-elo-transfer: its kernel against a NumPy twin, its skill vectors against the
covariance they factor, online predictions against its training design, bad hyperparameters."""

from __future__ import annotations

import numpy as np
import pytest

from kt.errors import ParameterError
from kt.log import ObservationLog
from kt.models import _kernels as K
from kt.models import make_model
from kt.models.base import event_pointers
from kt.models.transfer import fit_vectors
from tests.kt.test_models_data import synthetic_log


@pytest.fixture(scope="module")
def log():
    return synthetic_log(n_learners=30, per_learner=25, seed=5)


def transfer_twin(skill, outcome, ev_ptr, lr_ptr, vectors, mean, decays):
    """Features (n_events, D + 1) from dense per-learner sums, written the plain way."""
    D, k = len(decays), vectors.shape[1]
    out = []
    for lrn in range(len(lr_ptr) - 1):
        h = np.zeros((D + 1, k))
        n = 0
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            rows = np.arange(ev_ptr[e], ev_ptr[e + 1])
            v = vectors[skill[rows]].mean(axis=0)
            res = float(np.mean(outcome[rows] - mean[skill[rows]]))
            f = h @ v
            f[D] /= n + 1
            out.append(f)
            h[:D] = np.asarray(decays)[:, None] * h[:D] + res * v
            h[D] += res * v
            n += 1
    return np.array(out)


def test_transfer_kernel_matches_twin(log):
    ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 0.5, (log.n_skills, 3))
    mean = rng.uniform(0.3, 0.8, log.n_skills)
    decays = np.array([0.5, 0.9])
    n_ev = len(ev_ptr) - 1
    feats = np.zeros((n_ev, 3))
    K.transfer_run(np.zeros(3 * 3 + 1), log.skill, log.outcome, ev_ptr, lr_ptr, vectors, mean,
                   decays, np.zeros(0), feats, np.zeros(0))
    twin = transfer_twin(log.skill, log.outcome, ev_ptr, lr_ptr, vectors, mean, decays)
    np.testing.assert_allclose(feats, twin, rtol=1e-12, atol=1e-14)
    assert np.abs(twin).max() > 0.05  # the features are not all zero
    w = np.array([0.7, -0.3, 1.1])
    p0 = rng.uniform(0.05, 0.95, n_ev)
    p = p0.copy()
    K.transfer_run(np.zeros(3 * 3 + 1), log.skill, log.outcome, ev_ptr, lr_ptr, vectors, mean,
                   decays, w, np.zeros((0, 0)), p)
    z = np.log(p0 / (1 - p0)) + twin @ w
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), rtol=1e-12)


def _correlated_log(n_learners=60, seed=0, items=False):
    """Skills a and b share one ability per learner; c has its own. ``items``: a, b, c are
    items of one skill instead."""
    rng = np.random.default_rng(seed)
    lrn, sk, itm, ys, order = [], [], [], [], []
    for u in range(n_learners):
        ab, c = rng.normal(0, 1.5, 2)
        for t in range(30):
            s = "abc"[t % 3]
            p = 1 / (1 + np.exp(-(c if s == "c" else ab)))
            lrn.append(f"u{u}")
            sk.append("s" if items else s)
            itm.append(s)
            ys.append(int(rng.random() < p))
            order.append(len(order))
    return ObservationLog.from_arrays(learner=lrn, skill=sk, item=itm if items else None,
                                      outcome=ys, order=order)


def test_skill_vectors_factor_the_residual_correlation():
    log = _correlated_log()
    vectors, mean = fit_vectors(log.learner, log.skill, log.outcome, log.n_skills,
                                log.n_skills)
    y = log.outcome.astype(float)
    counts = np.bincount(log.skill)
    np.testing.assert_allclose(mean, (np.bincount(log.skill, weights=y) + 2 * y.mean()) / (counts + 2))
    R = np.zeros((log.n_learners, log.n_skills))
    for u in range(log.n_learners):
        for s in range(log.n_skills):
            rows = (log.learner == u) & (log.skill == s)
            R[u, s] = (y[rows] - mean[s]).sum() / (rows.sum() + 1)
    cov = R.T @ R / log.n_learners
    scale = np.sqrt(np.diag(cov) + 1e-4)
    np.testing.assert_allclose(vectors @ vectors.T, cov / np.outer(scale, scale), atol=1e-12)
    a, b, c = (int(np.flatnonzero(log.skill_names == s)[0]) for s in "abc")
    assert vectors[a] @ vectors[b] > 3 * abs(vectors[a] @ vectors[c])


def test_success_on_a_related_skill_raises_the_prediction_more():
    log = _correlated_log(n_learners=200, seed=1)
    model = make_model("r-best-lr-elo-transfer", transfer_rank=2).fit(log)
    s0 = model.init_state()
    after, _ = model.update_many(s0, ["a", "a", "a"], [1, 1, 1])
    gain = {s: model.update_one(after, s, 1)[1] - model.update_one(s0, s, 1)[1] for s in "bc"}
    assert gain["b"] > gain["c"] + 0.02, gain
    assert model.weight_table()["transfer"][-1] > 0


def test_online_predictions_use_the_training_features(log):
    model = make_model("r-best-lr-elo-transfer").fit(log)
    X, _ = model.design(log)
    z = X @ model.weights_
    np.testing.assert_allclose(model.predict(log), 1 / (1 + np.exp(-z)), rtol=1e-9)
    assert model.skill_vectors_.shape == (log.n_skills, log.n_skills)  # rank capped


def test_success_on_a_related_item_raises_the_prediction_more():
    log = _correlated_log(n_learners=200, seed=2, items=True)
    model = make_model("r-best-lr-elo-transfer", item_transfer_rank=2).fit(log)
    s0 = model.init_state()
    after, _ = model.update_many(s0, ["s"] * 3, [1, 1, 1], items=["a"] * 3)
    gain = {i: model.update_one(after, "s", 1, i)[1] - model.update_one(s0, "s", 1, i)[1]
            for i in "bc"}
    assert gain["b"] > gain["c"] + 0.02, gain
    assert model.weight_table()["item_transfer"][-1] > 0
    assert not model.item_vectors_[-1].any()  # the unknown item carries no evidence
    _, p = model.update_one(after, "s", 1, None)
    assert 0 < p < 1


@pytest.mark.parametrize("bad", [{"transfer_rank": 0}, {"transfer_rank": 2.5},
                                 {"transfer_decays": (0.5, 1.0)},
                                 {"item_transfer_rank": 0}, {"item_transfer_decays": (0.0,)}])
def test_bad_hyperparameters_are_named(log, bad):
    with pytest.raises(ParameterError, match="transfer"):
        make_model("r-best-lr-elo-transfer", **bad).fit(log)


@pytest.mark.slow
def test_dask_replay_matches_local(log):
    from kt.replay import protocol
    from tests.kt.test_replay import local_and_dask

    config = protocol.ReplayConfig(models=("r-best-lr-elo-transfer",), folds=3, seed=2, n_boot=0)
    local, _ = local_and_dask(log, config)
    assert "r-best-lr-elo-transfer" in local.predictions
