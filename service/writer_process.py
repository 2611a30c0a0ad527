"""The writing process of ``pathwise serve --workers N`` on a SQLite file.

``pathwise serve`` starts it before the workers: it takes ``<db>.writer`` first and writes
every evidence batch the workers send (``service.forward``), and does nothing else, so the
workers' loops parse requests while it writes and its own loop only writes. Were it a worker,
the same loop would also parse the half of the batches that reach it (about 80 % busy at
20,000 events/s, docs/performance.md). When it stops, a worker takes its place
(``Forwarder`` falls back and takes the lock). It exits when its parent (``pathwise serve``)
is gone, or on SIGTERM or SIGINT.

    python -m service.writer_process --db sqlite:///school.db [--parent PID]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from types import SimpleNamespace

PARENT_CHECK_S = 1.0


async def serve(db_url: str, parent: int | None, ready=None) -> int:
    """Write the workers' batches until SIGTERM or until ``parent`` is gone; 0, or 1 when
    another process is the writer already. ``ready()`` is called once serving."""
    from engine.app import Pathwise
    from service.app import freeze_startup_heap, start_writes
    from service.settings import Settings

    pathwise = Pathwise.open(db_url)
    app = SimpleNamespace(state=SimpleNamespace(pathwise=pathwise))
    try:
        await start_writes(app, pathwise, Settings(db_url=db_url, forward_writes=True))
        forwarder = app.state.forwarder
        if forwarder is None or not forwarder.is_writer:
            print(f"pathwise writer: {db_url} has a writer already (or is not a SQLite file)",
                  file=sys.stderr)
            return 1
        freeze_startup_heap()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT: Ctrl+C reaches the whole group
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        if ready is not None:
            ready()
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                break
            try:
                await asyncio.wait_for(stop.wait(), PARENT_CHECK_S)
            except TimeoutError:
                pass
        return 0
    finally:
        if getattr(app.state, "forwarder", None) is not None:
            app.state.forwarder.close()
        pathwise.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, metavar="URL", help="sqlite:///path.db")
    parser.add_argument("--parent", type=int, default=None, metavar="PID",
                        help="exit when this process is no longer the parent")
    args = parser.parse_args(argv)
    return asyncio.run(serve(args.db, args.parent, ready=_say_ready))


def _say_ready() -> None:
    """Tell the parent (one line on stdout, which it then closes), and send anything printed
    later to /dev/null rather than to the closed pipe."""
    print("ready", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
