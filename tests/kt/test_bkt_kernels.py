"""Each BKT Numba kernel against its plain NumPy twin (tests/kt/bkt_reference.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kt.bkt import _kernels
from tests.kt import bkt_reference as ref

PARAMS = ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")
KIND = {"p_guess": "gs", "p_slip": "gs", "p_learn": "lr", "p_forget": "lr", "p_init": "pr"}

prob = st.floats(0.02, 0.98)


@st.composite
def skill_problem(draw, max_classes=3, lr_classes=None):
    n_gs = draw(st.integers(1, max_classes))
    n_lr = lr_classes or draw(st.integers(1, max_classes))
    n_pr = draw(st.integers(1, 2))
    seqs = []
    for _ in range(draw(st.integers(1, 6))):
        n = draw(st.integers(1, 10))
        seqs.append({
            "obs": np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.int8),
            "gs": np.array(draw(st.lists(st.integers(0, n_gs - 1), min_size=n, max_size=n)),
                           np.int32),
            "lr": np.array(draw(st.lists(st.integers(0, n_lr - 1), min_size=n, max_size=n)),
                           np.int32),
            "prior": draw(st.integers(0, n_pr - 1)),
        })
    sizes = {"gs": n_gs, "lr": n_lr, "pr": n_pr}
    params = {p: np.array(draw(st.lists(prob, min_size=sizes[KIND[p]], max_size=sizes[KIND[p]])))
              for p in PARAMS}
    return seqs, params


def pack(problems):
    """Kernel arrays for a list of skill problems (one EM task per skill)."""
    seq_start, seq_row, seq_len, seq_prior = [0], [], [], []
    obs, gs, lr = [], [], []
    row = 0
    for seqs, _ in problems:
        for s in seqs:
            seq_row.append(row)
            seq_len.append(len(s["obs"]))
            seq_prior.append(s["prior"])
            obs.extend(s["obs"])
            gs.extend(s["gs"])
            lr.extend(s["lr"])
            row += len(s["obs"])
        seq_start.append(len(seq_row))
    offs = {}
    flat = {}
    for p in PARAMS:
        flat[p] = np.concatenate([prm[p] for _, prm in problems]).astype(np.float64)
    for kind, p in (("gs", "p_guess"), ("lr", "p_learn"), ("pr", "p_init")):
        offs[kind] = np.concatenate([[0], np.cumsum([len(prm[p]) for _, prm in problems])]).astype(
            np.int64)
    return dict(
        seq_start=np.array(seq_start, np.int64), seq_row=np.array(seq_row, np.int64),
        seq_len=np.array(seq_len, np.int64), seq_prior=np.array(seq_prior, np.int32),
        obs=np.array(obs, np.int8), gs=np.array(gs, np.int32), lr=np.array(lr, np.int32),
    ), offs, flat


def run_em(problems, max_iter, forgets, tol=0.0, fixed=None, bounds=((0.0, 1.0), (0.0, 1.0)),
           soft=False, rtol=0.0, pseudo=None):
    """``em_fit`` on the problems; ``soft=True`` passes the sequences' ``"score"`` arrays as
    soft evidence. ``bounds``: (guess, slip) pairs or a (5, 2) table (rows
    ``ref.PARAM_ROWS``); ``pseudo``: (5, 2) Beta pseudo-counts or None."""
    arrays, offs, flat = pack(problems)
    score = (np.concatenate([s["score"] for seqs, _ in problems for s in seqs]) if soft
             else np.empty(0))
    n = len(problems)
    fx = {p: np.full(len(flat[p]), np.nan) for p in PARAMS}
    if not forgets:
        fx["p_forget"][:] = 0.0
    for p, values in (fixed or {}).items():
        fx[p][:] = values
    out_ll = np.empty(n)
    out_iter = np.empty(n, np.int64)
    trace = np.full((n, max_iter), np.nan)
    vals = {p: flat[p].copy() for p in PARAMS}
    # two worker lists (reverse order), as the model hands tasks to two threads
    order = np.arange(n, dtype=np.int64)[::-1].copy()
    worker_start = np.array([0, (n + 1) // 2, n], dtype=np.int64)
    if not forgets:
        vals["p_forget"][:] = 0.0
    for p, values in (fixed or {}).items():
        vals[p] = np.where(np.isnan(values), vals[p], values)
    K = _kernels
    _kernels.em_fit(
        K.EMData(arrays["seq_start"], arrays["seq_row"], arrays["seq_len"], arrays["seq_prior"],
                 arrays["obs"], score, arrays["gs"], arrays["lr"]),
        K.EMTasks(np.arange(n, dtype=np.int64), order, worker_start, offs["gs"], offs["lr"],
                  offs["pr"]),
        K.EMParams(*(vals[p] for p in PARAMS)),
        K.EMFixed(*(fx[p] for p in PARAMS), offs["gs"], offs["lr"], offs["pr"]),
        K.EMSettings(forgets, _table(bounds), np.zeros((5, 2)) if pseudo is None
                     else np.ascontiguousarray(pseudo, dtype=np.float64), max_iter, float(tol),
                     float(rtol)),
        K.EMOut(out_ll, out_iter, trace),
    )
    per_skill = []
    for k in range(n):
        per_skill.append({p: vals[p][offs[KIND[p]][k]:offs[KIND[p]][k + 1]] for p in PARAMS})
    return per_skill, out_ll, out_iter, trace


def _table(bounds) -> np.ndarray:
    table = np.array(bounds, dtype=np.float64)
    if table.shape == (2, 2):  # (guess, slip) only
        table = np.vstack([table, [[0.0, 1.0]] * 3])
    return np.ascontiguousarray(table)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=3), st.integers(1, 4), st.booleans())
def test_em_matches_twin(problems, n_iter, forgets):
    check_em_against_twin(problems, n_iter, forgets)


def check_em_against_twin(problems, n_iter, forgets, soft=False):
    """``em_fit`` for ``n_iter`` iterations equals the twin's EM: parameters, final LL, trace
    (``soft``: the problems carry scores and the soft E-/M-step runs)."""
    got, out_ll, out_iter, trace = run_em(problems, n_iter, forgets, soft=soft)
    for k, (seqs, params) in enumerate(problems):
        start = {p: v.copy() for p, v in params.items()}
        if not forgets:
            start["p_forget"][:] = 0.0
        want, final_ll, want_trace = ref.em(seqs, start, n_iter, forgets)
        for p in PARAMS:
            np.testing.assert_allclose(got[k][p], want[p], atol=1e-10, err_msg=p)
        np.testing.assert_allclose(out_ll[k], final_ll, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(trace[k], want_trace, rtol=1e-10, atol=1e-10)
        assert out_iter[k] == n_iter


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(max_classes=12, lr_classes=1), min_size=1, max_size=3),
       st.integers(1, 4), st.booleans())
def test_em_many_item_classes_one_learn_class_matches_twin(problems, n_iter, forgets):
    """The multigs E-step (several guess/slip classes, one learn class) against the twin."""
    check_em_against_twin(problems, n_iter, forgets)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skill_problem(), st.floats(0.0, 0.3), st.floats(0.7, 1.0))
def test_em_fixed_and_bounds_match_twin(problem, lo, hi):
    seqs, params = problem
    fixed = {"p_learn": np.full(len(params["p_learn"]), 0.25)}
    got, *_ = run_em([problem], 3, True, fixed=fixed, bounds=((lo, hi), (lo, hi)))
    start = {p: v.copy() for p, v in params.items()}
    start["p_learn"][:] = 0.25
    want, _, _ = ref.em(seqs, start, 3, True, fixed=fixed, guess_bounds=(lo, hi),
                        slip_bounds=(lo, hi))
    for p in PARAMS:
        np.testing.assert_allclose(got[0][p], want[p], atol=1e-10, err_msg=p)
    assert np.all(got[0]["p_learn"] == 0.25)
    assert np.all((got[0]["p_guess"] >= lo) & (got[0]["p_guess"] <= hi))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=2), st.booleans())
def test_em_loglik_never_decreases_and_params_stay_probabilities(problems, forgets):
    got, _, _, trace = run_em(problems, 25, forgets)
    for k in range(len(problems)):
        assert np.all(np.diff(trace[k]) >= -1e-9 * (1 + np.abs(trace[k][1:])))
        for p in PARAMS:
            assert np.all((got[k][p] >= 0.0) & (got[k][p] <= 1.0)), p


def test_em_tolerance_stops_early_and_tol_zero_runs_max_iter():
    rng = np.random.default_rng(3)
    seqs = [{"obs": rng.integers(0, 2, 12).astype(np.int8), "gs": np.zeros(12, np.int32),
             "lr": np.zeros(12, np.int32), "prior": 0} for _ in range(30)]
    params = {"p_guess": np.array([0.2]), "p_slip": np.array([0.1]), "p_learn": np.array([0.1]),
              "p_forget": np.array([0.0]), "p_init": np.array([0.3])}
    _, _, iters, trace = run_em([(seqs, params)], 200, False, tol=1e-4)
    assert 1 <= iters[0] < 200
    done = trace[0][~np.isnan(trace[0])]
    assert done[-1] - done[-2] < 1e-4
    _, _, iters0, _ = run_em([(seqs, params)], 7, False, tol=0.0)
    assert iters0[0] == 7


bound_pair = st.tuples(st.floats(0.0, 0.4), st.floats(0.45, 1.0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skill_problem(), st.lists(bound_pair, min_size=5, max_size=5),
       st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 5.0)), min_size=5, max_size=5),
       st.booleans(), st.integers(1, 4))
def test_em_bounds_on_every_parameter_and_map_priors_match_twin(problem, bounds, pseudo,
                                                                  forgets, n_iter):
    """Bounds on guess, slip, learn, forget, prior and Beta pseudo-counts (MAP M-step, log
    prior in the objective) against the twin."""
    seqs, params = problem
    table, counts = np.array(bounds), np.array(pseudo)
    got, out_ll, _, trace = run_em([problem], n_iter, forgets, bounds=table, pseudo=counts)
    start = {p: v.copy() for p, v in params.items()}
    if not forgets:
        start["p_forget"][:] = 0.0
    want, final, want_trace = ref.em(seqs, start, n_iter, forgets, bounds=table, pseudo=counts)
    for p in PARAMS:
        np.testing.assert_allclose(got[0][p], want[p], atol=1e-10, err_msg=p)
        row = ref.PARAM_ROWS.index(p)
        if p != "p_forget" or forgets:
            assert np.all(got[0][p] >= table[row, 0]) and np.all(got[0][p] <= table[row, 1]), p
    np.testing.assert_allclose(out_ll[0], final, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(trace[0], want_trace, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(skill_problem(), min_size=1, max_size=2), st.booleans())
def test_map_em_objective_never_decreases_with_bounds(problems, forgets):
    """MAP EM with clipped M-steps still climbs its objective (log-likelihood + log prior)."""
    table = np.array([[0.0, 0.5], [0.0, 0.45], [0.0, 1.0], [0.0, 0.25], [0.0, 1.0]])
    pseudo = np.array([[1.0, 3.0], [1.0, 5.0], [1.0, 5.0], [0.0, 10.0], [1.0, 1.0]])
    _, _, _, trace = run_em(problems, 25, forgets, bounds=table, pseudo=pseudo)
    for k in range(len(problems)):
        assert np.all(np.diff(trace[k]) >= -1e-9 * (1 + np.abs(trace[k][1:])))


def test_em_relative_tolerance_stops_on_the_relative_change():
    """rtol stops at the first E-step whose gain is under rtol |LL_prev| (twin's trace)."""
    rng = np.random.default_rng(5)
    seqs = [{"obs": rng.integers(0, 2, 15).astype(np.int8), "gs": np.zeros(15, np.int32),
             "lr": np.zeros(15, np.int32), "prior": 0} for _ in range(40)]
    params = {"p_guess": np.array([0.3]), "p_slip": np.array([0.2]), "p_learn": np.array([0.2]),
              "p_forget": np.array([0.0]), "p_init": np.array([0.4])}
    rtol = 1e-5
    _, _, iters, trace = run_em([(seqs, params)], 500, False, rtol=rtol)
    start = {p: v.copy() for p, v in params.items()}
    _, _, full = ref.em(seqs, start, 500, False)
    full = np.array(full)
    gains = np.diff(full)
    stop = int(np.flatnonzero(gains <= rtol * np.abs(full[:-1]))[0]) + 1  # first E-step to stop
    assert iters[0] == stop < 500
    np.testing.assert_allclose(trace[0][:stop + 1], full[:stop + 1], rtol=1e-10)
    assert np.isnan(trace[0][stop + 1:]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skill_problem(), st.lists(st.floats(0.0, 1.0), min_size=10, max_size=10))
def test_predict_and_replay_match_twin(problem, soft):
    seqs, params = problem
    arrays, offs, flat = pack([problem])
    score = arrays["obs"].astype(np.float64)
    score[: min(len(score), 10)] = soft[: min(len(score), 10)]
    m = len(score)
    pc, pm, pn = np.empty(m), np.empty(m), np.empty(m)
    _kernels.predict(arrays["seq_row"], arrays["seq_len"], arrays["seq_prior"], score,
                     arrays["gs"], arrays["lr"], flat["p_guess"], flat["p_slip"],
                     flat["p_learn"], flat["p_forget"], flat["p_init"], pc, pm, pn)
    for q, s in enumerate(seqs):
        lo = arrays["seq_row"][q]
        hi = lo + arrays["seq_len"][q]
        want = ref.filter_sequence(score[lo:hi], s["gs"], s["lr"], s["prior"], params)
        np.testing.assert_allclose(pc[lo:hi], want[:, 0], atol=1e-12)
        np.testing.assert_allclose(pm[lo:hi], want[:, 1], atol=1e-12)
        np.testing.assert_allclose(pn[lo:hi], want[:, 2], atol=1e-12)
        # replay of the same sequence as one learner's events: bit-identical to predict
        p_state = np.array([np.nan])
        last = np.array([-1], np.int32)
        out = np.empty(hi - lo)
        _kernels.replay(p_state, last, np.arange(hi - lo + 1, dtype=np.int64),
                        np.zeros(hi - lo, np.int64), score[lo:hi],
                        arrays["gs"][lo:hi], arrays["lr"][lo:hi],
                        np.full(hi - lo, s["prior"], np.int32), arrays["gs"][lo:hi],
                        flat["p_guess"], flat["p_slip"], flat["p_learn"], flat["p_forget"],
                        flat["p_init"], out)
        assert np.array_equal(out, pc[lo:hi])
        assert p_state[0] == pn[hi - 1]
        assert last[0] == arrays["gs"][hi - 1]


def test_long_sequence_rescaling_keeps_loglik_finite():
    # 3000 answers: the unnormalised forward message must be rescaled to stay representable
    n = 3000
    obs = (np.arange(n) % 3 != 0).astype(np.int8)
    seqs = [{"obs": obs, "gs": np.zeros(n, np.int32), "lr": np.zeros(n, np.int32), "prior": 0}]
    params = {"p_guess": np.array([0.3]), "p_slip": np.array([0.2]), "p_learn": np.array([0.05]),
              "p_forget": np.array([0.02]), "p_init": np.array([0.4])}
    got, out_ll, _, _ = run_em([(seqs, params)], 2, True)
    want, final, _ = ref.em(seqs, {k: v.copy() for k, v in params.items()}, 2, True)
    assert np.isfinite(out_ll[0]) and out_ll[0] < -1000
    np.testing.assert_allclose(out_ll[0], final, rtol=1e-10)
    for p in PARAMS:
        np.testing.assert_allclose(got[0][p], want[p], atol=1e-10)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1)), min_size=0, max_size=60),
       st.integers(0, 2**31), st.integers(1, 5))
def test_group_by_skill_matches_twin(rows, seed, n_learners):
    rng = np.random.default_rng(seed)
    n = len(rows)
    skill = np.array([r[0] for r in rows], dtype=np.int32)
    outcome = np.array([r[1] for r in rows], dtype=np.int8)
    learner = np.sort(rng.integers(0, n_learners, n)).astype(np.int32)  # learner-sorted log
    position = np.full(5, -1, dtype=np.int64)
    chosen = rng.permutation(5)[: rng.integers(1, 6)]
    position[chosen] = np.arange(len(chosen))
    got = _kernels.group_by_skill(skill, learner, outcome, position, len(chosen))
    want = ref.group_by_skill(skill, learner, outcome, position, len(chosen))
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0.0, 1.0)), min_size=1, max_size=30),
       st.lists(prob, min_size=15, max_size=15))
def test_replay_simple_matches_twin(events, values):
    values = np.array(values)
    prm = {p: values[3 * i: 3 * i + 3] for i, p in enumerate(PARAMS)}
    skills = np.array([e[0] for e in events], dtype=np.int64)
    scores = np.array([e[1] for e in events])
    p_state = np.array([np.nan, 0.3, np.nan])
    last = np.full(3, -1, np.int32)
    out = np.empty(len(events))
    table = np.stack([prm[p] for p in ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")])
    status = _kernels.replay_simple(p_state, last, np.arange(len(events) + 1, dtype=np.int64),
                                    skills, scores, table, out)
    assert status == -1
    for k in range(3):
        idx = np.flatnonzero(skills == k)
        if len(idx) == 0:
            continue
        one = {p: prm[p][k:k + 1] for p in PARAMS}
        if k == 1:
            one["p_init"] = np.array([0.3])
        want = ref.filter_sequence(scores[idx], np.zeros(len(idx), int), np.zeros(len(idx), int),
                                   0, one)
        np.testing.assert_allclose(out[idx], want[:, 0], atol=1e-12)
        np.testing.assert_allclose(p_state[k], want[-1, 2], atol=1e-12)
        assert last[k] == 0


def test_replay_simple_reports_first_bad_event():
    table = np.full((5, 2), 0.3)
    p_state = np.array([0.2, 0.4])
    out = np.empty(3)
    ptr = np.arange(4, dtype=np.int64)
    status = _kernels.replay_simple(p_state, np.zeros(2, np.int32), ptr, np.array([0, 1, 1]),
                                    np.array([1.0, 1.5, 0.0]), table, out)
    assert status == 1
    status = _kernels.replay_simple(p_state, np.zeros(2, np.int32), ptr[:3], np.array([0, 2]),
                                    np.array([1.0, 1.0]), table, out)
    assert status == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 2), st.floats(0.0, 1.0)), min_size=1,
                         max_size=3), min_size=1, max_size=15),
       st.lists(prob, min_size=15, max_size=15))
def test_replay_kernels_on_multi_skill_observations_match_twin(observations, values):
    """One P per observation (mean of its copies' P before any copy is applied), then every
    copy applied in order: both replay kernels against the scalar twin."""
    from kt.bkt.params import SkillParams

    values = np.array(values)
    prm = {p: values[3 * i: 3 * i + 3] for i, p in enumerate(PARAMS)}
    per_skill = {k: SkillParams(**{p: float(prm[p][k]) for p in PARAMS}) for k in range(3)}
    _, want = ref.replay_observations({}, observations, per_skill)
    rows = [c for obs in observations for c in obs]
    skills = np.array([k for k, _ in rows], dtype=np.int64)
    scores = np.array([x for _, x in rows])
    ptr = np.concatenate([[0], np.cumsum([len(o) for o in observations])]).astype(np.int64)
    table = np.stack([prm[p] for p in ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")])
    out = np.empty(len(observations))
    p_state = np.full(3, np.nan)
    assert _kernels.replay_simple(p_state, np.full(3, -1, np.int32), ptr, skills, scores,
                                  table, out) == -1
    np.testing.assert_allclose(out, want, atol=1e-12)
    zeros = np.zeros(len(rows), np.int32)
    out2 = np.empty(len(observations))
    p_state2 = np.full(3, np.nan)
    _kernels.replay(p_state2, np.full(3, -1, np.int32), ptr, skills, scores,
                    skills.astype(np.int32), skills.astype(np.int32), skills.astype(np.int32),
                    zeros, prm["p_guess"], prm["p_slip"], prm["p_learn"], prm["p_forget"],
                    prm["p_init"], out2)
    assert np.array_equal(out2, out) and np.array_equal(p_state2, p_state, equal_nan=True)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), max_size=25), min_size=1, max_size=6))
def test_code_classes_matches_twin(groups):
    key = np.array([c for g in groups for c in g], dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)
    got = _kernels.code_classes(bounds, key, 31)
    want = ref.code_classes(bounds, key)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def _one_class(value):
    return np.array([value])


def test_em_keeps_relative_precision_of_a_tiny_mastered_mass():
    """p_init falls to ~1e-8: forget and slip are ratios of tiny expected counts, which must
    be accumulated directly (as 1 - x they lost 6 digits: forget off by 5e-7 relative)."""
    seqs = [{"obs": np.array([0, 1], np.int8), "gs": np.zeros(2, np.int32),
             "lr": np.zeros(2, np.int32), "prior": 0}]
    params = {"p_guess": _one_class(0.125), "p_slip": _one_class(0.03125),
              "p_learn": _one_class(0.25), "p_forget": _one_class(0.5),
              "p_init": _one_class(0.0625)}
    fixed = {"p_learn": np.full(1, 0.25)}
    got, *_ = run_em([(seqs, params)], 3, True, fixed=fixed)
    want, _, _ = ref.em(seqs, {p: v.copy() for p, v in params.items()}, 3, True, fixed=fixed)
    assert want["p_init"][0] < 1e-7
    for p in PARAMS:
        np.testing.assert_allclose(got[0][p], want[p], rtol=1e-9, atol=0, err_msg=p)


def test_em_with_subnormal_denominators_matches_twin():
    """A guess/slip class driven to 1e-216 makes the predicted-state masses subnormal; their
    reciprocals would overflow, so the kernel must divide there (it once reset the fit)."""
    def seq(obs, gs):
        return {"obs": np.array(obs, np.int8), "gs": np.array(gs, np.int32),
                "lr": np.zeros(len(obs), np.int32), "prior": 0}

    seqs = [seq([0, 0, 0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), seq([0], [0]),
            seq([0, 0, 0, 0], [0, 0, 0, 1]), seq([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10)]
    params = {"p_guess": np.array([0.875, 0.5]), "p_slip": np.array([0.5, 0.5]),
              "p_learn": _one_class(0.5), "p_forget": _one_class(0.0), "p_init": _one_class(0.5)}
    got, out_ll, _, trace = run_em([(seqs, params)], 25, False)
    want, final_ll, want_trace = ref.em(seqs, {p: v.copy() for p, v in params.items()}, 25, False)
    assert want["p_guess"][1] < 1e-250  # the regime this test is about
    for p in PARAMS:
        np.testing.assert_allclose(got[0][p], want[p], atol=1e-10, err_msg=p)
    np.testing.assert_allclose(trace[0], want_trace, rtol=1e-10)
    assert np.all(np.diff(trace[0]) >= -1e-9)
