"""``BKT.fit`` / ``partial_fit``: from a log to a fitted ``ParamStore`` by the EM kernels.

The steps, each a function: choose the skills and build the layout (``_skills_layout``);
code the item classes per skill (``_Classes``); fixed and restart-0 starting values per
skill and class (``_specs``); one EM task per (skill, restart) with its starting values
(``_Tasks``); run ``kt.bkt._kernels.em_fit`` in progress steps (``_run``); keep the best
restart of each skill (``_best``). See ``kt.bkt.model`` for the EM stopping rule.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from kt.bkt import bounds as kbounds
from kt.bkt import layout as lay
from kt.bkt import nested as nested_fit
from kt.bkt import schedule, start
from kt.bkt.store import ParamStore
from kt.errors import LogFormatError, ParameterError, UnknownSkillError
from kt.log import ObservationLog

PROGRESS_STEPS = 20
QUICK_REST_SECONDS = 0.5
"""With a progress report, the tasks after the first step run as one step when they should
take less than this (the bar of ``kt.fitting`` shows only once a fit has lasted a second)."""
TRACE_LEN = 256  # E-steps kept in ll_trace_ per skill (memory: tasks x TRACE_LEN floats)
FORGET_START = 0.01  # p_forget of the forgets restart that starts at the nested fit
KINDS = {"p_guess": "gs", "p_slip": "gs", "p_learn": "lr", "p_forget": "lr", "p_init": "pr"}
PARAMS = tuple(KINDS)  # the order of ``_kernels.EMParams``


@dataclass(frozen=True)
class FitResult:
    """What one fit produced: the store of the fitted skills and per skill its LL, EM
    iterations and LL trace; ``em_seconds`` = wall time in the EM kernels; ``data``: per
    skill (rows, correct rows, learners) of the fitted log (``kt.bkt.diagnostics``)."""

    store: ParamStore
    lls: dict
    iters: dict
    traces: dict
    em_seconds: float
    data: dict = None  # type: ignore[assignment]


@contextmanager
def threads(n: int | None):
    """Run the block with ``n`` Numba threads (None = leave the setting alone)."""
    if n is None:  # do not load Numba for nothing (the fit may run compiled kernels, kt._aot)
        yield
        return
    import numba

    if not (1 <= n <= numba.config.NUMBA_NUM_THREADS):
        raise ParameterError(
            f"n_threads={n!r} is outside 1..{numba.config.NUMBA_NUM_THREADS}; "
            "pass None to use every core"
        )
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def select_skills(log: ObservationLog, skills) -> np.ndarray:
    """int32 skill codes of ``skills`` (exact names with rows in ``log``), or every skill with
    rows when None; ``UnknownSkillError`` names a skill without rows."""
    present = (np.flatnonzero(np.bincount(log.skill, minlength=log.n_skills))
               if len(log) else np.empty(0, np.int64))
    if skills is None:
        if len(present) == 0:
            raise LogFormatError("the log has no rows; fit needs at least one observation")
        return present.astype(np.int32)
    if isinstance(skills, str):
        skills = [skills]
    codes = []
    have = set(present.tolist())
    for name in skills:
        hits = np.flatnonzero(log.skill_names == name)
        if len(hits) == 0 or int(hits[0]) not in have:
            raise UnknownSkillError(
                f"skill {name!r} has no rows in this log; pass names from log.skill_names "
                "(exact match, not a pattern)"
            )
        codes.append(int(hits[0]))
    return np.array(codes, dtype=np.int32)


def _skills_layout(log: ObservationLog, skills, variant: lay.Variant):
    """(skill codes, layout) of the skills to fit."""
    if skills is None and len(log):
        # every skill of the log; the layout's row counts show which have rows
        codes = np.arange(log.n_skills, dtype=np.int32)
        layout = lay.build(log, codes, variant)
        present = np.diff(layout.row_start) > 0
        if not present.all():
            codes = codes[present]
            layout = lay.build(log, codes, variant)
        return codes, layout
    codes = select_skills(log, skills)
    return codes, lay.build(log, codes, variant)


def _labels(log: ObservationLog, column: str | None, pair: bool, codes: list) -> list:
    """Class labels per skill (``lay.class_labels``); one shared ``["*"]`` without a column."""
    if column is None:
        return [[lay.DEFAULT_CLASS]] * len(codes)
    return [lay.class_labels(log, column, pair, c) for c in codes]


def _label_tuples(labels: list) -> tuple:
    if labels and all(x is labels[0] for x in labels):
        one = tuple(labels[0])
        return (one,) * len(labels)
    return tuple(tuple(x) for x in labels)


@dataclass(frozen=True)
class _Classes:
    """Per kind ("gs", "lr", "pr"): each row's (sequence's for "pr") class index local to its
    skill (int32), the skills' class offsets (int64 (S+1)) and their labels."""

    local: dict
    offsets: dict
    labels: dict

    @classmethod
    def build(cls, log: ObservationLog, layout: lay.Layout, variant: lay.Variant) -> _Classes:
        n_sk, m, n_seq = len(layout.skills), layout.n_rows, len(layout.seq_row)
        local, offsets, labels = {}, {}, {}
        for kind, bnd, key, length, col, pair in (
            ("gs", layout.row_start, layout.gs_key, m, variant.gs_col, False),
            ("lr", layout.row_start, layout.lr_key, m, variant.lr_col, variant.pair),
            ("pr", layout.seq_start, layout.pr_key, n_seq, variant.prior_col, False),
        ):
            codes, local[kind] = lay.per_skill_codes(bnd, key, n_sk, length)
            labels[kind] = _labels(log, col, pair, codes)
            offsets[kind] = np.concatenate(
                [[0], np.cumsum([len(c) for c in codes])]).astype(np.int64)
        return cls(local, offsets, labels)


def _specs(model, names: list[str], classes: _Classes, warm: ParamStore | None):
    """(fixed, first): per parameter float64 arrays over skill classes, NaN = none: the fixed
    values, and restart 0's starting values (``init``, else a warm start's values)."""
    fixed = start.per_skill_spec(model.fixed, names, "fixed")
    init = start.per_skill_spec(model.init, names, "init")
    label_index = {k: {} for k in classes.offsets}  # per kind: {skill: label lookup}
    fx, first = {}, {}
    for p, k in KINDS.items():
        off, labels = classes.offsets[k], classes.labels[k]
        fx[p] = start.spec_array(fixed, names, labels, off, p, "fixed", label_index[k])
        first[p] = start.spec_array(init, names, labels, off, p, "init", label_index[k])
    if not model.forgets:
        fx["p_forget"][np.isnan(fx["p_forget"])] = 0.0
    if warm is not None:
        lb = classes.labels
        for s, name in enumerate(names):
            if name not in warm.skill_names:
                continue
            values = start.warm_values(warm, name, lb["gs"][s], lb["lr"][s], lb["pr"][s])
            for p, arr in values.items():
                off = classes.offsets[KINDS[p]]
                sl = slice(off[s], off[s + 1])
                first[p][sl] = np.where(np.isnan(first[p][sl]), arr, first[p][sl])
    return fx, first


@dataclass(frozen=True)
class _Tasks:
    """One EM task per (skill, restart), restarts of a skill adjacent: ``skill`` int64 (T,),
    per kind the tasks' class offsets ``offsets`` (int64 (T+1)) and ``entry_task`` (the task of
    each flat entry), and ``values`` the flat starting values per parameter (float64)."""

    restarts: int
    skill: np.ndarray
    offsets: dict
    entry_task: dict
    values: dict

    @classmethod
    def build(cls, model, names, classes: _Classes, fx: dict, first: dict, restarts: int,
              last: dict | None = None):
        """Random starting values come from a counter-based generator keyed by (seed, skill
        name, restart, parameter, class), so they do not depend on which other skills are
        fitted; restart 0 takes ``first`` where given; the last restart takes ``last`` (flat
        values per parameter, e.g. the nested fit's) when given; fixed values override."""
        n_sk = len(names)
        skill = np.repeat(np.arange(n_sk, dtype=np.int64), restarts)
        restart = np.tile(np.arange(restarts, dtype=np.int64), n_sk)
        n_tasks = len(skill)
        crc = np.array([zlib.crc32(n.encode()) for n in names], dtype=np.uint64)
        offsets, entry_task, values = {}, {}, {}
        for kind, off in classes.offsets.items():
            sizes = np.diff(off)[skill]
            offsets[kind] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            entry_task[kind] = np.repeat(np.arange(n_tasks, dtype=np.int64), sizes)
        for p, kind in KINDS.items():
            task = entry_task[kind]
            cls_ = np.arange(len(task), dtype=np.int64) - offsets[kind][task]
            sk = skill[task]
            flat = classes.offsets[kind][sk] + cls_
            r = restart[task]
            draw = start.uniform(int(model.seed), crc[sk], r, start.PARAM_ID[p], cls_)
            draw *= start.HIGH[p]
            if p == "p_forget" and not model.forgets:
                draw[:] = 0.0
            f0 = first[p][flat]
            draw = np.where((r == 0) & ~np.isnan(f0), f0, draw)
            if last is not None:
                draw = np.where(r == restarts - 1, last[p][flat], draw)
            values[p] = np.ascontiguousarray(np.where(np.isnan(fx[p][flat]), draw, fx[p][flat]))
        return cls(restarts, skill, offsets, entry_task, values)


def _progress_steps(task_order: np.ndarray, restarts: int, task_rows: np.ndarray,
                    most: int = PROGRESS_STEPS) -> list:
    """``task_order`` cut at skill boundaries into up to ``most`` pieces of about equal rows
    (a skill's restarts are adjacent in ``task_order``)."""
    n_sk = len(task_order) // restarts
    n_steps = max(1, min(most, n_sk))
    skill_rows = task_rows[::restarts].astype(np.float64)
    cum = np.cumsum(skill_rows)
    # last skill of each step: where the running total passes k/n of all rows
    targets = cum[-1] * np.arange(1, n_steps + 1) / n_steps
    ends = np.minimum(np.searchsorted(cum, targets, side="left") + 1, n_sk)  # nondecreasing
    ends = ends[np.concatenate(([True], ends[1:] != ends[:-1]))]  # np.unique loads numpy.ma
    starts = np.concatenate([[0], ends[:-1]])
    return [task_order[a * restarts:b * restarts] for a, b in zip(starts, ends, strict=True)
            if b > a]


def _merge_quick_rest(steps: list, rows: np.ndarray, first_seconds: float) -> list:
    """``steps`` with every step after the first merged into one when, at the first step's
    seconds per row, they should take less than ``QUICK_REST_SECONDS``: one balanced call keeps
    both workers busy to the end instead of waiting at each step's slowest task (about 10 ms
    of the 25 ms EM on ASSISTments 2009). Which tasks run together never changes a result."""
    if len(steps) <= 2:
        return steps
    first_rows = float(rows[steps[0]].sum())
    rest = [rows[s].sum() for s in steps[1:]]
    if first_rows <= 0 or first_seconds / first_rows * float(sum(rest)) >= QUICK_REST_SECONDS:
        return steps
    return [steps[0], np.concatenate(steps[1:])]


def _run(model, layout, classes: _Classes, tasks: _Tasks, fx: dict, progress,
         most_steps: int = PROGRESS_STEPS) -> tuple:
    """Run EM on every task (largest skills first, in progress steps, each step split into
    balanced worker lists); returns (``EMOut``, seconds in the kernels)."""
    from kt.bkt.online import bkt_kernels

    k = bkt_kernels()
    n_tasks, restarts = len(tasks.skill), tasks.restarts
    data = k.EMData(layout.seq_start, layout.seq_row, layout.seq_len, classes.local["pr"],
                    layout.obs, np.empty(0) if layout.soft is None else layout.soft,
                    classes.local["gs"], classes.local["lr"])
    prm = k.EMParams(*(tasks.values[p] for p in PARAMS))
    fixed = k.EMFixed(*(fx[p] for p in PARAMS), *(classes.offsets[c] for c in ("gs", "lr", "pr")))
    cfg = k.EMSettings(bool(model.forgets), settings_bounds(model),
                       kbounds.pseudo_counts(model.prior), int(model.max_iter), float(model.tol),
                       float(model.rtol))
    out = k.EMOut(np.empty(n_tasks), np.empty(n_tasks, dtype=np.int64),
                  np.full((n_tasks, min(int(model.max_iter), TRACE_LEN)), np.nan))
    rows = np.diff(layout.row_start).astype(np.int64)[tasks.skill]  # rows of each task
    task_order = np.argsort(-rows, kind="stable").astype(np.int64)
    steps = [task_order] if progress is None else _progress_steps(
        task_order, restarts, rows[task_order], most_steps)
    em_seconds, done, n_sk = 0.0, 0, n_tasks // restarts
    with threads(model.n_threads):
        n_workers = k.get_num_threads()  # without loading Numba (kt._aot)
        i = 0
        while i < len(steps):
            if i == 1:
                steps = _merge_quick_rest(steps, rows, em_seconds)
            step = steps[i]
            i += 1
            order, worker_start = schedule.balance(step, rows[step], n_workers)
            em_task = k.EMTasks(tasks.skill, order, worker_start, tasks.offsets["gs"],
                                tasks.offsets["lr"], tasks.offsets["pr"])
            em_started = time.perf_counter()
            k.em_fit(data, em_task, prm, fixed, cfg, out)
            em_seconds += time.perf_counter() - em_started
            if progress is not None:
                done += len(step) // restarts
                progress(done, n_sk)
    return out, em_seconds


def _traces(names: list[str], rows: np.ndarray) -> dict:
    """{skill: LL of every E-step} from the (S, max_iter) trace rows of the kept restarts
    (NaN = no such E-step)."""
    valid = ~np.isnan(rows)
    n_valid = valid.sum(axis=1)
    if np.array_equal(valid, np.arange(rows.shape[1]) < n_valid[:, None]):  # NaN only at ends
        return {n: rows[s, :k] for s, (n, k) in enumerate(zip(names, n_valid.tolist(),
                                                                strict=True))}
    return {n: rows[s][valid[s]] for s, n in enumerate(names)}


def _best(names, classes: _Classes, tasks: _Tasks, out, em_seconds: float) -> FitResult:
    """Keep the best restart per skill (ties: the lowest restart)."""
    n_sk, restarts = len(names), tasks.restarts
    scores = np.where(np.isnan(out.ll), -np.inf, out.ll).reshape(n_sk, restarts)
    best = np.arange(n_sk, dtype=np.int64) * restarts + np.argmax(scores, axis=1)
    is_best = np.zeros(len(tasks.skill), dtype=bool)
    is_best[best] = True
    flat = {p: tasks.values[p] if restarts == 1 else
            tasks.values[p][is_best[tasks.entry_task[kind]]] for p, kind in KINDS.items()}
    off, lb = classes.offsets, classes.labels
    store = ParamStore(
        skill_names=tuple(names), gs_off=off["gs"], lr_off=off["lr"], pr_off=off["pr"],
        **flat, gs_labels=_label_tuples(lb["gs"]), lr_labels=_label_tuples(lb["lr"]),
        pr_labels=_label_tuples(lb["pr"]),
    )
    return FitResult(
        store=store,
        lls=dict(zip(names, out.ll[best].tolist(), strict=True)),
        iters=dict(zip(names, out.n_iter[best].tolist(), strict=True)),
        traces=_traces(names, out.trace[best]),
        em_seconds=em_seconds,
    )


def settings_bounds(model) -> np.ndarray:
    """The (5, 2) bound table of ``model``'s ``bounds`` / ``p_guess_bounds`` / ``p_slip_bounds``."""
    return kbounds.bounds_table(model.bounds, model.p_guess_bounds, model.p_slip_bounds)


def _skill_data(layout, n_sk: int) -> dict:
    """Per fitted skill: rows, correct rows (outcome 1) and learners (sequences)."""
    rows = np.diff(layout.row_start).astype(np.int64)
    correct = np.add.reduceat(layout.obs.astype(np.int64), layout.row_start[:-1]) if len(
        layout.obs) else np.zeros(n_sk, np.int64)
    correct = np.where(rows > 0, correct, 0)
    learners = np.diff(layout.seq_start).astype(np.int64)
    return {"rows": rows, "correct": correct, "learners": learners}


def fit(model, log: ObservationLog, skills, warm: ParamStore | None,
        progress: Callable[[int, int], object] | None) -> FitResult:
    """Fit ``model``'s hyperparameters on ``log`` (``skills``: names, or None = all with rows);
    ``warm``: a fitted store to continue from (one restart), or None.

    With ``forgets`` (p_forget free) the nested standard model (``forgets=False``) is fitted
    first; the forgets fit adds one restart starting at its parameters (p_forget
    ``FORGET_START``) and keeps, per skill, the nested parameters where they have the higher
    log-likelihood: a forgets fit never ends below its nested standard fit. Not with
    ``nested_start=False`` (pyBKT's behaviour) nor in ``partial_fit`` (one restart from the
    fitted values). Each of the two fits reports progress in half the steps."""
    if progress is not None and not callable(progress):
        raise ParameterError(
            f"progress={progress!r} must be None or a callable progress(done, total)"
        )
    variant = model._variant()
    settings_bounds(model)
    kbounds.pseudo_counts(model.prior)
    codes, layout = _skills_layout(log, skills, variant)
    names = [str(x) for x in log.skill_names[codes].tolist()]
    classes = _Classes.build(log, layout, variant)
    data = _skill_data(layout, len(names))
    nested = None
    if model.forgets and warm is None and model.nested_start:
        inner = nested_fit.nested_model(model)
        fx, first = _specs(inner, names, classes, None)
        tasks = _Tasks.build(inner, names, classes, fx, first, int(model.num_fits))
        out, em_seconds = _run(inner, layout, classes, tasks, fx, nested_fit.halves(progress, False),
                               PROGRESS_STEPS // 2)
        nested = _best(names, classes, tasks, out, em_seconds)
        progress = nested_fit.halves(progress, True)
    fx, first = _specs(model, names, classes, warm)
    restarts = 1 if warm is not None else int(model.num_fits)
    last = None
    if nested is not None:
        restarts += 1
        last = {p: getattr(nested.store, p).copy() for p in PARAMS}
        last["p_forget"] = np.where(np.isnan(fx["p_forget"]), FORGET_START, fx["p_forget"])
    tasks = _Tasks.build(model, names, classes, fx, first, restarts, last)
    out, em_seconds = _run(model, layout, classes, tasks, fx, progress,
                           PROGRESS_STEPS if nested is None else PROGRESS_STEPS // 2)
    res = _best(names, classes, tasks, out, em_seconds)
    if nested is not None:
        res = nested_fit.keep_better(res, nested, classes.offsets)
        from dataclasses import replace

        res = replace(res, em_seconds=res.em_seconds + nested.em_seconds)
    skill_data = {n: (int(data["rows"][i]), int(data["correct"][i]), int(data["learners"][i]))
                  for i, n in enumerate(names)}
    from dataclasses import replace

    return replace(res, data=skill_data)
