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
4 KiB pages), the checkpointer asks for a restart (``restart_wanted``) and the store's next
commit in this process makes it while it still holds the writers' lock
(:meth:`WalCheckpointer.restart_in_turn`): no other process can append then, so a PASSIVE
checkpoint copies the little written since the last one, and a RESTART without a busy timeout
resets the log at once, or gives up at once while a reader is still in it (tried again for up
to :data:`IN_TURN_PATIENCE_S`, then at the next tick). A RESTART with a busy timeout, as
before, holds every writer while it sleeps in SQLite's backoff waiting for readers: stalls of
1.2 and 3.9 s were measured at 40 batches/s with one process writing (docs/performance.md,
seventeenth session). Only when the log has grown past ``4 * restart_frames`` anyway (readers
that never pause) does the checkpointer run that waiting RESTART itself. So the WAL file stays
at about ``restart_frames`` plus one interval of writes. RESTART rather than TRUNCATE:
truncating a 256 MiB file inside the pause made it 115 ms instead of 35-50 ms (800
single-observation requests/s on one worker: p99 77 ms with TRUNCATE, 9 ms with RESTART).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger("pathwise.store")

IN_TURN_PATIENCE_S = 0.010
"""How long a commit's restart (:meth:`WalCheckpointer.restart_in_turn`) retries while a
reader is still in the log, holding the writers' lock meanwhile."""

FORCED_RESTART_FACTOR = 4
"""Past ``FORCED_RESTART_FACTOR * restart_frames`` frames the checkpointer runs a waiting
RESTART itself (readers kept the commits' restarts from succeeding)."""


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
        self.restart_wanted = False  # set by a tick, made by the next commit (restart_in_turn)
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
        if mode == "PASSIVE" and frames > FORCED_RESTART_FACTOR * self.restart_frames:
            return self.checkpoint("RESTART")
        if mode == "PASSIVE":
            self.restart_wanted = frames > self.restart_frames
        return int(busy), int(frames), int(done)

    def restart_in_turn(self, connection: sqlite3.Connection) -> bool:
        """Restart the log through ``connection`` (the store's write connection, outside a
        transaction) while the caller holds the writers' lock; True when the log was reset.
        Clears ``restart_wanted`` either way: one try per request (module docstring)."""
        self.restart_wanted = False
        connection.execute("PRAGMA busy_timeout=0")
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            give_up = time.monotonic() + IN_TURN_PATIENCE_S
            while True:
                busy = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
                if not busy:
                    self.restarts += 1
                    return True
                if time.monotonic() >= give_up:
                    return False
                time.sleep(0.001)
        except sqlite3.Error as exc:  # a failed restart only leaves the log longer
            log.warning("WAL restart after a commit failed: %s", exc)
            return False
        finally:
            connection.execute("PRAGMA busy_timeout=30000")

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
