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


def _kdd_csv(path, n_learners=8, per_learner=12, seed=2):
    """A Cognitive Tutor / KDD Cup layout log (Row, Anon Student Id, KC(Default), ...)."""
    rng = np.random.default_rng(seed)
    lines = ["Row,Anon Student Id,Problem Name,KC(Default),Correct First Attempt"]
    row = 0
    for u in range(n_learners):
        for k in range(per_learner):
            row += 1
            lines.append(f"{row},stu{u},P{k % 4},KC{k % 2},{int(rng.random() < 0.6)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replay_detects_the_layout_like_fit(tmp_path, capsys):
    """No --preset: a KDD-layout log is detected from its header, as fit does."""
    path = _kdd_csv(tmp_path / "kdd.csv")
    code = main(["replay", str(path), "--models", "elo", "--folds", "2", "--bootstrap", "0",
                 "--report", str(tmp_path / "r")])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert doc["data"]["preset"] == "detected from the header"
    assert doc["models"]["elo"]["n"] == 8 * 12


def test_replay_takes_the_column_flag(tmp_path, capsys):
    path = tmp_path / "custom.csv"
    rng = np.random.default_rng(1)
    rows = ["t,student,kc,ok"] + [f"{i},s{i % 6},k{i % 2},{int(rng.random() < 0.5)}"
                                   for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    argv = ["replay", str(path), "--models", "elo", "--folds", "2", "--bootstrap", "0",
            "--report", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--column learner=NAME" in err and "columns=" not in err
    code = main(argv + ["--column", "order=t", "--column", "learner=student", "--column",
                        "skill=kc", "--column", "outcome=ok"])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("text, names", [
    ("order_id,user_id,skill_name,correct\n1,u,a,1\n2,u,a,5\n",
     ["'correct'", "row 1", "holds 5", "--column outcome=NAME"]),
    ("order_id,user_id,skill_name\n1,u,a\n", ["'correct'", "--column outcome=NAME"]),
    ("order_id,user_id,skill_name,correct\n1,,a,1\n", ["'user_id'", "row 0",
                                                       "--column learner=NAME"]),
])
def test_replay_log_errors_use_the_cli_flags(tmp_path, capsys, text, names):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code = main(["replay", str(path), "--models", "elo", "--report", str(tmp_path / "r")])
    assert code == 1
    err = capsys.readouterr().err
    for name in names:
        assert name in err, (name, err)
    assert not any(s in err for s in ("columns=", "missing_skill=", "preset=", "={"))


def test_too_many_folds_names_the_flag(tmp_path, csv_log, capsys):
    code = main(["replay", str(csv_log), "--models", "elo", "--folds", "31",
                 "--report", str(tmp_path / "r")])
    assert code == 1
    err = capsys.readouterr().err
    assert "31 folds" in err and "--folds 5" in err and "folds=" not in err
