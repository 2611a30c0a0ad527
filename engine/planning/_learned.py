"""Planner inputs learned from a tenant's own evidence (issue 15 items 2 and 3).

Two models of the planner are fitted on the tenant's stored history (one row per observation
and skill, :meth:`engine.store._history.HistoryPart.learning_evidence`):

* ``planner.effectiveness.EffectivenessModel`` — every observation that names a catalog
  activity is the exit ticket of that activity: ``(activity, skill, p_before, score)`` with
  ``p_before`` the learner's mastery of the skill just before it. The planner then sees each
  activity's ``p_learn`` scaled by the posterior-*mean* multiplier (hierarchical over the
  activities of the same first skill, shrunk toward the catalog's 1) times the learner's format
  multiplier, divided by their geometric mean over the activities of the same first skill
  (``relative``, ``per_skill``: the ranking among the ways to learn one skill, not the level,
  since the catalog's ``p_learn`` is the running BKT model's, fitted on the same evidence, and
  learners who reach different skills differ) — never a Thompson draw: a school's plan must
  be reproducible. The rows go in order per learner and skill, every observation of the
  skill included (those naming no activity only move the model's own filter of the learner's
  mastery, which replaces ``p_before`` after the learner's first ticket on the skill:
  ``EffectivenessModel.refilter``).
* ``planner.forgetting.ForgettingModel`` — a retention check is an observation of a skill the
  learner was believed to have mastered (``p_before`` >= the policy's mastered threshold) at
  least ``RETENTION_MIN_DAYS`` after their previous observation of it; the learner's
  posterior-median half-life per skill goes to ``PlanLearner.half_life_days`` (skills without
  retention checks in the tenant keep the planner's fixed ``review_half_life_days``). An
  observation of a mastered skill within ``RETENTION_MIN_DAYS`` of the previous one measures
  the learner's own slip rate, with which their retention checks are read.

Effectiveness is on where the tenant's tickets show that activities teaching the same skill
differ (``PlanningPolicy.learn_effectiveness`` ``"when_shown"``, the default: the fit's
``EffectivenessModel.differ_test``, :attr:`LearnedModels.differs`; the first fit runs in the
background, so no request waits for it) or always (``"on"``); fitted forgetting is opt-in
(``fitted_forgetting``); an experiment arm's weights of the same names override the policy
when given. The forgetting model is also fitted when the policy protects from forgetting ``"when_shown"``
(:func:`protect_when_shown`): its school-level test (``ForgettingModel.forgets``) decides
whether the protection term is on; such a fit reads only the candidate retention checks
(:func:`fit_forgetting`, the store's ``retention_evidence``) and never blocks a request. Fits
are cached per tenant (:class:`LearnedCache`): refitted from scratch when the history changed
and the fit is older than ``REFIT_S`` seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

REFIT_S = 60.0
"""Seconds a fit is reused before the history marker is checked again (and, if changed,
the models refitted)."""
REFIT_FACTOR = 20.0
"""A fit is also reused for at least this many times its own duration, so background refits
take at most about 1/20 of a core however large the school's history (the demo school's fit
takes 2-3 s on the slow development machine: every 60 s; a fit of 10 minutes: every 200
minutes)."""
RETENTION_MIN_DAYS = 1.0
"""Shortest gap (days) after which an observation of a mastered skill is a retention check
(observations within one session say nothing about forgetting)."""
SWITCHES = ("learn_effectiveness", "fitted_forgetting")
"""Policy fields and experiment-arm weights that switch the learned models on."""


def learned_switches(policy, weights: Mapping[str, float] | None = None,
                     learned: LearnedModels | None = None) -> tuple[bool, bool]:
    """``(effectiveness on, forgetting on)``: an arm's weight (> 0 on, 0 off) when it sets
    one, else the tenant's policy (``learn_effectiveness`` ``"when_shown"``: on when the
    ``learned`` fit's activities-differ test fired)."""
    w = weights or {}
    differs = learned is not None and learned.differs
    eff = (float(w["learn_effectiveness"]) > 0 if "learn_effectiveness" in w
           else policy.learns(differs) if hasattr(policy, "learns") else False)
    fog = (float(w["fitted_forgetting"]) > 0 if "fitted_forgetting" in w
           else bool(getattr(policy, "fitted_forgetting", False)))
    return eff, fog


def learn_when_shown(policy, weights: Mapping[str, float] | None = None) -> bool:
    """Whether learned effectiveness waits for the tenant's activities-differ test: the policy
    says ``"when_shown"`` and the arm's ``weights`` do not set ``learn_effectiveness``."""
    return _waits_for_test(policy, weights, "learn_effectiveness", "learn_effectiveness")


def protect_when_shown(policy, weights: Mapping[str, float] | None = None) -> bool:
    """Whether the protection term waits for the tenant's forgetting test: the policy says
    ``"when_shown"`` and the arm's ``weights`` do not set ``protect`` themselves."""
    return _waits_for_test(policy, weights, "protect_from_forgetting", "protect")


def _waits_for_test(policy, weights: Mapping[str, float] | None, field_name: str, weight: str) -> bool:
    """The policy's ``field_name`` is ``"when_shown"`` and the arm's ``weights`` do not set
    ``weight`` themselves."""
    return weight not in (weights or {}) and getattr(policy, field_name, "off") == "when_shown"


def plan_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """An arm's weights without the learned-model switches (the ``PlanWeights`` overrides)."""
    return {k: v for k, v in (weights or {}).items() if k not in SWITCHES}


@dataclass(frozen=True)
class LearnedModels:
    """The tenant's fitted models at one moment (read-only once built).

    ``multipliers``: activity id -> posterior-mean multiplier on its catalog ``p_learn``
    (activities of a kind x modality group with evidence; with learner-format evidence, every
    activity); ``tickets``: exit tickets used (history rows naming a catalog activity);
    ``checks``: retention checks used; ``marker``: the history's ``(rows, max id)`` when
    fitted; ``fitted_at``: ``time.monotonic()`` seconds; ``fit_ms``: fit time;
    ``fitted_pid``: the process that fitted (:mod:`engine.planning._fitpool`'s, by default)."""

    effectiveness: Any
    forgetting: Any
    multipliers: Mapping[str, float]
    tickets: int = 0
    checks: int = 0
    marker: tuple[int, int] = (0, 0)
    fitted_at: float = 0.0
    fit_ms: float = 0.0
    with_effectiveness: bool = True
    differ: Mapping[str, Any] = field(default_factory=dict)
    fitted_pid: int = 0
    _lf: dict = field(default_factory=dict, compare=False, repr=False)
    _format_keys: frozenset = field(default=frozenset(), compare=False, repr=False)

    @property
    def differs(self) -> bool:
        """Whether the tenant's activities teaching the same skill differ (``differ``: the
        result of ``EffectivenessModel.differ_test`` at the fit; False without a fit of it)."""
        return bool(self.differ.get("differs", False))

    def multiplier(self, activity_id: str) -> float:
        """Posterior-mean multiplier of one activity (1.0: nothing learned about it)."""
        return float(self.multipliers.get(activity_id, 1.0))

    def _format_factor(self, learner_id: str, fmt: str, declared: bool) -> float:
        key = (learner_id, fmt, declared)
        if key not in self._lf:
            self._lf[key] = self.effectiveness.learner_format_multiplier(learner_id, fmt, declared)
        return self._lf[key]

    def catalog_for(self, catalog: Sequence, learner=None) -> tuple:
        """``catalog`` (PlanActivity) with each ``p_learn`` scaled by the activity's multiplier
        and, for ``learner`` (a PlanLearner), their multiplier of the activity's first format,
        divided by the geometric mean over ``catalog`` (``relative``), capped at 0.95 —
        ``EffectivenessModel(relative=True).adjusted(catalog, rng=None, ...)`` with the
        activity part computed once per fit."""
        from planner.effectiveness import rescaled

        with_lf = learner is not None and self.effectiveness.learns_formats
        declared = learner.preferred_formats if learner is not None else frozenset()
        mult: dict[str, float] = {}
        for a in catalog:
            m = self.multipliers.get(a.id)
            if m is None:
                continue
            if with_lf:
                f = a.format_keys[0]
                m *= self._format_factor(learner.id, f, f in declared)
            mult[a.id] = m
        return tuple(rescaled(catalog, mult, relative=self.effectiveness.relative,
                              per_skill=self.effectiveness.per_skill))

    def compact(self) -> LearnedModels:
        """The same models for planning, with the effectiveness model replaced by its learner-
        format multipliers (:class:`~engine.planning._fitpool.FormatTable`): the fit's evidence stays behind (the demo
        school's models: 4.8 MB pickled, this about 1.3 MB)."""
        from engine.planning._fitpool import FormatTable

        eff = self.effectiveness
        if eff is None or isinstance(eff, FormatTable):
            return self
        return replace(self, effectiveness=FormatTable.of(eff, self._format_keys), _lf={}, _format_keys=frozenset())

    def half_lives_for(self, learner) -> dict[str, float]:
        """Skill -> this learner's fitted half-life (days) for the skills they have practised
        and the tenant has retention checks of."""
        return self.forgetting.half_lives(learner.id, learner.days_since_practice)

    def summary(self) -> dict:
        """What a plan's meta records about the fit."""
        return {"tickets": self.tickets, "retention_checks": self.checks, "fit_ms": round(self.fit_ms, 1)}

    def forgetting_test(self) -> dict:
        """The school-level forgetting test a plan's meta records: ``forgets``, the likelihood-
        ratio statistic ``evidence`` against nothing fading, the school's ``half_life_days``
        (None when nothing fading fits best) and the ``retention_checks`` behind it."""
        import math

        f = self.forgetting
        h = f.school_half_life()
        return {"forgets": f.forgets(), "evidence": round(f.forgetting_evidence(), 2),
                "half_life_days": None if math.isinf(h) else round(h, 1), "retention_checks": self.checks}


def fit_learned(rows: Iterable[tuple], activities: Sequence, preferred: Mapping[str, Iterable[str]],
                threshold: float, *, marker: tuple[int, int] = (0, 0)) -> LearnedModels:
    """Fit both models on history ``rows`` ``(learner_id, skill_id, activity_id, score,
    p_before, at text)`` ordered by learner, skill and time (the store's
    ``learning_evidence``); ``activities``: the tenant's PlanActivity catalog;
    ``preferred``: learner id -> declared preferred formats; ``threshold``: the policy's
    mastered threshold (a retention check needs ``p_before`` >= it)."""
    from planner.effectiveness import EffectivenessModel
    from planner.forgetting import ForgettingModel

    t0 = time.perf_counter()
    eff, fog = EffectivenessModel(relative=True, per_skill=True), ForgettingModel()
    by_id = {a.id: a for a in activities}
    prefs = {k: frozenset(v) for k, v in preferred.items()}
    tickets = checks = 0
    prev_pair, prev_at, format_keys = None, None, set()
    for lid, sid, aid, score, p_before, at_text in rows:
        score, p_before = min(max(float(score), 0.0), 1.0), min(max(float(p_before), 0.0), 1.0)
        act = by_id.get(aid)
        if _observe_ticket(eff, act, lid, sid, p_before, score, prefs):
            tickets += 1
            declared = prefs.get(lid, ())
            format_keys.update((lid, f, f in declared) for f in act.format_keys)
        if prev_pair == (lid, sid) and p_before >= threshold:  # timestamps parsed only here
            checks += _observe_retention(fog, lid, sid, score, at_text, prev_at)
        prev_pair, prev_at = (lid, sid), at_text
    multipliers = eff.mean_multipliers(activities) if tickets else {}
    differ = eff.differ_test() if tickets else {}
    fog.fit()  # the posteriors before the models are shared between request threads
    return LearnedModels(eff, fog, multipliers, tickets, checks, marker, time.monotonic(),
                         (time.perf_counter() - t0) * 1e3, differ=differ, fitted_pid=os.getpid(),
                         _format_keys=frozenset(format_keys))


def fit_forgetting(rows: Iterable[tuple], *, marker: tuple[int, int] = (0, 0)) -> LearnedModels:
    """The forgetting model alone (what ``"when_shown"`` protection needs) from the store's
    ``retention_evidence(threshold)`` rows ``(learner_id, skill_id, score, at text, previous
    at text)``: the same checks and same-session tickets as the forgetting part of
    :func:`fit_learned`, without reading the rest of the history. The effectiveness model
    stays empty."""
    from planner.effectiveness import EffectivenessModel
    from planner.forgetting import ForgettingModel

    t0 = time.perf_counter()
    fog, checks = ForgettingModel(), 0
    for lid, sid, score, at_text, prev_text in rows:
        checks += _observe_retention(fog, lid, sid, min(max(float(score), 0.0), 1.0), at_text, prev_text)
    fog.fit()
    return LearnedModels(EffectivenessModel(relative=True, per_skill=True), fog, {}, 0, checks, marker,
                         time.monotonic(),
                         (time.perf_counter() - t0) * 1e3, with_effectiveness=False, fitted_pid=os.getpid())


def _fit(store, inp, preferred, threshold: float, marker, effectiveness: bool,
         separate: bool = False) -> LearnedModels:
    """Fit in the fit process when ``separate`` (:mod:`engine.planning._fitpool`; it also reads
    the history itself when the store is one another process can open, a file or a server),
    else read and fit in this thread."""
    from engine.planning import _fitpool
    from engine.store import shared_url

    url = getattr(store, "url", "")
    rows = None if separate and shared_url(url) else _read(store, effectiveness, threshold)
    acts = inp.activities if effectiveness else ()
    if separate:
        return _fitpool.run(_fitpool.fit_in_process, url, store.tenant_id, rows, acts, dict(preferred), threshold,
                            marker, effectiveness)
    return _fit_rows(rows, acts, preferred, threshold, marker, effectiveness)


def _read(store, effectiveness: bool, threshold: float) -> list:
    return store.learning_evidence() if effectiveness else store.retention_evidence(threshold)


def _fit_rows(rows, activities, preferred, threshold, marker, effectiveness: bool) -> LearnedModels:
    if effectiveness:
        return fit_learned(rows, activities, preferred, threshold, marker=marker)
    return fit_forgetting(rows, marker=marker)


def _observe_retention(fog, lid: str, sid: str, score: float, at_text: str, prev_text: str) -> int:
    """A ticket on a skill believed mastered, ``at_text`` after the learner's previous
    observation of it at ``prev_text``, into the forgetting model: a retention check (returns
    1) at least ``RETENTION_MIN_DAYS`` later, else a same-session ticket that measures the
    learner's slip (returns 0)."""
    from engine.domain.evidence import parse_timestamp

    days = (parse_timestamp(at_text) - parse_timestamp(prev_text)).total_seconds() / 86400.0
    if days >= RETENTION_MIN_DAYS:
        fog.observe(lid, sid, days, score)
        return 1
    fog.observe_same_day(lid, score)  # same session: nothing faded, an error is a slip
    return 0


def _observe_ticket(eff, act, lid: str, sid: str, p_before: float, score: float, prefs) -> int:
    """One history row into the effectiveness model; 1 when it is an exit ticket of a catalog
    activity, 0 when it names none (it then moves the model's filter of the learner only)."""
    if act is not None and act.learn_probability(sid) > 0:
        eff.observe(act, sid, p_before, score, learner_id=lid, preferred_formats=prefs.get(lid, ()))
        return 1
    eff.observe(None, sid, p_before, score, learner_id=lid)
    return 0


class LearnedCache:
    """One tenant's fitted :class:`LearnedModels`, reused for ``refit_s`` seconds or
    ``refit_factor`` times the fit's own duration, whichever is longer; then the history
    marker (one COUNT/MAX query) decides whether to refit. A changed catalog
    (``PlanningInput.activities``) or threshold refits at once, in the request (the plan must
    use a fit of its catalog); new evidence refits in a background thread while requests keep
    planning with the fit they have (a refit reads the whole history: on the demo school,
    25,934 rows, 0.33 s on a fast machine; 0.18 s read and 1.2-1.4 s fit on a 3.5× slower one;
    longer on a big school). Learners' declared formats are read at the fit. A fit runs in a
    separate process (:mod:`engine.planning._fitpool`) so that it does not hold this
    process's interpreter lock while requests are served. Thread-safe."""

    def __init__(self, refit_s: float = REFIT_S, refit_factor: float = REFIT_FACTOR) -> None:
        self.refit_s = float(refit_s)
        self.refit_factor = float(refit_factor)
        self._lock = threading.Lock()
        self._models: LearnedModels | None = None
        self._inp: Any = None
        self._threshold: float | None = None
        self._refit: threading.Thread | None = None

    def models(self, store, inp, preferred: Callable[[], Mapping[str, Iterable[str]]],
               threshold: float, *, effectiveness: bool = True, wait: bool = True) -> LearnedModels | None:
        """The tenant's models for planning input ``inp`` (``store``: the tenant store;
        ``preferred()``: learner id -> declared preferred formats, called only when a fit runs;
        ``effectiveness`` False: the forgetting model is enough, a fit skips the other).
        ``wait`` False (``"when_shown"`` tests alone, which a plan can do without): when no fit
        of the asked kind is usable yet, it runs in the background and the fit of the same
        catalog already there (the forgetting model alone) or None is returned, so no request
        waits for a fit."""
        with self._lock:
            cur, now = self._models, time.monotonic()
            if cur is not None and self._inp is not inp and self._inp.activities == inp.activities:
                self._inp = inp  # the school view was reloaded (any write), the catalog is the same
            same = (cur is not None and self._inp is inp and self._threshold == threshold
                    and (cur.with_effectiveness or not effectiveness))
            if same and now - cur.fitted_at < max(self.refit_s, self.refit_factor * cur.fit_ms / 1e3):
                return cur
            if cur is not None and (self._inp is not inp or self._threshold != threshold):
                self._models = cur = None  # a fit of another catalog or threshold is of no use
            if not same and not wait and self._refit is not None and self._refit.is_alive():
                return cur  # a fit is running: no history query per request meanwhile
            marker = store.history_marker()
            if same and cur.marker == marker:
                self._models = replace(cur, fitted_at=now, _lf=cur._lf)
                return self._models
            if same:  # new evidence: refit in the background, plan with the current fit
                if self._refit is None or not self._refit.is_alive():
                    self._models = replace(cur, fitted_at=now, _lf=cur._lf)  # one refit per interval
                    self._refit = threading.Thread(target=self._fit_in_background, name="pathwise-learned-refit",
                                                   args=(store, inp, dict(preferred()) if cur.with_effectiveness
                                                         else {}, threshold, marker, cur.with_effectiveness),
                                                   daemon=True)
                    self._refit.start()
                return self._models
            if not wait:  # no fit of this kind yet: the first one in the background, meanwhile plan
                # with the fit of the same catalog that is there (the forgetting model alone), or without
                if self._refit is None or not self._refit.is_alive():
                    self._inp, self._threshold = inp, threshold
                    self._refit = threading.Thread(target=self._fit_in_background, name="pathwise-learned-fit",
                                                   args=(store, inp, dict(preferred()) if effectiveness else {},
                                                         threshold, marker, effectiveness), daemon=True)
                    self._refit.start()
                return cur
            self._models = _fit(store, inp, preferred(), threshold, marker, effectiveness, separate=True)
            self._inp, self._threshold = inp, threshold
            return self._models

    def _fit_in_background(self, store, inp, preferred, threshold, marker, effectiveness) -> None:
        try:
            fitted = _fit(store, inp, preferred, threshold, marker, effectiveness, separate=True)
        except Exception:  # noqa: BLE001 - keep planning with the fit we have
            import logging

            logging.getLogger("pathwise.planning").exception("refitting the learned planner models failed")
            return
        with self._lock:
            if self._inp is inp and self._threshold == threshold:
                self._models = fitted

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background refit to finish (tests, shutdown)."""
        thread = self._refit
        if thread is not None:
            thread.join(timeout)
