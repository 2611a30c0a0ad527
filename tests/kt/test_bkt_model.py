"""BKT estimator: variants against the NumPy twin, determinism, online = batch, persistence,
errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kt.bkt import BKT, BKTState, SkillParams
from kt.errors import (
    LogFormatError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    UnknownSkillError,
)
from kt.synthetic import DEFAULT_PARAMS, generate
from tests.kt import bkt_reference as ref

PARAMS = ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")
START = {"p_init": 0.4, "p_learn": 0.1, "p_forget": 0.05, "p_guess": 0.2, "p_slip": 0.15}
# exactly max_iter unbounded EM steps from the given starts
EXACT = {"tol": 0.0, "rtol": 0.0, "bounds": "none", "nested_start": False}


@pytest.fixture(scope="module")
def small_log():
    skills = {k: DEFAULT_PARAMS[k] for k in ("fractions", "decimals", "ratios")}
    log, _ = generate(60, params=skills, min_answers=1, max_answers=12, seed=5, n_templates=3)
    return log


VARIANTS = [
    {},
    {"forgets": True},
    {"multigs": "template_id"},
    {"multilearn": "template_id", "forgets": True},
    {"multipair": "template_id"},
    {"multiprior": True},
    {"multiprior": "template_id", "multigs": "template_id"},
    {"multigs": "template_id", "multilearn": "template_id"},
    {"multigs": "template_id", "multipair": "template_id", "forgets": True},
]


def twin_sequences(log, model, skill):
    """Sequences of ``skill`` built row by row from the log (independent of kt.bkt.layout)."""
    block = model.params_[skill]
    gs_labels = block["guess_slip_classes"]
    lr_labels = block["learn_classes"]
    pr_labels = block["init_classes"]
    vocab = log.class_vocab.get("template_id")
    col = log.classes.get("template_id")
    code = log.skill_code(skill)
    seqs = []
    for learner in np.unique(log.learner):
        rows = np.flatnonzero((log.learner == learner) & (log.skill == code))
        if len(rows) == 0:
            continue
        names = [str(vocab[col[r]]) for r in rows] if vocab is not None else []
        gs = [gs_labels.index(names[t]) if model.multigs else 0 for t in range(len(rows))]
        if model.multilearn:
            lr = [lr_labels.index(n) for n in names]
        elif model.multipair:
            lr = [lr_labels.index("*" if t == 0 else json.dumps([names[t - 1], names[t]]))
                  for t in range(len(rows))]
        else:
            lr = [0] * len(rows)
        if model.multiprior is True:
            prior = pr_labels.index(str(int(log.outcome[rows[0]])))
        elif model.multiprior:
            prior = pr_labels.index(names[0])
        else:
            prior = 0
        seqs.append({"obs": log.outcome[rows].astype(int), "gs": np.array(gs),
                     "lr": np.array(lr), "prior": prior})
    return seqs


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}" for k in v) or "standard")
def test_variant_fit_matches_twin(small_log, variant):
    model = BKT(**variant, init=START, max_iter=4, **EXACT).fit(small_log)
    for skill in model.skill_names_:
        block = model.params_[skill]
        start = {
            "p_init": np.full(len(block["init_classes"]), START["p_init"]),
            "p_learn": np.full(len(block["learn_classes"]), START["p_learn"]),
            "p_forget": np.full(len(block["learn_classes"]),
                                START["p_forget"] if variant.get("forgets") else 0.0),
            "p_guess": np.full(len(block["guess_slip_classes"]), START["p_guess"]),
            "p_slip": np.full(len(block["guess_slip_classes"]), START["p_slip"]),
        }
        seqs = twin_sequences(small_log, model, skill)
        assert sum(len(s["obs"]) for s in seqs) == int((small_log.skill ==
                                                       small_log.skill_code(skill)).sum())
        want, final_ll, _ = ref.em(seqs, start, 4, bool(variant.get("forgets")))
        for p in PARAMS:
            np.testing.assert_allclose(block[p], want[p], atol=1e-10, err_msg=f"{skill} {p}")
        assert model.log_likelihood_[skill] == pytest.approx(final_ll, rel=1e-10)
        assert model.n_iter_[skill] == 4
    if variant.get("multigs"):
        assert all(len(model.params_[s]["p_guess"]) == 3 for s in model.skill_names_)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(v) or "standard")
def test_replay_through_update_many_equals_batch_predict(small_log, variant):
    model = BKT(**variant, num_fits=2, seed=1, max_iter=15).fit(small_log)
    batch = model.predict(small_log)
    vocab = small_log.class_vocab["template_id"]
    for learner in np.unique(small_log.learner)[:25]:
        rows = np.flatnonzero(small_log.learner == learner)
        skills = small_log.skill_names[small_log.skill[rows]]
        classes = vocab[small_log.classes["template_id"][rows]]
        state = model.init_state()
        state, pc = model.update_many(state, skills, small_log.outcome[rows], classes)
        assert np.array_equal(pc, batch.p_correct[rows])
        # one event at a time gives the same numbers
        state1 = model.init_state()
        for r, s, c in zip(rows, skills, classes, strict=True):
            state1, p = model.update_one(state1, str(s), float(small_log.outcome[r]), str(c))
            assert p == batch.p_correct[r]
        assert np.array_equal(state.p_mastered, state1.p_mastered)
        if not variant:  # int skill positions take the no-class fast path
            pos = np.array([model.skill_names_.index(str(x)) for x in skills])
            state2, pc2 = model.update_many(model.init_state(), pos, small_log.outcome[rows])
            assert np.array_equal(pc2, pc)
            assert np.array_equal(state2.p_mastered, state.p_mastered)
        last = {}
        for r, s in zip(rows, skills, strict=True):
            last[str(s)] = r
        for s, r in last.items():
            assert state.mastery(s) == batch.p_mastered_after[r]


def test_predict_semantics_first_row_uses_prior(small_log):
    model = BKT(num_fits=1, max_iter=10).fit(small_log)
    pred = model.predict(small_log)
    for skill in model.skill_names_:
        prm = model.skill_params(skill)
        code = small_log.skill_code(skill)
        first = np.flatnonzero(small_log.skill == code)[0]
        assert pred.p_mastered[first] == prm.p_init
        want = prm.p_guess * (1 - prm.p_init) + (1 - prm.p_slip) * prm.p_init
        assert pred.p_correct[first] == pytest.approx(want, abs=1e-15)
    assert np.all((pred.p_correct > 0) & (pred.p_correct < 1))


def test_fit_recovers_true_parameters():
    log, _ = generate(1500, seed=11)
    model = BKT(num_fits=3, seed=0, tol=1e-8, max_iter=300).fit(log)
    for skill, true in DEFAULT_PARAMS.items():
        fitted = model.skill_params(skill)
        for name in ("p_init", "p_learn", "p_guess", "p_slip"):
            assert abs(getattr(fitted, name) - getattr(true, name)) < 0.05, (skill, name)


@pytest.mark.parametrize("variant", [{}, {"multigs": "template_id", "forgets": True}])
def test_bit_identical_whatever_the_thread_count(small_log, variant):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 Numba threads (one core here)")
    one = BKT(**variant, num_fits=4, seed=3, max_iter=20, n_threads=1).fit(small_log)
    two = BKT(**variant, num_fits=4, seed=3, max_iter=20, n_threads=2).fit(small_log)
    for skill in one.skill_names_:
        for p in PARAMS:
            assert np.array_equal(one.params_[skill][p], two.params_[skill][p])
        assert one.log_likelihood_[skill] == two.log_likelihood_[skill]
    assert np.array_equal(one.predict(small_log).p_correct, two.predict(small_log).p_correct)


def test_restarts_keep_the_best_loglik(small_log):
    single = BKT(num_fits=1, seed=9, max_iter=5, tol=0).fit(small_log)
    many = BKT(num_fits=6, seed=9, max_iter=5, tol=0).fit(small_log)
    for skill in single.skill_names_:
        # restart 0 of ``many`` is ``single``'s only restart
        assert many.log_likelihood_[skill] >= single.log_likelihood_[skill]


def test_em_loglik_trace_never_decreases(small_log):
    model = BKT(forgets=True, multigs="template_id", num_fits=2, max_iter=40,
                **EXACT).fit(small_log)
    for trace in model.ll_trace_.values():
        assert len(trace) == 40
        assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    for row in model.params():
        assert 0.0 <= row["value"] <= 1.0


def test_fixed_parameters_and_bounds(small_log):
    model = BKT(fixed={"p_learn": 0.3}, p_guess_bounds=(0.0, 0.1), p_slip_bounds=(0.05, 0.1),
                max_iter=10).fit(small_log)
    for skill in model.skill_names_:
        prm = model.skill_params(skill)
        assert prm.p_learn == 0.3
        assert prm.p_guess <= 0.1
        assert 0.05 <= prm.p_slip <= 0.1
    per_skill = BKT(fixed={"fractions": {"p_slip": 0.01}}, max_iter=5).fit(small_log)
    assert per_skill.skill_params("fractions").p_slip == 0.01
    assert per_skill.skill_params("decimals").p_slip != 0.01


def test_partial_fit_warm_start_continues_em(small_log):
    model = BKT(max_iter=3, tol=0, seed=2).fit(small_log)
    before = dict(model.log_likelihood_)
    model.partial_fit(small_log)
    for skill, ll in before.items():
        assert model.log_likelihood_[skill] >= ll - 1e-9
    # warm start from the fitted params == continuing EM: 3 + 3 iterations == 6 iterations
    six = BKT(max_iter=6, tol=0, seed=2).fit(small_log)
    for skill in six.skill_names_:
        for p in PARAMS:
            np.testing.assert_allclose(model.params_[skill][p], six.params_[skill][p], atol=1e-12)


def test_fit_subset_of_skills_and_seed_is_per_skill(small_log):
    both = BKT(num_fits=2, seed=4, max_iter=8).fit(small_log)
    one = BKT(num_fits=2, seed=4, max_iter=8).fit(small_log, skills=["ratios"])
    assert one.skill_names_ == ("ratios",)
    for p in PARAMS:
        assert np.array_equal(one.params_["ratios"][p], both.params_["ratios"][p])


def test_save_load_round_trip(tmp_path, small_log):
    model = BKT(multigs="template_id", multipair="template_id", forgets=True, num_fits=2,
                max_iter=10).fit(small_log)
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "pathwise-bkt" and doc["version"] == 1
    loaded = BKT.load(path)
    assert loaded.skill_names_ == model.skill_names_
    for skill in model.skill_names_:
        for p in PARAMS:
            assert np.array_equal(loaded.params_[skill][p], model.params_[skill][p])
    assert np.array_equal(loaded.predict(small_log).p_correct, model.predict(small_log).p_correct)
    assert loaded.params() == model.params()
    again = BKT.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.params() == model.params()
    assert again.multipair == "template_id" and again.forgets is True


def test_load_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match="cannot read"):
        BKT.load(bad)
    bad.write_text(json.dumps({"format": "pathwise-bkt", "version": 99}))
    with pytest.raises(ModelFileError, match="version 99"):
        BKT.load(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ModelFileError, match="not a Pathwise BKT model"):
        BKT.load(bad)


def test_params_table_and_skill_params(small_log):
    model = BKT(multigs="template_id", max_iter=5).fit(small_log)
    rows = model.params()
    assert {r["param"] for r in rows} == set(PARAMS)
    assert len(rows) == 3 * (1 + 1 + 1 + 3 + 3)
    sp = model.skill_params("fractions", item_class="T1")
    i = model.params_["fractions"]["guess_slip_classes"].index("T1")
    assert sp.p_guess == model.params_["fractions"]["p_guess"][i]
    with pytest.raises(UnknownSkillError, match="T9"):
        model.skill_params("fractions", item_class="T9")


def test_unknown_skill_and_class_error_or_fallback(small_log):
    model = BKT(multigs="template_id", max_iter=5).fit(small_log, skills=["fractions", "ratios"])
    with pytest.raises(UnknownSkillError, match="decimals"):
        model.predict(small_log)
    pred = model.predict(small_log, unknown="prior")
    assert np.all(np.isfinite(pred.p_correct))
    state = model.init_state()
    with pytest.raises(UnknownSkillError, match="T9"):
        model.update_one(state, "fractions", 1, item="T9")
    new, p = model.update_one(state, "fractions", 1, item="T9", unknown="prior")
    assert 0 < p < 1 and new.mastery("fractions") != state.mastery("fractions")
    with pytest.raises(UnknownSkillError, match="geometry"):
        model.update_one(state, "geometry", 1, item="T1")


def test_bad_hyperparameters_and_inputs_name_the_value(small_log):
    with pytest.raises(ParameterError, match="at most one"):
        BKT(multilearn="template_id", multiprior=True).fit(small_log)
    with pytest.raises(ParameterError, match="num_fits=0"):
        BKT(num_fits=0).fit(small_log)
    with pytest.raises(ParameterError, match="tol=-1"):
        BKT(tol=-1).fit(small_log)
    with pytest.raises(ParameterError, match="p_guess_bounds"):
        BKT(p_guess_bounds=(0.5, 0.2)).fit(small_log)
    with pytest.raises(ParameterError, match="p_init"):
        BKT(init={"p_init": 1.5}).fit(small_log)
    with pytest.raises(ParameterError, match="p_lern"):
        BKT(fixed={"fractions": {"p_lern": 0.1}}).fit(small_log)
    with pytest.raises(LogFormatError, match="nope"):
        BKT(multigs="nope").fit(small_log)
    with pytest.raises(UnknownSkillError, match="algebra"):
        BKT().fit(small_log, skills=["algebra"])
    with pytest.raises(NotFittedError):
        BKT().predict(small_log)
    empty = small_log.take(np.zeros(len(small_log), dtype=bool))
    with pytest.raises(LogFormatError, match="no rows"):
        BKT().fit(empty)
    fitted = BKT(max_iter=2).fit(small_log)
    assert fitted.predict(empty).p_correct.shape == (0,)
    with pytest.raises(ParameterError, match="unknown='maybe'"):
        fitted.predict(small_log, unknown="maybe")


def test_bad_online_input_changes_nothing(small_log):
    model = BKT(max_iter=5).fit(small_log)
    state = model.init_state()
    snapshot = state.p_mastered.copy()
    with pytest.raises(ParameterError, match=r"scores\[1\]=2"):
        model.update_many(state, ["fractions", "ratios"], [1, 2])
    assert np.array_equal(state.p_mastered, snapshot)
    pos = np.array([0, 1, 2])
    with pytest.raises(ParameterError, match=r"scores\[2\]=-1"):
        model.update_many(state, pos, [1, 0, -1])
    with pytest.raises(UnknownSkillError, match=r"skills\[1\]=7"):
        model.update_many(state, np.array([0, 7]), [1, 0])
    assert np.array_equal(state.p_mastered, snapshot)
    with pytest.raises(ValueError):
        state.p_mastered[0] = 0.5  # read-only
    with pytest.raises(ParameterError, match="init_state"):
        model.update_one(BKTState(("x",), [0.5]), "x", 1)


@pytest.mark.parametrize("score", [0.0, 0.3, 0.5, 1.0])
def test_soft_evidence_matches_the_scalar_twin(small_log, score):
    model = BKT(forgets=True, max_iter=5).fit(small_log)
    state = model.init_state()
    for _ in range(3):  # the fast update_one path, then update_many's kernel
        new, p = model.update_one(state, "ratios", score)
        want_pc, want_next = ref.scalar_step(model.mastery(state, "ratios"), score,
                                             model.skill_params("ratios"))
        assert p == pytest.approx(want_pc, abs=1e-14)
        assert model.mastery(new, "ratios") == pytest.approx(want_next, abs=1e-14)
        many, pc = model.update_many(state, ["ratios"], [score])
        assert pc[0] == p and many == new
        state = new


def test_scalar_twin_equals_textbook_bkt_at_binary_scores():
    prm = SkillParams(0.3, 0.2, 0.05, 0.25, 0.1)
    pc, nxt = ref.scalar_step(0.3, 1.0, prm)
    post = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.25)
    assert pc == pytest.approx(0.25 * 0.7 + 0.9 * 0.3)
    assert nxt == pytest.approx(post * 0.95 + (1 - post) * 0.2)
    _, nxt0 = ref.scalar_step(0.3, 0.0, prm)
    post0 = 0.3 * 0.1 / (0.3 * 0.1 + 0.7 * 0.75)
    assert nxt0 == pytest.approx(post0 * 0.95 + (1 - post0) * 0.2)
    model = BKT.from_skill_params({"x": prm})
    for score, want in ((1.0, nxt), (0.0, nxt0)):
        new, p = model.update_one(model.init_state(), "x", score)
        assert p == pytest.approx(pc) and model.mastery(new, "x") == pytest.approx(want)
    with pytest.raises(ParameterError, match=r"scores\[0\]=1.5"):
        model.update_one(model.init_state(), "x", 1.5)
    with pytest.raises(ParameterError, match="p_slip"):
        SkillParams(0.3, 0.2, 0.0, 0.2, -0.1)


def test_evaluate_and_crossvalidate(small_log):
    model = BKT(max_iter=10)
    model.fit(small_log)
    scores = model.evaluate(small_log, ("auc", "rmse", "accuracy", "log_loss"))
    assert 0.5 < scores["auc"] <= 1 and 0 < scores["rmse"] < 0.5
    custom = model.evaluate(small_log, lambda y, p: float(np.mean(p)))
    assert list(custom) == ["<lambda>"]
    per_skill = BKT(max_iter=10).crossvalidate(small_log, folds=3, metric="rmse", seed=1)
    assert set(per_skill) == {"fractions", "decimals", "ratios"}
    assert all(0 < v < 0.6 for v in per_skill.values())
    pooled = BKT(max_iter=10).crossvalidate(small_log, folds=3, mode="learner", metric="auc")
    assert set(pooled) == {"fold 1", "fold 2", "fold 3", "mean"}
    assert 0.5 < pooled["mean"] < 1
    with pytest.raises(ParameterError, match="mode='x'"):
        model.crossvalidate(small_log, mode="x")


def test_fixed_per_class_and_init_from_skill_params(small_log):
    model = BKT(multigs="template_id", fixed={"fractions": {"p_guess": {"T0": 0.05}}},
                init={"ratios": SkillParams(0.3, 0.2, 0.0, 0.1, 0.1)}, max_iter=5).fit(small_log)
    block = model.params_["fractions"]
    guesses = dict(zip(block["guess_slip_classes"], block["p_guess"], strict=True))
    assert guesses["T0"] == 0.05 and guesses["T1"] != 0.05
    one = BKT(multigs="template_id", init={"ratios": SkillParams(0.3, 0.2, 0.0, 0.1, 0.1)},
              max_iter=5, tol=0, num_fits=3, seed=8).fit(small_log, skills=["ratios"])
    same = BKT(multigs="template_id", init={"ratios": {"p_init": 0.3, "p_learn": 0.2,
                                                       "p_guess": [0.1, 0.1, 0.1],
                                                       "p_slip": 0.1}},
               max_iter=5, tol=0, num_fits=1).fit(small_log, skills=["ratios"])
    # restart 0 starts from init in both; with 3 restarts the best LL can only be higher
    assert one.log_likelihood_["ratios"] >= same.log_likelihood_["ratios"] - 1e-9
    with pytest.raises(ParameterError, match="2 values for 3 classes"):
        BKT(multigs="template_id", init={"ratios": {"p_guess": [0.1, 0.2]}}).fit(small_log)


def test_per_class_mapping_values_land_on_their_labels_and_bad_ones_are_named(small_log):
    fixed = {"fractions": {"p_guess": {"T1": 0.07, "T0": 0.03, "no-such-class": 0.5}}}
    model = BKT(multigs="template_id", fixed=fixed, max_iter=3).fit(small_log)
    block = model.params_["fractions"]
    guesses = dict(zip(block["guess_slip_classes"], block["p_guess"], strict=True))
    assert guesses["T0"] == 0.03 and guesses["T1"] == 0.07
    assert all(v != 0.5 for v in guesses.values())
    # numbers given as strings are accepted as before (float() semantics)
    as_text = BKT(multigs="template_id", max_iter=3,
                  fixed={"fractions": {"p_guess": {"T1": "0.07", "T0": 0.03}}}).fit(small_log)
    assert as_text.params_["fractions"]["p_guess"].tolist() == block["p_guess"].tolist()
    for bad in (1.5, float("nan"), "lots"):
        with pytest.raises(ParameterError, match=r"fixed\['fractions'\]\['p_guess'\]\['T1'\]"):
            BKT(multigs="template_id",
                fixed={"fractions": {"p_guess": {"T0": 0.1, "T1": bad}}}).fit(small_log)


def test_mastery_state_value_semantics(small_log):
    model = BKT(max_iter=3).fit(small_log)
    a = model.init_state()
    b = model.init_state()
    assert a == b and hash(a) == hash(b)
    c, _ = model.update_one(a, "ratios", 1)
    assert c != a and a == b  # the old state is untouched
    assert c.mastery("ratios") > a.mastery("ratios")
    assert set(c.as_dict()) == set(model.skill_names_)
    with pytest.raises(UnknownSkillError, match="algebra"):
        c.mastery("algebra")


def test_multiprior_class_is_read_only_at_a_skills_first_event(small_log):
    model = BKT(multiprior="template_id", max_iter=5).fit(small_log)
    state = model.init_state()
    assert np.isnan(state.mastery("fractions"))
    # "T9" was never a prior class, but it is not the first event of the skill: no error
    new, pc = model.update_many(state, ["fractions", "fractions"], [1, 0], ["T0", "T9"])
    block = model.params_["fractions"]
    p0 = block["p_init"][block["init_classes"].index("T0")]
    prm = model.skill_params("fractions")
    assert pc[0] == pytest.approx(prm.p_guess * (1 - p0) + (1 - prm.p_slip) * p0, abs=1e-15)
    assert 0 < new.mastery("fractions") < 1
    with pytest.raises(UnknownSkillError, match="T9"):
        model.update_many(state, ["fractions"], [1], ["T9"])


@pytest.fixture(scope="module")
def many_skill_log():
    rng = np.random.default_rng(11)
    params = {
        f"s{k:02d}": SkillParams(
            p_init=float(rng.uniform(0.1, 0.6)), p_learn=float(rng.uniform(0.05, 0.3)),
            p_guess=float(rng.uniform(0.1, 0.3)), p_slip=float(rng.uniform(0.05, 0.2)),
        )
        for k in range(45)
    }
    log, _ = generate(30, params=params, min_answers=1, max_answers=8, seed=4, n_templates=3)
    return log


@pytest.mark.parametrize("variant", [{}, {"multigs": "template_id", "forgets": True}])
def test_fit_with_progress_equals_one_fit(many_skill_log, variant):
    calls = []
    plain = BKT(**variant, num_fits=3, seed=2, max_iter=15).fit(many_skill_log)
    stepped = BKT(**variant, num_fits=3, seed=2, max_iter=15).fit(
        many_skill_log, progress=lambda done, total: calls.append((done, total))
    )
    n = len(plain.skill_names_)
    # up to 20 steps, each reporting more skills done, ending with all of them
    assert 2 <= len(calls) <= 20
    assert all(total == n for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and done[-1] == n
    assert plain.skill_names_ == stepped.skill_names_
    for skill in plain.skill_names_:
        for p in PARAMS:
            assert np.array_equal(plain.params_[skill][p], stepped.params_[skill][p])
        assert plain.log_likelihood_[skill] == stepped.log_likelihood_[skill]
        assert plain.n_iter_[skill] == stepped.n_iter_[skill]
        assert np.array_equal(plain.ll_trace_[skill], stepped.ll_trace_[skill])


def test_progress_must_be_callable(small_log):
    with pytest.raises(ParameterError, match="progress"):
        BKT().fit(small_log, progress=5)


def test_fit_skips_vocabulary_skills_without_rows(small_log):
    gone = small_log.skill_code("decimals")
    part = small_log.take(np.flatnonzero(small_log.skill != gone))
    assert part.n_skills == small_log.n_skills  # vocabulary kept
    model = BKT(seed=1, max_iter=10).fit(part)
    assert "decimals" not in model.skill_names_ and len(model.skill_names_) == 2
    named = BKT(seed=1, max_iter=10).fit(part, skills=list(model.skill_names_))
    for skill in model.skill_names_:
        for p in PARAMS:
            assert np.array_equal(model.params_[skill][p], named.params_[skill][p])


def test_update_one_fast_path_equals_the_replay_kernel(small_log):
    """``update_one`` without an item class runs the scalar kernel ``filter_one``; it must
    give exactly what the Numba replay behind ``update_many`` and batch ``predict`` give."""
    model = BKT(forgets=True, num_fits=1, seed=3, max_iter=10).fit(small_log)
    batch = model.predict(small_log)
    for learner in np.unique(small_log.learner)[:20]:
        rows = np.flatnonzero(small_log.learner == learner)
        skills = small_log.skill_names[small_log.skill[rows]]
        kernel_state, kernel_pc = model.update_many(
            model.init_state(), skills, small_log.outcome[rows]
        )
        state = model.init_state()
        for r, s in zip(rows, skills, strict=True):
            state, p = model.update_one(state, str(s), float(small_log.outcome[r]))
            assert p == batch.p_correct[r]
        assert np.array_equal(kernel_pc, batch.p_correct[rows])
        assert np.array_equal(state.p_mastered, kernel_state.p_mastered)


def test_online_updates_check_whose_state_they_get(small_log):
    model = BKT(max_iter=3).fit(small_log)
    other = BKT(max_iter=3).fit(small_log, skills=["fractions", "ratios"])
    with pytest.raises(ParameterError, match="other skills"):
        model.update_many(other.init_state(), np.array([0]), np.array([1.0]))
    with pytest.raises(ParameterError, match="must be a BKTState"):
        model.update_many({"fractions": 0.5}, np.array([0]), np.array([1.0]))
    # a state rebuilt by hand (equal names, not the model's own tuple) is accepted
    rebuilt = BKTState(list(model.skill_names_), model.init_state().p_mastered)
    new, pc = model.update_many(rebuilt, np.array([0]), np.array([1.0]))
    same, pc_same = model.update_many(model.init_state(), np.array([0]), np.array([1.0]))
    assert new == same and pc.tolist() == pc_same.tolist()


def test_fit_reports_where_its_time_went(small_log):
    model = BKT(max_iter=5, tol=0).fit(small_log)
    spent = model.fit_seconds_
    assert set(spent) == {"total", "em"}
    assert 0.0 < spent["em"] <= spent["total"]
    assert "fit_seconds_" not in json.dumps(model.to_dict())  # a diagnostic, not a parameter
