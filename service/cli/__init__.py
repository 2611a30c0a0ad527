"""The ``pathwise`` command line: one sub-command module per job.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds
its sub-parser(s) and sets ``handler`` to a function ``(args) -> int``. Modules
import only ``argparse`` at the top; heavy imports happen inside handlers so
``pathwise --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "service.cli.demo_command",
    "service.cli.kt_commands",
    "service.cli.replay_command",
    "service.cli.serve_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathwise",
        description="Pathwise adaptive-learning engine: knowledge tracing, planning, service.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not shipped yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, LookupError, PermissionError, OSError) as exc:
        # Domain errors subclass these; show the message, not a traceback.
        print(f"pathwise {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
