"""kt.synthetic determinism, the bundled demo log, and ``pathwise demo``."""

from __future__ import annotations

import numpy as np

from kt.synthetic import DEFAULT_PARAMS, generate, to_csv
from tests.conftest import REPO_ROOT


def test_generate_is_deterministic_and_seeded():
    a, sa = generate(30, seed=3, n_templates=2)
    b, sb = generate(30, seed=3, n_templates=2)
    c, _ = generate(30, seed=4, n_templates=2)
    for name in ("learner", "skill", "item", "outcome", "order"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(sa, sb)
    assert not np.array_equal(a.outcome[: len(c)], c.outcome[: len(a)]) or len(a) != len(c)
    assert set(a.skill_names) == set(DEFAULT_PARAMS)
    # outcomes follow the hidden state: mastered rows are correct far more often
    assert a.outcome[sa == 1].mean() > a.outcome[sa == 0].mean() + 0.3


def test_bundled_demo_log_is_the_documented_generator_output(tmp_path):
    from kt.io import read_log

    log, _ = generate(200, seed=7, n_templates=4)
    path = tmp_path / "log.csv"
    to_csv(log, path)
    assert path.read_bytes() == (REPO_ROOT / "data" / "kt_demo" / "log.csv").read_bytes()
    back = read_log(path, preset="assistments", classes=["template_id"])
    assert len(back) == len(log) == 12417
    assert back.outcome.sum() == log.outcome.sum()


def test_pathwise_demo_prints_fitted_vs_true(capsys):
    from service.cli import main

    assert main(["demo", "--learners", "2", "--num-fits", "1"]) == 0
    out = capsys.readouterr().out
    assert "fitted (true)" in out
    for skill in DEFAULT_PARAMS:
        assert skill in out
    assert "auc" in out and "L0001" in out and "L0002" not in out
