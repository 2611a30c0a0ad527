"""``BKT``: Bayesian Knowledge Tracing estimator (scikit-learn style) with pyBKT's variants.

Fitting is Baum-Welch EM with a scaled forward-backward in Numba (``kt.bkt._kernels``),
parallel across (skill, restart) tasks and bit-identical whatever the thread count.

EM stopping rule: iteration i runs an E-step giving LL_i, the log-likelihood of the current
parameters (a float, natural log, summed over the skill's learners). EM stops before the
M-step when ``tol > 0``, i >= 1 and LL_i - LL_{i-1} < ``tol``; otherwise it stops after
``max_iter`` M-steps. ``tol=0`` runs exactly ``max_iter`` iterations (E-step + M-step each).
``n_iter_`` counts M-steps; ``log_likelihood_`` is the LL of the returned parameters.

Soft evidence: when the log has a ``score`` column (partial credit in [0, 1]), ``fit``,
``predict`` and ``evaluate`` use it, never rounded: P(score | mastered) = s (1 - p_slip) +
(1 - s) p_slip, P(score | not mastered) = s p_guess + (1 - s)(1 - p_guess) (the online
update's evidence model), and the M-step's guess/slip counts split each state's posterior
between a latent correct and wrong answer (``kt.bkt._kernels``). Every variant takes scores;
``multiprior=True`` groups learners by their first *outcome* (the score rounded at 0.5).
Without a score column the outcomes are the evidence (the same numbers as before scores).

Prediction semantics (pyBKT's ``correct_predictions`` / ``state_predictions``): for each row,
``p_correct`` = P(correct) given the learner's earlier rows of that skill, and ``p_mastered``
= P(mastered) before the row; ``p_mastered_after`` = P(mastered) after the row including the
learn/forget transition (what the online update returns).

Differences from pyBKT 1.4.2, on purpose: float log-likelihood (pyBKT truncates it to an
integer); class-specific parameters are used in the E-step for every class (pyBKT uses the
first class's); fixed values are applied before the first E-step as well; a zero emission
probability is used as zero (pyBKT treats a zero factor as one); convergence is checked from
the second E-step (pyBKT: third); random starting values come from a per-skill counter-based
generator (same ranges as pyBKT's ``random_model_uni``, not its random stream: use ``init``
for identical starts).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kt.bkt import layout as lay
from kt.bkt import schedule, start
from kt.bkt.online import UNKNOWN_MODES, OnlineBKT, bkt_kernels
from kt.bkt.params import SkillParams
from kt.bkt.store import ParamStore
from kt.errors import (
    LogFormatError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    UnknownSkillError,
)
from kt.log import ObservationLog


@dataclass(frozen=True)
class Prediction:
    """Per-row predictions aligned with the log's rows (float64 (n,) each)."""

    p_correct: np.ndarray
    p_mastered: np.ndarray
    p_mastered_after: np.ndarray


@contextmanager
def _threads(n: int | None):
    import numba

    if n is None:
        yield
        return
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


def _numba_threads() -> int:
    """Numba threads the next parallel kernel call will use."""
    import numba

    return numba.get_num_threads()


def _rows_per_skill(layout: lay.Layout) -> np.ndarray:
    """int64 (S,) number of rows of each layout skill."""
    return np.diff(layout.row_start).astype(np.int64)


PROGRESS_STEPS = 20


def _progress_steps(task_order: np.ndarray, restarts: int, task_rows: np.ndarray) -> list:
    """``task_order`` cut at skill boundaries into up to ``PROGRESS_STEPS`` pieces of about
    equal rows (a skill's restarts are adjacent in ``task_order``)."""
    n_sk = len(task_order) // restarts
    n_steps = max(1, min(PROGRESS_STEPS, n_sk))
    skill_rows = task_rows[::restarts].astype(np.float64)
    cum = np.cumsum(skill_rows)
    # last skill of each step: where the running total passes k/n of all rows
    targets = cum[-1] * np.arange(1, n_steps + 1) / n_steps
    ends = np.unique(np.minimum(np.searchsorted(cum, targets, side="left") + 1, n_sk))
    starts = np.concatenate([[0], ends[:-1]])
    return [task_order[a * restarts:b * restarts] for a, b in zip(starts, ends, strict=True)
            if b > a]


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


def _traces(names: list[str], rows: np.ndarray) -> dict:
    """{skill: LL of every E-step} from the (S, max_iter) trace rows of the kept restarts
    (NaN = no such E-step)."""
    valid = ~np.isnan(rows)
    n_valid = valid.sum(axis=1)
    if np.array_equal(valid, np.arange(rows.shape[1]) < n_valid[:, None]):  # NaN only at ends
        return {n: rows[s, :k] for s, (n, k) in enumerate(zip(names, n_valid.tolist(),
                                                                strict=True))}
    return {n: rows[s][valid[s]] for s, n in enumerate(names)}


class _ParamsView(Mapping):
    """``params_``: {skill: parameter block} built from the store on first access per skill."""

    def __init__(self, store: ParamStore) -> None:
        self._store = store
        self._blocks: dict[str, dict] = {}

    def __getitem__(self, skill: str) -> dict:
        block = self._blocks.get(skill)
        if block is None:
            index = self._store._index.get(skill)  # type: ignore[attr-defined]
            if index is None:
                raise KeyError(skill)
            block = self._blocks[skill] = self._store.block(index)
        return block

    def __iter__(self):
        return iter(self._store.skill_names)

    def __len__(self) -> int:
        return self._store.n_skills

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _bounds(name: str, value) -> tuple[float, float]:
    if value is None:
        return 0.0, 1.0
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a (low, high) pair") from None
    if not (0.0 <= lo <= hi <= 1.0):
        raise ParameterError(f"{name}={value!r} must satisfy 0 <= low <= high <= 1")
    return lo, hi


class BKT(OnlineBKT):
    """Bayesian Knowledge Tracing, one HMM per skill, fitted by EM.

    Hyperparameters (stored as given; see the module docstring for EM and predictions):
        forgets: learn p_forget (else fixed at 0).
        multigs: class column (in ``log.classes``) giving guess/slip per class (KT-IDEM).
        multilearn: class column giving learn/forget per class of the row just answered.
        multiprior: True (group learners by their first outcome of the skill) or a class column
            (group by its value at the learner's first row): one p_init per group (KT-PPS).
        multipair: class column; learn class = (previous item's class, current item's class).
            At most one of multilearn / multiprior / multipair.
        num_fits: random restarts per skill; the best final log-likelihood is kept.
        seed: seed of the random initial values (per skill: independent of which skills fit).
        max_iter, tol: EM limits (module docstring).
        fixed: {skill: {param: value}} or {param: value} for every skill; value is a float
            (every class), a sequence (one per class, in class order) or {class label: value}.
        init: initial values, same forms as ``fixed`` (or a ``SkillParams`` per skill); used in
            restart 0 of the skill instead of random values. Restarts 1.. stay random.
        p_guess_bounds, p_slip_bounds: (low, high) clip of every M-step's guess / slip.
        n_threads: Numba threads for fitting/prediction (None = all).

    Learned attributes (after ``fit`` / ``partial_fit`` / ``load``):
        skill_names_: tuple of fitted skill names.
        params_: {skill: {"p_init", "p_learn", "p_forget", "p_guess", "p_slip": float64 arrays
            with one value per class; "init_classes", "learn_classes", "guess_slip_classes":
            the class labels}} (sparse: only classes seen with the skill).
        log_likelihood_: {skill: float} natural-log likelihood of the fitted parameters.
        n_iter_: {skill: int} EM iterations (M-steps) of the kept restart.
        ll_trace_: {skill: float64 array} LL of every E-step of the kept restart.
        fit_seconds_: {"total", "em"} wall seconds of the last ``fit`` / ``partial_fit``: the
            whole call, and the EM kernels alone (the rest is preparing the arrays and the
            starting values, and any progress callbacks). Not saved with the model.
        store_: the compact flat parameter store (``kt.bkt.store.ParamStore``).
    """

    def __init__(
        self,
        forgets: bool = False,
        multigs: str | None = None,
        multilearn: str | None = None,
        multiprior: bool | str = False,
        multipair: str | None = None,
        num_fits: int = 1,
        seed: int = 0,
        max_iter: int = 100,
        tol: float = 1e-6,
        fixed: Mapping | None = None,
        init: Mapping | None = None,
        p_guess_bounds: tuple[float, float] | None = None,
        p_slip_bounds: tuple[float, float] | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.forgets = forgets
        self.multigs = multigs
        self.multilearn = multilearn
        self.multiprior = multiprior
        self.multipair = multipair
        self.num_fits = num_fits
        self.seed = seed
        self.max_iter = max_iter
        self.tol = tol
        self.fixed = fixed
        self.init = init
        self.p_guess_bounds = p_guess_bounds
        self.p_slip_bounds = p_slip_bounds
        self.n_threads = n_threads

    # ------------------------------------------------------------------ config
    def _variant(self) -> lay.Variant:
        n_resource = sum(bool(x) for x in (self.multilearn, self.multiprior, self.multipair))
        if n_resource > 1:
            raise ParameterError(
                f"multilearn={self.multilearn!r}, multiprior={self.multiprior!r}, "
                f"multipair={self.multipair!r}: at most one of them may be set; keep one"
            )
        for name in ("multigs", "multilearn", "multipair"):
            value = getattr(self, name)
            if value is not None and value is not False and not isinstance(value, str):
                raise ParameterError(f"{name}={value!r} must be None or a class column name")
        prior_col = None
        if self.multiprior is True:
            prior_col = lay.OUTCOME
        elif isinstance(self.multiprior, str):
            prior_col = self.multiprior
        elif self.multiprior not in (False, None):
            raise ParameterError(
                f"multiprior={self.multiprior!r} must be True/False or a class column name"
            )
        return lay.Variant(
            gs_col=self.multigs or None,
            lr_col=(self.multilearn or self.multipair) or None,
            pair=bool(self.multipair),
            prior_col=prior_col,
        )

    def _check_hyper(self) -> None:
        if not isinstance(self.num_fits, int | np.integer) or self.num_fits < 1:
            raise ParameterError(f"num_fits={self.num_fits!r} must be an integer >= 1")
        if not isinstance(self.max_iter, int | np.integer) or self.max_iter < 1:
            raise ParameterError(f"max_iter={self.max_iter!r} must be an integer >= 1")
        if not (float(self.tol) >= 0.0):
            raise ParameterError(f"tol={self.tol!r} must be >= 0 (0 = run exactly max_iter)")

    # --------------------------------------------------------------------- fit
    def fit(self, log: ObservationLog, skills: Sequence[str] | None = None,
            progress: Callable[[int, int], object] | None = None) -> BKT:
        """Fit every skill of ``log`` (or only ``skills``, a list of exact names). Returns self.

        ``progress``: optional callable ``progress(done_skills, total_skills)``; when given,
        skills are fitted in up to 20 steps (largest skills first) and it is called after
        each. The fitted model is the same with or without it.
        """
        return self._fit(log, skills, warm=None, progress=progress)

    def partial_fit(self, log: ObservationLog, skills: Sequence[str] | None = None,
                    progress: Callable[[int, int], object] | None = None) -> BKT:
        """Continue EM from the fitted parameters (one restart) on ``log``; new skills are
        initialised at random. Class labels unseen before start at their skill's class mean.
        ``progress`` as in ``fit``."""
        if not hasattr(self, "store_"):
            return self.fit(log, skills, progress=progress)
        return self._fit(log, skills, warm=self.store_, progress=progress)

    def _select_skills(self, log: ObservationLog, skills) -> np.ndarray:
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

    def _fit(self, log: ObservationLog, skills, warm: ParamStore | None,
             progress: Callable[[int, int], object] | None = None) -> BKT:
        _kernels = bkt_kernels()

        started = time.perf_counter()
        self._check_hyper()
        variant = self._variant()
        g_lo, g_hi = _bounds("p_guess_bounds", self.p_guess_bounds)
        s_lo, s_hi = _bounds("p_slip_bounds", self.p_slip_bounds)
        if skills is None and len(log):
            # every skill of the log; the layout's row counts show which have rows
            codes = np.arange(log.n_skills, dtype=np.int32)
            layout = lay.build(log, codes, variant)
            present = np.diff(layout.row_start) > 0
            if not present.all():
                codes = codes[present]
                layout = lay.build(log, codes, variant)
        else:
            codes = self._select_skills(log, skills)
            layout = lay.build(log, codes, variant)
        names = [str(x) for x in log.skill_names[codes].tolist()]
        n_sk = len(codes)
        m, n_seq = layout.n_rows, len(layout.seq_row)
        gs_codes, gs_local = lay.per_skill_codes(layout.row_start, layout.gs_key, n_sk, m)
        lr_codes, lr_local = lay.per_skill_codes(layout.row_start, layout.lr_key, n_sk, m)
        pr_codes, pr_local = lay.per_skill_codes(layout.seq_start, layout.pr_key, n_sk, n_seq)
        gs_labels = _labels(log, variant.gs_col, False, gs_codes)
        lr_labels = _labels(log, variant.lr_col, variant.pair, lr_codes)
        pr_labels = _labels(log, variant.prior_col, False, pr_codes)
        sk_gs = np.concatenate([[0], np.cumsum([len(c) for c in gs_codes])]).astype(np.int64)
        sk_lr = np.concatenate([[0], np.cumsum([len(c) for c in lr_codes])]).astype(np.int64)
        sk_pr = np.concatenate([[0], np.cumsum([len(c) for c in pr_codes])]).astype(np.int64)

        kinds = {"p_guess": "gs", "p_slip": "gs", "p_learn": "lr", "p_forget": "lr",
                 "p_init": "pr"}
        sk_off = {"gs": sk_gs, "lr": sk_lr, "pr": sk_pr}
        labels_of = {"gs": gs_labels, "lr": lr_labels, "pr": pr_labels}
        fixed = start.per_skill_spec(self.fixed, names, "fixed")
        init = start.per_skill_spec(self.init, names, "init")
        # per skill-class values (NaN = none): fixed values, and restart-0 starting values
        label_index = {k: {} for k in sk_off}  # per kind: {skill: label lookup}, built once
        fx = {p: start.spec_array(fixed, names, labels_of[k], sk_off[k], p, "fixed",
                                  label_index[k])
              for p, k in kinds.items()}
        if not self.forgets:
            fx["p_forget"][np.isnan(fx["p_forget"])] = 0.0
        start0 = {p: start.spec_array(init, names, labels_of[k], sk_off[k], p, "init",
                                      label_index[k])
                  for p, k in kinds.items()}
        if warm is not None:
            for s, name in enumerate(names):
                if name not in warm.skill_names:
                    continue
                values = start.warm_values(warm, name, gs_labels[s], lr_labels[s], pr_labels[s])
                for p, arr in values.items():
                    sl = slice(sk_off[kinds[p]][s], sk_off[kinds[p]][s + 1])
                    start0[p][sl] = np.where(np.isnan(start0[p][sl]), arr, start0[p][sl])

        # tasks: restarts per skill; random starting values from a counter-based generator
        # keyed by (seed, skill name, restart, parameter, class), so they do not depend on
        # which other skills are fitted
        restarts = 1 if warm is not None else int(self.num_fits)
        task_skill = np.repeat(np.arange(n_sk, dtype=np.int64), restarts)
        task_restart = np.tile(np.arange(restarts, dtype=np.int64), n_sk)
        n_tasks = len(task_skill)
        crc = np.array([zlib.crc32(n.encode()) for n in names], dtype=np.uint64)
        t_off, vals, entry_task_of = {}, {}, {}
        for kind, off in sk_off.items():
            sizes_task = np.diff(off)[task_skill]
            t_off[kind] = np.concatenate([[0], np.cumsum(sizes_task)]).astype(np.int64)
            entry_task_of[kind] = np.repeat(np.arange(n_tasks, dtype=np.int64), sizes_task)
        for p, kind in kinds.items():
            entry_task = entry_task_of[kind]
            cls = np.arange(len(entry_task), dtype=np.int64) - t_off[kind][entry_task]
            sk = task_skill[entry_task]
            skill_flat = sk_off[kind][sk] + cls
            restart = task_restart[entry_task]
            draw = start.uniform(int(self.seed), crc[sk], restart, start.PARAM_ID[p], cls) * start.HIGH[p]
            if p == "p_forget" and not self.forgets:
                draw[:] = 0.0
            first = start0[p][skill_flat]
            draw = np.where((restart == 0) & ~np.isnan(first), first, draw)
            f = fx[p][skill_flat]
            vals[p] = np.ascontiguousarray(np.where(np.isnan(f), draw, f))
        out_ll = np.empty(n_tasks)
        out_iter = np.empty(n_tasks, dtype=np.int64)
        trace = np.full((n_tasks, int(self.max_iter)), np.nan)
        # largest skills first (progress steps); each step split into balanced worker lists
        rows_per_skill = _rows_per_skill(layout)
        task_order = np.argsort(-rows_per_skill[task_skill], kind="stable").astype(np.int64)
        if progress is not None and not callable(progress):
            raise ParameterError(
                f"progress={progress!r} must be None or a callable progress(done, total)"
            )
        steps = [task_order] if progress is None else _progress_steps(
            task_order, restarts, rows_per_skill[task_skill[task_order]]
        )
        soft = np.empty(0) if layout.soft is None else layout.soft
        done = 0
        em_seconds = 0.0
        with _threads(self.n_threads):
            n_workers = _numba_threads()
            for step in steps:
                order, worker_start = schedule.balance(
                    step, rows_per_skill[task_skill[step]], n_workers
                )
                em_started = time.perf_counter()
                _kernels.em_fit(
                    layout.seq_start, layout.seq_row, layout.seq_len, pr_local, layout.obs,
                    soft, gs_local, lr_local, task_skill, order, worker_start, t_off["gs"], t_off["lr"],
                    t_off["pr"], vals["p_guess"], vals["p_slip"], vals["p_learn"],
                    vals["p_forget"], vals["p_init"], sk_gs, sk_lr, sk_pr,
                    fx["p_guess"], fx["p_slip"], fx["p_learn"], fx["p_forget"], fx["p_init"],
                    bool(self.forgets), g_lo, g_hi, s_lo, s_hi, int(self.max_iter),
                    float(self.tol), out_ll, out_iter, trace,
                )
                em_seconds += time.perf_counter() - em_started
                if progress is not None:
                    done += len(step) // restarts
                    progress(done, n_sk)
        # keep the best restart per skill (ties: the lowest restart)
        scores = np.where(np.isnan(out_ll), -np.inf, out_ll).reshape(n_sk, restarts)
        best = np.arange(n_sk, dtype=np.int64) * restarts + np.argmax(scores, axis=1)
        is_best = np.zeros(n_tasks, dtype=bool)
        is_best[best] = True
        flat = {}
        for p, kind in kinds.items():
            flat[p] = vals[p] if restarts == 1 else vals[p][is_best[entry_task_of[kind]]]
        new = ParamStore(
            skill_names=tuple(names), gs_off=sk_gs, lr_off=sk_lr, pr_off=sk_pr,
            p_guess=flat["p_guess"], p_slip=flat["p_slip"], p_learn=flat["p_learn"],
            p_forget=flat["p_forget"], p_init=flat["p_init"],
            gs_labels=_label_tuples(gs_labels),
            lr_labels=_label_tuples(lr_labels),
            pr_labels=_label_tuples(pr_labels),
        )
        lls = dict(zip(names, out_ll[best].tolist(), strict=True))
        iters = dict(zip(names, out_iter[best].tolist(), strict=True))
        traces = _traces(names, trace[best])
        if warm is not None:
            new = start.merge(warm, new)
            lls = {**self.log_likelihood_, **lls}
            iters = {**self.n_iter_, **iters}
            traces = {**self.ll_trace_, **traces}
        self._set_fitted(new, lls, iters, traces)
        self.fit_seconds_ = {"total": time.perf_counter() - started, "em": em_seconds}
        return self

    def _set_fitted(self, store: ParamStore, lls, iters, traces) -> None:
        self.store_ = store
        self.skill_names_ = store.skill_names
        self.params_ = _ParamsView(store)
        self.log_likelihood_ = dict(lls)
        self.n_iter_ = dict(iters)
        self.ll_trace_ = dict(traces)
        # multipair: vocabulary of item-class labels, for BKTState.last_class codes
        vocab = set()
        if self.multipair:
            for labels in store.lr_labels:
                for label in labels:
                    if label != lay.DEFAULT_CLASS:
                        vocab.update(json.loads(label))
        self.pair_vocab_ = tuple(sorted(vocab))
        self.pair_vocab_index_ = {c: i for i, c in enumerate(self.pair_vocab_)}
        # online fast path: one class per parameter everywhere (no variant columns)
        self._simple_online = (
            not (self.multigs or self.multilearn or self.multipair or self.multiprior)
            and len(store.p_guess) == len(store.p_learn) == len(store.p_init) == store.n_skills
        )
        # (5, K) guess, slip, learn, forget, prior of the one-class-per-skill online kernel
        self._online_table = np.ascontiguousarray(np.stack(
            [store.p_guess, store.p_slip, store.p_learn, store.p_forget, store.p_init]
        )) if self._simple_online else None

    def _store(self) -> ParamStore:
        if not hasattr(self, "store_"):
            raise NotFittedError("this BKT model is not fitted yet; call fit(log) or BKT.load(path)")
        return self.store_

    # ----------------------------------------------------------------- predict
    def _map_rows(self, log: ObservationLog, unknown: str):
        """Layout of ``log`` against the fitted model with global parameter indices."""
        if unknown not in UNKNOWN_MODES:
            raise ParameterError(f"unknown={unknown!r} must be one of {UNKNOWN_MODES}")
        store = self._store()
        variant = self._variant()
        present = (np.flatnonzero(np.bincount(log.skill, minlength=log.n_skills))
                   if len(log) else np.empty(0, np.int64))
        layout = lay.build(log, present.astype(np.int32), variant)
        n_sk = len(present)
        model_pos = np.empty(n_sk, dtype=np.int64)
        for j, code in enumerate(present):
            name = str(log.skill_names[code])
            pos = store._index.get(name, -1)  # type: ignore[attr-defined]
            if pos < 0 and unknown == "error":
                store.skill_index(name)  # raises UnknownSkillError
            model_pos[j] = pos
        n_model = store.n_skills
        idx = {}
        for kind, key, owner, bounds, col, pair, off in (
            ("gs", layout.gs_key, layout.row_skill, layout.row_start, variant.gs_col, False,
             store.gs_off),
            ("lr", layout.lr_key, layout.row_skill, layout.row_start, variant.lr_col,
             variant.pair, store.lr_off),
            ("pr", layout.pr_key, layout.seq_skill, layout.seq_start, variant.prior_col, False,
             store.pr_off),
        ):
            codes, local = lay.per_skill_codes(bounds, key, n_sk, len(owner))
            total = int(off[-1])
            glob_by_skill = []
            for j in range(n_sk):
                s = model_pos[j]
                labels = lay.class_labels(log, col, pair, codes[j])
                if s < 0:
                    glob_by_skill.append(np.full(len(labels), total + n_model, dtype=np.int64))
                    continue
                g = np.empty(len(labels), dtype=np.int64)
                for i, label in enumerate(labels):
                    c = store.class_index(kind, s, label)
                    if c < 0:
                        if unknown == "error":
                            raise UnknownSkillError(
                                f"item class {label!r} of skill {store.skill_names[s]!r} was "
                                f"not seen when fitting ({kind} classes); refit with it, or "
                                "pass unknown='prior' to use the skill's class average"
                            )
                        g[i] = total + s
                    else:
                        g[i] = off[s] + c
                glob_by_skill.append(g)
            lookup = np.concatenate(glob_by_skill) if glob_by_skill else np.empty(0, np.int64)
            starts = np.concatenate([[0], np.cumsum([len(c) for c in codes])]).astype(np.int64)
            idx[kind] = lookup[starts[owner] + local].astype(np.int32) if len(owner) else \
                np.empty(0, np.int32)
        return layout, idx

    def predict(self, log: ObservationLog, unknown: str = "error") -> Prediction:
        """P(correct), P(mastered) before and after each row, aligned with ``log``'s rows.

        ``unknown="error"`` (default) raises ``UnknownSkillError`` for a skill or item class
        not seen in fitting; ``unknown="prior"`` uses the population average parameters
        (mean over fitted skills of their class means) for an unknown skill and the skill's
        class average for an unknown class.
        """
        _kernels = bkt_kernels()

        store = self._store()
        layout, idx = self._map_rows(log, unknown)
        guess, slip, learn, forget, prior = store.with_fallbacks()
        m = layout.n_rows
        pc = np.empty(m)
        pm = np.empty(m)
        pn = np.empty(m)
        with _threads(self.n_threads):
            _kernels.predict(
                layout.seq_row, layout.seq_len, idx["pr"], layout.score, idx["gs"], idx["lr"],
                guess, slip, learn, forget, prior, pc, pm, pn,
            )
        n = len(log)
        out = [np.empty(n), np.empty(n), np.empty(n)]
        for arr, src in zip(out, (pc, pm, pn), strict=True):
            arr[layout.rows] = src
        return Prediction(*out)

    def evaluate(self, log: ObservationLog, metrics=("auc", "rmse"), unknown: str = "error"):
        """Metrics of ``predict(log).p_correct`` against the outcomes: {name: value}.

        With a score column the predictions use the scores as soft evidence, and the metrics
        compare them with the outcomes (the scores rounded at 0.5), so AUC stays defined.

        ``metrics``: names from ``kt.metrics.METRICS`` ("auc", "rmse", "accuracy",
        "log_loss"), callables ``f(y_true, p) -> float``, or one of those alone.
        """
        from kt import metrics as km

        if isinstance(metrics, str) or callable(metrics):
            metrics = (metrics,)
        funcs = [km.resolve(m) for m in metrics]
        p = self.predict(log, unknown=unknown).p_correct
        y = log.outcome.astype(np.float64)
        return {name: float(f(y, p)) for name, f in funcs}

    def crossvalidate(
        self,
        log: ObservationLog,
        folds: int = 5,
        mode: str = "per_skill",
        metric="auc",
        seed: int = 0,
    ) -> dict[str, float]:
        """K-fold cross-validation with this model's hyperparameters (self is not changed).

        mode="per_skill" (pyBKT's): for each skill its learners are permuted with ``seed`` and
        cut into ``folds`` blocks of ``n // folds`` learners (the remainder is never tested);
        returns {skill: mean over folds of the metric on that skill's held-out rows}.
        mode="learner": all learners are permuted and split into ``folds`` near-equal groups
        (every learner tested once); returns {"fold 1": ..., ..., "mean": mean over folds}
        with the metric pooled over all skills of the held-out learners.
        """
        from kt.bkt import crossval

        return crossval.crossvalidate(self, log, folds=folds, mode=mode, metric=metric,
                                      seed=seed)

    # ------------------------------------------------------------ parameters
    def params(self) -> list[dict]:
        """Tidy rows {skill, param, class, value}, one per skill x parameter x class."""
        store = self._store()
        rows = []
        for s, name in enumerate(store.skill_names):
            block = store.block(s)
            for p, classes in (
                ("p_init", "init_classes"), ("p_learn", "learn_classes"),
                ("p_forget", "learn_classes"), ("p_guess", "guess_slip_classes"),
                ("p_slip", "guess_slip_classes"),
            ):
                for label, value in zip(block[classes], block[p], strict=True):
                    rows.append({"skill": name, "param": p, "class": label, "value": float(value)})
        return rows

    def skill_params(self, skill: str, item_class: str | None = None) -> SkillParams:
        """One skill's parameters as ``SkillParams``.

        ``item_class`` selects the guess/slip class (multigs), learn class (multilearn; for
        multipair a ``json.dumps([previous, current])`` label) and prior class (multiprior)
        where the label exists; a parameter whose classes do not include it (or with
        ``item_class=None``) gets its mean over the skill's classes.
        """
        store = self._store()
        s = store.skill_index(skill)
        block = store.block(s)
        out = {}
        for p, kind, classes in (
            ("p_init", "pr", "init_classes"), ("p_learn", "lr", "learn_classes"),
            ("p_forget", "lr", "learn_classes"), ("p_guess", "gs", "guess_slip_classes"),
            ("p_slip", "gs", "guess_slip_classes"),
        ):
            c = -1 if item_class is None else store.class_index(kind, s, str(item_class))
            if item_class is not None and c < 0 and len(block[classes]) > 1:
                if all(store.class_index(k, s, str(item_class)) < 0 for k in ("gs", "lr", "pr")):
                    raise UnknownSkillError(
                        f"item class {item_class!r} is not a class of skill {skill!r}; "
                        "pass one of its labels (see params()) or None for the class average"
                    )
            out[p] = float(block[p][c]) if c >= 0 else float(np.mean(block[p]))
        return SkillParams(**out)

    # -------------------------------------------------------------- persist
    def to_dict(self) -> dict:
        """The model as a JSON-ready dict (the document ``save`` writes)."""
        from kt.bkt import persist

        return persist.to_dict(self)

    @classmethod
    def from_dict(cls, doc: dict, source: str = "model document") -> BKT:
        """A fitted model from a ``to_dict`` document; ``ModelFileError`` names what is wrong."""
        from kt.bkt import persist

        return persist.from_dict(cls, doc, source)

    def save(self, path: str | Path) -> None:
        """Write the model as versioned JSON (never pickle)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path: str | Path) -> BKT:
        """Read a model written by ``save``; raises ``ModelFileError`` naming what is wrong."""
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"cannot read model file {str(path)!r}: {exc}") from None
        return cls.from_dict(doc, repr(str(path)))
