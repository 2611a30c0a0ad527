"""Where the shared data folder is (never required by the demo)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``$PATHWISE_SHARED_DATA`` or ``../shared/data`` beside the repo (may not exist)."""
    return Path(os.environ.get("PATHWISE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
