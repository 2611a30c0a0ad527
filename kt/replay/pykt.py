"""The pyKT-style replay protocol: expanded skill rows with late fusion.

pyKT (Liu et al., NeurIPS 2022) evaluates multi-skill questions this way:

* **expanded skill rows**: a question tagged with k skills becomes k rows, one skill each,
  with the question's item and outcome; models are *fitted* on the expanded training log
  (every row its own observation) and *replayed* on the expanded test log;
* each skill row of a question is predicted from the learner's state **before the
  question** (the other rows of the same question are not seen, so the question's own
  answer never leaks into its prediction); then all k rows are applied in order;
* **late fusion**: the question's P(correct) is the mean of its skill rows' predictions.

Single-skill questions are unchanged by the expansion, so on a log without multi-skill
questions both protocols give the same numbers. Used by ``kt.replay.protocol.run`` when
``ReplayConfig.protocol`` is ``"pykt"`` or ``"both"``; predictions are stored under
:func:`key` (``"bkt [pykt]"``) next to the every-answer ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kt.log import ObservationLog
from kt.models.base import event_pointers

SUFFIX = " [pykt]"


def key(model: str) -> str:
    """The name under which a model's pyKT-style predictions are reported."""
    return f"{model}{SUFFIX}"


def is_key(name: str) -> bool:
    return name.endswith(SUFFIX)


def expand(log: ObservationLog) -> ObservationLog:
    """The log with every row its own observation (event id = row index): a question with
    k skill copies becomes k single-skill rows (same learner, item, order key, outcome)."""
    return dataclasses.replace(log, event=np.arange(len(log), dtype=np.int64))


def fuse(p_rows: np.ndarray, ev_ptr: np.ndarray) -> np.ndarray:
    """Late fusion: the mean of each question's skill-row predictions.

    ``p_rows``: float (n_rows,); ``ev_ptr``: int64 (n_questions + 1,) row pointers of the
    questions. Returns float64 (n_questions,)."""
    if len(p_rows) == 0:
        return np.zeros(0)
    return np.add.reduceat(np.asarray(p_rows, dtype=np.float64), ev_ptr[:-1]) / np.diff(ev_ptr)


def _rows(model, skill, outcome, item, lo: int, hi: int, state):
    """``update_many`` over rows ``lo:hi`` as single-skill observations."""
    return model.update_many(state, skill[lo:hi], outcome[lo:hi], items=item[lo:hi],
                             events=np.arange(lo, hi, dtype=np.int64))


def _replay_learner(model, skill, outcome, item, q_ptr: np.ndarray, out: np.ndarray) -> None:
    """One learner's questions (row pointers ``q_ptr``) into ``out`` (per row): runs of
    single-skill questions in one ``update_many``; each row of a multi-skill question
    predicted from the state before the question, then the rows applied."""
    state = model.init_state()
    multi = np.flatnonzero(np.diff(q_ptr) > 1)
    done = 0  # questions handled so far (index into q_ptr)
    for q in multi:
        if q > done:
            lo, hi = q_ptr[done], q_ptr[q]
            state, out[lo:hi] = _rows(model, skill, outcome, item, lo, hi, state)
        lo, hi = q_ptr[q], q_ptr[q + 1]
        for r in range(lo, hi):
            out[r] = _rows(model, skill, outcome, item, r, r + 1, state)[1][0]
        state, _ = _rows(model, skill, outcome, item, lo, hi, state)
        done = q + 1
    if done < len(q_ptr) - 1:
        lo, hi = q_ptr[done], q_ptr[-1]
        _, out[lo:hi] = _rows(model, skill, outcome, item, lo, hi, state)


def replay_skill_rows(model, log: ObservationLog) -> np.ndarray:
    """P(correct) per **row** of ``log`` (float64, ``len(log)``): each skill row predicted
    from the learner's state before its question (``log.event`` groups the rows into
    questions), the rows applied as single-skill observations. ``model`` is fitted on
    :func:`expand` of the training log."""
    from kt.replay.protocol import aligned

    model, codes = aligned(model, log)
    skill = codes[log.skill]
    ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
    out = np.empty(len(log), dtype=np.float64)
    for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
        _replay_learner(model, skill, log.outcome, log.item, ev_ptr[a:b + 1], out)
    return out


def fit_replay(name: str, train: ObservationLog, test: ObservationLog, config, fit_fn):
    """Fit model ``name`` on the expanded ``train`` and replay ``test`` by skill rows.

    Returns ``(p_rows (len(test),), fit seconds, replay seconds, fitted model or None)``;
    ``"pybkt"`` runs the peer on the expanded logs (its BKT filters each skill on its own,
    so a row never sees the other rows of its question)."""
    import time

    from kt.models import make_model
    from kt.replay.protocol import PYBKT

    t0 = time.perf_counter()
    if name == PYBKT:
        from kt.replay.pybkt_peer import pybkt_predict

        p = pybkt_predict(expand(train), expand(test), python=config.pybkt_python,
                          seed=config.seed, num_fits=config.pybkt_num_fits)
        return p, time.perf_counter() - t0, 0.0, None
    model = fit_fn(make_model(name, seed=config.seed), expand(train))
    t1 = time.perf_counter()
    p = replay_skill_rows(model, test)
    return p, t1 - t0, time.perf_counter() - t1, model


def row_metrics(result, name: str) -> dict:
    """Skill-row metrics of a pyKT-style key: pooled and mean ± std over folds (every skill
    row of a scored question counts, predicted before its question)."""
    from kt.replay import metrics as RM

    p = result.row_predictions[name]
    ev_of_row = result.skill_rows["event"]
    y = result.events["outcome"][ev_of_row].astype(np.float64)
    fold = result.events["fold"][ev_of_row]
    out = RM.basic(y, p)
    per_fold = [RM.basic(y[fold == f], p[fold == f]) for f in np.unique(fold)]
    out["fold_mean_std"] = {k: RM.mean_std([pf[k] for pf in per_fold])
                            for k in ("auc", "rmse", "log_loss", "accuracy")}
    return out
