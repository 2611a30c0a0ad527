"""kt._aot: compiled fit kernels give the same fits as the Numba JIT kernels, are used only
when built from the current sources, and the fit path loads neither Numba, pandas nor
pyarrow.compute when they are fresh (kt._arrow's pandas-free conversions checked against
pyarrow's own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kt import _aot, _arrow
from kt.synthetic import large_columns

REPO = Path(__file__).resolve().parents[2]

FIT_SCRIPT = """
import json, sys
from pathlib import Path
import kt._aot as aot
aot.COMPILED_DIR = Path(sys.argv[1])
from kt.bkt import BKT
from kt.io import read_log
out = {}
log = read_log(sys.argv[2], classes=["template_id"])
for name, kw in [("std", {}), ("forgets", {"forgets": True}), ("restarts", {"num_fits": 3}),
                 ("multigs", {"multigs": "template_id"})]:
    model = BKT(max_iter=40, seed=3, **kw).fit(log)
    out[name] = {"params": model.to_dict(), "ll": {k: float(v).hex() for k, v in
                 model.log_likelihood_.items()}}
out["loaded"] = sorted(m for m in ("numba", "pandas", "pyarrow.compute", "scipy")
                       if m in sys.modules)
out["compiled"] = aot.kernels("kt.bkt._kernels")._compiled is not None
Path(sys.argv[3]).write_text(json.dumps(out))
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """A fresh build in a temporary folder (the real kt/_compiled is left alone), in a child
    process with an empty Numba cache: what ``make setup`` meets on a fresh clone (a warm cache
    once hid a build that failed there)."""
    root = tmp_path_factory.mktemp("aot")
    folder = root / "compiled"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(root / "numba-cache")}
    run = subprocess.run([sys.executable, "-m", "kt._aot_build", "--out", str(folder)],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((folder / "manifest.json").read_text())
    assert "em_fit" in info["modules"]["kt.bkt._kernels"]["kernels"]
    assert "sort_events" in info["modules"]["kt._kernels"]["kernels"]
    return folder


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory) -> Path:
    cols = large_columns(n_learners=60, n_skills=12, skills_per_learner=6, seed=5)
    n = len(cols["correct"])
    cols["template_id"] = (np.arange(n) % 3).astype(np.int64)
    path = tmp_path_factory.mktemp("aotlog") / "log.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(pa.table(cols), path)
    return path


def _fit_in_child(folder: Path, log_csv: Path, tmp_path: Path) -> dict:
    out = tmp_path / "out.json"
    subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(folder), str(log_csv), str(out)],
                   check=True, cwd=REPO)
    return json.loads(out.read_text())


def test_compiled_fits_equal_jit_fits_without_loading_numba(compiled, log_csv, tmp_path):
    aot = _fit_in_child(compiled, log_csv, tmp_path)
    assert aot["compiled"] is True
    assert aot["loaded"] == []  # no Numba, SciPy, pandas or pyarrow.compute in that process
    jit = _fit_in_child(tmp_path / "no-build-here", log_csv, tmp_path)
    assert jit["compiled"] is False
    assert "numba" in jit["loaded"]
    for name in ("std", "forgets", "restarts", "multigs"):
        assert aot[name]["ll"] == jit[name]["ll"], name  # bit-identical (float.hex)
        assert aot[name]["params"] == jit[name]["params"], name


def test_stale_or_foreign_build_is_not_used(compiled, tmp_path):
    assert _aot.manifest(compiled) is not None
    stale = tmp_path / "stale"
    stale.mkdir()
    info = json.loads((compiled / "manifest.json").read_text())
    (stale / "manifest.json").write_text(json.dumps({**info, "digest": "kt._kernels:00000000:1"}))
    assert _aot.manifest(stale) is None  # kernel sources changed since the build
    (stale / "manifest.json").write_text(json.dumps({**info, "python": [2, 7]}))
    assert _aot.manifest(stale) is None
    assert _aot.manifest(tmp_path / "missing") is None


def test_worker_lists_in_threads_equal_one_call():
    calls = []

    def fast(data, tasks, out):
        calls.append(tasks.order.tolist())
        out[tasks.order] = data[tasks.order] * 2

    from collections import namedtuple

    tasks_type = namedtuple("EMTasks", ["order", "worker_start"])
    data = np.arange(10.0)
    out = np.zeros(10)
    tasks = tasks_type(np.array([9, 0, 3, 4, 7, 1], dtype=np.int64),
                       np.array([0, 2, 2, 6], dtype=np.int64))
    _aot._run_worker_lists(fast, (data, tasks, out))
    assert sorted(calls) == [[3, 4, 7, 1], [9, 0]]  # empty list skipped
    expected = np.zeros(10)
    expected[[9, 0, 3, 4, 7, 1]] = data[[9, 0, 3, 4, 7, 1]] * 2
    assert np.array_equal(out, expected)


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([3, -1, 7, 0], type=pa.int64()).slice(1),
        pa.array([1, 2, 3], type=pa.uint8()),
        pa.array([1.5, 2.0, -0.25], type=pa.float32()),
        pa.array([True, False, True, True, False, False, True, False, True]).slice(3),
        pa.chunked_array([pa.array([1, 2], type=pa.int32()), pa.array([5], type=pa.int32())]),
        pa.array(["a", "b"]),
    ],
)
def test_arrow_values_match_pyarrow(arr):
    expected = arr.to_numpy() if isinstance(arr, pa.ChunkedArray) else arr.to_numpy(
        zero_copy_only=False)
    got = _arrow.values(arr)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


def test_arrow_timestamps_are_int64_ticks_and_valid_marks_nulls():
    ts = pa.array([10, 20, None], type=pa.timestamp("s"))
    assert _arrow.values(ts)[:2].tolist() == [10, 20]
    assert _arrow.valid(ts).tolist() == [True, True, False]
    assert _arrow.first_null(ts) == 2


def test_arrow_builders_round_trip():
    mask = np.array([True, False, True, True, False, True, False, False, True, True])
    assert _arrow.bool_array(mask).to_pylist() == mask.tolist()
    idx = np.array([4, 0, 2])
    assert _arrow.int64_array(idx).to_pylist() == [4, 0, 2]
    codes, vocab = _arrow.encode(pa.array([30, 10, 30, 20]))
    assert vocab.tolist() == ["10", "20", "30"] and codes.tolist() == [2, 0, 2, 1]
    codes, vocab = _arrow.encode(pa.array(["b", "a", "b"]))
    assert vocab.tolist() == ["a", "b"] and codes.tolist() == [1, 0, 1]
