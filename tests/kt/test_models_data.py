"""Small synthetic logs for the kt.models / kt.replay tests."""

from __future__ import annotations

import numpy as np

from kt.log import ObservationLog


def synthetic_log(n_learners: int = 40, n_skills: int = 5, n_items: int = 30, per_learner: int = 25,
                  multi_frac: float = 0.3, seed: int = 0) -> ObservationLog:
    """Learners answer items; an item has 1-2 skills (copies on consecutive rows)."""
    rng = np.random.default_rng(seed)
    item_skills = [
        sorted(rng.choice(n_skills, 2, replace=False).tolist()) if rng.random() < multi_frac
        else [int(rng.integers(n_skills))]
        for _ in range(n_items)
    ]
    difficulty = rng.normal(0, 1, n_items)
    lrn, sk, itm, ys, orders = [], [], [], [], []
    order = 0
    for u in range(n_learners):
        ability = rng.normal()
        for t in range(per_learner):
            it = int(rng.integers(n_items))
            p = 1 / (1 + np.exp(-(ability + 0.08 * t - difficulty[it])))
            y = int(rng.random() < p)
            for k in item_skills[it]:
                lrn.append(f"u{u:03d}")
                sk.append(f"s{k}")
                itm.append(f"i{it:03d}")
                ys.append(y)
                orders.append(order)
                order += 1
    return ObservationLog.from_arrays(learner=lrn, skill=sk, item=itm, outcome=ys, order=orders,
                                      source="synthetic")
