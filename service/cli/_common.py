"""Shared pieces of the admin-side commands (``pathwise sso``, ``pathwise lti``): the store and
tenant flags, the operator's caller, and error messages that name flags instead of fields."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator


def store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=None,
                   help="store URL (default PATHWISE_DB or sqlite:///pathwise.db)")
    p.add_argument("--tenant", default=None, help="tenant (default PATHWISE_TENANT or demo)")


@contextlib.contextmanager
def operator(args) -> Iterator[tuple]:
    """``(school, caller)``: the tenant's SchoolApp and an admin caller for the person at the
    console (audited as actor ``cli``)."""
    from engine.access import Caller, Principal
    from engine.app import Pathwise

    db = args.db or os.environ.get("PATHWISE_DB", "sqlite:///pathwise.db")
    tenant = args.tenant or os.environ.get("PATHWISE_TENANT", "demo")
    pw = Pathwise.open(db)
    try:
        yield pw.school(tenant), Caller(Principal(tenant=tenant, role="admin", key_id="cli", name="console"),
                                        via="cli")
    finally:
        pw.close()


def flag_error(exc: Exception, fields: tuple[str, ...]) -> ValueError:
    """``exc``'s message with a leading field name written as its flag (``issuer`` -> ``--issuer``)."""
    msg = str(exc)
    for field in fields:
        if msg.startswith(field + " ") or msg.startswith(field + ","):
            msg = "--" + field.replace("_", "-") + msg[len(field):]
            break
    return ValueError(msg)
