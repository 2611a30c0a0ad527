"""The pyBKT peer helper skips outside CI and fails under CI when the peer is missing."""

from __future__ import annotations

import pytest

from tests.kt import pybkt_peer


def test_missing_peer_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWISE_PYBKT_PYTHON", str(tmp_path / "nope" / "python"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make peer"):
        pybkt_peer.require_peer()


def test_missing_peer_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWISE_PYBKT_PYTHON", str(tmp_path / "nope" / "python"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make peer"):
        pybkt_peer.require_peer()


def test_driver_errors_are_raised(tmp_path, monkeypatch):
    python = pybkt_peer.require_peer()
    with pytest.raises(RuntimeError, match="pyBKT driver failed"):
        pybkt_peer.run_driver({"mode": "em", "csv": str(tmp_path / "missing.csv")}, python)
