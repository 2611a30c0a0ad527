"""Replay on a Dask cluster: fitting partitioned by skill, replay partitioned by learner.

* BKT-family fitting: skills are split into groups; each task runs ``kt.bkt.BKT.fit`` on
  its skills only (kt.bkt seeds every skill independently, so the merged parameters equal
  a single-machine fit); the stacked item offsets of ``bkt-item`` are fitted on the client.
* Counter/logistic models: design rows are built per learner chunk on the workers (each
  learner's features depend only on that learner), stacked in learner order, and the
  weights are fitted by L-BFGS on the client — the same matrix, hence the same weights.
* Elo, and ``r-best-lr-elo`` (whose training features need cross-fitted Elo passes): the
  item pass is sequential in time, so these fit on the client.
* Replay: held-out learners are cut into contiguous chunks, one task per chunk, each
  calling ``update_many`` per learner; results are concatenated in learner order.

Results equal the local path (tested with a ``dask.distributed.LocalCluster``).
"""

from __future__ import annotations

import numpy as np

from kt.log import ObservationLog
from kt.models.base import OnlineModel


def connect(address: str):
    """A ``dask.distributed.Client``: ``"local"`` starts a LocalCluster (2 workers, threads)."""
    from dask.distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               dashboard_address=":0")
        return Client(cluster)
    return Client(address)


def learner_chunks(log: ObservationLog, n_chunks: int) -> list[np.ndarray]:
    """Row index arrays of ~equal numbers of whole learners (contiguous, in order)."""
    starts = np.flatnonzero(np.r_[True, log.learner[1:] != log.learner[:-1]])
    bounds = np.r_[starts, len(log)]
    n_l = len(starts)
    cuts = np.linspace(0, n_l, max(1, min(n_chunks, n_l)) + 1).astype(int)
    return [np.arange(bounds[a], bounds[b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _replay_chunk(model: OnlineModel, log: ObservationLog) -> np.ndarray:
    from kt.replay.protocol import replay_learners

    return replay_learners(model, log)


def _design_chunk(model, log: ObservationLog):
    return model.design(log)


def _bkt_fit_skills(params: dict, log: ObservationLog, skills: list[str]) -> dict:
    from kt.bkt import BKT

    return BKT(**params).fit(log, skills=skills).to_dict()


class DaskRunner:
    """``fit`` and ``replay`` callables for :func:`kt.replay.protocol.run` on a client."""

    def __init__(self, client, n_partitions: int | None = None):
        self.client = client
        n_workers = len(client.scheduler_info().get("workers", {})) or 1
        self.n_partitions = n_partitions or 2 * n_workers

    def replay(self, model: OnlineModel, log: ObservationLog) -> np.ndarray:
        chunks = [log.take(r) for r in learner_chunks(log, self.n_partitions)]
        fm = self.client.scatter(model, broadcast=True)
        futures = [self.client.submit(_replay_chunk, fm, c, pure=False) for c in chunks]
        return np.concatenate(self.client.gather(futures))

    def fit(self, model: OnlineModel, log: ObservationLog) -> OnlineModel:
        from kt.bkt import BKT
        from kt.models.bkt import BKTItem
        from kt.models.counters import CounterLogisticModel

        if isinstance(model, BKT | BKTItem):
            return self._fit_bkt(model, log)
        if isinstance(model, CounterLogisticModel) and not model.uses_elo:
            return self._fit_counters(model, log)
        return model.fit(log)  # Elo: one sequential pass

    def _fit_bkt(self, model, log: ObservationLog):
        """Skill groups fitted on workers (each a ``BKT.fit(log, skills=group)``, the same
        per-skill EM as one fit), joined into one BKT on the client."""
        from kt.bkt import BKT

        present = [str(log.skill_names[k]) for k in np.unique(log.skill)]
        groups = [g.tolist() for g in np.array_split(np.array(present, dtype=object),
                                                     min(self.n_partitions, len(present)))]
        params = {"forgets": bool(model.forgets), "num_fits": int(model.num_fits),
                  "seed": int(model.seed), "max_iter": int(model.max_iter)}
        flog = self.client.scatter(log, broadcast=True)
        futures = [self.client.submit(_bkt_fit_skills, params, flog, g, pure=False)
                   for g in groups if g]
        parts = [BKT.from_dict(doc) for doc in self.client.gather(futures)]
        bkt = parts[0]
        for part in parts[1:]:
            bkt = bkt.with_skills({s: part.skill_params(s) for s in part.skill_names_})
        if isinstance(model, BKT):
            return bkt
        model._set_bkt(bkt, log)
        model._fit_offsets(log)
        return model

    def _fit_counters(self, model, log: ObservationLog):
        import scipy.sparse

        from kt.models.logreg import fit_logistic

        model._begin_fit(log)
        model.offsets_, model.n_columns_, model.column_ranges_ = model._layout()
        chunks = [log.take(r) for r in learner_chunks(log, self.n_partitions)]
        fm = self.client.scatter(model, broadcast=True)
        futures = [self.client.submit(_design_chunk, fm, c, pure=False) for c in chunks]
        parts = self.client.gather(futures)
        X = scipy.sparse.vstack([p[0] for p in parts]).tocsr()
        y = np.concatenate([p[1] for p in parts])
        model.weights_ = fit_logistic(X, y, l2=model.l2, max_iter=model.max_iter)
        return model
