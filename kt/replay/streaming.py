"""Streaming replay of a Parquet log too large to load at once.

The file must be sorted by learner, then order, and hold **integer codes** that match the
fitted model's vocabularies (learner any int, skill ``0..n_skills-1``, item ``0..n_items-1``
or -1, outcome 0/1, order int). It is read in record batches of ``batch_rows`` with
pyarrow; the rows of the last learner of a batch are carried into the next chunk, so every
chunk holds whole learners and replays independently (locally or as one Dask task).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from kt.errors import LogFormatError
from kt.log import ObservationLog, assign_events

DEFAULT_COLUMNS = {"learner": "user_id", "skill": "skill_id", "item": "problem_id",
                   "outcome": "correct", "order": "order_id"}


def _chunk_log(cols: dict[str, np.ndarray], n_skills: int, n_items: int) -> ObservationLog:
    learner = cols["learner"]
    _, lcode = np.unique(learner, return_inverse=True)
    lcode = lcode.astype(np.int32)
    skill = cols["skill"].astype(np.int32)
    item = cols["item"].astype(np.int32)
    outcome = cols["outcome"].astype(np.int8)
    order = cols["order"].astype(np.int64)
    event = assign_events(lcode, skill, item, outcome, order)
    return ObservationLog(
        learner=lcode, skill=skill, item=item, outcome=outcome, order=order, event=event,
        learner_ids=np.unique(learner).astype(str), skill_names=np.arange(n_skills).astype(str),
        item_ids=np.arange(n_items).astype(str), source="parquet stream",
    )


def iter_learner_chunks(path: str, *, n_skills: int, n_items: int, batch_rows: int = 1_000_000,
                        columns: Mapping[str, str] | None = None) -> Iterator[ObservationLog]:
    """Yield ObservationLog chunks of whole learners from a learner-sorted Parquet file."""
    import pyarrow.parquet as pq

    names = {**DEFAULT_COLUMNS, **dict(columns or {})}
    pf = pq.ParquetFile(path)
    missing = [c for c in names.values() if c not in pf.schema_arrow.names]
    if missing:
        raise LogFormatError(f"{path} lacks column(s) {missing}; map them with columns={{role: name}}")
    carry: dict[str, np.ndarray] | None = None
    last_learner = None
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(names.values())):
        cols = {role: batch.column(name).to_numpy(zero_copy_only=False) for role, name in names.items()}
        if carry is not None:
            cols = {k: np.concatenate([carry[k], cols[k]]) for k in cols}
        lrn = cols["learner"]
        if last_learner is not None and len(lrn) and np.any(np.diff(lrn) < 0):
            raise LogFormatError(f"{path} is not sorted by learner; sort it (learner, order) first")
        cut = int(np.searchsorted(lrn, lrn[-1], side="left"))  # start of the last learner
        carry = {k: v[cut:] for k, v in cols.items()}
        last_learner = lrn[-1]
        if cut > 0:
            yield _chunk_log({k: v[:cut] for k, v in cols.items()}, n_skills, n_items)
    if carry is not None and len(carry["learner"]):
        yield _chunk_log(carry, n_skills, n_items)


def _replay_chunk(model, log: ObservationLog) -> tuple[int, float, float]:
    from kt.replay.protocol import replay_learners

    p = replay_learners(model, log)
    from kt.models.base import event_pointers

    ev_ptr, _ = event_pointers(log.event, log.learner)
    y = log.outcome[ev_ptr[:-1]]
    return len(p), float(p.sum()), float(((p - y) ** 2).sum())


def stream_replay(model, path: str, *, client=None, batch_rows: int = 1_000_000,
                  columns: Mapping[str, str] | None = None, max_pending: int = 8) -> dict:
    """Replay every learner of a Parquet file through ``model``; bounded memory.

    Returns ``{"answers", "sum_p", "rmse"}``. With a Dask ``client`` each chunk is one task
    (at most ``max_pending`` in flight); the totals equal the local ones.
    """
    chunks = iter_learner_chunks(path, n_skills=model.n_skills_, n_items=model.n_items_,
                                 batch_rows=batch_rows, columns=columns)
    results: dict[int, tuple[int, float, float]] = {}
    if client is None:
        for i, c in enumerate(chunks):
            results[i] = _replay_chunk(model, c)
    else:
        from dask.distributed import wait

        fm = client.scatter(model, broadcast=True)
        pending: dict = {}
        for i, c in enumerate(chunks):
            pending[client.submit(_replay_chunk, fm, c, pure=False)] = i
            if len(pending) >= max_pending:
                done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
                for f in done:
                    results[pending.pop(f)] = f.result()
        for f, i in pending.items():
            results[i] = f.result()
    parts = [results[i] for i in sorted(results)]  # chunk order: sums equal the local path's
    n = sum(p[0] for p in parts)
    return {"answers": n, "chunks": len(parts), "sum_p": sum(p[1] for p in parts),
            "rmse": float(np.sqrt(sum(p[2] for p in parts) / max(n, 1)))}
