"""``BKT``: Bayesian Knowledge Tracing estimator (scikit-learn style) with pyBKT's variants.

Fitting is Baum-Welch EM with a scaled forward-backward in Numba (``kt.bkt._kernels``),
parallel across (skill, restart) tasks and bit-identical whatever the thread count.

EM stopping rule: iteration i runs an E-step giving LL_i, the log-likelihood of the current
parameters (a float, natural log, summed over the skill's learners; plus the log prior in MAP
mode). EM stops before the M-step when ``tol > 0`` or ``rtol > 0``, i >= 1 and
LL_i - LL_{i-1} <= ``tol`` + ``rtol`` |LL_{i-1}|; otherwise it stops after ``max_iter``
M-steps. The default is relative (``rtol=1e-6``, ``tol=0``) with a cap (``max_iter=5000``)
that fewer than 1 % of skills reach on the shared public logs; ``n_at_cap_`` counts the skills
that did (they are not converged). ``tol=rtol=0`` runs exactly ``max_iter`` iterations.
``n_iter_`` counts M-steps; ``log_likelihood_`` is the LL of the returned parameters.
pyBKT's rule is ``tol=1e-3, rtol=0, max_iter=100, bounds="none"`` (see ``PYBKT_SETTINGS``).

Bounds and priors (``kt.bkt.bounds``): by default every M-step clips guess to [0, 0.5], slip
to [0, 0.45] and forget to [0, 0.25], so a wrong answer never raises P(mastered);
``bounds="none"`` is pyBKT's unbounded fit. ``prior=True`` fits the MAP estimate under weak
Beta priors (for skills with little data). After ``fit``, ``warnings_`` lists per-skill
diagnostics (``kt.bkt.diagnostics``: degenerate data, parameters at a bound, cap reached).

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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from kt.bkt import layout as lay
from kt.bkt import start
from kt.bkt.online import OnlineBKT, bkt_kernels
from kt.bkt.params import SkillParams
from kt.bkt.predict import Prediction
from kt.bkt.store import ParamStore, ParamsView
from kt.errors import (
    ModelFileError,
    NotFittedError,
    ParameterError,
    UnknownSkillError,
)
from kt.log import ObservationLog

PYBKT_SETTINGS = {"max_iter": 100, "tol": 1e-3, "rtol": 0.0, "bounds": "none", "prior": None,
                  "nested_start": False}
"""pyBKT 1.4.2's fitting settings (``BKT(**PYBKT_SETTINGS)``): at most 100 iterations, stop
on an absolute log-likelihood gain under 1e-3, parameters unbounded, no prior, a forgets fit
from its random restarts only."""


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
        max_iter, tol, rtol: EM limits (module docstring).
        bounds: "default", "none" or {param: (low, high)} (``kt.bkt.bounds``).
        prior: None (maximum likelihood), True (default Beta priors: MAP) or
            {param: (alpha, beta)} (``kt.bkt.bounds``).
        nested_start: with ``forgets``, first fit the nested standard model (forgets off),
            add a restart starting at its parameters and keep them for a skill where the
            forgets fit ends lower: a forgets fit never ends below its nested fit.
        fixed: {skill: {param: value}} or {param: value} for every skill; value is a float
            (every class), a sequence (one per class, in class order) or {class label: value}.
        init: initial values, same forms as ``fixed`` (or a ``SkillParams`` per skill); used in
            restart 0 of the skill instead of random values. Restarts 1.. stay random.
        p_guess_bounds, p_slip_bounds: (low, high) of guess / slip, overriding ``bounds``.
        n_threads: Numba threads for fitting/prediction (None = all).

    Learned attributes (after ``fit`` / ``partial_fit`` / ``load``):
        skill_names_: tuple of fitted skill names.
        params_: {skill: {"p_init", "p_learn", "p_forget", "p_guess", "p_slip": float64 arrays
            with one value per class; "init_classes", "learn_classes", "guess_slip_classes":
            the class labels}} (sparse: only classes seen with the skill).
        log_likelihood_: {skill: float} natural-log likelihood of the fitted parameters.
        n_iter_: {skill: int} EM iterations (M-steps) of the kept restart.
        ll_trace_: {skill: float64 array} LL of every E-step of the kept restart (the first
            ``kt.bkt.em.TRACE_LEN``).
        n_at_cap_: number of skills whose EM stopped at ``max_iter`` (not converged).
        warnings_: tuple of ``kt.bkt.diagnostics.SkillWarning`` (skill, code, message).
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
        max_iter: int = 5000,
        tol: float = 0.0,
        fixed: Mapping | None = None,
        init: Mapping | None = None,
        p_guess_bounds: tuple[float, float] | None = None,
        p_slip_bounds: tuple[float, float] | None = None,
        n_threads: int | None = None,
        rtol: float = 1e-6,
        bounds: str | Mapping | None = "default",
        prior: bool | Mapping | None = None,
        nested_start: bool = True,
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
        self.rtol = rtol
        self.bounds = bounds
        self.prior = prior
        self.nested_start = nested_start

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
        for name in ("tol", "rtol"):
            value = getattr(self, name)
            try:
                ok = float(value) >= 0.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ParameterError(
                    f"{name}={value!r} must be a number >= 0 (tol = rtol = 0: run exactly "
                    "max_iter iterations)")

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

    def _fit(self, log: ObservationLog, skills, warm: ParamStore | None,
             progress: Callable[[int, int], object] | None = None) -> BKT:
        from kt.bkt import em

        started = time.perf_counter()
        self._check_hyper()
        got = em.fit(self, log, skills, warm, progress)
        new, lls, iters, traces = got.store, got.lls, got.iters, got.traces
        from kt.bkt import diagnostics

        found = diagnostics.skill_warnings(self, got)
        if warm is not None:
            new = start.merge(warm, new)
            lls = {**self.log_likelihood_, **lls}
            iters = {**self.n_iter_, **iters}
            traces = {**self.ll_trace_, **traces}
            refitted = set(got.lls)
            found = tuple(w for w in self.warnings_ if w.skill not in refitted) + found
        self._set_fitted(new, lls, iters, traces, found)
        self.fit_seconds_ = {"total": time.perf_counter() - started, "em": got.em_seconds}
        return self

    def _set_fitted(self, store: ParamStore, lls, iters, traces, warnings=()) -> None:
        self.store_ = store
        self.warnings_ = tuple(warnings)
        self.n_at_cap_ = sum(
            1 for v in iters.values() if v is not None and v >= int(self.max_iter)
        ) if (float(self.tol) > 0 or float(self.rtol) > 0) else 0
        self.skill_names_ = store.skill_names
        self.params_ = ParamsView(store)
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
    def predict(self, log: ObservationLog, unknown: str = "error") -> Prediction:
        """P(correct), P(mastered) before and after each row, aligned with ``log``'s rows.

        ``unknown="error"`` (default) raises ``UnknownSkillError`` for a skill or item class
        not seen in fitting; ``unknown="prior"`` uses the population average parameters
        (mean over fitted skills of their class means) for an unknown skill and the skill's
        class average for an unknown class.
        """
        from kt.bkt import em, predict

        store = self._store()
        with em.threads(self.n_threads):
            return predict.predict(store, self._variant(), log, unknown, bkt_kernels())

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
