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
That is ``protocol="every-answer"`` (the default); ``"pykt"`` runs the pyKT-style protocol
instead (expanded skill rows, late fusion: ``kt.replay.pykt``) and ``"both"`` runs the two
on the same folds.
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
EVERY_ANSWER, PYKT, BOTH = "every-answer", "pykt", "both"
PROTOCOLS = (EVERY_ANSWER, PYKT, BOTH)


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
    protocol: str = EVERY_ANSWER  # or "pykt" (expanded skill rows, late fusion) or "both"


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
    if config.protocol not in PROTOCOLS:
        raise ParameterError(f"protocol={config.protocol!r}; choose from {', '.join(PROTOCOLS)}")
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
    """Per-question predictions of every model and fold, plus bookkeeping.

    ``predictions`` is keyed by model name (every-answer protocol) and, for the pyKT-style
    protocol, by ``kt.replay.pykt.key(name)`` (late-fused per question); ``row_predictions``
    holds those keys' per-skill-row predictions, aligned with ``skill_rows``."""

    config: ReplayConfig
    log: ObservationLog
    events: dict[str, np.ndarray]  # per scored event (shared by all models): learner,item,time,...
    predictions: dict[str, np.ndarray]  # model -> p (aligned with ``events``)
    fit_seconds: dict[str, list[float]] = field(default_factory=dict)
    replay_seconds: dict[str, list[float]] = field(default_factory=dict)
    skill_rows: dict[str, np.ndarray] = field(default_factory=dict)  # event index, skill per copy
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, OnlineModel] = field(default_factory=dict)  # last fold's models
    row_predictions: dict[str, np.ndarray] = field(default_factory=dict)  # pyKT keys -> p per row


EVENT_COLUMNS = ("learner", "item", "time", "outcome", "first_on_skill", "opportunity")


@dataclass
class _Collector:
    """The per-fold pieces of a :class:`ReplayResult`, concatenated by :meth:`result`."""

    events: dict[str, list] = field(default_factory=lambda: {k: [] for k in (*EVENT_COLUMNS, "fold")})
    predictions: dict[str, list] = field(default_factory=dict)
    row_predictions: dict[str, list] = field(default_factory=dict)
    fit_seconds: dict[str, list[float]] = field(default_factory=dict)
    replay_seconds: dict[str, list[float]] = field(default_factory=dict)
    fitted: dict[str, OnlineModel] = field(default_factory=dict)
    skill_event: list = field(default_factory=list)
    skill_code: list = field(default_factory=list)
    offset: int = 0

    def add_fold(self, plan: FoldPlan, table: EventTable, test: ObservationLog) -> np.ndarray:
        """Record the scored events of one fold and their skill copies; returns the boolean
        mask (per row of ``test``) of rows whose question is scored."""
        mask = plan.score_mask
        for k in EVENT_COLUMNS:
            self.events[k].append(getattr(table, k)[mask])
        self.events["fold"].append(np.full(int(mask.sum()), plan.fold, dtype=np.int16))
        ev_of_row = np.repeat(np.arange(len(mask)), np.diff(table.ev_ptr))
        new_index = np.cumsum(mask) - 1 + self.offset
        keep_rows = mask[ev_of_row]
        self.skill_event.append(new_index[ev_of_row[keep_rows]])
        self.skill_code.append(test.skill[keep_rows])
        self.offset += int(mask.sum())
        return keep_rows

    def add(self, key: str, p: np.ndarray, fit_s: float, replay_s: float, model) -> None:
        """One model's scored predictions of one fold and its timings."""
        self.predictions.setdefault(key, []).append(p)
        self.fit_seconds.setdefault(key, []).append(fit_s)
        self.replay_seconds.setdefault(key, []).append(replay_s)
        if model is not None:
            self.fitted[key] = model

    def result(self, config: ReplayConfig, log: ObservationLog) -> ReplayResult:
        cat = {k: np.concatenate(v) for k, v in self.predictions.items()}
        return ReplayResult(
            config, log, {k: np.concatenate(v) for k, v in self.events.items()}, cat,
            fit_seconds=self.fit_seconds, replay_seconds=self.replay_seconds,
            skill_rows={"event": np.concatenate(self.skill_event),
                        "skill": np.concatenate(self.skill_code)},
            fitted=self.fitted,
            row_predictions={k: np.concatenate(v) for k, v in self.row_predictions.items()},
        )


def fit_replay(name: str, train: ObservationLog, test: ObservationLog, config: ReplayConfig,
               fit_fn: Callable, replay_fn: Callable):
    """Fit model ``name`` on ``train`` and replay ``test`` (every-answer protocol).

    Returns ``(p per question of test, fit seconds, replay seconds, fitted model or None)``."""
    import time

    t0 = time.perf_counter()
    if name == PYBKT:
        from kt.replay.pybkt_peer import pybkt_predict

        p = pybkt_predict(train, test, python=config.pybkt_python, seed=config.seed,
                          num_fits=config.pybkt_num_fits)
        return p, time.perf_counter() - t0, 0.0, None
    model = fit_fn(make_model(name, seed=config.seed), train)
    t1 = time.perf_counter()
    p = replay_fn(model, test)
    return p, t1 - t0, time.perf_counter() - t1, model


def _run_fold(plan: FoldPlan, log: ObservationLog, config: ReplayConfig, acc: _Collector,
              fit_fn: Callable, replay_fn: Callable, progress) -> None:
    """Every model of ``config`` on one fold, under each protocol asked for."""
    from kt.replay import pykt

    train, test = log.take(plan.train_rows), log.take(plan.test_rows)
    table = EventTable.of(test)
    keep_rows = acc.add_fold(plan, table, test)
    mask = plan.score_mask
    for name in config.models:
        if progress:
            progress(f"fold {plan.fold} {name}")
        if config.protocol in (EVERY_ANSWER, BOTH):
            p, fit_s, rep_s, model = fit_replay(name, train, test, config, fit_fn, replay_fn)
            acc.add(name, p[mask], fit_s, rep_s, model)
        if config.protocol in (PYKT, BOTH):
            p_rows, fit_s, rep_s, model = pykt.fit_replay(name, train, test, config, fit_fn)
            acc.add(pykt.key(name), pykt.fuse(p_rows, table.ev_ptr)[mask], fit_s, rep_s, model)
            acc.row_predictions.setdefault(pykt.key(name), []).append(p_rows[keep_rows])


def run(
    log: ObservationLog,
    config: ReplayConfig,
    *,
    fit_fn: Callable | None = None,
    replay_fn: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Run the protocol; ``fit_fn(model, log)`` / ``replay_fn(model, log)`` may be swapped
    for distributed versions (``kt.replay.distributed``) with identical results (the
    pyKT-style replay always runs locally)."""
    check_log(log)
    validate(log, config)
    fit_fn = fit_fn or (lambda m, lg: m.fit(lg))
    replay_fn = replay_fn or replay_learners
    acc = _Collector()
    for plan in plans(log, config):
        _run_fold(plan, log, config, acc, fit_fn, replay_fn, progress)
    return acc.result(config, log)


def model_list(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``"bkt,elo"`` (or a list) into registry names, stripping blanks."""
    if isinstance(spec, str):
        spec = spec.split(",")
    return tuple(s.strip() for s in spec if s.strip())
