"""service.deps.run_engine: a small engine call runs on the event loop's thread (no pool hop),
a big one in the thread pool (the loop keeps serving other requests meanwhile)."""

from __future__ import annotations

import asyncio
import threading

from service.deps import INLINE_MAX, run_engine


def _call(n: int) -> tuple[int, int]:
    async def main() -> tuple[int, int]:
        loop_thread = threading.get_ident()
        ran_in = await run_engine(n, lambda x, *, y: (threading.get_ident(), x + y), 1, y=2)
        assert ran_in[1] == 3
        return loop_thread, ran_in[0]

    out: list = []  # a thread of its own: other tests may leave an event loop running here
    worker = threading.Thread(target=lambda: out.append(asyncio.run(main())))
    worker.start()
    worker.join()
    return out[0]


def test_small_requests_run_on_the_loop_thread():
    loop_thread, ran_in = _call(INLINE_MAX)
    assert ran_in == loop_thread


def test_big_requests_run_in_the_thread_pool():
    loop_thread, ran_in = _call(INLINE_MAX + 1)
    assert ran_in != loop_thread
