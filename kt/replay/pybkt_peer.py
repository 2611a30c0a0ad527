"""pyBKT's BKT in the same replay, run in its own environment as a subprocess.

The interpreter is ``$PATHWISE_PYBKT_PYTHON`` or ``<repo>/.peer/pybkt/bin/python``.
pyBKT predicts every skill row one-step (forward filtering per skill, its ``predict``);
skill copies of one question are combined like Pathwise's BKT: the **mean** of the copies'
probabilities. Skills unseen in training get pyBKT's own 0.5.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from kt.log import ObservationLog
from kt.models.base import event_pointers

DRIVER = Path(__file__).with_name("_pybkt_replay_driver.py")


def pybkt_python(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("PATHWISE_PYBKT_PYTHON")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".peer" / "pybkt" / "bin" / "python"


def unavailable_reason(explicit: str | None = None) -> str | None:
    """Why pyBKT cannot run (None when it can)."""
    py = pybkt_python(explicit)
    if not py.exists():
        return (f"pyBKT peer interpreter {py} not found (build it with `make peer` or set "
                "PATHWISE_PYBKT_PYTHON)")
    probe = subprocess.run([str(py), "-c", "import pyBKT.models"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{py} cannot import pyBKT: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def _write(log: ObservationLog, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({
        "order_id": log.order,
        "user_id": log.learner,
        "skill_name": log.skill,  # codes: names may hold commas; pyBKT only needs identity
        "correct": log.outcome.astype(np.int64),
        "row": np.arange(len(log), dtype=np.int64),
    })
    pacsv.write_csv(table, path)


def pybkt_predict(train: ObservationLog, test: ObservationLog, *, python: str | None = None,
                  seed: int = 0, num_fits: int = 1) -> np.ndarray:
    """P(correct) per event of ``test`` from pyBKT fitted on ``train`` (mean over skill copies)."""
    import pyarrow.csv as pacsv

    py = pybkt_python(python)
    with tempfile.TemporaryDirectory(prefix="pathwise-pybkt-") as tmp:
        tmp = Path(tmp)
        _write(train, tmp / "train.csv")
        _write(test, tmp / "test.csv")
        proc = subprocess.run(
            [str(py), str(DRIVER), str(tmp / "train.csv"), str(tmp / "test.csv"),
             str(tmp / "out.csv"), str(int(seed)), str(int(num_fits))],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pyBKT peer failed ({py}): {proc.stderr.strip()[-2000:]}")
        out = pacsv.read_csv(tmp / "out.csv")
    rows = out["row"].to_numpy()
    p_row = np.full(len(test), np.nan)
    p_row[rows] = out["p"].to_numpy()
    if np.isnan(p_row).any():
        raise RuntimeError(f"pyBKT returned no prediction for {int(np.isnan(p_row).sum())} rows")
    ev_ptr, _ = event_pointers(test.event, test.learner)
    sums = np.add.reduceat(p_row, ev_ptr[:-1]) if len(test) else np.zeros(0)
    return sums / np.diff(ev_ptr)
