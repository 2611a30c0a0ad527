"""The layering is checked: import-linter's contracts in pyproject.toml
(``[tool.importlinter]``) hold for the source tree, and each of them would catch a violation.

service -> engine -> planner -> kt; kt imports nothing of ours; planner only kt; engine
neither fastapi nor service; service never imports engine.store; the web stack only in service.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("kt", "planner", "engine", "engine/store", "service", "benchmarks")

# One deliberate bad import per contract: (file in a stub tree, its content).
VIOLATIONS = {
    "kt imports nothing of ours": ("kt/bad.py", "import planner\n"),
    "planner imports only kt": ("planner/bad.py", "from engine import errors\n"),
    "engine imports neither fastapi nor service": ("engine/bad.py", "import service\n"),
    "service does not import engine.store": ("service/bad.py", "import engine.store\n"),
    "the web stack (fastapi, starlette, uvicorn, pydantic) only in service": (
        "planner/bad.py", "import pydantic\n"),
}


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is missing: install the dev extras, pip install -e '.[dev]'")
    return found


def _run(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_lint_imports(), "--no-cache", "--no-logo"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _contract_names() -> list[str]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def _broken(output: str) -> list[str]:
    return [line.rsplit(" ", 1)[0] for line in output.splitlines() if line.endswith(" BROKEN")]


def test_the_source_tree_keeps_every_layering_contract():
    out = _run(REPO_ROOT)
    report = out.stdout + out.stderr
    assert out.returncode == 0, (
        f"broken layering contracts: {_broken(report)}\n{report[report.find('Broken'):]}"
    )
    assert "BROKEN" not in report


def _stub_tree(root: Path) -> Path:
    """Empty packages with our names and the project's import-linter configuration."""
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    for package in PACKAGES:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    return root


def test_every_contract_has_a_violation_case():
    assert set(_contract_names()) == set(VIOLATIONS)


def test_a_clean_stub_tree_keeps_every_contract(tmp_path):
    out = _run(_stub_tree(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(" KEPT") == len(VIOLATIONS)


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_deliberate_bad_import_breaks_its_contract(tmp_path, contract):
    root = _stub_tree(tmp_path)
    path, source = VIOLATIONS[contract]
    (root / path).write_text(source)
    out = _run(root)
    assert out.returncode != 0, out.stdout
    assert _broken(out.stdout) == [contract], out.stdout
