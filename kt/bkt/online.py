"""The online path of ``BKT`` (the :mod:`kt.online` contract): a learner's ``BKTState`` is a
fold of the BKT filter over their observations, run by the Numba kernels
``kt.bkt._kernels.replay`` / ``replay_simple`` / ``filter_one`` (one BKT filter, ``_filter_step``; a plain
scalar twin lives in the tests).

Multi-skill observation (one answer tagged with several skills, or rows sharing an
``events`` id): P(correct) = mean of its skills' P(correct), all computed from the state
before the observation; then every skill copy is applied in row order (pyBKT's convention, and
the replay protocol's). ``item`` is the item-class label of class variants (multigs,
multilearn, multipair, multiprior by column); a model without class variants ignores it.

Parts: input checks and kernel loading in :mod:`kt.bkt._online_input`; item-class variants in
:mod:`kt.bkt._online_classes`; the kernels without classes (``replay_rows``: one observation
per row, the per-learner replay; ``trace_cells``: many (learner, skill) cells with every
row's before/after, :meth:`OnlineBKT.update_cells`) in :mod:`kt.bkt._online_kernels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kt.bkt._online_classes import ClassRows, Rows
from kt.bkt._online_input import (
    UNKNOWN_MODES,
    bad_cell_row,
    bad_row,
    bad_score,
    bkt_kernels,
    obs_pointers,
    online_kernels,
    skill_positions,
)
from kt.bkt.params import BKTState, SkillParams
from kt.bkt.store import ParamStore
from kt.errors import ParameterError, UnknownSkillError

__all__ = ["UNKNOWN_MODES", "OnlineBKT", "bkt_kernels", "obs_pointers"]


class OnlineBKT(ClassRows):
    """Mixin of ``kt.bkt.BKT``: the :class:`kt.online.OnlineKT` methods."""

    @property
    def name(self) -> str:
        """Registry name (``kt.models.MODEL_NAMES``): "bkt-f" with forgetting, else "bkt"."""
        return "bkt-f" if self.forgets else "bkt"

    # --------------------------------------------------------------- states
    def init_state(self) -> BKTState:
        """A new learner's state: p_init per skill (NaN for multiprior: chosen at first event)."""
        store = self._store()
        p = np.empty(store.n_skills)
        for s in range(store.n_skills):
            lo, hi = store.pr_off[s], store.pr_off[s + 1]
            p[s] = store.p_init[lo] if hi - lo == 1 and not self.multiprior else np.nan
        return BKTState(store.skill_names, p)

    def _check_state(self, state: BKTState) -> None:
        if not isinstance(state, BKTState):
            raise ParameterError(
                f"state must be a BKTState, got {type(state).__name__}; use model.init_state()"
            )
        names = self._store().skill_names
        if state.skill_names is not names and state.skill_names != names:
            raise ParameterError(
                "state belongs to a model with other skills; create it with this model's "
                "init_state()"
            )

    def mastery(self, state: BKTState, skill: str) -> float:
        """P(mastered) of ``skill`` before the learner's next observation of it, in [0, 1]
        (multiprior before any observation: the skill's mean p_init over prior classes)."""
        self._check_state(state)
        p = float(state.p_mastered[self._store().skill_index(skill)])
        return self.skill_params(skill).p_init if p != p else p

    def state_to_dict(self, state: BKTState) -> dict[str, Any]:
        """``{"p_mastered": {skill: p}, "last_class": {skill: int}}`` for the skills whose
        value differs from a new learner's (JSON-ready; floats round-trip exactly)."""
        self._check_state(state)
        fresh = self.init_state()
        same = (state.p_mastered == fresh.p_mastered) | (
            np.isnan(state.p_mastered) & np.isnan(fresh.p_mastered))
        keep = np.flatnonzero(~same | (state.last_class != -1))
        names = state.skill_names
        return {
            "p_mastered": {names[k]: float(state.p_mastered[k]) for k in keep},
            "last_class": {names[k]: int(state.last_class[k]) for k in keep},
        }

    def state_from_dict(self, doc: Mapping[str, Any]) -> BKTState:
        """A state from :meth:`state_to_dict`'s document (skills not named keep a new
        learner's value; a document of a model with fewer skills is accepted)."""
        store = self._store()
        fresh = self.init_state()
        p = fresh.p_mastered.copy()
        last = fresh.last_class.copy()
        try:
            for name, value in dict(doc["p_mastered"]).items():
                p[store.skill_index(str(name))] = float(value)
            for name, value in dict(doc.get("last_class", {})).items():
                last[store.skill_index(str(name))] = int(value)
        except UnknownSkillError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(
                f"not a BKT state document ({exc}); pass what state_to_dict returned"
            ) from None
        return BKTState(store.skill_names, p, last)

    # ----------------------------------------------------------- updates
    def update_one(self, state: BKTState, skills: str | Sequence[str], score: float,
                   item: str | None = None, unknown: str = "error") -> tuple[BKTState, float]:
        """Apply one observation of ``skills`` (a name or a sequence of names) with ``score``
        in [0, 1] (soft evidence); returns ``(new_state, P(correct) predicted before it)``.

        ``item``: the item-class label for class variants (ignored by a model without them).
        Same arithmetic as ``update_many`` (plain Python floats for a single skill of a model
        without classes, which keeps the latency to a few microseconds).
        """
        if isinstance(skills, str) and self._simple_online:
            store = self._store()
            s = store._index.get(skills, -1)  # type: ignore[attr-defined]
            try:
                x = float(score)
            except (TypeError, ValueError):
                x = float("nan")
            if s >= 0 and 0.0 <= x <= 1.0:
                self._check_state(state)
                return self._step_simple(state, s, x)
        names = [skills] if isinstance(skills, str) else list(skills)
        if not names:
            raise ParameterError("skills is empty; name at least one skill")
        m = len(names)
        new, pc = self.update_many(state, names, [score] * m, None if item is None else
                                   [item] * m, np.zeros(m, np.int64), unknown)
        return new, float(pc[0])

    def _step_simple(self, state: BKTState, s: int, x: float) -> tuple[BKTState, float]:
        """The filter step of skill position ``s`` (model without classes) by the Numba
        kernel ``filter_one`` (the same ``_filter_step`` as every other path)."""
        values = state.p_mastered.copy()
        p_correct, values[s] = bkt_kernels().filter_one(
            float(values[s]), x, self._online_table, s
        )
        last = state.last_class
        if last[s] != 0:
            last = last.copy()
            last[s] = 0
        return BKTState._trusted(self._store().skill_names, values, last), p_correct

    def update_many(self, state: BKTState, skills, scores, items=None, events=None,
                    unknown: str = "error") -> tuple[BKTState, np.ndarray]:
        """Apply one learner's rows in time order; returns ``(new_state, p (n_obs,))``.

        skills: m skill names, or an int array of positions in ``skill_names_``.
        scores: m scores in [0, 1] (1 correct, 0 incorrect, fractions = soft evidence).
        items: None or m item-class labels (the log's class-column values; needed by class
            variants, ignored otherwise).
        events: None (every row one observation) or m ids; rows sharing a consecutive id are
            the skill copies of one observation, predicted once (module docstring).
        unknown: "error" (UnknownSkillError for an unknown skill/class) or "prior" (unknown
            class -> the skill's class average; an unknown skill's rows are predicted at the
            population average parameters and leave the state unchanged).
        Nothing is changed when an error is raised (the state is immutable anyway).
        """
        if unknown not in UNKNOWN_MODES:
            raise ParameterError(f"unknown={unknown!r} must be one of {UNKNOWN_MODES}")
        store = self._store()
        if not (type(state) is BKTState and state.skill_names is store.skill_names):
            self._check_state(state)  # the fast test above covers states this model made
        score = np.ascontiguousarray(scores, dtype=np.float64)
        if score.ndim != 1:
            score = score.reshape(-1)
        m = len(score)
        sk = np.asarray(skills)
        if events is None and m and self._simple_online and sk.dtype.kind in "iu":
            return self._replay_rows(store, state, sk, score)  # the per-learner replay path
        obs_ptr = obs_pointers(events, m)
        if m == 0:
            return state, np.empty(0)
        if self._simple_online and sk.dtype.kind in "iu":
            return self._replay_simple(state, sk, score, obs_ptr)
        if not (score.min() >= 0.0 and score.max() <= 1.0):
            raise bad_score(score)
        pos = skill_positions(store, sk, m, unknown)
        labels = self._item_labels(items, m)
        rows = Rows(store, pos)
        last = state.last_class.copy()
        self._map_classes(store, rows, pos, labels, score, state, last, unknown)
        return self._replay(store, state, last, pos, score, rows, obs_ptr)

    def _replay_rows(self, store: ParamStore, state: BKTState, sk: np.ndarray,
                     score: np.ndarray) -> tuple[BKTState, np.ndarray]:
        """Fast path (no classes, int positions, one observation per row): no row pointers;
        the kernel validates skills and scores."""
        pos = np.ascontiguousarray(sk, dtype=np.int64)
        if pos.ndim != 1:
            pos = pos.reshape(-1)
        if len(pos) != len(score):
            raise ParameterError(
                f"{len(pos)} skills for {len(score)} scores; give one skill per score")
        p_state = state.p_mastered.copy()
        last = state.last_class.copy()
        out = np.empty(len(score))
        bad = online_kernels().replay_rows(p_state, last, pos, score, self._online_table, out)
        if bad >= 0:
            raise bad_row(store, pos, score, bad)
        return BKTState._trusted(store.skill_names, p_state, last), out

    def _replay_simple(self, state: BKTState, sk: np.ndarray, score: np.ndarray,
                       obs_ptr: np.ndarray) -> tuple[BKTState, np.ndarray]:
        """Fast path (no classes, int positions): the kernel validates skills and scores."""
        store = self._store()
        pos = np.ascontiguousarray(sk, dtype=np.int64).reshape(-1)
        if len(pos) != len(score):
            raise ParameterError(
                f"{len(pos)} skills for {len(score)} scores; give one skill per score"
            )
        p_state = state.p_mastered.copy()
        last = state.last_class.copy()
        out = np.empty(len(obs_ptr) - 1)
        bad = bkt_kernels().replay_simple(p_state, last, obs_ptr, pos, score,
                                          self._online_table, out)
        if bad >= 0:
            raise bad_row(store, pos, score, bad)
        return BKTState._trusted(store.skill_names, p_state, last), out

    @property
    def per_skill_online(self) -> bool:
        """True when every skill has one class per parameter (no class variants): then
        :meth:`update_cells` applies."""
        return bool(self._simple_online)

    def update_cell(self, value: float, skill: int, score: float) -> tuple[float, float, float]:
        """:meth:`update_cells` of one observation of one cell, without arrays (the
        single-answer ingest path): ``value`` P(mastered) (NaN: p_init), ``skill`` a position
        in ``skill_names_``, ``score`` in [0, 1]. Returns ``(p_correct, before, after)``."""
        if not self._simple_online:
            raise ParameterError(
                "update_cell needs a model without class variants (per_skill_online); use "
                "update_many per learner"
            )
        n_skills = self._store().n_skills
        if not 0 <= skill < n_skills:
            raise UnknownSkillError(f"skill={skill} is not a skill position; use 0..{n_skills - 1}")
        if not 0.0 <= score <= 1.0:
            raise ParameterError(f"score={score:g} is outside [0, 1]; pass 0/1 or a partial score")
        table = self._online_table
        p_correct, after = bkt_kernels().filter_one(value, score, table, skill)
        return p_correct, (value if value == value else float(table[4, skill])), after

    def update_cells(self, values: np.ndarray, skills, scores, cells, obs_ptr
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The online filter over many independent (learner, skill) *cells* at once, with
        every row's P(mastered) before and after (a store's history), for a model without
        class variants (:attr:`per_skill_online`).

        values: float64 (C,) contiguous, P(mastered) of each cell (NaN = no evidence: the
            skill's p_init), **updated in place**; skills: int (m,) positions in
            ``skill_names_``; scores: float (m,) in [0, 1]; cells: int (m,) each row's cell;
        obs_ptr: int (n_obs + 1,) row pointers, rows ``obs_ptr[o]:obs_ptr[o+1]`` being one
            observation (distinct cells of one learner: predicted once, then applied in row
            order, as ``update_many`` does with ``events``).
        Returns ``(p_correct (n_obs,), before (m,), after (m,))``: the numbers ``update_many``
        gives on each learner's state. Bad input raises ``ParameterError`` naming the row
        (``values`` then unchanged).
        """
        if not self._simple_online:
            raise ParameterError(
                "update_cells needs a model without class variants (per_skill_online); use "
                "update_many per learner"
            )
        if not (isinstance(values, np.ndarray) and values.dtype == np.float64
                and values.ndim == 1 and values.flags.c_contiguous):
            raise ParameterError("values must be a 1-d contiguous float64 array (one per cell)")
        score = np.ascontiguousarray(scores, dtype=np.float64).reshape(-1)
        pos = np.ascontiguousarray(skills, dtype=np.int64).reshape(-1)
        cell = np.ascontiguousarray(cells, dtype=np.int64).reshape(-1)
        ptr = np.ascontiguousarray(obs_ptr, dtype=np.int64).reshape(-1)
        m = len(score)
        if len(pos) != m or len(cell) != m:
            raise ParameterError(
                f"{len(pos)} skills and {len(cell)} cells for {m} scores; give one per row")
        out = np.empty(max(len(ptr) - 1, 0))
        before = np.empty(m)
        after = np.empty(m)
        bad = online_kernels().trace_cells(values, ptr, cell, pos, score, self._online_table,
                                           out, before, after)
        if bad >= 0:
            raise bad_cell_row(bad, m, pos, cell, score, len(values), self._store().n_skills)
        return out, before, after

    # -------------------------------------------------------- construction
    @classmethod
    def from_skill_params(cls, params: Mapping[str, SkillParams], forgets: bool | None = None):
        """A fitted BKT with exactly ``params`` ({skill name: SkillParams}, one class each).

        ``forgets``: the model's ``forgets`` flag (its registry name); None = True when any
        ``p_forget`` is non-zero."""
        from kt.bkt.store import from_skill_params

        _check_params(params)
        if forgets is None:
            forgets = any(p.p_forget > 0.0 for p in params.values())
        model = cls(forgets=bool(forgets))
        model._set_fitted(from_skill_params(params), {}, {}, {})
        return model

    def with_skills(self, params: Mapping[str, SkillParams]):
        """A NEW fitted model: this one plus (or with replaced) skills ``params``
        ({skill name: SkillParams}, one class each); ``self`` is not changed."""
        from kt.bkt import start
        from kt.bkt.store import from_skill_params

        _check_params(params)
        store = start.merge(self._store(), from_skill_params(params))
        model = type(self)(**{k: getattr(self, k) for k in _HYPER})
        drop = set(params)
        keep = {k: v for k, v in self.log_likelihood_.items() if k not in drop}
        iters = {k: v for k, v in self.n_iter_.items() if k not in drop}
        traces = {k: v for k, v in self.ll_trace_.items() if k not in drop}
        model._set_fitted(store, keep, iters, traces)
        return model


_HYPER = ("forgets", "multigs", "multilearn", "multiprior", "multipair", "num_fits", "seed",
          "max_iter", "tol", "fixed", "init", "p_guess_bounds", "p_slip_bounds", "n_threads",
          "rtol", "bounds", "prior", "nested_start")


def _check_params(params) -> None:
    if not isinstance(params, Mapping):
        raise ParameterError(
            f"params must be a mapping {{skill name: SkillParams}}, got {type(params).__name__}")
    for name, value in params.items():
        if not isinstance(value, SkillParams):
            raise ParameterError(
                f"params[{name!r}] is a {type(value).__name__}; give a kt.bkt.SkillParams")
