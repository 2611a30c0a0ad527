"""pyBKT in the replay (subprocess peer) and the skip-with-reason path; ASSIST09 smoke run."""

from __future__ import annotations

import numpy as np
import pytest

from kt.models.base import event_pointers
from kt.replay import protocol
from service.cli import main
from tests.conftest import require_shared
from tests.kt.test_models_data import synthetic_log


@pytest.mark.pybkt
def test_pybkt_peer_predicts_once_per_question():
    from kt.replay.pybkt_peer import pybkt_predict, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    log = synthetic_log(n_learners=20, per_learner=15, seed=2)
    train = log.take(np.flatnonzero(log.learner < 14))
    test = log.take(np.flatnonzero(log.learner >= 14))
    p = pybkt_predict(train, test, seed=0)
    ev_ptr, _ = event_pointers(test.event, test.learner)
    assert p.shape == (len(ev_ptr) - 1,)
    assert np.all((p > 0) & (p < 1))


def test_missing_pybkt_is_skipped_with_a_reason(tmp_path, monkeypatch, capsys):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    log = synthetic_log(n_learners=12, per_learner=10, seed=1)
    path = tmp_path / "log.csv"
    pacsv.write_csv(pa.table({
        "order_id": log.order, "user_id": log.learner_ids[log.learner],
        "problem_id": log.item_ids[log.item], "skill_name": log.skill_names[log.skill],
        "correct": log.outcome.astype(np.int64),
    }), path)
    monkeypatch.setenv("PATHWISE_PYBKT_PYTHON", str(tmp_path / "no-such-python"))
    code = main(["replay", str(path), "--models", "elo", "--folds", "2", "--include-pybkt",
                 "--report", str(tmp_path / "r"), "--bootstrap", "0"])
    assert code == 0
    assert "pyBKT skipped" in capsys.readouterr().err
    assert "pyBKT skipped" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.shared_data
@pytest.mark.slow
def test_assistments_2009_elo_replay_smoke():
    from kt.io import read_log
    from kt.metrics import auc
    from kt.replay.data import clean_log

    path = require_shared("assistments-2009/skill_builder_2009.csv")
    log, cleaning = clean_log(read_log(path, preset="assistments"))
    assert cleaning.removed["exact duplicate rows"] == 0 and cleaning.multi_skill_events > 40_000
    result = protocol.run(log, protocol.ReplayConfig(models=("elo",), folds=5, seed=0, n_boot=0))
    y = result.events["outcome"]
    assert len(y) == cleaning.events_out  # one prediction per question, none per skill copy
    assert auc(y, result.predictions["elo"]) > 0.75
