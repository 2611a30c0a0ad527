"""The replay protocol: fit on training learners, replay held-out learners online.

k-fold mode: learners (not rows) are split into ``folds`` groups with a seeded permutation;
for each fold every model is fitted on the other folds and each held-out learner's history
is replayed in time order through ``model.update_many`` (the service's online path): every
question is predicted from the learner's past answers only, then applied.

Temporal mode (``temporal=f``): models are fitted on the events whose order key is within
the first fraction ``f`` of all events; every learner with later events is replayed from
the start (earlier events warm the state) and only events after the cut are scored.

One prediction per question: the skill copies of a question share an event and the model
predicts the event once (its native multi-skill combination, see ``kt.models.base``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kt.errors import LogFormatError, ParameterError
from kt.log import ObservationLog
from kt.models import MODEL_NAMES, make_model
from kt.models.base import OnlineModel, event_pointers

PYBKT = "pybkt"


@dataclass(frozen=True)
class ReplayConfig:
    """What to run. ``models``: registry names (``kt.models.MODEL_NAMES``) and/or ``"pybkt"``."""

    models: tuple[str, ...]
    folds: int = 5
    seed: int = 0
    temporal: float | None = None
    n_boot: int = 200
    pybkt_python: str | None = None
    pybkt_num_fits: int = 1


def validate(log: ObservationLog, config: ReplayConfig) -> None:
    """Raise a clear error for a bad configuration before any work starts."""
    if not config.models:
        raise ParameterError("no models given; pass e.g. --models bkt,elo,best-lr")
    for name in config.models:
        if name not in MODEL_NAMES and name != PYBKT:
            raise ParameterError(
                f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)} (or --include-pybkt)"
            )
    if len(set(config.models)) != len(config.models):
        raise ParameterError(f"model list {list(config.models)} repeats a name")
    n_learners = len(np.unique(log.learner))
    if config.temporal is None:
        if not isinstance(config.folds, int) or config.folds < 2:
            raise ParameterError(f"folds={config.folds!r} must be an integer >= 2")
        if config.folds > n_learners:
            raise ParameterError(
                f"{config.folds} folds are more than the {n_learners} learners in the log; "
                f"use {max(2, min(5, n_learners))} or fewer folds (--folds "
                f"{max(2, min(5, n_learners))})"
            )
    elif not 0.0 < float(config.temporal) < 1.0:
        raise ParameterError(f"temporal={config.temporal!r} must be a fraction in (0, 1)")
    if config.n_boot < 0:
        raise ParameterError(f"n_boot={config.n_boot!r} must be >= 0")


def check_log(log: ObservationLog) -> None:
    """The log must be learner-then-order sorted with a usable order key."""
    if len(log) == 0:
        raise LogFormatError("the log is empty; nothing to replay")
    lrn = log.learner
    if np.any(lrn[1:] < lrn[:-1]):
        raise LogFormatError("log rows are not grouped by learner; build it with kt.io.read_log")
    same = lrn[1:] == lrn[:-1]
    if np.any(same & (log.order[1:] < log.order[:-1])):
        raise LogFormatError("log rows are not in time order within a learner; give an order column")


@dataclass(frozen=True)
class EventTable:
    """Per-question view of a log (``n_events`` entries) plus its row pointers."""

    ev_ptr: np.ndarray  # int64 (n_events + 1,)
    lr_ptr: np.ndarray  # int64 (n_learner_runs + 1,) event pointers of learners
    learner: np.ndarray  # int32
    item: np.ndarray  # int32
    time: np.ndarray  # int64 order key of the question
    outcome: np.ndarray  # int8
    first_on_skill: np.ndarray  # bool: the learner had never practised one of its skills
    opportunity: np.ndarray  # int32: 1-based practice count of its first skill

    @classmethod
    def of(cls, log: ObservationLog) -> EventTable:
        ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
        starts = ev_ptr[:-1]
        key = log.learner.astype(np.int64) * max(log.n_skills, 1) + log.skill
        order = np.argsort(key, kind="stable")
        ks = key[order]
        run_start = np.r_[True, ks[1:] != ks[:-1]]
        idx = np.arange(len(ks))
        first_idx = np.maximum.accumulate(np.where(run_start, idx, 0))
        cum = np.empty(len(ks), dtype=np.int64)
        cum[order] = idx - first_idx
        n_ev = len(starts)
        ev_of_row = np.repeat(np.arange(n_ev), np.diff(ev_ptr))
        min_cum = np.full(n_ev, np.iinfo(np.int64).max)
        np.minimum.at(min_cum, ev_of_row, cum)
        return cls(
            ev_ptr=ev_ptr, lr_ptr=lr_ptr, learner=log.learner[starts], item=log.item[starts],
            time=log.order[starts], outcome=log.outcome[starts], first_on_skill=min_cum == 0,
            opportunity=(cum[starts] + 1).astype(np.int32),
        )


def split_learners(log: ObservationLog, folds: int, seed: int) -> np.ndarray:
    """Fold (0..folds-1) of every learner code (int16, ``n_learners``); absent learners -1."""
    present = np.unique(log.learner)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(present))
    fold = np.full(log.n_learners, -1, dtype=np.int16)
    fold[present[perm]] = (np.arange(len(present)) % folds).astype(np.int16)
    return fold


def aligned(model, log: ObservationLog) -> tuple[object, np.ndarray]:
    """``(model, codes)``: ``codes[k]`` is the model's int code of ``log.skill_names[k]`` (the
    identity for ``kt.models`` models, fitted on the same vocabulary); a BKT is first given the log's skills it has no rows for (``kt.models.bkt.cover_skills``)."""
    from kt.bkt import BKT
    from kt.models.bkt import cover_skills

    if not isinstance(model, BKT):  # kt.models: fitted on the log's vocabulary (its codes)
        return model, np.arange(len(log.skill_names), dtype=np.int64)
    model = cover_skills(model, log.skill_names.tolist())
    names = [str(n) for n in model.skill_names_]
    if len(names) == len(log.skill_names) and names == log.skill_names.astype(str).tolist():
        return model, np.arange(len(names), dtype=np.int64)
    index = {n: i for i, n in enumerate(names)}
    return model, np.array([index[str(n)] for n in log.skill_names], dtype=np.int64)


def replay_learners(model, log: ObservationLog) -> np.ndarray:
    """P(correct) per event of ``log``, one ``update_many`` call per learner from a fresh state."""
    model, codes = aligned(model, log)
    skill = codes[log.skill]
    ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
    out = np.empty(len(ev_ptr) - 1)
    for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
        r0, r1 = ev_ptr[a], ev_ptr[b]
        _, p = model.update_many(model.init_state(), skill[r0:r1], log.outcome[r0:r1],
                                 items=log.item[r0:r1], events=log.event[r0:r1])
        out[a:b] = p
    return out


@dataclass
class FoldPlan:
    """One train/test split: rows to fit on, rows to replay, which replayed events to score."""

    fold: int
    train_rows: np.ndarray
    test_rows: np.ndarray
    score_mask: np.ndarray  # bool per event of the replayed log


def plans(log: ObservationLog, config: ReplayConfig) -> list[FoldPlan]:
    if config.temporal is None:
        fold_of = split_learners(log, config.folds, config.seed)
        row_fold = fold_of[log.learner]
        out = []
        for f in range(config.folds):
            test = np.flatnonzero(row_fold == f)
            n_ev = len(event_pointers(log.event[test])[0]) - 1
            out.append(FoldPlan(f, np.flatnonzero(row_fold != f), test, np.ones(n_ev, dtype=bool)))
        return out
    ev_ptr, _ = event_pointers(log.event, log.learner)
    ev_time = log.order[ev_ptr[:-1]]
    cut = np.quantile(ev_time, float(config.temporal), method="lower")
    train = np.flatnonzero(log.order <= cut)
    late_learners = np.unique(log.learner[log.order > cut])
    test = np.flatnonzero(np.isin(log.learner, late_learners))
    sub = log.take(test)
    sptr, _ = event_pointers(sub.event, sub.learner)
    if len(train) == 0 or len(late_learners) == 0:
        raise ParameterError(f"temporal={config.temporal} leaves no training or no test events")
    return [FoldPlan(0, train, test, sub.order[sptr[:-1]] > cut)]


@dataclass
class ReplayResult:
    """Per-question predictions of every model and fold, plus bookkeeping."""

    config: ReplayConfig
    log: ObservationLog
    events: dict[str, np.ndarray]  # per scored event (shared by all models): learner,item,time,...
    predictions: dict[str, np.ndarray]  # model -> p (aligned with ``events``)
    fit_seconds: dict[str, list[float]] = field(default_factory=dict)
    replay_seconds: dict[str, list[float]] = field(default_factory=dict)
    skill_rows: dict[str, np.ndarray] = field(default_factory=dict)  # event index, skill per copy
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, OnlineModel] = field(default_factory=dict)  # last fold's models


def run(
    log: ObservationLog,
    config: ReplayConfig,
    *,
    fit_fn: Callable | None = None,
    replay_fn: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Run the protocol; ``fit_fn(model, log)`` / ``replay_fn(model, log)`` may be swapped
    for distributed versions (``kt.replay.distributed``) with identical results."""
    import time

    check_log(log)
    validate(log, config)
    fit_fn = fit_fn or (lambda m, lg: m.fit(lg))
    replay_fn = replay_fn or replay_learners
    ev_cols: dict[str, list] = {k: [] for k in (
        "learner", "item", "time", "outcome", "first_on_skill", "opportunity", "fold")}
    preds: dict[str, list] = {m: [] for m in config.models}
    fit_s: dict[str, list[float]] = {m: [] for m in config.models}
    rep_s: dict[str, list[float]] = {m: [] for m in config.models}
    sk_ev: list[np.ndarray] = []
    sk_sk: list[np.ndarray] = []
    offset = 0
    result = ReplayResult(config, log, {}, {})
    for plan in plans(log, config):
        train = log.take(plan.train_rows)
        test = log.take(plan.test_rows)
        table = EventTable.of(test)
        mask = plan.score_mask
        for k in ev_cols:
            if k == "fold":
                ev_cols[k].append(np.full(int(mask.sum()), plan.fold, dtype=np.int16))
            else:
                ev_cols[k].append(getattr(table, k)[mask])
        # skill copies of scored events (for per-skill metrics)
        ev_of_row = np.repeat(np.arange(len(mask)), np.diff(table.ev_ptr))
        new_index = np.cumsum(mask) - 1 + offset
        keep_rows = mask[ev_of_row]
        sk_ev.append(new_index[ev_of_row[keep_rows]])
        sk_sk.append(test.skill[keep_rows])
        offset += int(mask.sum())
        for name in config.models:
            if progress:
                progress(f"fold {plan.fold} {name}")
            t0 = time.perf_counter()
            if name == PYBKT:
                from kt.replay.pybkt_peer import pybkt_predict

                p = pybkt_predict(train, test, python=config.pybkt_python, seed=config.seed,
                                  num_fits=config.pybkt_num_fits)
                fit_s[name].append(time.perf_counter() - t0)
                rep_s[name].append(0.0)
            else:
                model = fit_fn(make_model(name, seed=config.seed), train)
                t1 = time.perf_counter()
                p = replay_fn(model, test)
                fit_s[name].append(t1 - t0)
                rep_s[name].append(time.perf_counter() - t1)
                result.fitted[name] = model
            preds[name].append(p[mask])
    result.events = {k: np.concatenate(v) for k, v in ev_cols.items()}
    result.predictions = {k: np.concatenate(v) for k, v in preds.items()}
    result.fit_seconds = fit_s
    result.replay_seconds = rep_s
    result.skill_rows = {"event": np.concatenate(sk_ev), "skill": np.concatenate(sk_sk)}
    return result


def model_list(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``"bkt,elo"`` (or a list) into registry names, stripping blanks."""
    if isinstance(spec, str):
        spec = spec.split(",")
    return tuple(s.strip() for s in spec if s.strip())
