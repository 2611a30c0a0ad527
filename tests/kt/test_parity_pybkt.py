"""Parity with pyBKT 1.4.2 (C++ backend) where pyBKT is right: standard BKT and forgets.

Every skill of the shared ASSISTments 2009 file, from the same initial parameters, with the
same number of EM iterations (M-steps): either pyBKT's own stopping rule (its iteration count
per skill is read back and Pathwise is forced to it with ``tol=0``) or exactly ``k``
iterations in both (pyBKT's ``EM_fit`` with ``tol=-1``). Parameters and per-row predictions
(P(correct) and P(mastered) before each answer) must agree to 1e-6.

pyBKT runs as a subprocess in its own venv (``tests/kt/pybkt_peer.py``); missing peer or data
skip with the reason outside CI and fail under ``CI=true``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_shared
from tests.kt.pybkt_peer import require_peer, run_driver

# pyBKT's fitting settings (unbounded, no prior), exactly ``max_iter`` iterations: the
# estimator's defaults (converged, bounded) differ from pyBKT's on purpose
EXACT_ITERATIONS = {"tol": 0.0, "rtol": 0.0, "bounds": "none", "prior": None,
                    "nested_start": False}

pytestmark = [pytest.mark.pybkt, pytest.mark.shared_data, pytest.mark.slow]

AS09 = "assistments-2009/skill_builder_2009.csv"
TOL = 1e-6


@pytest.fixture(scope="module")
def as09():
    from kt.io import read_log

    path = require_shared(AS09)
    require_peer()
    return path, read_log(path)


def initial_params(skills: list[str], forgets: bool, seed: int) -> dict[str, dict[str, float]]:
    """Deterministic per-skill initial values inside pyBKT's random ranges."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in skills:
        out[s] = {
            "p_init": float(rng.uniform(0.05, 0.95)),
            "p_learn": float(rng.uniform(0.02, 0.4)),
            "p_forget": float(rng.uniform(0.01, 0.3)) if forgets else 0.0,
            "p_guess": float(rng.uniform(0.02, 0.4)),
            "p_slip": float(rng.uniform(0.02, 0.3)),
        }
    return out


def to_pybkt(init: dict[str, float]) -> dict:
    return {
        "prior": init["p_init"],
        "learns": {"default": init["p_learn"]},
        "forgets": {"default": init["p_forget"]},
        "guesses": {"default": init["p_guess"]},
        "slips": {"default": init["p_slip"]},
    }


def fit_pathwise(log, init, iters: dict[str, int], forgets: bool):
    """Fit each skill with exactly ``iters[skill]`` EM iterations (skills grouped by count)."""
    from kt.bkt import BKT

    params, n_iter, models = {}, {}, {}
    for k in sorted(set(iters.values())):
        group = [s for s, v in iters.items() if v == k]
        model = BKT(
            forgets=forgets, max_iter=k, num_fits=1, init={s: init[s] for s in group},
            **EXACT_ITERATIONS,
        )
        model.fit(log, skills=group)
        for s in group:
            block = model.params_[s]
            params[s] = {p: float(block[p][0]) for p in init[s]}
            n_iter[s] = model.n_iter_[s]
            models[s] = model
    return params, n_iter, models


def compare(path, log, *, forgets: bool, maxiter: int, tol, seed: int):
    skills = [str(s) for s in log.skill_names]
    init = initial_params(skills, forgets, seed)
    peer = run_driver(
        {
            "mode": "em",
            "csv": str(path),
            "skills": None,
            "variant": {"forgets": forgets},
            "init": {s: to_pybkt(v) for s, v in init.items()},
            "maxiter": maxiter,
            "tol": tol,
            "predict": True,
        }
    )["skills"]
    assert set(peer) == set(skills)
    iters = {s: peer[s]["n_mstep"] for s in skills}
    assert min(iters.values()) >= 2  # pyBKT's test starts at its third pass
    params, n_iter, models = fit_pathwise(log, init, iters, forgets)
    assert n_iter == iters

    worst_param = 0.0
    for s in skills:
        mine, theirs = params[s], peer[s]
        ref = {
            "p_init": theirs["prior"],
            "p_learn": theirs["learns"]["default"],
            "p_forget": theirs["forgets"]["default"],
            "p_guess": theirs["guesses"]["default"],
            "p_slip": theirs["slips"]["default"],
        }
        for p, v in ref.items():
            worst_param = max(worst_param, abs(mine[p] - v))
            assert mine[p] == pytest.approx(v, abs=TOL), (s, p, mine[p], v)

    # predictions, aligned by (learner, order) within each skill
    worst_pred = 0.0
    n_checked = 0
    for s in skills:
        rows = np.flatnonzero(log.skill == log.skill_code(s))
        sub = log.take(rows)
        theirs = peer[s]
        key = {
            (u, o): i for i, (u, o) in enumerate(zip(theirs["user"], theirs["order"], strict=True))
        }
        idx = np.array(
            [
                key[(str(sub.learner_ids[a]), int(b))]
                for a, b in zip(sub.learner, sub.order, strict=True)
            ]
        )
        assert len(idx) == len(theirs["p_correct"])
        pred = models[s].predict(sub)
        pc, pm = pred.p_correct, pred.p_mastered
        d1 = np.max(np.abs(pc - np.asarray(theirs["p_correct"])[idx]))
        d2 = np.max(np.abs(pm - np.asarray(theirs["p_mastered"])[idx]))
        worst_pred = max(worst_pred, d1, d2)
        n_checked += len(idx)
    assert n_checked == len(log)
    assert worst_pred < TOL, worst_pred
    return peer, worst_param, worst_pred


def test_standard_bkt_matches_pybkt_with_its_own_stopping(as09):
    path, log = as09
    peer, wp, wq = compare(path, log, forgets=False, maxiter=100, tol=None, seed=1)
    # pyBKT's C++ E-step returns an integer log-likelihood (why it stops early)
    lls = np.concatenate([v["loglikes"] for v in peer.values()])
    assert np.all(lls == np.round(lls))
    print(f"standard, pyBKT stopping: max |param diff| {wp:.2e}, max |prediction diff| {wq:.2e}")


def test_forgets_matches_pybkt_with_its_own_stopping(as09):
    path, log = as09
    _, wp, wq = compare(path, log, forgets=True, maxiter=100, tol=None, seed=2)
    print(f"forgets, pyBKT stopping: max |param diff| {wp:.2e}, max |prediction diff| {wq:.2e}")


@pytest.mark.parametrize("forgets", [False, True])
def test_exactly_k_iterations_match(as09, forgets):
    path, log = as09
    peer, wp, wq = compare(path, log, forgets=forgets, maxiter=25, tol=-1.0, seed=3)
    assert {v["n_mstep"] for v in peer.values()} == {25}
    print(
        f"forgets={forgets}, 25 iterations: max |param diff| {wp:.2e}, "
        f"max |prediction diff| {wq:.2e}"
    )
