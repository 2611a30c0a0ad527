"""``pathwise fit / predict / evaluate`` on small logs (tmp_path)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from service.cli import main


def simulate_csv(path, *, n_learners=40, seed=0, with_template=True):
    """An ASSISTments-layout CSV simulated from BKT: 2 skills, 4 templates, ~12 answers each."""
    rng = np.random.default_rng(seed)
    lines = ["order_id,user_id,skill_name,correct,problem_id,template_id"]
    order = 0
    for u in range(n_learners):
        for skill, (p0, learn, guess, slip) in (
            ("Fractions", (0.3, 0.2, 0.2, 0.1)),
            ("Graphs", (0.5, 0.1, 0.25, 0.15)),
        ):
            known = rng.random() < p0
            for _ in range(int(rng.integers(5, 15))):
                order += 1
                template = int(rng.integers(0, 4))
                correct = int(rng.random() < ((1 - slip) if known else guess))
                lines.append(f"{order},{1000 + u},{skill},{correct},{order % 37},T{template}")
                known = known or rng.random() < learn
    text = "\n".join(lines) + "\n"
    if not with_template:
        text = "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) + "\n"
    path.write_text(text)
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_help_lists_the_options(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "LOG" in text and "--preset" in text
    expected = {
        "fit": [
            "--forgets",
            "--multigs",
            "--multilearn",
            "--multiprior",
            "--multipair",
            "--num-fits",
            "--seed",
            "--max-iter",
            "--out",
        ],
        "predict": ["--model", "--out"],
        "evaluate": ["--model", "--metric"],
    }[command]
    for option in expected:
        assert option in text


def test_fit_predict_evaluate_round_trip(tmp_path, capsys):
    from kt.bkt import BKT
    from kt.io import read_log

    log_path = simulate_csv(tmp_path / "log.csv")
    model_path = tmp_path / "model.json"
    code, _, err = run(["fit", log_path, "--num-fits", 2, "--seed", 7, "--out", model_path], capsys)
    assert code == 0, err
    assert "fitted 2 skills" in err
    doc = json.loads(model_path.read_text())
    assert doc["format"] == "pathwise-bkt"
    assert [sk["name"] for sk in doc["skills"]] == ["Fractions", "Graphs"]
    assert doc["hyperparameters"]["num_fits"] == 2 and doc["hyperparameters"]["seed"] == 7

    log = read_log(log_path)
    model = BKT.load(model_path)
    expected = model.predict(log)
    # the CLI model equals a direct fit with the same hyperparameters
    direct = BKT(num_fits=2, seed=7).fit(log)
    np.testing.assert_allclose(direct.predict(log).p_correct, expected.p_correct, rtol=0, atol=0)

    for suffix in ("csv", "parquet"):
        out = tmp_path / f"pred.{suffix}"
        code, stdout, err = run(["predict", log_path, "--model", model_path, "--out", out], capsys)
        assert code == 0, err
        table = pacsv.read_csv(out) if suffix == "csv" else pq.read_table(out)
        assert table.num_rows == len(log)
        np.testing.assert_allclose(table["p_correct"].to_numpy(), expected.p_correct, rtol=1e-12)
        np.testing.assert_allclose(table["p_mastered"].to_numpy(), expected.p_mastered, rtol=1e-12)
        np.testing.assert_allclose(
            table["p_mastered_after"].to_numpy(), expected.p_mastered_after, rtol=1e-12
        )
        assert table["order"].to_numpy().tolist() == log.order.tolist()

    code, stdout, err = run(
        ["evaluate", log_path, "--model", model_path, "--metric", "auc", "rmse"], capsys
    )
    assert code == 0, err
    scores = dict(line.split() for line in stdout.strip().splitlines())
    want = model.evaluate(log, metrics=["auc", "rmse"])
    assert float(scores["auc"]) == pytest.approx(want["auc"], abs=1e-6)
    assert float(scores["rmse"]) == pytest.approx(want["rmse"], abs=1e-6)
    assert 0.5 < float(scores["auc"]) <= 1.0


def test_multigs_reads_the_class_column_for_predict(tmp_path, capsys):
    log_path = simulate_csv(tmp_path / "log.csv", seed=1)
    model_path = tmp_path / "model.json"
    code, _, err = run(
        [
            "fit",
            log_path,
            "--multigs",
            "template_id",
            "--forgets",
            "--num-fits",
            1,
            "--out",
            model_path,
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(model_path.read_text())
    assert doc["hyperparameters"]["multigs"] == "template_id"
    assert sorted(doc["skills"][0]["guess_slip_classes"]) == ["T0", "T1", "T2", "T3"]
    out = tmp_path / "pred.csv"
    code, _, err = run(["predict", log_path, "--model", model_path, "--out", out], capsys)
    assert code == 0, err
    assert "template_id" in pacsv.read_csv(out).column_names


def test_fit_with_progress_bar_equals_one_fit(tmp_path):
    from kt.bkt import BKT
    from kt.fitting import fit_document
    from kt.io import read_log

    log = read_log(simulate_csv(tmp_path / "log.csv", seed=2))
    hyper = {"num_fits": 3, "seed": 5, "forgets": True}
    quiet = fit_document(hyper, log, progress=False)
    with_bar = fit_document(hyper, log, progress=True)
    assert quiet["skills"] == with_bar["skills"]
    model = BKT(**hyper).fit(log)
    model.save(tmp_path / "direct.json")
    assert json.loads((tmp_path / "direct.json").read_text())["skills"] == quiet["skills"]


def test_errors_are_reported_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,user_id,skill_name,correct\n1,u,a,1\n2,u,a,5\n")
    code, _, err = run(["fit", bad, "--out", tmp_path / "m.json"], capsys)
    assert code == 1
    assert "'correct'" in err and "row 1" in err
    assert not (tmp_path / "m.json").exists()

    log_path = simulate_csv(tmp_path / "log.csv", with_template=False)
    code, _, err = run(
        ["fit", log_path, "--multigs", "template_id", "--out", tmp_path / "m.json"], capsys
    )
    assert code == 1 and "template_id" in err

    code, _, err = run(
        [
            "fit",
            log_path,
            "--multilearn",
            "problem_id",
            "--multiprior",
            "--out",
            tmp_path / "m.json",
        ],
        capsys,
    )
    assert code == 1 and "at most one" in err

    code, _, err = run(
        ["fit", log_path, "--column", "learner", "--out", tmp_path / "m.json"], capsys
    )
    assert code == 1 and "ROLE=NAME" in err

    model_path = tmp_path / "ok.json"
    assert run(["fit", log_path, "--num-fits", 1, "--out", model_path, "--quiet"], capsys)[0] == 0
    code, _, err = run(
        ["predict", log_path, "--model", model_path, "--out", tmp_path / "p.txt"], capsys
    )
    assert code == 1 and ".csv or .parquet" in err
    code, _, err = run(["evaluate", log_path, "--model", tmp_path / "missing.json"], capsys)
    assert code == 1 and "missing.json" in err


def test_column_map_option(tmp_path, capsys):
    path = tmp_path / "custom.csv"
    path.write_text("t,student,kc,ok\n1,a,k,0\n2,a,k,1\n3,b,k,1\n4,b,k,1\n5,a,k,1\n")
    code, _, err = run(
        [
            "fit",
            path,
            "--column",
            "order=t",
            "--column",
            "learner=student",
            "--column",
            "skill=kc",
            "--column",
            "outcome=ok",
            "--num-fits",
            1,
            "--out",
            tmp_path / "m.json",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["skills"][0]["name"] == "k"


@pytest.mark.parametrize(
    "flags, key, value",
    [
        (["--multilearn", "template_id"], "multilearn", "template_id"),
        (["--multiprior"], "multiprior", True),
        (["--multipair", "template_id", "--forgets"], "multipair", "template_id"),
    ],
)
def test_variant_flags_reach_the_model(tmp_path, capsys, flags, key, value):
    from kt.bkt import BKT

    log_path = simulate_csv(tmp_path / "log.csv", seed=3)
    model_path = tmp_path / "model.json"
    code, _, err = run(
        [
            "fit",
            log_path,
            *flags,
            "--num-fits",
            1,
            "--max-iter",
            20,
            "--out",
            model_path,
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(model_path.read_text())
    assert doc["hyperparameters"][key] == value
    assert doc["hyperparameters"]["max_iter"] == 20
    assert doc["hyperparameters"]["forgets"] == ("--forgets" in flags)
    model = BKT.load(model_path)
    code, stdout, err = run(
        ["evaluate", log_path, "--model", model_path, "--metric", "auc"], capsys
    )
    assert code == 0, err
    assert stdout.split()[0] == "auc"
    assert model.n_iter_  # fitted values were saved


def test_unknown_skill_error_or_prior(tmp_path, capsys):
    train = simulate_csv(tmp_path / "train.csv", seed=4)
    model_path = tmp_path / "model.json"
    assert run(["fit", train, "--num-fits", 1, "--out", model_path, "--quiet"], capsys)[0] == 0
    other = tmp_path / "other.csv"
    other.write_text(
        "order_id,user_id,skill_name,correct,problem_id\n1,u,Fractions,1,p\n2,u,Geometry,0,q\n"
    )
    code, _, err = run(
        ["predict", other, "--model", model_path, "--out", tmp_path / "p.csv"], capsys
    )
    assert code == 1 and "'Geometry'" in err
    assert "--unknown prior" in err and "unknown=" not in err
    code, _, err = run(["evaluate", other, "--model", model_path], capsys)
    assert code == 1 and "'Geometry'" in err and "--unknown prior" in err
    code, _, err = run(
        [
            "predict",
            other,
            "--model",
            model_path,
            "--out",
            tmp_path / "p.csv",
            "--unknown",
            "prior",
        ],
        capsys,
    )
    assert code == 0, err
    assert pacsv.read_csv(tmp_path / "p.csv").num_rows == 2


def test_every_layer_contributes_its_commands(capsys):
    """One dispatcher (service.cli) lists kt's commands and service's serve."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("fit", "predict", "evaluate", "replay", "demo", "serve"):
        assert f"    {command} " in text or f"    {command}\n" in text, command


def test_help_is_instant_no_heavy_imports():
    """Building the parser imports no numpy, pyarrow, Numba, FastAPI or uvicorn."""
    import subprocess
    import sys

    code = (
        "import sys; from service.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'numba', 'fastapi', 'uvicorn', 'tqdm', "
        "'kt.bkt.model', 'kt.replay.protocol', 'engine.engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    "argv, flag, fix",
    [
        (["fit", "LOG", "--num-fits", "0", "--out", "m.json"], "--num-fits", ">= 1"),
        (["fit", "LOG", "--max-iter", "x", "--out", "m.json"], "--max-iter", "not an integer"),
        (["evaluate", "LOG", "--model", "m.json", "--metric", "f1"], "--metric", "auc"),
        (["replay", "LOG", "--report", "r", "--temporal", "1.5"], "--temporal", "(0, 1)"),
        (["replay", "LOG", "--report", "r", "--bootstrap", "-1"], "--bootstrap", ">= 0"),
        (["demo", "--num-fits", "0"], "--num-fits", ">= 1"),
    ],
)
def test_bad_flag_values_name_the_flag_and_the_fix(argv, flag, fix, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and fix in err, err


def test_prediction_table_writer_round_trips(tmp_path):
    """kt.predictions (the library behind pathwise predict) writes CSV and Parquet alike."""
    from kt.bkt import BKT
    from kt.io import read_log
    from kt.predictions import prediction_table, table_format, write_table

    log = read_log(simulate_csv(tmp_path / "log.csv", seed=4))
    model = BKT(num_fits=1, seed=0).fit(log)
    pred = model.predict(log)
    table = prediction_table(log, pred)
    write_table(table, tmp_path / "p.parquet")
    write_table(table, tmp_path / "p.CSV")
    back = pq.read_table(tmp_path / "p.parquet")
    np.testing.assert_array_equal(back["p_correct"].to_numpy(), pred.p_correct)
    np.testing.assert_allclose(pacsv.read_csv(tmp_path / "p.CSV")["p_mastered_after"].to_numpy(),
                               pred.p_mastered_after, rtol=1e-12)
    with pytest.raises(ValueError, match=".csv or .parquet"):
        table_format(tmp_path / "p.txt")


# --- issue 11 item 2: one reader, CLI-worded errors -----------------------------------------

HEADER = "order_id,user_id,skill_name,correct"
PYTHON_SYNTAX = ("columns=", "missing_skill=", "classes=", "preset=", "={", "ParseOptions",
                 "read_log(", "folds=")
BAD_LOGS = [  # file text, what the error must name (column / row / value, and the flag)
    ("order_id,user_id,skill_name\n1,u,a\n",
     ["'correct'", "'outcome'", "--column outcome=NAME"]),
    ("t,student,kc,ok\n1,a,k,1\n",
     ["'learner'", "['t', 'student', 'kc', 'ok']", "--preset assistments", "--column learner=NAME"]),
    (f"{HEADER}\n1,u,a,1\n2,u,a,5\n", ["'correct'", "row 1", "holds 5", "--column outcome=NAME"]),
    (f"{HEADER}\n1.5,u,a,1\n2,u,a,1\n", ["'order_id'", "row 0", "1.5", "--column order=NAME"]),
    (f"{HEADER}\n1,u,a,1\n1,u,a,0\n", ["'order_id'", "repeats key 1", "row 0", "row 1",
                                        "--column order=NAME"]),
    (f"{HEADER}\n1,,a,1\n", ["'user_id'", "'learner'", "row 0", "--column learner=NAME"]),
    ("order_id;user_id;skill_name;correct,x\n1;u;a;1,2\n",
     ["'correct'", "'correct,x'", "--column outcome=NAME", "comma-separated"]),
]


def _cli_error(tmp_path, capsys, argv) -> str:
    code, _, err = run(argv, capsys)
    assert code == 1, err
    assert not any(s in err for s in PYTHON_SYNTAX), err
    return err


@pytest.mark.parametrize("text, names", BAD_LOGS)
@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_log_errors_name_column_row_value_and_flag(tmp_path, capsys, command, text, names):
    log_path = tmp_path / "bad.csv"
    log_path.write_text(text)
    argv = [command, log_path]
    if command == "fit":
        argv += ["--out", tmp_path / "m.json"]
    else:
        model = tmp_path / "ok.json"
        good = simulate_csv(tmp_path / "good.csv", with_template=False)
        assert run(["fit", good, "--num-fits", 1, "--out", model, "--quiet"], capsys)[0] == 0
        argv += ["--model", model] + (["--out", tmp_path / "p.csv"] if command == "predict"
                                      else [])
    err = _cli_error(tmp_path, capsys, argv)
    for name in names:
        assert name in err, (name, err)


def test_other_reader_errors_are_worded_for_the_cli(tmp_path, capsys):
    log_path = tmp_path / "log.csv"
    log_path.write_text(f"{HEADER}\n1,u,,1\n2,u,a,1\n")
    err = _cli_error(tmp_path, capsys, ["fit", log_path, "--out", tmp_path / "m.json"])
    assert "'skill_name'" in err and "row 0" in err and "--drop-missing-skills" in err
    err = _cli_error(tmp_path, capsys, ["fit", log_path, "--column", "lerner=x",
                                        "--out", tmp_path / "m.json"])
    assert "unknown role(s) ['lerner']" in err and "--column" in err
    err = _cli_error(tmp_path, capsys, ["fit", log_path, "--multigs", "template_id",
                                        "--drop-missing-skills", "--out", tmp_path / "m.json"])
    assert "'template_id'" in err and "--multigs" in err


# --- issue 11 items 3 and 4: converged, bounded, warned ---------------------------------------


def test_fit_reports_cap_and_warnings_and_stores_them(tmp_path, capsys):
    log_path = simulate_csv(tmp_path / "log.csv", n_learners=6)
    code, _, err = run(["fit", log_path, "--num-fits", 1, "--max-iter", 2,
                        "--out", tmp_path / "m.json"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["n_at_cap"] == 2
    assert "2 of 2 skills stopped at the --max-iter cap of 2" in err
    assert "raise --max-iter" in err
    codes = {w["code"] for w in doc["warnings"]}
    assert {"at_cap", "few_learners"} <= codes
    assert "few_learners" in err and "Fractions" in err
    code, _, err = run(["fit", log_path, "--num-fits", 1, "--out", tmp_path / "m2.json"],
                       capsys)
    assert code == 0 and "0 of 2 skills stopped at the --max-iter cap of 5000" in err
    assert json.loads((tmp_path / "m2.json").read_text())["n_at_cap"] == 0


def test_bounds_and_prior_flags_reach_the_model(tmp_path, capsys):
    from kt.bkt import BKT

    log_path = simulate_csv(tmp_path / "log.csv")
    out = tmp_path / "m.json"
    code, _, err = run(["fit", log_path, "--num-fits", 1, "--bounds", "guess=0:0.1",
                        "--bounds", "slip=0.05:0.1", "--prior", "default", "--prior",
                        "learn=3:3", "--forgets", "--out", out, "--quiet"], capsys)
    assert code == 0, err
    model = BKT.load(out)
    assert model.bounds == {"p_guess": [0.0, 0.1], "p_slip": [0.05, 0.1]}
    assert model.prior["p_learn"] == [3.0, 3.0] and model.prior["p_guess"] == [2.0, 4.0]
    for row in model.params():
        if row["param"] == "p_guess":
            assert row["value"] <= 0.1
        if row["param"] == "p_slip":
            assert 0.05 <= row["value"] <= 0.1
    code, _, err = run(["fit", log_path, "--num-fits", 1, "--bounds", "none",
                        "--no-nested-start", "--out", out, "--quiet"], capsys)
    assert code == 0, err
    model = BKT.load(out)
    assert (model.bounds, model.prior, model.nested_start) == ("none", None, False)


@pytest.mark.parametrize(
    "flag, value, fix",
    [
        ("--bounds", "gues=0:0.3", "PARAM one of guess, slip, learn, forget"),
        ("--bounds", "guess=0.6:0.2", "0 <= LOW <= HIGH <= 1"),
        ("--bounds", "guess=0.3", "PARAM=LOW:HIGH"),
        ("--prior", "slip=0.5:2", "ALPHA, BETA >= 1"),
        ("--prior", "init=a:2", "is not a number"),
    ],
)
def test_bad_bounds_and_prior_name_the_flag(flag, value, fix, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "LOG", flag, value, "--out", "m.json"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and fix in err, err
