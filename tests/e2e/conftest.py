"""End-to-end fixtures: a real ``pathwise serve --demo`` on a free loopback port and Debian's
Chromium driven by Playwright (never ``playwright install``).

Outside CI the tests skip when chromium or playwright is missing; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests._servers import REPO, pathwise_server

__all__ = ["REPO", "chromium_path"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("PATHWISE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        _missing("Debian chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (python) is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a running demo server (fresh SQLite file in a temp dir)."""
    db = tmp_path_factory.mktemp("e2e") / "pathwise.db"
    with pathwise_server(f"sqlite:///{db}") as process:
        yield process.base
