"""Cross-validation of BKT hyperparameters (pyBKT's per-skill mode and a pooled learner mode)."""

from __future__ import annotations

import numpy as np

from kt.errors import ParameterError
from kt.log import ObservationLog


def crossvalidate(model, log: ObservationLog, folds: int = 5, mode: str = "per_skill",
                  metric="auc", seed: int = 0) -> dict[str, float]:
    """See ``BKT.crossvalidate``; ``model`` supplies the hyperparameters and is not changed."""
    from kt import metrics as km
    from kt.bkt.model import BKT
    from kt.bkt.persist import HYPER



    if not isinstance(folds, int) or folds < 2:
        raise ParameterError(f"folds={folds!r} must be an integer >= 2")
    name, func = km.resolve(metric)
    rng = np.random.default_rng(seed)
    y = log.outcome.astype(np.float64)
    params = {k: getattr(model, k) for k in (*HYPER, "fixed", "init", "n_threads")}
    if mode == "learner":
        perm = rng.permutation(log.n_learners)
        group = np.empty(log.n_learners, dtype=np.int64)
        for f, chunk in enumerate(np.array_split(perm, folds)):
            group[chunk] = f
        row_fold = group[log.learner]
        scores = {}
        for f in range(folds):
            test = row_fold == f
            fitted = BKT(**params).fit(log.take(~test))
            pred = fitted.predict(log.take(test), unknown="prior").p_correct
            scores[f"fold {f + 1}"] = float(func(y[test], pred))
        scores["mean"] = float(np.nanmean([scores[f"fold {f + 1}"] for f in range(folds)]))
        return scores
    if mode != "per_skill":
        raise ParameterError(f"mode={mode!r} must be 'per_skill' or 'learner'")
    # fold of each (skill, learner): per skill permutation of its learners
    present = np.unique(log.skill)
    key = log.skill.astype(np.int64) * log.n_learners + log.learner
    pairs, inverse = np.unique(key, return_inverse=True)
    pair_skill = pairs // log.n_learners
    pair_fold = np.full(len(pairs), -1, dtype=np.int64)
    for code in present:
        members = np.flatnonzero(pair_skill == code)
        perm = members[rng.permutation(len(members))]
        size = len(members) // folds
        for f in range(folds):
            pair_fold[perm[f * size : (f + 1) * size]] = f
    row_fold = pair_fold[inverse]
    per_skill: dict[str, list[float]] = {}
    for f in range(folds):
        test = row_fold == f
        if not test.any():
            continue
        fitted = BKT(**params).fit(log.take(~test))
        sub = log.take(test)
        pred = fitted.predict(sub, unknown="prior").p_correct
        ys = y[test]
        for code in np.unique(sub.skill):
            mask = sub.skill == code
            per_skill.setdefault(str(log.skill_names[code]), []).append(
                float(func(ys[mask], pred[mask]))
            )
    return {k: float(np.nanmean(v)) for k, v in per_skill.items()}

