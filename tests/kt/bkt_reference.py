"""Plain NumPy/Python twins of the BKT Numba kernels (``kt.bkt._kernels``), for tests only.

Deliberately written the textbook way, not the kernels' way: the forward messages are
normalised at every step (log-likelihood = sum of log normalisers), the backward pass
builds each 2x2 two-slice posterior explicitly, counts are dense per-class arrays.

A "skill problem" is a list of sequences; each sequence is a dict with int arrays
``obs`` (0/1), ``gs`` (guess/slip class per row), ``lr`` (learn class of the transition
after each row) and an int ``prior`` (prior class); optionally ``score`` (float, soft
evidence in [0, 1], used instead of ``obs`` when present). Parameters are a dict of float arrays
``p_init`` (per prior class), ``p_learn``/``p_forget`` (per learn class), ``p_guess``/
``p_slip`` (per guess/slip class).
"""

from __future__ import annotations

import numpy as np


def transition(learn: float, forget: float) -> np.ndarray:
    """A[next, cur]."""
    return np.array([[1.0 - learn, forget], [learn, 1.0 - forget]])


def emission(guess: float, slip: float, o: int) -> np.ndarray:
    """P(obs = o | state) for state 0, 1."""
    return np.array([guess, 1.0 - slip]) if o == 1 else np.array([1.0 - guess, slip])


def soft_emission(guess: float, slip: float, s: float) -> np.ndarray:
    """P(evidence s | state) for state 0, 1: the mixture s P(correct | .) + (1-s) P(wrong | .)."""
    return s * emission(guess, slip, 1) + (1.0 - s) * emission(guess, slip, 0)


def row_emission(seq: dict, params: dict, t: int) -> np.ndarray:
    """P(row t's evidence | state) for state 0, 1 (soft when the sequence has scores)."""
    g, sl = params["p_guess"][seq["gs"][t]], params["p_slip"][seq["gs"][t]]
    if "score" in seq:
        return soft_emission(g, sl, seq["score"][t])
    return emission(g, sl, seq["obs"][t])


def forward_backward(seq: dict, params: dict):
    """Returns (loglik, gamma (T, 2), xi (T-1, 2, 2) [next, cur], alpha (T, 2) normalised)."""
    obs, lr = seq["obs"], seq["lr"]
    n = len(obs)
    p1 = params["p_init"][seq["prior"]]
    pred = np.array([1.0 - p1, p1])
    alpha = np.zeros((n, 2))
    ll = 0.0
    for t in range(n):
        un = pred * row_emission(seq, params, t)
        norm = un.sum()
        ll += np.log(norm)
        alpha[t] = un / norm
        a = transition(params["p_learn"][lr[t]], params["p_forget"][lr[t]])
        pred = a @ alpha[t]
    gamma = np.zeros((n, 2))
    xi = np.zeros((max(n - 1, 0), 2, 2))
    gamma[n - 1] = alpha[n - 1]
    for t in range(n - 2, -1, -1):
        a = transition(params["p_learn"][lr[t]], params["p_forget"][lr[t]])
        denom = a @ alpha[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            pair = a * alpha[t][None, :] * (gamma[t + 1] / denom)[:, None]
        pair = np.nan_to_num(pair, nan=0.0, posinf=0.0)
        xi[t] = pair
        gamma[t] = pair.sum(axis=0)
    return ll, gamma, xi, alpha


def e_step(sequences: list[dict], params: dict):
    """Total loglik and expected counts: emis [gs, state, obs], trans [lr, next, cur], init
    [prior, state]."""
    n_gs = len(params["p_guess"])
    n_lr = len(params["p_learn"])
    n_pr = len(params["p_init"])
    emis = np.zeros((n_gs, 2, 2))
    trans = np.zeros((n_lr, 2, 2))
    init = np.zeros((n_pr, 2))
    total = 0.0
    for seq in sequences:
        ll, gamma, xi, _ = forward_backward(seq, params)
        total += ll
        for t in range(len(seq["obs"])):
            if "score" not in seq:
                emis[seq["gs"][t], :, seq["obs"][t]] += gamma[t]
                continue
            # soft evidence: split gamma between the latent correct and wrong outcome
            g, sl = params["p_guess"][seq["gs"][t]], params["p_slip"][seq["gs"][t]]
            s = seq["score"][t]
            b = soft_emission(g, sl, s)
            with np.errstate(divide="ignore", invalid="ignore"):
                right = np.nan_to_num(s * emission(g, sl, 1) / b)
                wrong = np.nan_to_num((1.0 - s) * emission(g, sl, 0) / b)
            emis[seq["gs"][t], :, 1] += gamma[t] * right
            emis[seq["gs"][t], :, 0] += gamma[t] * wrong
        for t in range(len(seq["obs"]) - 1):
            trans[seq["lr"][t]] += xi[t]
        init[seq["prior"]] += gamma[0]
    return total, emis, trans, init


PARAM_ROWS = ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")  # bound / prior rows


def _estimate(a, b, row, bounds, pseudo, default):
    """MAP (pseudo-counts) estimate a / (a + b), ``default`` on 0 / 0, clipped to bounds."""
    pa, pb = (0.0, 0.0) if pseudo is None else pseudo[row]
    d = a + pa + b + pb
    v = (a + pa) / d if d > 0 else default
    lo, hi = (0.0, 1.0) if bounds is None else bounds[row]
    return float(np.clip(v, lo, hi))


def m_step(emis, trans, init, params: dict, forgets: bool, fixed: dict | None = None,
           guess_bounds=(0.0, 1.0), slip_bounds=(0.0, 1.0), bounds=None, pseudo=None) -> dict:
    """pyBKT's M-step rules (zero rows/columns -> guess/slip 0.5, learn 1, forget 0), as MAP
    estimates with Beta ``pseudo``-counts (5, 2) and clipped to ``bounds`` (5, 2) (rows
    ``PARAM_ROWS``; ``guess_bounds`` / ``slip_bounds`` are the older guess/slip-only form)."""
    if bounds is None:
        bounds = np.array([guess_bounds, slip_bounds, (0, 1), (0, 1), (0, 1)], dtype=float)
    out = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    for c in range(emis.shape[0]):
        out["p_guess"][c] = _estimate(emis[c, 0, 1], emis[c, 0, 0], 0, bounds, pseudo, 0.5)
        out["p_slip"][c] = _estimate(emis[c, 1, 0], emis[c, 1, 1], 1, bounds, pseudo, 0.5)
    for k in range(trans.shape[0]):
        out["p_learn"][k] = _estimate(trans[k, 1, 0], trans[k, 0, 0], 2, bounds, pseudo, 1.0)
        out["p_forget"][k] = (_estimate(trans[k, 0, 1], trans[k, 1, 1], 3, bounds, pseudo, 0.0)
                              if forgets else 0.0)
    for c in range(init.shape[0]):
        out["p_init"][c] = _estimate(init[c, 1], init[c, 0], 4, bounds, pseudo,
                                     out["p_init"][c])
    for name, values in (fixed or {}).items():
        values = np.asarray(values, dtype=np.float64)
        free = np.isnan(values)
        out[name] = np.where(free, out[name], values)
    return out


def log_prior(params: dict, pseudo, fixed: dict | None, forgets: bool) -> float:
    """Sum over free parameters of pa log p + pb log(1 - p) (0 without pseudo-counts)."""
    if pseudo is None:
        return 0.0
    total = 0.0
    for row, name in enumerate(PARAM_ROWS):
        if name == "p_forget" and not forgets:
            continue
        pa, pb = pseudo[row]
        free = np.ones(len(params[name]), bool)
        if fixed and name in fixed:
            free = np.isnan(np.asarray(fixed[name], dtype=float))
        v = np.asarray(params[name], dtype=float)[free]
        if pa > 0:
            total += pa * np.log(v).sum()
        if pb > 0:
            total += pb * np.log(1 - v).sum()
    return float(total)


def em(sequences: list[dict], params: dict, n_iter: int, forgets: bool, fixed=None,
       guess_bounds=(0.0, 1.0), slip_bounds=(0.0, 1.0), bounds=None, pseudo=None):
    """Exactly ``n_iter`` E+M iterations; returns (params, final objective, trace of E-step
    objectives); the objective is the log-likelihood plus ``log_prior``."""
    trace = []
    for _ in range(n_iter):
        ll, emis, trans, init = e_step(sequences, params)
        trace.append(ll + log_prior(params, pseudo, fixed, forgets))
        params = m_step(emis, trans, init, params, forgets, fixed, guess_bounds, slip_bounds,
                        bounds, pseudo)
    final, *_ = e_step(sequences, params)
    return params, final + log_prior(params, pseudo, fixed, forgets), trace


def filter_sequence(scores, gs, lr, prior_class: int, params: dict):
    """Per row (p_correct, p_mastered before, p_mastered after) with soft evidence scores."""
    p = params["p_init"][prior_class]
    out = []
    for t, s in enumerate(scores):
        g = params["p_guess"][gs[t]]
        sl = params["p_slip"][gs[t]]
        pc = g * (1 - p) + (1 - sl) * p
        lm = s * (1 - sl) + (1 - s) * sl
        ln = s * g + (1 - s) * (1 - g)
        post = p * lm / (p * lm + (1 - p) * ln)
        nxt = post * (1 - params["p_forget"][lr[t]]) + (1 - post) * params["p_learn"][lr[t]]
        out.append((pc, p, nxt))
        p = nxt
    return np.array(out).reshape(-1, 3)


def scalar_step(p_mastered: float, score: float, params) -> tuple[float, float]:
    """The scalar twin of the online BKT filter step (``SkillParams`` or a dict), written as
    a two-state HMM: belief vector, soft-evidence emission vector, Bayes rule, transition
    matrix. Returns (P(correct) before, P(mastered) after the observation and transition)."""
    get = params.get if isinstance(params, dict) else lambda k: getattr(params, k)
    belief = np.array([1.0 - p_mastered, p_mastered])  # [not mastered, mastered]
    p_right = np.array([get("p_guess"), 1.0 - get("p_slip")])
    evidence = score * p_right + (1.0 - score) * (1.0 - p_right)
    joint = belief * evidence
    posterior = joint / joint.sum() if joint.sum() > 0 else belief
    after = transition(get("p_learn"), get("p_forget")) @ posterior
    return float(belief @ p_right), float(after[1])


def replay_observations(state: dict, rows, params: dict) -> tuple[dict, list]:
    """Twin of the online replay of one learner: ``rows`` is a list of observations, each a
    list of (skill, score) copies; P(correct) of an observation = mean of its copies' P before
    any copy is applied, then copies are applied in order. ``state``: {skill: P(mastered)}
    (absent = the skill's p_init); ``params``: {skill: SkillParams}."""
    state = dict(state)
    out = []
    for copies in rows:
        before = [scalar_step(state.get(k, params[k].p_init), x, params[k])[0]
                  for k, x in copies]
        out.append(sum(before) / len(before))
        for k, x in copies:
            state[k] = scalar_step(state.get(k, params[k].p_init), x, params[k])[1]
    return state, out


def group_by_skill(skill, learner, outcome, position, n_pos):
    """Twin of ``_kernels.group_by_skill`` with a stable argsort."""
    pos = position[skill]
    selected = np.flatnonzero(pos >= 0)
    rows = selected[np.argsort(pos[selected], kind="stable")]
    row_skill = pos[rows]
    m = len(rows)
    new = np.ones(m, dtype=bool)
    if m > 1:
        new[1:] = (row_skill[1:] != row_skill[:-1]) | (learner[rows][1:] != learner[rows][:-1])
    seq_row = np.flatnonzero(new)
    seq_len = np.diff(np.append(seq_row, m))
    seq_skill = row_skill[seq_row]
    seq_start = np.searchsorted(seq_skill, np.arange(n_pos + 1))
    row_start = np.searchsorted(row_skill, np.arange(n_pos + 1))
    return rows, outcome[rows], row_start, seq_row, seq_len, seq_skill, seq_start


def code_classes(bounds, key):
    """Twin of ``_kernels.code_classes`` with np.unique per group."""
    local = np.empty(len(key), dtype=np.int32)
    codes, starts = [], [0]
    for g in range(len(bounds) - 1):
        part = key[bounds[g]:bounds[g + 1]]
        uniq, inv = np.unique(part, return_inverse=True)
        local[bounds[g]:bounds[g + 1]] = inv
        codes.append(uniq)
        starts.append(starts[-1] + len(uniq))
    flat = np.concatenate(codes) if codes else np.empty(0, np.int64)
    return local, flat, np.array(starts)
