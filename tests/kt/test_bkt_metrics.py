"""kt.metrics against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kt import metrics
from kt.errors import ParameterError


def brute_auc(y, p):
    pos = p[y == 1]
    neg = p[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])),
                min_size=2, max_size=40))
def test_auc_matches_pairwise_count_with_ties(pairs):
    y = np.array([a for a, _ in pairs], dtype=float)
    p = np.array([b for _, b in pairs])
    if y.min() == y.max():
        with pytest.warns(RuntimeWarning, match="undefined"):
            assert np.isnan(metrics.auc(y, p))
    else:
        assert metrics.auc(y, p) == pytest.approx(brute_auc(y, p), abs=1e-12)


def test_auc_drops_rows_whose_truth_is_not_binary():
    y = np.array([0, 1, np.nan, 1, 0])
    p = np.array([0.1, 0.9, 0.5, 0.8, 0.2])
    assert metrics.auc(y, p) == 1.0


def test_rmse_accuracy_log_loss():
    y = np.array([1, 0, 1, 1])
    p = np.array([0.9, 0.2, 0.4, 1.0])
    assert metrics.rmse(y, p) == pytest.approx(np.sqrt((0.01 + 0.04 + 0.36 + 0) / 4))
    assert metrics.accuracy(y, p) == 0.75
    want = -np.mean([np.log(0.9), np.log(0.8), np.log(0.4), np.log(1 - 1e-15)])
    assert metrics.log_loss(y, p) == pytest.approx(want)


def test_resolve_and_errors():
    assert metrics.resolve("auc")[1] is metrics.auc
    name, f = metrics.resolve(np.mean)
    assert name == "mean"
    with pytest.raises(ParameterError, match="'f1'"):
        metrics.resolve("f1")
    with pytest.raises(ParameterError, match="one prediction per outcome"):
        metrics.rmse([1, 0], [0.5])
