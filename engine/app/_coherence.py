"""Reference data seen alike by every server process (issue 12 item 7).

Each process caches a tenant's school (graph, catalog, learners, classes, guardians, policy,
model parameters) in a :class:`~engine.app._view.SchoolView`. A write through one process
drops its own cache at once; other processes learn of it through a *reference token* kept in
the store: every local write replaces the tenant's token with a fresh random one, and a
process compares its view's token with the stored one at most every
:data:`CHECK_INTERVAL_S` seconds (one indexed read), reloading when they differ.

A random token rather than a counter: two processes that bump a counter at the same moment
can both write the same number, and one of them would then keep a view that lacks the
other's change. The token is read *before* the view is loaded, so a change committed while
loading leaves a view with an old token, which the next check reloads.
"""

from __future__ import annotations

import secrets
from typing import Any

from engine.errors import NotFoundError

CHECK_INTERVAL_S = 0.25  # a change is seen by every process within this (plus one load)
TOKEN_KIND = "reference_token"
TOKEN_ID = "school"


def read_token(tenant_store: Any) -> str:
    """The tenant's current reference token ("" before any write)."""
    try:
        return str(tenant_store.get_document(TOKEN_KIND, TOKEN_ID).payload.get("token", ""))
    except NotFoundError:
        return ""


def bump_token(tenant_store: Any) -> str:
    """Replace the tenant's reference token with a fresh random one (after a write)."""
    token = secrets.token_hex(8)
    tenant_store.put_document(TOKEN_KIND, TOKEN_ID, {"token": token})
    return token
