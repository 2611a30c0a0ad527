"""The replay protocol: leakage safety, dedup, bad input, temporal mode, Dask == local, report."""

from __future__ import annotations

import numpy as np
import pytest

from kt.errors import LogFormatError, ParameterError
from kt.log import ObservationLog
from kt.models import make_model
from kt.models.base import event_pointers
from kt.replay import protocol
from kt.replay.data import clean_log
from tests.kt.test_models_data import synthetic_log


@pytest.fixture(scope="module")
def log():
    return synthetic_log(n_learners=40, per_learner=25, seed=5)


def test_replay_equals_batch_predict(log):
    for name in ("bkt-f", "elo", "r-best-lr-elo"):
        m = make_model(name).fit(log)
        if name == "bkt-f":  # BKT's batch predict is per row: an event's P is its rows' mean
            ev_ptr, _ = event_pointers(log.event, log.learner)
            rows = m.predict(log).p_correct
            batch = np.add.reduceat(rows, ev_ptr[:-1]) / np.diff(ev_ptr)
        else:
            batch = m.predict(log)
        np.testing.assert_allclose(protocol.replay_learners(m, log), batch, rtol=1e-12)


def test_no_future_data_and_one_prediction_per_question(log):
    """Flipping every learner's later answers must not change earlier predictions, and a
    question's own answer must not change its prediction (as scoring skill copies would)."""
    m = make_model("r-best-lr-elo").fit(log)
    ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
    p = protocol.replay_learners(m, log)
    assert len(p) == len(ev_ptr) - 1 < len(log)  # questions, not skill copies
    # flip each learner's answers from its 10th question on
    flipped = log.outcome.copy()
    cut_event = np.zeros(len(ev_ptr) - 1, dtype=bool)
    for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
        cut_event[a + 9:b] = True
    rows = np.repeat(cut_event, np.diff(ev_ptr))
    flipped[rows] = 1 - flipped[rows]
    other = ObservationLog(**{**log.__dict__, "outcome": flipped})
    q = protocol.replay_learners(m, other)
    first_flipped = np.flatnonzero(cut_event & ~np.r_[False, cut_event[:-1]])
    np.testing.assert_array_equal(p[~cut_event], q[~cut_event])
    np.testing.assert_array_equal(p[first_flipped], q[first_flipped])  # own answer unseen
    assert not np.allclose(p[cut_event], q[cut_event])  # later ones do see the past


def test_folds_never_train_on_test_learners(log):
    seen = []

    def fit_fn(model, train):
        seen.append(set(np.unique(train.learner).tolist()))
        return model.fit(train)

    config = protocol.ReplayConfig(models=("elo",), folds=4, seed=3, n_boot=0)
    result = protocol.run(log, config, fit_fn=fit_fn)
    ev = result.events
    for f, train_learners in enumerate(seen):
        test_learners = set(np.unique(ev["learner"][ev["fold"] == f]).tolist())
        assert test_learners and not (test_learners & train_learners)
    assert sorted(np.unique(ev["learner"]).tolist()) == sorted(np.unique(log.learner).tolist())
    assert len(ev["outcome"]) == log.n_events  # every question scored exactly once


def test_folds_reproducible_from_seed(log):
    a = protocol.split_learners(log, 5, seed=11)
    b = protocol.split_learners(log, 5, seed=11)
    c = protocol.split_learners(log, 5, seed=12)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.bincount(a).tolist() == [8] * 5


def test_temporal_mode_scores_only_late_events(log):
    config = protocol.ReplayConfig(models=("best-lr",), temporal=0.7, n_boot=0)
    (plan,) = protocol.plans(log, config)
    cut = log.order[plan.train_rows].max()
    ev_times = protocol.EventTable.of(log.take(plan.test_rows)).time
    assert np.all(ev_times[plan.score_mask] > cut) and np.all(ev_times[~plan.score_mask] <= cut)
    result = protocol.run(log, config)
    assert np.all(result.events["time"] > cut)


def test_cleaning_keeps_repeats_and_drops_only_exact_duplicate_rows():
    log = ObservationLog.from_arrays(
        learner=["a", "a", "a", "a", "a", "a", "b", "b"],
        skill=["x", "y", "x", "y", "x", "x", "x", "x"],
        item=["1", "1", "1", "1", "2", "2", "1", "1"],
        outcome=[1, 1, 1, 1, 0, 0, 0, 0],
        order=[0, 1, 2, 3, 4, 4, 5, 6],
    )
    cleaned, rep = clean_log(log)
    # a's second (x, y) answer to item 1 and b's second answer are real answers; only a's
    # row under order 4 repeated verbatim is dropped
    assert rep.removed == {"exact duplicate rows": 1}
    assert len(cleaned) == 7 and rep.rows_out == 7 and rep.multi_skill_events == 2
    assert rep.events_out == 5 and rep.item_reattempt_events == 2
    assert rep.warnings() and "1 of 8 rows (12.5%)" in rep.warnings()[0]


def test_bad_input_fails_before_work(log):
    with pytest.raises(ParameterError, match="unknown model 'nope'"):
        protocol.validate(log, protocol.ReplayConfig(models=("nope",)))
    with pytest.raises(ParameterError, match="more than the 40 learners"):
        protocol.validate(log, protocol.ReplayConfig(models=("elo",), folds=41))
    with pytest.raises(ParameterError, match="fraction"):
        protocol.validate(log, protocol.ReplayConfig(models=("elo",), temporal=1.5))
    unsorted = ObservationLog(**{**log.__dict__, "learner": log.learner[::-1].copy()})
    with pytest.raises(LogFormatError, match="not grouped by learner"):
        protocol.check_log(unsorted)
    backwards = ObservationLog(**{**log.__dict__, "order": log.order[::-1].copy()})
    with pytest.raises(LogFormatError, match="time order"):
        protocol.check_log(backwards)


def local_and_dask(log, config):
    """``protocol.run`` of ``log`` in this process and on a 2-worker Dask cluster, and a check
    that both gave the same predictions (to 1e-12) for every model."""
    from dask.distributed import Client, LocalCluster

    from kt.replay.distributed import DaskRunner

    local = protocol.run(log, config)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        runner = DaskRunner(client, n_partitions=3)
        dist = protocol.run(log, config, fit_fn=runner.fit, replay_fn=runner.replay)
    assert set(dist.predictions) == set(local.predictions)
    for name in local.predictions:
        np.testing.assert_allclose(dist.predictions[name], local.predictions[name], rtol=0,
                                   atol=1e-12, err_msg=name)
    return local, dist


@pytest.mark.slow
def test_dask_matches_local(log):
    config = protocol.ReplayConfig(models=("bkt", "bkt-item", "elo", "best-lr", "r-best-lr-elo"),
                                   folds=3, seed=2,
                                   n_boot=0)
    local, dist = local_and_dask(log, config)
    assert set(local.predictions) >= set(config.models)
    for k in local.events:
        np.testing.assert_array_equal(dist.events[k], local.events[k])


@pytest.mark.slow
def test_streaming_parquet_replay_matches_in_memory(tmp_path, log):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dask.distributed import Client, LocalCluster

    from kt.replay.streaming import iter_learner_chunks, stream_replay

    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({
        "user_id": log.learner.astype(np.int64), "skill_id": log.skill, "problem_id": log.item,
        "correct": log.outcome, "order_id": log.order,
    }), path, row_group_size=97)
    model = make_model("best-lr").fit(log)
    chunks = list(iter_learner_chunks(str(path), n_skills=log.n_skills, n_items=len(log.item_ids),
                                      batch_rows=61))
    assert len(chunks) > 5
    seen = [np.unique(c.learner_ids) for c in chunks]
    assert sum(len(s) for s in seen) == log.n_learners  # no learner split across chunks
    local = stream_replay(model, str(path), batch_rows=61)
    p = protocol.replay_learners(model, log)
    assert local["answers"] == log.n_events
    assert local["sum_p"] == pytest.approx(p.sum(), rel=1e-12)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        dist = stream_replay(model, str(path), client=client, batch_rows=61, max_pending=3)
    assert dist == local


def test_weighted_auc_and_paired_delta_agree_with_plain_auc():
    from kt.metrics import auc
    from kt.replay import metrics as RM

    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.6).astype(np.int8)
    p = np.round(rng.random(500) * 0.5 + 0.4 * y, 2)  # ties on purpose
    order = np.argsort(p, kind="stable")
    ps = p[order]
    w = np.ones(500)
    got = RM._weighted_auc_sorted(y[order].astype(float), w, np.r_[True, ps[1:] != ps[:-1]])
    assert got == pytest.approx(auc(y, p), abs=1e-12)
    learner = rng.integers(0, 50, 500)
    d = RM.paired_bootstrap_delta(learner, y, p, 1 - p, n_boot=30)
    assert d["delta"] == pytest.approx(auc(y, p) - auc(y, 1 - p), abs=1e-12)
    assert d["low"] <= d["delta"] <= d["high"]
    same = RM.paired_bootstrap_delta(learner, y, p, p.copy(), n_boot=10)
    assert same["low"] == same["high"] == 0.0
