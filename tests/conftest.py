"""Shared fixtures. The shared real data lives beside the repo (``../shared/data``).

Outside CI a test that needs it skips with a clear reason when it is absent;
under CI (``CI=true``) it fails, so a missing data set can never pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    return Path(os.environ.get("PATHWISE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def require_shared(relative: str) -> Path:
    """Return ``shared/data/<relative>``; skip (or fail under CI) when it is missing."""
    path = shared_data_path() / relative
    if not path.exists():
        message = (
            f"shared data file {path} is missing; set PATHWISE_SHARED_DATA to the folder "
            "holding the shared data (default ../shared/data beside the repo)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder itself (skips or fails like ``require_shared``)."""
    return require_shared("")
