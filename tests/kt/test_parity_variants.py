"""The variants pyBKT 1.4.2 (C++) gets wrong: multigs, multilearn, multiprior, multipair.

On the shared ASSISTments subset (``as_subset.csv``, ``template_id`` classes), for each skill
and variant, from the same initial parameters and exactly K EM iterations:

* Pathwise == the plain NumPy reference (``tests/kt/bkt_reference.py``) to 1e-8;
* pyBKT != the reference (parameters off by more than 1e-3);
* for multigs / multilearn / multipair, pyBKT == the reference run with pyBKT's defect
  reproduced (every class's E-step uses the first class's parameters) to 1e-9, which shows
  what goes wrong and that both sides agree on the data layout and class semantics.

pyBKT additionally truncates its log-likelihood to an integer (see test_parity_pybkt.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import require_shared
from tests.kt import bkt_reference as ref
from tests.kt.pybkt_peer import require_peer, run_driver

# pyBKT's fitting settings (unbounded, no prior), exactly ``max_iter`` iterations: the
# estimator's defaults (converged, bounded) differ from pyBKT's on purpose
EXACT_ITERATIONS = {"tol": 0.0, "rtol": 0.0, "bounds": "none", "prior": None,
                    "nested_start": False}

pytestmark = [pytest.mark.pybkt, pytest.mark.shared_data, pytest.mark.slow]

AS20 = "assistments-2020-subset/as_subset.csv"
SKILLS = ("Box and Whisker", "Table")
K = 5


@pytest.fixture(scope="module")
def subset():
    from kt.io import read_log

    path = require_shared(AS20)
    require_peer()
    return path, read_log(path, classes=["template_id"])


def skill_problem(log, skill: str, variant: str):
    """Reference sequences of one skill and the class labels (Pathwise's label strings).

    Semantics (as ``kt.bkt.layout``): multigs -> guess/slip class = the row's template;
    multilearn -> the transition after a row uses the row's template; multipair -> the
    transition after row t uses the pair (template of row t-1, template of row t), "*" at a
    learner's first row; multiprior -> prior class = the learner's first outcome.
    """
    rows = np.flatnonzero(log.skill == log.skill_code(skill))
    vocab = log.class_vocab["template_id"]
    tmpl = log.classes["template_id"][rows]
    learner = log.learner[rows]
    obs = log.outcome[rows].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, learner[1:] != learner[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    codes = np.unique(tmpl)
    local = np.searchsorted(codes, tmpl)
    names = [str(vocab[c]) for c in codes]
    gs_labels, lr_labels, pr_labels = ["*"], ["*"], ["*"]
    if variant == "multigs":
        gs_labels = names
    elif variant == "multilearn":
        lr_labels = names
    elif variant == "multiprior":
        pr_labels = ["0", "1"]
    pair_index: dict[str, int] = {}
    if variant == "multipair":
        keys = set()
        for a, b in zip(starts, ends, strict=True):
            for t in range(a + 1, b):
                keys.add((int(tmpl[t - 1]), int(tmpl[t])))
        pairs = sorted(keys)  # Pathwise orders pair classes by (previous, current) code
        lr_labels = ["*"] + [json.dumps([str(vocab[p]), str(vocab[c])]) for p, c in pairs]
        pair_index = {k: i + 1 for i, k in enumerate(pairs)}
    seqs = []
    for a, b in zip(starts, ends, strict=True):
        n = b - a
        zeros = np.zeros(n, dtype=np.int64)
        gs = local[a:b] if variant == "multigs" else zeros
        if variant == "multilearn":
            lr = local[a:b]
        elif variant == "multipair":
            lr = np.array(
                [0] + [pair_index[(int(tmpl[t - 1]), int(tmpl[t]))] for t in range(a + 1, b)]
            )
        else:
            lr = zeros
        prior = int(obs[a]) if variant == "multiprior" else 0
        seqs.append({"obs": obs[a:b], "gs": gs, "lr": lr, "prior": prior})
    return seqs, gs_labels, lr_labels, pr_labels


def initial(gs_labels, lr_labels, pr_labels, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "p_init": rng.uniform(0.2, 0.8, len(pr_labels)),
        "p_learn": rng.uniform(0.05, 0.35, len(lr_labels)),
        "p_forget": np.zeros(len(lr_labels)),
        "p_guess": rng.uniform(0.05, 0.35, len(gs_labels)),
        "p_slip": rng.uniform(0.05, 0.25, len(gs_labels)),
    }


def first_class_em(seqs, params, n_iter):
    """pyBKT 1.4.2's C++ EM: the E-step reads class 0's parameters for every class."""
    for _ in range(n_iter):
        shared = {k: np.full_like(v, v[0]) for k, v in params.items()}
        _, emis, trans, init = ref.e_step(seqs, shared)
        params = ref.m_step(emis, trans, init, params, forgets=False)
    return params


def pybkt_label(label: str) -> str:
    """Pathwise class label -> pyBKT's (multipair keys are 'str(cur) str(prev)')."""
    if label == "*":
        return "Default"
    prev, cur = json.loads(label)
    return f"[{cur}] [{prev}]"


def pybkt_init(variant, params, gs_labels, lr_labels):
    """pyBKT initial values (driver form) equal to the Pathwise/reference ``params``."""
    named = lambda values, labels: {lab: float(v) for lab, v in zip(labels, values, strict=True)}  # noqa: E731
    guesses = named(params["p_guess"], gs_labels if variant == "multigs" else ["default"])
    slips = named(params["p_slip"], gs_labels if variant == "multigs" else ["default"])
    if variant == "multilearn":
        learns = named(params["p_learn"], lr_labels)
        prior = float(params["p_init"][0])
    elif variant == "multipair":
        learns = named(params["p_learn"], [pybkt_label(x) for x in lr_labels])
        prior = float(params["p_init"][0])
    elif variant == "multiprior":
        # phantom first step: prior fixed at 0, group g's "learn" is its prior; resources
        # are Default, then the first outcome + 1 (pyBKT shifts the correct column by one)
        learns = {
            "Default": float(params["p_learn"][0]),
            "1": float(params["p_init"][0]),
            "2": float(params["p_init"][1]),
        }
        prior = 0.0
    else:
        learns = {"default": float(params["p_learn"][0])}
        prior = float(params["p_init"][0])
    return {
        "prior": prior,
        "learns": learns,
        "forgets": {k: 0.0 for k in learns},
        "guesses": guesses,
        "slips": slips,
    }


_PEER: dict[str, dict] = {}


def problem(log, skill, variant):
    """(sequences, labels, initial values) of one skill and variant; deterministic."""
    seqs, gs_labels, lr_labels, pr_labels = skill_problem(log, skill, variant)
    init = initial(gs_labels, lr_labels, pr_labels, seed=len(seqs) + len(variant))
    return seqs, gs_labels, lr_labels, pr_labels, init


def run_pybkt(path, log, skill, variant):
    """pyBKT fitted for exactly K iterations from ``problem``'s values, in Pathwise form.

    One driver run per variant covers every skill in ``SKILLS`` (cached per module)."""
    if variant not in _PEER:
        init = {}
        for sk in SKILLS:
            _, gs_l, lr_l, _, values = problem(log, sk, variant)
            init[sk] = pybkt_init(variant, values, gs_l, lr_l)
        _PEER[variant] = run_driver(
            {
                "mode": "em",
                "csv": str(path),
                "skills": list(SKILLS),
                "variant": {variant: True if variant == "multiprior" else "template_id"},
                "init": init,
                "maxiter": K,
                "tol": -1.0,
                "predict": False,
            }
        )["skills"]
    out = _PEER[variant][skill]
    _, gs_labels, lr_labels, _, _ = problem(log, skill, variant)
    assert out["n_mstep"] == K
    got = {}
    if variant == "multigs":
        got["p_guess"] = np.array([out["guesses"][x] for x in gs_labels])
        got["p_slip"] = np.array([out["slips"][x] for x in gs_labels])
    else:
        got["p_guess"] = np.array([out["guesses"]["default"]])
        got["p_slip"] = np.array([out["slips"]["default"]])
    if variant == "multilearn":
        got["p_learn"] = np.array([out["learns"][x] for x in lr_labels])
        got["p_init"] = np.array([out["prior"]])
    elif variant == "multipair":
        got["p_learn"] = np.array([out["learns"][pybkt_label(x)] for x in lr_labels])
        got["p_init"] = np.array([out["prior"]])
    elif variant == "multiprior":
        got["p_learn"] = np.array([out["learns"]["Default"]])
        got["p_init"] = np.array([out["learns"]["1"], out["learns"]["2"]])
    else:
        got["p_learn"] = np.array([out["learns"]["default"]])
        got["p_init"] = np.array([out["prior"]])
    return got, out


def max_diff(a: dict, b: dict) -> float:
    keys = ("p_init", "p_learn", "p_guess", "p_slip")
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in keys)


@pytest.mark.parametrize("skill", SKILLS)
@pytest.mark.parametrize("variant", ["multigs", "multilearn", "multiprior", "multipair"])
def test_pathwise_matches_reference_and_pybkt_does_not(subset, variant, skill):
    from kt.bkt import BKT

    path, log = subset
    seqs, gs_labels, lr_labels, pr_labels, init = problem(log, skill, variant)
    expected, expected_ll, _ = ref.em(seqs, init, K, forgets=False)

    # Pathwise, from the same initial values (by class label), exactly K iterations
    labels = {
        "p_init": pr_labels,
        "p_learn": lr_labels,
        "p_forget": lr_labels,
        "p_guess": gs_labels,
        "p_slip": gs_labels,
    }
    start = {p: {lab: float(v) for lab, v in zip(labels[p], init[p], strict=True)} for p in labels}
    column = True if variant == "multiprior" else "template_id"
    model = BKT(**{variant: column}, max_iter=K, init={skill: start}, **EXACT_ITERATIONS)
    model.fit(log, skills=[skill])
    block = model.params_[skill]
    assert block["guess_slip_classes"] == gs_labels
    assert block["learn_classes"] == lr_labels
    assert block["init_classes"] == pr_labels
    assert model.n_iter_[skill] == K
    assert max_diff(block, expected) < 1e-8
    assert model.log_likelihood_[skill] == pytest.approx(expected_ll, abs=1e-7)

    # pyBKT from the same values: wrong, and exactly its documented defect
    got, _ = run_pybkt(path, log, skill, variant)
    wrong = max_diff(got, expected)
    assert wrong > 1e-3, f"pyBKT unexpectedly right for {variant} ({wrong:.2e})"
    if variant != "multiprior":
        assert max_diff(got, first_class_em(seqs, init, K)) < 1e-9
    print(
        f"{variant} / {skill}: |Pathwise - reference| {max_diff(block, expected):.1e}, "
        f"|pyBKT - reference| {wrong:.3f}"
    )
