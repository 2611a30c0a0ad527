"""One call in a second thread, without ``concurrent.futures``.

The fit path runs two things in threads: ``kt._table`` hashes the skill strings while it codes
the numeric columns, and ``kt._aot`` runs the worker lists of a compiled EM call (both release
the GIL). ``concurrent.futures`` costs about 3 ms to import, a tenth of the EM on ASSISTments
2009; a started ``threading.Thread`` per call costs about 0.1 ms and, unlike a kept pool,
never outlives the call (nothing to restart after a fork).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Call:
    """``fn(*args)`` running in a new daemon thread; ``result()`` waits for it and returns its
    value or raises its exception."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "kt-call") -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value
