"""Background jobs (model fitting) with progress, run on one worker thread.

A fit job reads the tenant's stored evidence, fits BKT per skill with ``kt.bkt.BKT`` in
chunks of skills (so progress is real), and stores the parameters as a new model version
(later ingests and plans use it). Partial-credit scores are binarised at 0.5 for EM, which
needs correct/incorrect outcomes.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from engine.errors import NotFoundError, ValidationError
from service.logs import get_logger

log = get_logger("jobs")
CHUNK_SKILLS = 16
JOB_KIND = "job"


class JobRunner:
    def __init__(self) -> None:
        self.warm = threading.Event()
        self.warm.set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pathwise-job")
        self._jobs: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_first(self, fn) -> None:
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

    def _update(self, key, persist=None, **changes) -> None:
        with self._lock:
            self._jobs[key].update(changes)
            snapshot = dict(self._jobs[key])
        if persist is not None:  # the final state outlives this process
            persist.ts.put_document(JOB_KIND, key[1], snapshot)

    def get(self, tenant: str, job_id: str, tb=None) -> dict:
        """A job of ``tenant``: live from this process, else its stored final state."""
        with self._lock:
            job = self._jobs.get((tenant, job_id))
            if job is not None:
                return dict(job)
        if tb is not None:
            try:
                return dict(tb.ts.get_document(JOB_KIND, job_id).payload)
            except NotFoundError:
                pass
        raise NotFoundError(f"job {job_id!r} is unknown in tenant {tenant!r}")

    def submit_fit(self, tb, *, skills=None, max_iter: int = 100, actor: str = "") -> dict:
        job_id = f"job_{uuid.uuid4().hex[:12]}"
        key = (tb.tenant, job_id)
        with self._lock:
            self._jobs[key] = {"job_id": job_id, "kind": "fit", "status": "queued", "progress": 0.0,
                               "message": "waiting for the worker", "result": {}}
        self._pool.submit(self._run_fit, key, tb, skills, max_iter, actor)
        return self.get(*key)

    def _run_fit(self, key, tb, skills, max_iter, actor) -> None:
        try:
            self._update(key, status="running", progress=0.02, message="reading evidence")
            result = fit_from_store(tb, skills=skills, max_iter=max_iter, actor=actor,
                                    progress=lambda p, msg: self._update(key, progress=p, message=msg))
            self._update(key, persist=tb, status="done", progress=1.0, message="stored", result=result)
        except Exception as exc:  # a job failure is reported on the job, never lost
            log.exception("fit job failed", extra={"job_id": key[1]})
            try:
                self._update(key, persist=tb, status="failed", message=f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("could not store the failed job", extra={"job_id": key[1]})


def fit_from_store(tb, *, skills=None, max_iter: int = 100, actor: str = "", progress=lambda p, m: None) -> dict:
    """Fit BKT from the tenant's observations; store a new model version; return a summary."""
    import numpy as np

    from kt.bkt import BKT
    from kt.log import ObservationLog

    t0 = time.perf_counter()
    observations = tb.ts.list_observations()
    learners, skill_col, items, outcome, order = [], [], [], [], []
    wanted = set(skills) if skills else None
    for rank, o in enumerate(observations):
        for s in o.skill_ids:
            if wanted is not None and s not in wanted:
                continue
            learners.append(o.learner_id)
            skill_col.append(s)
            items.append(o.activity_id)
            outcome.append(1 if o.score >= 0.5 else 0)
            order.append(rank)
    if not outcome:
        raise ValidationError("no stored evidence to fit (for these skills); ingest observations first")
    progress(0.1, f"{len(outcome)} rows from {len(observations)} observations")
    log_ = ObservationLog.from_arrays(learner=np.array(learners), skill=np.array(skill_col),
                                      item=np.array(items), outcome=np.array(outcome, dtype=np.int8),
                                      order=np.array(order, dtype=np.int64), source="pathwise store")
    names = [str(s) for s in log_.skill_names]
    params = {}
    for start in range(0, len(names), CHUNK_SKILLS):
        chunk = names[start:start + CHUNK_SKILLS]
        model = BKT(max_iter=max_iter, num_fits=1, seed=0).fit(log_, skills=chunk)
        for s in chunk:
            params[s] = model.skill_params(s)
        progress(0.1 + 0.85 * min(1.0, (start + len(chunk)) / len(names)),
                 f"fitted {min(len(names), start + len(chunk))} of {len(names)} skills")
    meta = {"method": "bkt-em", "rows": len(outcome), "observations": len(observations),
            "skills": len(params), "max_iter": max_iter, "by": actor,
            "seconds": round(time.perf_counter() - t0, 3)}
    version = tb.engine.set_model(params, meta).version
    tb._invalidate()
    return {"version": version, **meta}
