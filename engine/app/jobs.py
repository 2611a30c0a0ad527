"""Background jobs (model fitting) with progress, run on one worker thread.

A fit job calls the tenant's ``Engine.fit_model`` (the chosen kt model fitted on the stored
evidence, partial credit as soft evidence) with a progress callback; the fitted model becomes a
new model version. A job's final state is stored as a document, so another (or a restarted)
server process still answers for it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import NotFoundError

log = logging.getLogger("pathwise.jobs")
JOB_KIND = "job"


def warm_kernels() -> str:
    """Load (or compile, on a fresh clone) the Numba kernels of BKT fitting with a tiny fit,
    so the first fit job does not pay for compilation. Returns what was warmed."""
    import numpy as np

    from kt.bkt import BKT
    from kt.log import ObservationLog

    tiny = ObservationLog.from_arrays(learner=np.array(["a", "a", "b", "b"]), skill=np.array(["s"] * 4),
                                      outcome=np.array([0, 1, 1, 1], dtype=np.int8), source="warm-up")
    BKT(max_iter=2).fit(tiny)
    return "kt.bkt.BKT.fit (EM kernels)"


class JobRunner:
    """One worker thread; jobs keyed by (tenant, job id); ``warm`` is set once the kernels
    are loaded (or when no warm-up was asked)."""

    def __init__(self) -> None:
        self.warm = threading.Event()
        self.warm.set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pathwise-job")
        self._jobs: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_first(self, fn: Callable[[], str]) -> None:
        """Run ``fn()`` on the worker before any job (used to warm the Numba kernels)."""
        self.warm.clear()

        def _run() -> None:
            t0 = time.perf_counter()
            try:
                what = fn()
                log.info("kernels warm", extra={"via": what, "seconds": round(time.perf_counter() - t0, 3)})
            except Exception:  # a failed warm-up only costs the first fit its compile time
                log.exception("kernel warm-up failed")
            finally:
                self.warm.set()

        self._pool.submit(_run)

    def get(self, tenant: str, job_id: str, store: Any = None) -> dict:
        """A job of ``tenant``: live from this process, else its stored final state
        (``store``: the tenant's store)."""
        with self._lock:
            job = self._jobs.get((tenant, job_id))
            if job is not None:
                return dict(job)
        if store is not None:
            try:
                return dict(store.get_document(JOB_KIND, job_id).payload)
            except NotFoundError:
                pass
        raise NotFoundError(f"job {job_id!r} is unknown in tenant {tenant!r}")

    def submit(self, tenant: str, kind: str, work: Callable[[Callable[[float, str], None]], dict],
               store: Any) -> dict:
        """Queue ``work(progress) -> result`` as a job of ``tenant``; returns its first state.
        Progress never goes back; the final state (done or failed) is stored in ``store``."""
        job_id = f"job_{uuid.uuid4().hex[:12]}"
        key = (tenant, job_id)
        with self._lock:
            self._jobs[key] = {"job_id": job_id, "kind": kind, "status": "queued", "progress": 0.0,
                               "message": "waiting for the worker", "result": {}}
        self._pool.submit(self._run, key, work, store)
        return self.get(*key)

    def _update(self, key, store=None, **changes) -> None:
        with self._lock:
            job = self._jobs[key]
            if "progress" in changes:
                changes["progress"] = max(float(job["progress"]), float(changes["progress"]))
            job.update(changes)
            snapshot = dict(job)
        if store is not None:  # the final state outlives this process
            store.put_document(JOB_KIND, key[1], snapshot)

    def _run(self, key, work, store) -> None:
        try:
            self._update(key, status="running", progress=0.02, message="starting")
            result = work(lambda p, msg: self._update(key, progress=min(p, 0.99), message=msg))
            self._update(key, store, status="done", progress=1.0, message="stored", result=result)
        except Exception as exc:  # a job failure is reported on the job, never lost
            log.exception("job failed", extra={"job_id": key[1]})
            try:
                self._update(key, store, status="failed", message=f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("could not store the failed job", extra={"job_id": key[1]})
