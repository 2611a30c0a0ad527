"""Item-class variants of the BKT online path (multigs, multilearn, multipair, multiprior):
per-row global parameter indices and the general replay kernel call. A mixin of
:class:`kt.bkt.online.OnlineBKT`."""

from __future__ import annotations

import json

import numpy as np

from kt.bkt import layout as lay
from kt.bkt._online_input import bkt_kernels
from kt.bkt.params import BKTState
from kt.bkt.store import ParamStore
from kt.errors import ParameterError, UnknownSkillError


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


class Rows:
    """Per-row global parameter indices of one ``update_many`` call (int32 (m,) each)."""

    def __init__(self, store: ParamStore, pos: np.ndarray) -> None:
        safe = np.where(pos >= 0, pos, 0)
        self.gs = store.gs_off[safe].astype(np.int32)
        self.lr = store.lr_off[safe].astype(np.int32)
        self.pr = store.pr_off[safe].astype(np.int32)
        self.cls = np.zeros(len(pos), np.int32)


class ClassRows:
    """Mixin of ``kt.bkt.BKT``: maps item-class labels to parameter rows and runs the
    general replay kernel (``update_many`` of a model with class variants)."""

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

    def _map_classes(self, store, rows: Rows, pos, labels, score, state, last,
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

    def _pair_labels(self, pos, kn, labels, last, rows: Rows) -> np.ndarray:
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

    def _replay(self, store, state, last, pos, score, rows: Rows, obs_ptr):
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
