"""Login failures kept in the store, shared by every server process of an installation.

:class:`StoreFailureLog` is the :class:`engine.access.LoginThrottle` log that ``Pathwise``
uses: with ``pathwise serve --workers N`` a per-process count would let an attacker try N
times as many passwords. One JSON document per throttle key in the installation's system
tenant (``kind = "login_failures"``, id: a SHA-256 of the key, so no username or address is
stored in the clear); the failure times (epoch seconds) inside the window. Concurrent
failures from several processes are merged with the document's optimistic version check.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.errors import ConflictError, NotFoundError

KIND = "login_failures"
_RETRIES = 5


def _doc_id(key: tuple) -> str:
    return hashlib.sha256(json.dumps(list(key)).encode("utf-8")).hexdigest()[:32]


class StoreFailureLog:
    """Failure times per throttle key in ``system_store`` (a tenant store; thread- and
    process-safe through the store's transactions)."""

    def __init__(self, system_store: Any) -> None:
        self.store = system_store

    def _get(self, key: tuple) -> tuple[list[float], int]:
        try:
            doc = self.store.get_document(KIND, _doc_id(key))
        except NotFoundError:
            return [], 0
        return [float(t) for t in doc.payload.get("times", [])], doc.version

    def times(self, key: tuple) -> list[float]:
        return self._get(key)[0]

    def add(self, key: tuple, at: float, window_s: float) -> None:
        for _ in range(_RETRIES):
            times, version = self._get(key)
            kept = [t for t in times if at - t < window_s][-99:]
            try:
                self.store.put_document(KIND, _doc_id(key), {"times": [*kept, at]},
                                        expected_version=version)
                return
            except ConflictError:  # another process recorded a failure meanwhile: merge again
                continue
        raise ConflictError("login failure count is contended; try again")

    def clear(self, key: tuple) -> None:
        try:
            self.store.delete_document(KIND, _doc_id(key))
        except NotFoundError:
            pass
