"""Helpers of the operator commands ``pathwise admin`` and ``pathwise roster``: the store
flags, the operator's caller, reading a password without putting it in argv, JSON output."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys


def add_store_flags(p: argparse.ArgumentParser, *, tenant: bool = True) -> None:
    p.add_argument("--db", metavar="URL", default=None,
                   help="store URL like 'pathwise serve': sqlite:///path.db (default "
                        "$PATHWISE_DB or sqlite:///pathwise.db) or postgresql://...")
    if tenant:
        p.add_argument("--tenant", required=True, metavar="TENANT",
                       help="the tenant (school or district id) to act on")


def db_url(args: argparse.Namespace) -> str:
    from service.settings import Settings

    return Settings.from_env(db_url=args.db).db_url


@contextlib.contextmanager
def operator(args: argparse.Namespace, tenant: str | None = None):
    """``(school, caller)``: the tenant's SchoolApp and the operator's admin caller (audited
    as ``cli`` with the OS user's name). The store is closed afterwards."""
    from engine.access import Caller, Principal
    from engine.app import Pathwise

    tenant = tenant or args.tenant
    pw = Pathwise.open(db_url(args))
    try:
        school = pw.school(tenant)
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        principal = Principal(tenant=tenant, role="admin", key_id="cli", name=f"pathwise CLI ({user})")
        yield school, Caller(principal, via="cli")
    finally:
        pw.close()


def read_password(args: argparse.Namespace) -> str:
    """The new password: from ``--password-file`` (first line; ``-`` = stdin), else typed
    twice at a terminal. Never from argv (it would show in ``ps`` and the shell history)."""
    src = getattr(args, "password_file", None)
    if src:
        if src == "-":
            return sys.stdin.readline().rstrip("\r\n")
        with open(src, encoding="utf-8") as fh:
            return fh.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to type the password; pass --password-file FILE (or - for stdin)")
    first = getpass.getpass("New password (12 characters or more): ")
    if getpass.getpass("Repeat it: ") != first:
        raise ValueError("the two passwords differ; run the command again")
    return first


def emit(args: argparse.Namespace, data, text: str) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text``."""
    print(json.dumps(data, indent=2, sort_keys=True) if getattr(args, "json", False) else text)


def write_json(path: str, data) -> None:
    """Write JSON to ``path`` (``-`` = stdout), readable only by the owner (it holds personal data)."""
    body = json.dumps(data, indent=1, sort_keys=True, default=str)
    if path == "-":
        print(body)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body + "\n")
