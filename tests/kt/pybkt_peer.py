"""Run the pyBKT 1.4.2 (C++) peer as a subprocess through ``benchmarks/_pybkt_driver.py``.

pyBKT lives in its own venv (``.peer/pybkt``, made by ``make peer``) and is never imported
here. ``require_peer()`` returns its interpreter, or skips with the reason outside CI and fails
under ``CI=true`` (like ``tests.conftest.require_shared``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DRIVER = REPO_ROOT / "benchmarks" / "_pybkt_driver.py"


def peer_python() -> Path:
    return Path(
        os.environ.get("PATHWISE_PYBKT_PYTHON", REPO_ROOT / ".peer" / "pybkt" / "bin" / "python")
    )


def require_peer() -> Path:
    """The peer's python; skip (fail under CI) when the environment is missing."""
    python = peer_python()
    if not python.exists():
        message = (
            f"pyBKT peer environment {python} is missing; run `make peer` (or set "
            "PATHWISE_PYBKT_PYTHON to a python with pyBKT 1.4.2 built from source)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def run_driver(spec: dict, python: Path | None = None, timeout: float = 300.0) -> dict:
    """Run the driver with ``spec`` (see its docstring) and return its JSON result."""
    python = python or require_peer()
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        out_path = Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run(
            [str(python), str(DRIVER), str(spec_path), str(out_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pyBKT driver failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(out_path.read_text())
