"""The pathwise dispatcher imports only the registrars up to the one adding the command."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from service.cli import REGISTRARS, build_parser
parser = build_parser({command!r})
sub = next(a for a in parser._actions if a.dest == "command")
print(sorted(sub.choices))
print(sorted(r for r in REGISTRARS if r in sys.modules))
"""


def _run(command):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(command=command)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return eval(out[0]), eval(out[1])  # noqa: S307 - our own printed lists


def test_fit_builds_only_kt_commands():
    choices, loaded = _run("fit")
    assert "fit" in choices and "serve" not in choices
    assert loaded == ["kt.cli"]


def test_no_command_or_unknown_builds_every_registrar():
    everything, loaded_all = _run(None)
    unknown, loaded_unknown = _run("no-such-command")
    assert everything == unknown and {"fit", "serve"} <= set(everything)
    assert loaded_all == loaded_unknown and "service.cli.serve_command" in loaded_all


def test_serve_is_found_after_kt():
    choices, _ = _run("serve")
    assert {"fit", "serve"} <= set(choices)
