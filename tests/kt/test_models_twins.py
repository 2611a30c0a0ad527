"""Plain Python/NumPy twins of the kt.models Numba kernels (dict state, no hashing)."""

from __future__ import annotations

import math

import numpy as np

from kt.models import _kernels as K


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def events(skill, ev_ptr):
    for e in range(len(ev_ptr) - 1):
        yield e, range(ev_ptr[e], ev_ptr[e + 1])


def counters_twin(skill, item, outcome, ev_ptr, lr_ptr, n_skills, offsets, decays, weights,
                  b_item=None, elo_ab=(1.0, 0.05)):
    """Returns (p per event, list of {column: value} per event)."""
    n_d = len(decays)
    out_p, feats = [], []
    for lrn in range(len(lr_ptr) - 1):
        sk_state: dict[int, list[float]] = {}
        it_state: dict[int, list[float]] = {}
        tot = [0.0] * (2 + 2 * n_d)
        elo_t = [0.0, 0.0]
        elo_k: dict[int, list[float]] = {}
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            rows = list(range(ev_ptr[e], ev_ptr[e + 1]))
            nk = len(rows)
            it = int(item[rows[0]])
            f: dict[int, float] = {}

            def add(c, v, f=f):
                f[int(c)] = f.get(int(c), 0.0) + v

            add(0, 1.0)
            if offsets[K.O_ITEM] >= 0:
                add(offsets[K.O_ITEM] + it, 1.0)
            ia, iw = it_state.get(it, [0.0, 0.0])
            if offsets[K.O_ITEM_LOG] >= 0:
                add(offsets[K.O_ITEM_LOG], math.log1p(ia))
                add(offsets[K.O_ITEM_LOG] + 1, math.log1p(iw))
            if offsets[K.O_TOTAL_LOG] >= 0:
                add(offsets[K.O_TOTAL_LOG], math.log1p(tot[0]))
                add(offsets[K.O_TOTAL_LOG] + 1, math.log1p(tot[1]))
            if offsets[K.O_TOTAL_DEC] >= 0:
                for d in range(n_d):
                    add(offsets[K.O_TOTAL_DEC] + 2 * d, tot[2 + 2 * d])
                    add(offsets[K.O_TOTAL_DEC] + 2 * d + 1, tot[3 + 2 * d])
            elo_z = 0.0
            if offsets[K.O_ELO] >= 0:
                th = sum(elo_k.get(int(skill[r]), [0.0, 0.0])[0] for r in rows) / nk
                elo_z = elo_t[0] + th - b_item[it]
                add(offsets[K.O_ELO], elo_t[0])
                add(offsets[K.O_ELO] + 1, th)
            if offsets[K.O_SKILL_DEC] >= 0:
                for d in range(n_d):
                    add(offsets[K.O_SKILL_DEC] + 2 * d, sum(
                        sk_state.get(int(skill[r]), [0.0] * (2 + 2 * n_d))[2 + 2 * d] for r in rows) / nk)
                    add(offsets[K.O_SKILL_DEC] + 2 * d + 1, sum(
                        sk_state.get(int(skill[r]), [0.0] * (2 + 2 * n_d))[3 + 2 * d] for r in rows) / nk)
            for r in rows:
                k = int(skill[r])
                st = sk_state.get(k, [0.0] * (2 + 2 * n_d))
                a, w = st[0], st[1]
                if offsets[K.O_SKILL] >= 0:
                    add(offsets[K.O_SKILL] + k, 1.0)
                if offsets[K.O_SKILL_LOGA] >= 0:
                    add(offsets[K.O_SKILL_LOGA] + k, math.log1p(a))
                    add(offsets[K.O_SKILL_LOGW] + k, math.log1p(w))
                if offsets[K.O_SKILL_PFAW] >= 0:
                    add(offsets[K.O_SKILL_PFAW] + k, w)
                    add(offsets[K.O_SKILL_PFAF] + k, a - w)
                if offsets[K.O_SKILL_DEC_PS] >= 0:
                    for d in range(n_d):
                        base = offsets[K.O_SKILL_DEC_PS] + 2 * d * n_skills
                        add(base + k, st[2 + 2 * d])
                        add(base + n_skills + k, st[3 + 2 * d])
            z = sum(weights[c] * v for c, v in f.items()) if len(weights) else None
            out_p.append(0.5 if z is None else sigmoid(z))
            feats.append(f)
            y = float(outcome[rows[0]])
            it_state[it] = [ia + 1, iw + y]
            for r in rows:
                k = int(skill[r])
                st = sk_state.setdefault(k, [0.0] * (2 + 2 * n_d))
                yr = float(outcome[r])
                st[0] += 1
                st[1] += yr
                for d, lam in enumerate(decays):
                    st[2 + 2 * d] = lam * st[2 + 2 * d] + yr
                    st[3 + 2 * d] = lam * st[3 + 2 * d] + 1 - yr
            if offsets[K.O_ELO] >= 0:
                err = y - sigmoid(elo_z)
                al, be = elo_ab
                elo_t[0] += al / (1 + be * elo_t[1]) * err
                elo_t[1] += 1
                for r in rows:
                    s = elo_k.setdefault(int(skill[r]), [0.0, 0.0])
                    s[0] += al / (1 + be * s[1]) * err
                    s[1] += 1
            tot[0] += 1
            tot[1] += y
            for d, lam in enumerate(decays):
                tot[2 + 2 * d] = lam * tot[2 + 2 * d] + y
                tot[3 + 2 * d] = lam * tot[3 + 2 * d] + 1 - y
    return np.array(out_p), feats


def elo_twin(skill, item, outcome, ev_ptr, lr_ptr, b_item, alpha, beta):
    out = []
    for lrn in range(len(lr_ptr) - 1):
        g = [0.0, 0.0]
        ks: dict[int, list[float]] = {}
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            rows = range(ev_ptr[e], ev_ptr[e + 1])
            th = sum(ks.get(int(skill[r]), [0.0, 0.0])[0] for r in rows) / len(rows)
            p = sigmoid(g[0] + th - b_item[item[rows[0]]])
            out.append(p)
            err = float(outcome[rows[0]]) - p
            g[0] += alpha / (1 + beta * g[1]) * err
            g[1] += 1
            for r in rows:
                s = ks.setdefault(int(skill[r]), [0.0, 0.0])
                s[0] += alpha / (1 + beta * s[1]) * err
                s[1] += 1
    return np.array(out)


def bkt_twin(skill, outcome, ev_ptr, lr_ptr, params):
    """params: (5, K) rows p_init, p_learn, p_forget, p_guess, p_slip."""
    L0, T, F, G, S = params
    out = []
    for lrn in range(len(lr_ptr) - 1):
        st: dict[int, float] = {}
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            rows = range(ev_ptr[e], ev_ptr[e + 1])
            ps = []
            for r in rows:
                k = int(skill[r])
                L = st.get(k, L0[k])
                ps.append(L * (1 - S[k]) + (1 - L) * G[k])
            out.append(float(np.mean(ps)))
            for r in rows:
                k = int(skill[r])
                L = st.get(k, L0[k])
                if outcome[r]:
                    post = L * (1 - S[k]) / (L * (1 - S[k]) + (1 - L) * G[k])
                else:
                    post = L * S[k] / (L * S[k] + (1 - L) * (1 - G[k]))
                st[k] = post * (1 - F[k]) + (1 - post) * T[k]
    return np.array(out)
