"""Converged and plausible by default (issue 11 items 3 and 4): the relative stopping rule and
its cap, forgets fits never below their nested standard fit, bounds, MAP priors and the
per-skill warnings, on constructed logs and on the shared real logs."""

from __future__ import annotations

import numpy as np
import pytest

from kt.bkt import BKT, SkillParams
from kt.bkt.bounds import DEFAULT_BOUNDS, bounds_table, pseudo_counts
from kt.bkt.diagnostics import inverted_skills
from kt.bkt.model import PYBKT_SETTINGS
from kt.errors import ParameterError
from kt.log import ObservationLog
from kt.synthetic import DEFAULT_PARAMS, generate
from tests.conftest import require_shared

REAL_LOGS = ("cognitive-tutor/ct.csv", "cognitive-tutor/ct_2020_multiskill.tsv",
             "assistments-2020-subset/as_subset.csv")


def _read(relative: str) -> ObservationLog:
    from kt.io import read_log

    return read_log(require_shared(relative), missing_skill="drop")


def _log(rows) -> ObservationLog:
    """rows: (learner, skill, outcome) in time order."""
    learner, skill, outcome = zip(*rows, strict=True)
    return ObservationLog.from_arrays(
        learner=np.array(learner), skill=np.array(skill), outcome=np.array(outcome, np.int8),
        order=np.arange(len(rows), dtype=np.int64))


@pytest.fixture(scope="module")
def synthetic():
    skills = {k: DEFAULT_PARAMS[k] for k in ("fractions", "decimals", "ratios")}
    log, _ = generate(80, params=skills, min_answers=2, max_answers=15, seed=3)
    return log


def _degenerate_log() -> ObservationLog:
    """'never': every answer wrong (40 learners); 'always': every answer right; 'tiny': two
    learners; 'fine': mixed outcomes."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        for _ in range(4):
            rows.append((f"L{i}", "never", 0))
            rows.append((f"L{i}", "always", 1))
            rows.append((f"L{i}", "fine", int(rng.random() < 0.6)))
    rows += [("L0", "tiny", 1), ("L0", "tiny", 0), ("L1", "tiny", 1)]
    return _log(rows)


# --- item 3: converged by default ---------------------------------------------------------


@pytest.mark.parametrize("relative", REAL_LOGS)
def test_default_fit_converges_below_the_cap_on_real_logs(relative):
    log = _read(relative)
    model = BKT(num_fits=2).fit(log)
    assert model.n_at_cap_ <= 0.01 * len(model.skill_names_)
    assert model.n_at_cap_ == sum(v >= model.max_iter for v in model.n_iter_.values())
    # pyBKT's settings stop many skills at its cap of 100 on the same log (what changed)
    old = BKT(num_fits=2, **PYBKT_SETTINGS).fit(log)
    assert old.n_at_cap_ >= model.n_at_cap_


def test_skills_at_the_cap_are_counted_warned_and_saved(synthetic, tmp_path):
    model = BKT(max_iter=2).fit(synthetic)
    assert model.n_at_cap_ == len(model.skill_names_) == 3
    assert {w.skill for w in model.warnings_ if w.code == "at_cap"} == set(model.skill_names_)
    model.save(tmp_path / "m.json")
    again = BKT.load(tmp_path / "m.json")
    assert again.n_at_cap_ == 3
    assert again.warnings_ == model.warnings_


@pytest.mark.parametrize("relative", REAL_LOGS)
def test_forgets_fit_never_ends_below_its_nested_fit_on_real_logs(relative):
    log = _read(relative)
    standard = BKT(num_fits=2, seed=1).fit(log)
    forgets = BKT(num_fits=2, seed=1, forgets=True).fit(log)
    for skill in standard.skill_names_:
        assert forgets.log_likelihood_[skill] >= standard.log_likelihood_[skill], skill


def test_without_the_nested_start_a_forgets_fit_can_end_below():
    """The guarantee is not vacuous: pyBKT's way (random restarts only, cap 100) ends below
    the nested fit on some skill of ct.csv."""
    log = _read("cognitive-tutor/ct.csv")
    standard = BKT(num_fits=5, **PYBKT_SETTINGS).fit(log)
    forgets = BKT(num_fits=5, forgets=True, **PYBKT_SETTINGS).fit(log)
    assert any(forgets.log_likelihood_[s] < standard.log_likelihood_[s]
               for s in standard.skill_names_)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_forgets_fit_never_below_nested_on_constructed_logs(seed):
    params = {"a": SkillParams(0.3, 0.2, 0.05, 0.2, 0.1), "b": SkillParams(0.6, 0.1, 0.0, 0.3, 0.2)}
    log, _ = generate(40, params=params, min_answers=1, max_answers=10, seed=seed)
    for kw in ({}, {"max_iter": 5}, {"bounds": "none"}):
        standard = BKT(num_fits=1, seed=seed, **kw).fit(log)
        forgets = BKT(num_fits=1, seed=seed, forgets=True, **kw).fit(log)
        for skill in standard.skill_names_:
            assert forgets.log_likelihood_[skill] >= standard.log_likelihood_[skill]


# --- item 4: bounds, priors, warnings --------------------------------------------------------


def test_default_bounds_hold_and_keep_wrong_answers_lowering_mastery(synthetic):
    model = BKT(forgets=True, num_fits=3).fit(_degenerate_log())
    for row in model.params():
        if row["param"] in DEFAULT_BOUNDS:
            lo, hi = DEFAULT_BOUNDS[row["param"]]
            assert lo <= row["value"] <= hi, row
    assert inverted_skills(model.store_) == []
    p = model.skill_params("never")
    assert p.p_guess + p.p_slip < 1.0


def test_unbounded_fit_can_invert_a_skill_and_it_is_warned():
    """pyBKT's unbounded fit ends with p_guess + p_slip > 1 on some skills of this log, so a
    wrong answer raises mastery (and is warned); the default bounds prevent it."""
    model = BKT(bounds="none").fit(_degenerate_log())
    bad = [name for name, *_ in inverted_skills(model.store_)]
    assert bad
    codes = {(w.skill, w.code) for w in model.warnings_}
    for skill in bad:
        assert (skill, "wrong_raises_mastery") in codes
        p = model.skill_params(skill)  # P(mastered) 0.5 -> after a wrong answer:
        assert p.p_slip * 0.5 / (p.p_slip * 0.5 + (1 - p.p_guess) * 0.5) > 0.5
    bounded = BKT().fit(_degenerate_log())
    assert inverted_skills(bounded.store_) == []
    assert not any(w.code == "wrong_raises_mastery" for w in bounded.warnings_)


def test_warnings_name_degenerate_skills_and_bounds():
    model = BKT().fit(_degenerate_log())
    codes = {(w.skill, w.code) for w in model.warnings_}
    assert ("never", "all_wrong") in codes
    assert ("always", "all_correct") in codes
    assert ("tiny", "few_learners") in codes
    assert any(code == "at_bound" for _, code in codes)
    assert not any(skill == "fine" and code != "at_bound" for skill, code in codes)
    assert all(w.message for w in model.warnings_)


def test_bounds_for_every_parameter_are_applied(synthetic):
    bounds = {"p_guess": (0.05, 0.1), "p_slip": (0.05, 0.1), "p_learn": (0.2, 0.3),
              "p_forget": (0.01, 0.02)}
    model = BKT(forgets=True, bounds=bounds).fit(synthetic)
    for row in model.params():
        if row["param"] in bounds:
            lo, hi = bounds[row["param"]]
            assert lo - 1e-12 <= row["value"] <= hi + 1e-12, row


def test_bad_bounds_and_priors_name_the_value():
    with pytest.raises(ParameterError, match="bounds\\['p_guess'\\]"):
        bounds_table({"p_guess": (0.6, 0.2)})
    with pytest.raises(ParameterError, match="unknown parameter 'gues'"):
        bounds_table({"gues": (0, 0.3)})
    with pytest.raises(ParameterError, match="bounds='tight'"):
        bounds_table("tight")
    with pytest.raises(ParameterError, match="alpha and beta must be finite and >= 1"):
        pseudo_counts({"p_slip": (0.5, 2)})
    with pytest.raises(ParameterError, match="rtol=-1"):
        BKT(rtol=-1).fit(_degenerate_log())


def test_map_prior_pulls_a_skill_with_little_data_towards_the_prior_mode():
    rows = [("L0", "s", 0), ("L0", "s", 0), ("L0", "s", 1), ("L1", "s", 0)]
    log = _log(rows)
    ml = BKT(bounds="none", num_fits=3).fit(log).skill_params("s")
    mp = BKT(bounds="none", prior=True, num_fits=3).fit(log).skill_params("s")
    mode = {"p_guess": 0.25, "p_slip": 1 / 6, "p_learn": 1 / 6}
    assert sum(abs(getattr(mp, k) - v) for k, v in mode.items()) < sum(
        abs(getattr(ml, k) - v) for k, v in mode.items())
    for name in ("p_guess", "p_slip", "p_learn", "p_init"):
        assert 0.0 < getattr(mp, name) < 1.0


def test_map_prior_barely_moves_a_skill_with_much_data(synthetic):
    ml = BKT(num_fits=2, seed=4).fit(synthetic)
    mp = BKT(num_fits=2, seed=4, prior=True).fit(synthetic)
    for skill in ml.skill_names_:
        a, b = ml.skill_params(skill), mp.skill_params(skill)
        assert abs(a.p_guess - b.p_guess) < 0.05 and abs(a.p_slip - b.p_slip) < 0.05


def test_old_documents_load_with_the_settings_they_were_fitted_with(synthetic):
    doc = BKT(max_iter=5).fit(synthetic).to_dict()
    for key in ("rtol", "bounds", "prior", "nested_start"):
        del doc["hyperparameters"][key]
    del doc["warnings"], doc["n_at_cap"]
    old = BKT.from_dict(doc)
    assert (old.rtol, old.bounds, old.prior, old.nested_start) == (0.0, "none", None, False)
    assert old.warnings_ == ()


def test_with_skills_keeps_the_fitting_settings(synthetic):
    model = BKT(max_iter=7, rtol=1e-4, bounds={"p_guess": (0, 0.3)}, prior=True,
                nested_start=False).fit(synthetic)
    other = model.with_skills({"new": SkillParams(0.3, 0.2, 0.0, 0.2, 0.1)})
    for key in ("max_iter", "rtol", "bounds", "prior", "nested_start"):
        assert getattr(other, key) == getattr(model, key), key
