"""A serving process freezes its startup heap (``Settings.freeze_heap``, ``gc.freeze``): the
collector's full passes then skip the startup objects. ``pathwise serve`` turns it on, in one
process and in every worker; apps built in tests leave it off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service.conftest import run_serve

ROOT = Path(__file__).resolve().parents[2]

_LIFESPAN = """
import gc, json, sys
from fastapi.testclient import TestClient
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import run_serve
settings = Settings(db_url=sys.argv[1], warm_kernels=False, freeze_heap=sys.argv[2] == "on")
before = gc.get_freeze_count()
with TestClient(create_app(settings)) as client:
    assert client.get("/health").status_code == 200
    print(json.dumps({"before": before, "after": gc.get_freeze_count()}))
"""


def _frozen(tmp_path: Path, freeze: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _LIFESPAN, f"sqlite:///{tmp_path / 'heap.db'}", freeze],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_startup_freezes_the_heap_only_when_asked(tmp_path):
    on = _frozen(tmp_path, "on")
    assert on["before"] == 0 and on["after"] > 10_000  # modules, functions, the app
    off = _frozen(tmp_path, "off")
    assert off == {"before": 0, "after": 0}


def test_serve_turns_it_on_in_one_process_and_in_workers(monkeypatch):
    one, _ = run_serve(monkeypatch, workers=1)
    assert one.freeze_heap is True
    # the worker processes build their settings from the environment the parent sets
    _, env = run_serve(monkeypatch, workers=2)
    assert env["PATHWISE_FREEZE_HEAP"] == "true"
    assert Settings.from_env(env).freeze_heap is True
    assert Settings.from_env({}).freeze_heap is False


@pytest.mark.parametrize("value, expected", [("false", False), ("1", True)])
def test_the_environment_can_set_it(value, expected):
    assert Settings.from_env({"PATHWISE_FREEZE_HEAP": value}).freeze_heap is expected
