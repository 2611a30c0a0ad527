"""``pathwise fit FILE`` as a whole process (issue 11 item 5): the start-up work kept out of
the fit path must not change a single fitted number, and the path must not load Numba, SciPy,
pandas or pyarrow.compute when the compiled fit kernels are fresh.

The reference parameters (``data/cli_fit_reference.json``) were written by ``pathwise fit`` at
commit 52b8797, before the start-up changes, on ASSISTments 2009 and ``cognitive-tutor/ct.csv``
with the benchmark's flags (pyBKT's settings) and with the defaults; every run here must give
the same parameters and log-likelihoods to 1e-9 (relative) and the same iteration counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_shared

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((Path(__file__).parent / "data" / "cli_fit_reference.json").read_text())
HEAVY = ("numba", "scipy", "pandas", "pyarrow.compute")

# The dispatcher run as `python -m service.cli` runs it, with the compiled kernels taken from
# a fresh build in a temporary folder (argv[1]); what it loaded is written to argv[2].
CLI_SCRIPT = f"""
HEAVY = {HEAVY!r}
import json, os, sys
from pathlib import Path
import kt._aot as aot
aot.COMPILED_DIR = Path(sys.argv[1])
from service.cli import main
code = main(sys.argv[3:])
Path(sys.argv[2]).write_text(json.dumps({{
    "code": code,
    "loaded": sorted(m for m in HEAVY if m in sys.modules),
    "compiled": aot.kernels("kt.bkt._kernels")._compiled is not None,
    "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
}}))
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """A fresh build of the compiled fit kernels (the working tree's build may be stale while
    someone edits a kernel file; kt/_compiled is left alone)."""
    from kt._aot_build import build

    folder = tmp_path_factory.mktemp("aot-fit") / "compiled"
    build(folder, verbose=False)
    return folder


def _run_fit(compiled: Path, data: Path, flags: list[str], tmp_path: Path) -> tuple[dict, dict]:
    model_path, info_path = tmp_path / "model.json", tmp_path / "info.json"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, str(compiled), str(info_path),
         "fit", str(data), "--out", str(model_path), *flags],  # with the progress steps
        check=True, cwd=REPO, env=env, capture_output=True,
    )
    return json.loads(model_path.read_text()), json.loads(info_path.read_text())


@pytest.mark.parametrize("key", sorted(REFERENCE["fits"]))
def test_cli_fit_equals_stored_reference_without_heavy_imports(key, compiled, tmp_path):
    log, kind = key.split("|")
    data = require_shared(log)
    flags = REFERENCE["flags"][kind].split()
    model, info = _run_fit(compiled, data, flags, tmp_path)
    assert info["code"] == 0
    assert info["compiled"] is True
    assert info["loaded"] == []  # no Numba, SciPy, pandas or pyarrow.compute on the fit path
    assert info["blas_threads"] == "1"  # set before NumPy loaded (no BLAS call in a fit)
    want = REFERENCE["fits"][key]
    got = {s["name"]: s for s in model["skills"]}
    assert sorted(got) == sorted(want)
    for skill, params in want.items():
        for name, value in params.items():
            if name == "n_iter":
                assert got[skill][name] == value, (skill, name)
            else:
                np.testing.assert_allclose(got[skill][name], value, rtol=1e-9, atol=1e-12,
                                           err_msg=f"{key}: {skill} {name}")


def test_blas_thread_count_chosen_by_the_user_is_kept(compiled, tmp_path):
    data = require_shared("cognitive-tutor/ct.csv")
    info_path = tmp_path / "info.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, str(compiled), str(info_path), "fit", str(data),
         "--out", str(tmp_path / "m.json"), "--quiet", "--max-iter", "5"],
        check=True, cwd=REPO, env=env,
    )
    assert json.loads(info_path.read_text())["blas_threads"] == "2"


@pytest.fixture(scope="module")
def many_skill_log():
    from kt.bkt import SkillParams
    from kt.synthetic import generate

    rng = np.random.default_rng(3)
    params = {f"s{k:02d}": SkillParams(p_init=float(rng.uniform(0.1, 0.6)),
                                       p_learn=float(rng.uniform(0.05, 0.3)),
                                       p_guess=float(rng.uniform(0.1, 0.3)),
                                       p_slip=float(rng.uniform(0.05, 0.2)))
              for k in range(40)}
    log, _ = generate(40, params=params, min_answers=1, max_answers=10, seed=8)
    return log


@pytest.mark.parametrize("quick_rest", [0.0, float("inf")])
def test_progress_steps_merged_or_not_fit_the_same(many_skill_log, monkeypatch, quick_rest):
    """After the first progress step the rest runs as one step when it should be quick
    (``QUICK_REST_SECONDS``): 0 keeps every step, inf always merges; the fit is the same."""
    from kt.bkt import BKT, em

    plain = BKT(num_fits=2, seed=4, max_iter=20, forgets=True).fit(many_skill_log)
    monkeypatch.setattr(em, "QUICK_REST_SECONDS", quick_rest)
    calls: list = []
    stepped = BKT(num_fits=2, seed=4, max_iter=20, forgets=True).fit(
        many_skill_log, progress=lambda done, total: calls.append(done))
    # forgets: the nested fit and the forgets fit report 10 steps each, or 2 each merged
    assert len(calls) == (4 if quick_rest else 20)
    assert calls == sorted(calls) and calls[-1] == len(plain.skill_names_)
    for skill in plain.skill_names_:
        for name in ("p_init", "p_learn", "p_forget", "p_guess", "p_slip"):
            assert np.array_equal(plain.params_[skill][name], stepped.params_[skill][name])
        assert plain.log_likelihood_[skill] == stepped.log_likelihood_[skill]
        assert plain.n_iter_[skill] == stepped.n_iter_[skill]


def test_process_entry_exits_fast_with_complete_output(tmp_path):
    """``python -m service.cli fit|evaluate`` end with ``os._exit`` (no interpreter teardown):
    the model file and piped stdout are complete, the exit codes right; in-process ``main``
    (given argv) returns instead (every other CLI test relies on that)."""
    data = require_shared("cognitive-tutor/ct.csv")
    model = tmp_path / "model.json"
    fit = subprocess.run([sys.executable, "-m", "service.cli", "fit", str(data), "--out",
                          str(model), "--num-fits", "1"], cwd=REPO, capture_output=True,
                         text=True)
    assert fit.returncode == 0, fit.stderr
    assert "model written to" in fit.stderr.splitlines()[-1]
    assert len(json.loads(model.read_text())["skills"]) == 12
    ev = subprocess.run([sys.executable, "-m", "service.cli", "evaluate", str(data), "--model",
                         str(model)], cwd=REPO, capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr
    assert [line.split()[0] for line in ev.stdout.splitlines()] == [
        "auc", "rmse", "accuracy", "log_loss"]
    bad = subprocess.run([sys.executable, "-m", "service.cli", "fit", str(tmp_path / "no.csv"),
                          "--out", str(model)], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    from service.cli import main

    assert main(["evaluate", str(data), "--model", str(model)]) == 0  # returned, no exit
    import gc

    assert gc.isenabled()
    assert main(["fit", str(data), "--out", str(tmp_path / "m2.json"), "--max-iter", "3",
                 "--quiet"]) == 0
    assert gc.isenabled()  # fit runs with the cyclic collector off and turns it back on


def test_fit_says_when_the_compiled_kernels_are_stale(compiled, tmp_path):
    """Without a usable build the fit still works (Numba kernels) and says how to build."""
    data = require_shared("cognitive-tutor/ct.csv")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    runs = {}
    for name, folder in (("fresh", compiled), ("missing", tmp_path / "no-build")):
        runs[name] = subprocess.run(
            [sys.executable, "-c", CLI_SCRIPT, str(folder), str(tmp_path / f"{name}.json"),
             "fit", str(data), "--out", str(tmp_path / f"{name}-model.json"), "--max-iter", "5"],
            cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert "python -m kt._aot_build" in runs["missing"].stderr
    assert "numba" in json.loads((tmp_path / "missing.json").read_text())["loaded"]
    assert "_aot_build" not in runs["fresh"].stderr
