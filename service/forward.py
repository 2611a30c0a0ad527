"""Evidence batches written by one server process (SQLite, ``pathwise serve --workers N``).

Why: with two processes taking turns at SQLite's one write lock, nearly every write starts
cold -- the other process's commit empties this connection's page cache, and a 500-observation
batch then takes 23 ms in the lock instead of 16-17 (``benchmarks.write_lock``) -- and each
group holds one batch, because a process's loop parses nothing while it writes
(docs/performance.md, seventeenth session). One process writing every batch keeps its cache
warm and its groups fuller.

How: the writer is the process holding ``<db>.writer`` (an exclusive, non-waiting ``flock``):
``pathwise serve --workers N`` starts one that only writes (``service.writer_process``)
before its workers, and any worker tries the lock at start-up and whenever the writer cannot
be reached. The writer listens on ``<db>.writer.sock`` (a Unix socket beside the database,
mode 0600). Another process checks a batch of
:data:`FORWARD_MIN` to :data:`service.writes.INLINE_MAX` observations itself, on its loop
(``prepare_evidence``: permission, rows, making observations), then sends the prepared batch
to the writer, which writes it in its own write groups (``write_evidence``) and sends back
the counts or the error, which this process answers with as if it had written. Smaller
requests write where they arrive, as before.

When the writer cannot be reached (it stopped: its lock is then free and this process tries to
take it), the batch is written here, as before. A batch whose answer was lost after it was
sent may have been stored by the writer; written again here, its ids count as duplicates
(evidence ids are idempotent). Frames are pickled: the socket is the server's own, beside a
database only its user can write.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import struct
import time

from service.writes import INLINE_MAX, run_write

FORWARD_MIN = 100
"""Batches with at least this many observations go to the writer; smaller ones write where
they arrive (for them the round trip costs more than a cold start)."""

RETRY_S = 1.0
"""After the writer was unreachable, seconds before this process tries again (to reach it, or
to become it)."""

TIMEOUT_S = 30.0
"""Seconds to wait for the writer's answer; then the batch is written here (its ids count as
duplicates if the writer stored it after all)."""

NOT_SENT = object()
"""What :meth:`Forwarder.send` returns when the batch must be written here."""

_MAX_IDLE = 8  # open connections to the writer kept for reuse
_HEADER = struct.Struct(">I")


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return await reader.readexactly(size)


def _frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


class Forwarder:
    """This process's side of the agreement above: the writer (``is_writer``) serves the
    socket; any other process sends its batches through :meth:`send`."""

    def __init__(self, app, db_file: str) -> None:
        self.app = app
        self.lock_path = f"{db_file}.writer"
        self.sock_path = f"{db_file}.writer.sock"
        self.is_writer = False
        self.forwarded = 0  # batches this process sent and the writer answered
        self.served = 0  # batches this process wrote for others
        self._fd: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._retry_at = 0.0

    async def start(self) -> Forwarder:
        """Become the writer when no other process is; else be ready to send to it."""
        await self._try_to_lead()
        return self

    async def _try_to_lead(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return
        if os.path.exists(self.sock_path):  # left by a writer that stopped: its lock is ours now
            os.unlink(self.sock_path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.sock_path)
        os.chmod(self.sock_path, 0o600)
        self.is_writer = True

    def forwards(self, n: int) -> bool:
        """Whether a batch of ``n`` observations goes to the writer now."""
        return (not self.is_writer and FORWARD_MIN <= n <= INLINE_MAX
                and time.monotonic() >= self._retry_at)

    async def send(self, tenant: str, prepared):
        """The writer's ``write_evidence(prepared)`` for ``tenant``: its counts, or its error
        raised here; :data:`NOT_SENT` when the writer cannot be reached."""
        try:
            reader, writer = self._idle.pop() if self._idle else (
                await asyncio.open_unix_connection(self.sock_path))
        except OSError:
            return await self._unreachable()
        answered = False
        try:
            writer.write(_frame(pickle.dumps((tenant, prepared), protocol=pickle.HIGHEST_PROTOCOL)))
            await writer.drain()
            frame = await asyncio.wait_for(_read_frame(reader), TIMEOUT_S)
            answered = True
        except (OSError, EOFError, asyncio.IncompleteReadError):  # OSError: TimeoutError too
            return await self._unreachable()
        finally:
            if not answered:  # failed, timed out or cancelled (the client went away): the
                writer.close()  # connection may still carry this batch's answer
        status, payload = pickle.loads(frame)
        if len(self._idle) < _MAX_IDLE:
            self._idle.append((reader, writer))
        else:
            writer.close()
        self.forwarded += 1
        if status == "ok":
            return payload
        raise payload

    async def _unreachable(self):
        self._retry_at = time.monotonic() + RETRY_S
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
        await self._try_to_lead()
        return NOT_SENT

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Write each batch another process sends, in this process's write groups."""
        pathwise = self.app.state.pathwise
        try:
            while True:
                try:
                    tenant, prepared = pickle.loads(await _read_frame(reader))
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                try:
                    pathwise.view(tenant)  # the school's cache checked as for a request here
                    school = pathwise.school(tenant)
                    answer = ("ok", await run_write(self.app, prepared.n, school.write_evidence,
                                                    prepared))
                    self.served += 1
                except Exception as exc:  # noqa: BLE001 - the sender raises it as its own
                    answer = ("err", exc)
                writer.write(_frame(_dumps(answer)))
                await writer.drain()
        finally:
            writer.close()

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
        if self._server is not None:
            self._server.close()
            if os.path.exists(self.sock_path):
                os.unlink(self.sock_path)
        if self._fd is not None:
            os.close(self._fd)  # releases the writer's lock
            self._fd = None


def _dumps(answer: tuple) -> bytes:
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an error that does not pickle goes back as its text
        status, payload = answer
        return pickle.dumps((status, RuntimeError(f"{type(payload).__name__}: {payload}")))


async def ingest_evidence(app, school, by, rows) -> dict:
    """``SchoolApp.ingest_evidence`` for a request: checked here, then written by the writer
    process when this process forwards (:class:`Forwarder`), else as
    :func:`service.writes.run_checked` writes it."""
    from service.writes import run_checked

    forwarder: Forwarder | None = getattr(app.state, "forwarder", None)
    n = len(rows)
    if forwarder is None or not forwarder.forwards(n):
        return await run_checked(app, n, school.prepare_evidence, school.write_evidence, by, rows)
    prepared = school.prepare_evidence(by, rows)
    answer = await forwarder.send(school.tenant, prepared)
    if answer is NOT_SENT:
        return await run_write(app, n, school.write_evidence, prepared)
    return answer
