"""Soft evidence (partial-credit scores) in BKT's EM, prediction and the log's score column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kt.bkt import BKT
from kt.errors import LogFormatError
from kt.log import ObservationLog
from kt.synthetic import generate
from tests.kt.test_bkt_kernels import PARAMS, check_em_against_twin, run_em, skill_problem

STORED = Path(__file__).parent / "data" / "bkt_stored_fits.json"
VARIANTS = {
    "standard": {}, "forgets": {"forgets": True}, "multigs": {"multigs": "template_id"},
    "multilearn": {"multilearn": "template_id"}, "multiprior": {"multiprior": True},
    "multipair": {"multipair": "template_id"},
}


def with_scores(problem, scores):
    """The problem with a ``score`` array per sequence (cycled from ``scores``)."""
    seqs, params = problem
    out, k = [], 0
    for s in seqs:
        n = len(s["obs"])
        score = np.array([scores[(k + j) % len(scores)] for j in range(n)])
        k += n
        out.append({**s, "score": score, "obs": (score >= 0.5).astype(np.int8)})
    return out, params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=3), st.integers(1, 4), st.booleans(),
       st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_soft_em_matches_numpy_twin(problems, n_iter, forgets, scores):
    """The soft E-step / M-step of ``em_fit`` equals the plain NumPy twin's soft EM."""
    check_em_against_twin([with_scores(p, scores) for p in problems], n_iter, forgets, soft=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=2), st.booleans())
def test_soft_em_of_exact_01_scores_equals_hard_em(problems, forgets):
    """Scores of exactly 0 and 1 are hard evidence: the soft E-step gives the hard fit."""
    hard = run_em(problems, 4, forgets)
    soft_problems = [([{**s, "score": s["obs"].astype(np.float64)} for s in seqs], prm)
                     for seqs, prm in problems]
    soft = run_em(soft_problems, 4, forgets, soft=True)
    for k in range(len(problems)):
        for p in PARAMS:
            np.testing.assert_allclose(soft[0][k][p], hard[0][k][p], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(soft[1], hard[1], rtol=1e-12)
    np.testing.assert_allclose(soft[3], hard[3], rtol=1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=2), st.booleans(),
       st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_soft_em_loglik_never_decreases(problems, forgets, scores):
    """EM property on the soft-evidence model: every E-step's LL >= the previous one."""
    problems = [with_scores(p, scores) for p in problems]
    got, _, _, trace = run_em(problems, 25, forgets, soft=True)
    for k in range(len(problems)):
        assert np.all(np.diff(trace[k]) >= -1e-9 * (1 + np.abs(trace[k][1:])))
        for p in PARAMS:
            assert np.all((got[k][p] >= 0.0) & (got[k][p] <= 1.0)), p


def test_fit_without_scores_reproduces_stored_fits_bit_for_bit():
    """Fits without a score column equal those stored before soft evidence (float.hex)."""
    stored = json.loads(STORED.read_text())
    log, _ = generate(n_learners=60, seed=11, n_templates=3)
    for name, kw in VARIANTS.items():
        # the stored fits used the former defaults: absolute tol 1e-6, no bounds, random
        # restarts only
        model = BKT(num_fits=2, max_iter=15, seed=5, tol=1e-6, rtol=0.0, bounds="none",
                    nested_start=False, **kw).fit(log)
        want = stored["fits"][name]
        got = [[r["skill"], r["param"], r["class"], float(r["value"]).hex()]
               for r in model.params()]
        assert got == want["params"], name
        assert {k: float(v).hex() for k, v in model.log_likelihood_.items()} == \
            want["log_likelihood"], name
        assert float(model.predict(log).p_correct.sum()).hex() == want["p_correct_sum"], name


def _scored(log: ObservationLog, score: np.ndarray) -> ObservationLog:
    return ObservationLog.from_arrays(
        learner=log.learner_ids[log.learner], skill=log.skill_names[log.skill],
        item=log.item_ids[log.item], order=log.order, score=score,
        classes={k: log.class_vocab[k][v] for k, v in log.classes.items()},
    )


def _values(model: BKT) -> np.ndarray:
    """Parameter values in (skill, param, class) order (logs may order skills differently)."""
    rows = sorted(model.params(), key=lambda r: (r["skill"], r["param"], r["class"]))
    return np.array([r["value"] for r in rows])


@pytest.fixture(scope="module")
def synthetic():
    log, _ = generate(n_learners=80, seed=4, n_templates=3)
    return log


def test_partial_credit_fits_differ_from_rounded_ones(synthetic):
    """Correct answers scored 0.6 fit other parameters than the same answers as 1.0 (what
    rounding would give) or as 0.0; every soft fit's LL trace increases (EM)."""
    correct = synthetic.outcome == 1
    fits = {}
    for value in (0.6, 1.0, 0.0):
        log = _scored(synthetic, np.where(correct, value, 0.0))
        model = BKT(max_iter=30, tol=0.0).fit(log)
        fits[value] = _values(model)
        for trace in model.ll_trace_.values():
            assert np.all(np.diff(trace) >= -1e-9 * (1 + np.abs(trace[1:])))
    assert not np.allclose(fits[0.6], fits[1.0], atol=1e-3)
    assert not np.allclose(fits[0.6], fits[0.0], atol=1e-3)
    # scores of exactly 1.0 are the hard outcomes: the same fit as the score-less log
    hard = BKT(max_iter=30, tol=0.0).fit(synthetic)
    np.testing.assert_allclose(fits[1.0], _values(hard), rtol=1e-9)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_fits_soft_scores(synthetic, variant):
    rng = np.random.default_rng(1)
    score = np.clip(synthetic.outcome + rng.normal(0, 0.3, len(synthetic)), 0, 1)
    log = _scored(synthetic, score)
    soft = BKT(max_iter=20, tol=0.0, **VARIANTS[variant]).fit(log)
    hard = BKT(max_iter=20, tol=0.0, **VARIANTS[variant]).fit(synthetic)
    for trace in soft.ll_trace_.values():
        assert np.all(np.isfinite(trace))
        assert np.all(np.diff(trace) >= -1e-9 * (1 + np.abs(trace[1:])))
    assert not np.allclose(_values(soft), _values(hard), atol=1e-4)


def test_predict_and_evaluate_use_scores_as_soft_evidence(synthetic):
    model = BKT(max_iter=10).fit(synthetic)
    rng = np.random.default_rng(2)
    score = np.round(rng.random(len(synthetic)), 2)
    log = _scored(synthetic, score)
    pred = model.predict(log)
    # the online update (soft evidence) of each learner's rows gives the same predictions
    for u in range(3):
        rows = np.flatnonzero(log.learner == u)
        _, p = model.update_many(model.init_state(), log.skill_names[log.skill[rows]],
                                 log.score[rows])
        np.testing.assert_allclose(pred.p_correct[rows], p, rtol=1e-12)
    rounded = model.predict(_scored(synthetic, (score >= 0.5).astype(np.float64)))
    assert not np.allclose(pred.p_correct, rounded.p_correct)
    metrics = model.evaluate(log, metrics=("auc", "rmse"))
    y = log.outcome.astype(np.float64)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((y - pred.p_correct) ** 2)))


def test_log_score_column_is_sorted_subset_and_validated():
    log = ObservationLog.from_arrays(
        learner=["b", "a", "a", "b"], skill=["s", "s", "s", "s"], order=[2, 5, 1, 1],
        score=[0.25, 1.0, 0.5, 0.75],
    )
    # sorted by learner, then order: (a,1) (a,5) (b,1) (b,2)
    assert log.score.tolist() == [0.5, 1.0, 0.75, 0.25]
    assert log.outcome.tolist() == [1, 1, 1, 0]
    assert log.take(np.array([1, 3])).score.tolist() == [1.0, 0.25]
    assert ObservationLog.from_arrays(learner=["a"], skill=["s"], outcome=[1]).score is None
    with pytest.raises(LogFormatError, match="score.*1.5.*row 1"):
        ObservationLog.from_arrays(learner=["a", "a"], skill=["s", "s"], score=[0.2, 1.5])
    with pytest.raises(LogFormatError, match="outcome 1 but score 0.2"):
        ObservationLog.from_arrays(learner=["a"], skill=["s"], outcome=[1], score=[0.2])
    with pytest.raises(LogFormatError, match="'outcome'.*'score'"):
        ObservationLog.from_arrays(learner=["a"], skill=["s"])
