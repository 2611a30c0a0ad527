"""The ``pathwise`` command line: one dispatcher above the layers.

Each layer contributes its own sub-commands through a *registrar*, a module with
``register(subparsers)`` that adds its sub-parser(s) and sets ``handler`` to a function
``(args) -> int``:

* ``kt.cli``: ``fit``, ``predict``, ``evaluate``, ``replay``, ``demo`` (knowledge tracing);
* ``planner.cli`` and ``engine.cli``: picked up when those packages ship one;
* ``service.cli.serve_command``: ``serve`` (the HTTP service).

Registrars import only ``argparse`` (and their own argparse helpers) at module level; heavy
imports happen inside handlers, so ``pathwise --help`` stays instant. Errors a user can fix
(``ValueError``, ``LookupError``, ``PermissionError``, ``OSError`` and the packages' errors
deriving from them) print ``pathwise COMMAND: error: ...`` and exit 1, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

REGISTRARS = (
    "kt.cli",
    "planner.cli",
    "engine.cli",
    "service.cli.serve_command",
    "service.cli.lrs_sync",
    "service.cli.admin",
    "service.cli.roster",
    "service.cli.sso",
    "service.cli.lti",
    "service.cli.experiment",
)
"""Modules asked for sub-commands, lowest layer first; a missing one is skipped."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``pathwise`` parser with every registrar's sub-commands; with ``command``, the
    registrars after the one that adds that command are not imported (``pathwise fit`` does
    not pay for the service's parsers)."""
    parser = argparse.ArgumentParser(
        prog="pathwise",
        description="Pathwise adaptive-learning engine: knowledge tracing, planning, service. "
        "Run 'pathwise COMMAND --help' for a command's options.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in REGISTRARS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # this package contributes no commands
        module.register(subparsers)
        if command is not None and command in subparsers.choices:
            break
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return its exit code."""
    from_process_entry = argv is None  # the console script and ``python -m service.cli``
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        code = int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, LookupError, PermissionError, OSError) as exc:
        # Domain errors subclass these; show the message, not a traceback.
        print(f"pathwise {args.command}: error: {exc}", file=sys.stderr)
        return 1
    if from_process_entry and getattr(args, "fast_exit", False) and not (
        sys.gettrace() or sys.getprofile()  # a profiler or coverage writes its data later
    ):
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End this process now: flush the standard streams, run the ``atexit`` functions, skip
    the interpreter's teardown (freeing every module and NumPy/pyarrow buffer: about 25-40 ms
    after ``pathwise fit`` on ASSISTments 2009). Only for commands that opt in with the
    parser default ``fast_exit=True`` (their files are closed when the handler returns), and
    only when ``main`` runs the process (no ``argv`` given), never inside another program."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
