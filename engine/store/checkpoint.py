"""Background WAL checkpointing for the SQLite store.

With SQLite's automatic checkpoints, the commit that crosses the threshold copies the WAL into
the database file and fsyncs it inside the request that happened to commit: 40–70 ms on this
kind of disk, the whole p99 of an ingest endpoint that otherwise answers in 2–3 ms. The store
turns automatic checkpoints off and runs this checkpointer instead: a thread with its own
connection runs a PASSIVE checkpoint every ``interval_s`` seconds. PASSIVE never blocks
writers or readers (it copies only frames no reader still needs), and ``sqlite3`` releases the
GIL while it works, so request threads do not wait for the fsync.

Under sustained writes a passive checkpoint never catches the writer, so SQLite never gets
to restart the log from its beginning and the WAL file keeps growing. When a checkpoint
leaves more than ``restart_frames`` frames in the WAL (default 65,536 pages, 256 MiB with
4 KiB pages), the checkpointer runs one RESTART checkpoint: it waits for writers and blocks
them for the short copy of what the passive checkpoints have not copied yet, and the next
writer then reuses the WAL file from its beginning. So the WAL file stays at about
``restart_frames`` plus one interval of writes, and writers pause about once per 256 MiB
written. RESTART rather than TRUNCATE: truncating a 256 MiB file inside the pause made it
115 ms instead of 35-50 ms (800 single-observation requests/s on one worker: p99 77 ms with
TRUNCATE, 9 ms with RESTART; docs/performance.md).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("pathwise.store")


class WalCheckpointer:
    """Run ``PRAGMA wal_checkpoint(PASSIVE)`` on ``path`` every ``interval_s`` seconds.

    ``checkpoints`` counts completed checkpoint calls; ``close()`` stops the thread, runs a
    last checkpoint and closes the connection. A failing checkpoint is logged and retried at
    the next tick (the WAL only grows meanwhile; nothing is lost).
    """

    def __init__(
        self, path: str, interval_s: float = 1.0, restart_frames: int = 65_536
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0 seconds, got {interval_s!r}")
        if restart_frames < 1:
            raise ValueError(f"restart_frames must be >= 1, got {restart_frames!r}")
        self.interval_s = interval_s
        self.restart_frames = restart_frames
        self.checkpoints = 0
        self.restarts = 0
        self._connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._connection.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="pathwise-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint now (``PASSIVE`` or ``RESTART``): ``(busy, wal_frames, copied_frames)``.

        After a PASSIVE one that leaves more than ``restart_frames`` frames in the WAL, a
        RESTART checkpoint follows (see the module docstring).
        """
        if mode not in ("PASSIVE", "RESTART"):
            raise ValueError(f"mode must be 'PASSIVE' or 'RESTART', got {mode!r}")
        with self._lock:
            busy, frames, done = self._connection.execute(
                f"PRAGMA wal_checkpoint({mode})"
            ).fetchone()
            self.checkpoints += 1
            if mode == "RESTART" and not busy:
                self.restarts += 1
        if mode == "PASSIVE" and frames > self.restart_frames:
            return self.checkpoint("RESTART")
        return int(busy), int(frames), int(done)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:  # retried next tick; the WAL keeps every commit
                log.warning("WAL checkpoint failed, retrying in %.1f s: %s", self.interval_s, exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.checkpoint()
        except sqlite3.Error as exc:
            log.warning("final WAL checkpoint failed: %s", exc)
        self._connection.close()
