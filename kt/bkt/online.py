"""The online path of ``BKT`` (the :mod:`kt.online` contract): a learner's ``BKTState`` is a
fold of the BKT filter over their observations, run by the Numba kernels
``kt.bkt._kernels.replay`` / ``replay_simple`` / ``filter_one`` (one BKT filter, ``_filter_step``; a plain
scalar twin lives in the tests).

Multi-skill observation (one answer tagged with several skills, or rows sharing an
``events`` id): P(correct) = mean of its skills' P(correct), all computed from the state
before the observation; then every skill copy is applied in row order (pyBKT's convention, and
the replay protocol's). ``item`` is the item-class label of class variants (multigs,
multilearn, multipair, multiprior by column); a model without class variants ignores it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kt.bkt import layout as lay
from kt.bkt.params import BKTState, SkillParams
from kt.bkt.store import ParamStore
from kt.errors import ParameterError, UnknownSkillError

UNKNOWN_MODES = ("error", "prior")

_KERNELS = None


def bkt_kernels():
    """``kt.bkt._kernels``, imported on first use (importing it loads Numba); cached so the
    per-call online path does not pay for an import statement."""
    global _KERNELS
    if _KERNELS is None:
        from kt._aot import kernels  # compiled ahead of time where fresh (kt._aot)

        _KERNELS = kernels("kt.bkt._kernels")
    return _KERNELS


_ONLINE_KERNELS = None


def online_kernels():
    """``kt.bkt._online_kernels``, imported on first use (it loads Numba); cached."""
    global _ONLINE_KERNELS
    if _ONLINE_KERNELS is None:
        from kt.bkt import _online_kernels

        _ONLINE_KERNELS = _online_kernels
    return _ONLINE_KERNELS


def obs_pointers(events, m: int) -> np.ndarray:
    """int64 (n_obs + 1) row pointers of observations: rows sharing a consecutive ``events``
    id are one observation; ``events=None``: every row is its own observation."""
    if events is None:
        return np.arange(m + 1, dtype=np.int64)
    ev = np.asarray(events).reshape(-1)
    if len(ev) != m:
        raise ParameterError(f"{len(ev)} events for {m} scores; give one event id per row")
    if m == 0:
        return np.zeros(1, dtype=np.int64)
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(ev[1:], ev[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    out = np.empty(len(starts) + 1, dtype=np.int64)
    out[:-1] = starts
    out[-1] = m
    return out


def _bad_score(score: np.ndarray) -> ParameterError:
    bad = int(np.flatnonzero(~((score >= 0.0) & (score <= 1.0)))[0])
    return ParameterError(
        f"scores[{bad}]={float(score[bad]):g} is outside [0, 1]; pass 0/1 or a partial score"
    )


def _skill_positions(store: ParamStore, skills, m: int, unknown: str) -> np.ndarray:
    """int64 (m,) positions in ``store.skill_names`` (-1 = unknown skill, ``unknown="prior"``)."""
    sk = np.asarray(skills)
    if sk.dtype.kind in "iu":
        pos = sk.astype(np.int64).reshape(-1)
        if len(pos) and (pos.min() < 0 or pos.max() >= store.n_skills):
            raise UnknownSkillError(
                f"skill positions must be in 0..{store.n_skills - 1}; got "
                f"{int(pos.min())}..{int(pos.max())}"
            )
    else:
        names = sk.astype(str).reshape(-1)
        uniq, inv = np.unique(names, return_inverse=True)
        index = store._index  # type: ignore[attr-defined]
        known = np.array([index.get(u, -1) for u in uniq], dtype=np.int64)
        if unknown == "error" and np.any(known < 0):
            store.skill_index(str(uniq[np.flatnonzero(known < 0)[0]]))  # raises
        pos = known[inv] if len(uniq) else np.empty(0, np.int64)
    if len(pos) != m:
        raise ParameterError(f"{len(pos)} skills for {m} scores; give one skill per score")
    return pos


def _bad_cell_row(bad: int, m: int, pos, cell, score, n_values: int,
                  n_skills: int) -> ParameterError | UnknownSkillError:
    if bad == m:
        return ParameterError(
            f"obs_ptr must rise strictly from 0 to {m} (the number of rows); one entry per "
            "observation start, then the row count")
    if not 0 <= pos[bad] < n_skills:
        return UnknownSkillError(
            f"skills[{bad}]={int(pos[bad])} is not a skill position; use 0..{n_skills - 1}")
    if not 0 <= cell[bad] < n_values:
        return ParameterError(
            f"cells[{bad}]={int(cell[bad])} is not a cell; use 0..{n_values - 1} (one per value)")
    return _bad_score(score)


def class_global(store: ParamStore, kind: str, s: int, label: str | None, unknown: str) -> int:
    """Global parameter index of class ``label`` (kind 'gs' | 'lr' | 'pr') of skill ``s``;
    an unseen label raises, or with ``unknown="prior"`` gives the skill's class mean."""
    off = getattr(store, f"{kind}_off")
    c = store.class_index(kind, s, lay.DEFAULT_CLASS if label is None else label)
    if c >= 0:
        return int(off[s] + c)
    if unknown == "error":
        raise UnknownSkillError(
            f"item class {label!r} of skill {store.skill_names[s]!r} was not seen when "
            "fitting; refit with it, or pass unknown='prior' for the skill's class average"
        )
    return int(off[-1] + s)


class _Rows:
    """Per-row global parameter indices of one ``update_many`` call (int32 (m,) each)."""

    def __init__(self, store: ParamStore, pos: np.ndarray) -> None:
        safe = np.where(pos >= 0, pos, 0)
        self.gs = store.gs_off[safe].astype(np.int32)
        self.lr = store.lr_off[safe].astype(np.int32)
        self.pr = store.pr_off[safe].astype(np.int32)
        self.cls = np.zeros(len(pos), np.int32)


class OnlineBKT:
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
        score = np.ascontiguousarray(scores, dtype=np.float64).reshape(-1)
        m = len(score)
        obs_ptr = obs_pointers(events, m)
        if m == 0:
            return state, np.empty(0)
        sk = np.asarray(skills)
        if self._simple_online and sk.dtype.kind in "iu":
            return self._replay_simple(state, sk, score, obs_ptr)
        if not (score.min() >= 0.0 and score.max() <= 1.0):
            raise _bad_score(score)
        pos = _skill_positions(store, sk, m, unknown)
        labels = self._item_labels(items, m)
        rows = _Rows(store, pos)
        last = state.last_class.copy()
        self._map_classes(store, rows, pos, labels, score, state, last, unknown)
        return self._replay(store, state, last, pos, score, rows, obs_ptr)

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
            if not (0 <= pos[bad] < store.n_skills):
                raise UnknownSkillError(
                    f"skills[{bad}]={int(pos[bad])} is not a skill position; use "
                    f"0..{store.n_skills - 1} (positions in skill_names_)"
                )
            raise _bad_score(score)
        return BKTState._trusted(store.skill_names, p_state, last), out

    @property
    def per_skill_online(self) -> bool:
        """True when every skill has one class per parameter (no class variants): then
        :meth:`update_cells` applies."""
        return bool(self._simple_online)

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
            raise _bad_cell_row(bad, m, pos, cell, score, len(values), self._store().n_skills)
        return out, before, after

    def _item_labels(self, items, m: int) -> np.ndarray | None:
        variant = self._variant()
        classed = bool(variant.gs_col or variant.lr_col or (
            variant.prior_col and variant.prior_col != lay.OUTCOME))
        if not classed:
            return None
        if items is None:
            raise ParameterError(
                "this model has class-dependent parameters; pass items (one item-class "
                "label per row)"
            )
        labels = np.asarray(items).astype(str).reshape(-1)
        if len(labels) != m:
            raise ParameterError(f"{len(labels)} items for {m} scores; give one per row")
        return labels

    def _mapped(self, store, kind: str, pos, idx: np.ndarray, labs: np.ndarray,
                unknown: str) -> np.ndarray:
        """Global class index of (skill, label) for rows ``idx`` (one lookup per pair)."""
        if len(idx) == 0:
            return np.empty(0, np.int32)
        uniq_lab, lab_id = np.unique(labs, return_inverse=True)
        width = len(uniq_lab)
        ukeys, inv = np.unique(pos[idx] * width + lab_id, return_inverse=True)
        values = np.array(
            [class_global(store, kind, int(k // width), str(uniq_lab[k % width]), unknown)
             for k in ukeys], dtype=np.int32)
        return values[inv]

    def _map_classes(self, store, rows: _Rows, pos, labels, score, state, last,
                     unknown: str) -> None:
        """Fill ``rows`` with the class variants' global indices (in place)."""
        variant = self._variant()
        kn = np.flatnonzero(pos >= 0)
        if variant.gs_col:
            rows.gs[kn] = self._mapped(store, "gs", pos, kn, labels[kn], unknown)
            rows.cls[kn] = rows.gs[kn] - store.gs_off[pos[kn]]
        if variant.pair:
            pair_labels = self._pair_labels(pos, kn, labels, last, rows)
            rows.lr[kn] = self._mapped(store, "lr", pos, kn, pair_labels, unknown)
        elif variant.lr_col:
            rows.lr[kn] = self._mapped(store, "lr", pos, kn, labels[kn], unknown)
        if variant.prior_col:
            # the prior class is read only at a skill's first row when its state is unset
            _, first = np.unique(pos[kn], return_index=True)
            first = kn[first]
            need = first[np.isnan(state.p_mastered[pos[first]])]
            if variant.prior_col == lay.OUTCOME:
                pr_labels = np.array([str(int(round(x))) for x in score[need]], dtype=str)
            else:
                pr_labels = labels[need]
            rows.pr[need] = self._mapped(store, "pr", pos, need, pr_labels, unknown)

    def _pair_labels(self, pos, kn, labels, last, rows: _Rows) -> np.ndarray:
        """multipair learn-class labels: (previous item class, current item class) of the same
        skill; ``rows.cls`` receives each row's item-class code (for ``last_class``)."""
        pair_code = self.pair_vocab_index_
        prev_label: dict[int, str | None] = {}
        out = np.empty(len(kn), dtype=object)
        for n, e in enumerate(kn):
            sk = int(pos[e])
            label = str(labels[e])
            if sk in prev_label:
                prev = prev_label[sk]
            elif last[sk] >= 0:
                prev = self.pair_vocab_[last[sk]]
            elif last[sk] == -2:
                prev = "\x00unknown"  # previous class was not seen in fitting
            else:
                prev = None
            out[n] = lay.DEFAULT_CLASS if prev is None else json.dumps([prev, label])
            prev_label[sk] = label
            rows.cls[e] = pair_code.get(label, -2)
        return out.astype(str)

    def _replay(self, store, state, last, pos, score, rows: _Rows, obs_ptr):
        """Run the kernel; unknown-skill rows get one fresh scratch slot each (NaN = prior at
        the population average), so they are predicted and leave the state unchanged."""
        guess, slip, learn, forget, prior = store.with_fallbacks()
        k = store.n_skills
        unknown_rows = np.flatnonzero(pos < 0)
        p_state = state.p_mastered.copy()
        last_ext = last
        if len(unknown_rows):
            pos = pos.copy()
            pos[unknown_rows] = k + np.arange(len(unknown_rows))
            rows.gs[unknown_rows] = len(guess) - 1
            rows.lr[unknown_rows] = len(learn) - 1
            rows.pr[unknown_rows] = len(prior) - 1
            p_state = np.r_[p_state, np.full(len(unknown_rows), np.nan)]
            last_ext = np.r_[last, np.zeros(len(unknown_rows), np.int32)]
        out = np.empty(len(obs_ptr) - 1)
        bkt_kernels().replay(p_state, last_ext, obs_ptr, pos, score, rows.gs, rows.lr,
                             rows.pr, rows.cls, guess, slip, learn, forget, prior, out)
        p_state = np.ascontiguousarray(p_state[:k])
        last = np.ascontiguousarray(last_ext[:k])
        return BKTState._trusted(store.skill_names, p_state, last), out

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
          "max_iter", "tol", "fixed", "init", "p_guess_bounds", "p_slip_bounds", "n_threads")


def _check_params(params) -> None:
    if not isinstance(params, Mapping):
        raise ParameterError(
            f"params must be a mapping {{skill name: SkillParams}}, got {type(params).__name__}")
    for name, value in params.items():
        if not isinstance(value, SkillParams):
            raise ParameterError(
                f"params[{name!r}] is a {type(value).__name__}; give a kt.bkt.SkillParams")
