"""``pathwise replay`` end to end on a small CSV: files, consistency, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from service.cli import main


@pytest.fixture(scope="module")
def csv_log(tmp_path_factory):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tests.kt.test_models_data import synthetic_log

    log = synthetic_log(n_learners=30, per_learner=20, seed=9)
    path = tmp_path_factory.mktemp("replay") / "log.csv"
    pacsv.write_csv(pa.table({
        "order_id": log.order, "user_id": log.learner_ids[log.learner],
        "problem_id": log.item_ids[log.item], "skill_name": log.skill_names[log.skill],
        "correct": log.outcome.astype(np.int64),
    }), path)
    return path


@pytest.mark.slow
def test_replay_writes_a_consistent_report(tmp_path, csv_log, capsys):
    import pyarrow.parquet as pq

    from kt.metrics import auc, rmse

    out = tmp_path / "rep"
    code = main(["replay", str(csv_log), "--models", "bkt,elo,best-lr", "--folds", "3",
                 "--seed", "4", "--report", str(out), "--bootstrap", "20"])
    assert code == 0
    for f in ("report.md", "metrics.json", "predictions.parquet", "roc.png", "calibration.png",
              "learning_curves.png", "skill_auc.png", "mastery_trajectories.png"):
        assert (out / f).stat().st_size > 0, f
    doc = json.loads((out / "metrics.json").read_text())
    table = pq.read_table(out / "predictions.parquet").to_pydict()
    assert set(table) == {"learner", "question", "time", "fold", "model", "p_correct", "outcome"}
    models = np.array(table["model"])
    for name in ("bkt", "elo", "best-lr"):
        sel = models == name
        y = np.array(table["outcome"])[sel]
        p = np.array(table["p_correct"])[sel]
        m = doc["models"][name]
        # one row per question after deduplication, never one per skill copy
        assert m["n"] == sel.sum() == doc["data"]["cleaning"]["events_out"] > 500
        assert m["auc"] == pytest.approx(auc(y, p), abs=1e-12)
        assert m["rmse"] == pytest.approx(rmse(y, p), abs=1e-12)
        assert m["auc_ci95"]["low"] <= m["auc"] <= m["auc_ci95"]["high"]
        assert sum(m["calibration"]["count"]) == m["n"]
    assert doc["protocol"]["seed"] == 4
    assert "one prediction per question" in (out / "report.md").read_text()
    assert "best-lr" in capsys.readouterr().out


def test_unknown_model_fails_before_reading(tmp_path, capsys):
    code = main(["replay", str(tmp_path / "missing.csv"), "--models", "bkt,nope",
                 "--report", str(tmp_path / "r")])
    assert code == 1
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_too_many_folds_fails_before_work(tmp_path, csv_log, capsys):
    code = main(["replay", str(csv_log), "--models", "elo", "--folds", "31",
                 "--report", str(tmp_path / "r")])
    assert code == 1
    assert "more than the 30 learners" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_log_without_order_column_is_rejected(tmp_path, capsys):
    path = tmp_path / "no_order.csv"
    path.write_text("user_id,skill_name,correct\nu1,s,1\nu1,s,0\n")
    code = main(["replay", str(path), "--models", "elo", "--report", str(tmp_path / "r")])
    assert code == 1
    assert "order" in capsys.readouterr().err
