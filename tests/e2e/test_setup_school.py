"""README "Setting up your school", end to end on an empty database: the commands of the
README's setup block run as written (the password comes from stdin instead of the terminal,
the server gets a free port), then Chromium signs the teacher in and sees their class."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests._servers import REPO, Process, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "maple grove teacher 2026"


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- setup-school:begin.*?```bash\n(.*?)```", text, re.S)
    assert block, "README lost its setup-school block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_setup_school_from_an_empty_database(chromium, tmp_path):
    commands = readme_commands()
    assert commands[0].startswith("export PATHWISE_DB=")
    env = {**os.environ, "PATHWISE_DB": f"sqlite:///{tmp_path / 'school.db'}", "PYTHONUNBUFFERED": "1"}
    server = None
    port = free_port()
    outputs = {}
    try:
        for line in commands[1:]:
            argv = shlex.split(line)
            assert argv[0] == "pathwise", line
            cmd = [sys.executable, "-m", "service.cli", *argv[1:]]
            if argv[1] == "serve":
                server = Process([*cmd, "--port", str(port), "--no-warm", "--log-level", "warning"], env=env)
                continue
            stdin = None
            if argv[1:3] == ["admin", "add-user"]:
                cmd += ["--password-file", "-"]
                stdin = PASSWORD + "\n"
            done = subprocess.run(cmd, cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            outputs[" ".join(argv[1:3])] = done.stdout
        assert "pw_admin_" in outputs["admin init-tenant"]
        assert "learners   created 60" in outputs["roster import"]
        assert server is not None, "the README block no longer starts the server"
        base = f"http://127.0.0.1:{port}"
        server.wait_until_up(f"{base}/health", "pathwise serve")
        page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{base}/")
        assert "/login" in page.url
        page.fill("#username", "erivera")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.locator("h1").inner_text() == "My classes"
        page.click("text=Math 3 - Room 12")
        page.wait_for_url("**/classes/cls-m3")
        assert page.locator("article.learner").count() == 14
        if os.environ.get("PATHWISE_SCREENSHOTS"):
            Path(os.environ["PATHWISE_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(os.environ["PATHWISE_SCREENSHOTS"]) / "setup-school-class.png"),
                            full_page=True)
        assert page.goto(f"{base}/classes/cls-m4").status == 403  # not her class
    finally:
        if server is not None:
            server.stop()
