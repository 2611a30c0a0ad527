"""Greedy playlist: incumbent, fallback and quality baseline for the MILP.

Forced items first, then the lower bounds (must-cover, modality min), then cost-benefit
filling (marginal objective per minute) and plain-marginal filling; the better of the two
fills wins. Every step keeps the hard rows satisfied. No approximation guarantee holds with
chaining, modality lower bounds and caps (see the design notes, §2.1); it is a start only.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates, objective_value
from planner.playlist.rows import HardLimits, hard_limits, soft_rows

BUNDLE_POOL = 6
"""Chained activities (best first) tried as bundles with their teachers at each greedy step."""


RUIN_POOL = 6
"""Multi-item ruins are tried among this many least-valuable (per minute) items."""


class _State:
    """Incremental selection state: every hard-row test is a vector op on cached masks."""

    def __init__(self, c: Candidates, lim: HardLimits, churn: Mapping[int, float] | None,
                 mu: float) -> None:
        self.c, self.lim = c, lim
        self.x = np.zeros(c.n)
        self.keep = np.ones(c.T.shape[1])
        self.minutes = 0.0
        self.mod = np.zeros(len(MODALITIES))
        self.fmt = np.zeros(lim.fmt.shape[1])
        self.skill = np.zeros(lim.touch.shape[1])
        self.count = 0
        self.blocked = np.zeros(c.n, dtype=bool)
        for mi in np.nonzero(lim.mod_hi < 1)[0]:
            self.blocked |= c.modality == mi
        self.row_met = np.zeros(len(lim.chain_owner), dtype=bool)
        self.missing = np.bincount(lim.chain_owner, minlength=c.n).astype(np.int64)
        self.coef = c.w * (1.0 - c.p)
        W = c.request.weights
        self.static = W.preference * c.pref
        if churn is not None and mu:
            prev = np.zeros(c.n, dtype=bool)
            prev[list(churn)] = True
            self.static = self.static + np.where(prev, mu, -mu)
        self.variety = W.variety

    def feasible(self, forced: bool = False) -> np.ndarray:
        c = self.c
        if self.count + 1 > c.request.length_max:
            return np.zeros(c.n, dtype=bool)
        ok = (self.x < 0.5) & ~self.blocked
        ok &= self.minutes + c.duration <= c.request.budget_min + 1e-9
        if not forced:
            ok &= self.missing == 0
        return ok

    def marginal(self) -> np.ndarray:
        m = self.c.T @ (self.coef * self.keep) + self.static
        if self.variety and self.lim.fmt.shape[1]:
            new = self.lim.fmt[:, self.fmt == 0].any(axis=1)
            m = m + self.variety * new
        return m

    def add(self, a: int) -> None:
        c, lim = self.c, self.lim
        self.x[a] = 1.0
        self.keep = self.keep * (1.0 - c.T[a])
        self.minutes += c.duration[a]
        mi = c.modality[a]
        self.mod[mi] += 1
        if self.mod[mi] + 1 > lim.mod_hi[mi]:
            self.blocked |= c.modality == mi
        for f in lim.fmt_of[a]:
            self.fmt[f] += 1
            if self.fmt[f] + 1 > lim.fmt_cap[f]:
                self.blocked |= lim.fmt[:, f]
        cap = c.request.skill_cap
        for k in lim.skills_of[a]:
            self.skill[k] += 1
            if self.skill[k] + 1 > cap:
                self.blocked |= lim.touch[:, k]
        for n in lim.rows_taught[a]:
            if not self.row_met[n]:
                self.row_met[n] = True
                self.missing[lim.chain_owner[n]] -= 1
        self.count += 1

    def copy(self) -> _State:
        s = object.__new__(_State)
        s.__dict__.update(self.__dict__)
        for k in ("x", "keep", "mod", "fmt", "skill", "blocked", "row_met", "missing"):
            setattr(s, k, getattr(self, k).copy())
        return s


def greedy_select(c: Candidates, *, churn: Mapping[int, float] | None = None,
                  churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = ()) -> np.ndarray:
    """Greedy selection (A,) in {0, 1} that satisfies every hard row."""
    lim = hard_limits(c)
    st = _State(c, lim, churn, churn_penalty)
    order = sorted(c.forced.items(), key=lambda kv: {"frozen": 0, "lock": 1, "pin": 2}[kv[1]])
    for a in [*extra_forced, *(a for a, _ in order)]:
        if st.x[a] < 0.5 and st.feasible(forced=True)[a]:
            st.add(a)
    for row in soft_rows(c):
        if row.name.startswith(("pin:", "lock:", "frozen:", "force:", "length_min")):
            continue
        members = np.zeros(c.n, dtype=bool)
        members[list(row.members)] = True
        while st.x[members].sum() < row.rhs - 1e-9:
            ok = st.feasible() & members
            if not ok.any():
                break
            m = np.where(ok, st.marginal(), -np.inf)
            st.add(int(np.argmax(m)))
    rows_of: dict[int, list[tuple[int, ...]]] = {}
    for a, bs in c.chain_rows:
        rows_of.setdefault(a, []).append(bs)
    best_x, best_v = None, -np.inf
    for ratio in (True, False):
        s = _fill(st.copy(), rows_of, ratio)
        v = objective_value(c, s.x, churn=churn, churn_penalty=churn_penalty)
        if v > best_v:
            best_x, best_v = s.x, v
    return best_x


def _fill(s: _State, rows_of: Mapping[int, list[tuple[int, ...]]], ratio: bool,
          tabu: tuple[int, ...] = ()) -> _State:
    """Add the best item (by marginal per minute when ``ratio``, else by marginal) or the best
    chained bundle while anything with a positive marginal fits; ``tabu`` is never added."""
    c = s.c
    while True:
        ok = s.feasible()
        if tabu:
            ok[list(tabu)] = False
        m = s.marginal()
        need = s.count < c.request.length_min
        good = ok & ((m > 1e-12) | need)
        score = m / c.duration if ratio else m
        pick: list[int] = []
        best = -np.inf
        if good.any():
            j = int(np.argmax(np.where(good, score, -np.inf)))
            pick, best = [j], float(score[j])
        bundle, bscore = _best_bundle(s, rows_of, m, ratio, tabu)
        if bundle and bscore > best + 1e-12:
            pick = bundle
        if not pick:
            return s
        for a in pick:
            s.add(a)


def penalised_value(c: Candidates, x: np.ndarray, rows, churn, mu: float) -> float:
    """Exact objective minus the slack penalty of every soft row ``x`` leaves unmet."""
    v = objective_value(c, x, churn=churn, churn_penalty=mu)
    for row in rows:
        if row.rhs > 0:
            have = float(x[row.idx].sum()) if len(row.idx) else 0.0
            if have < row.rhs:
                v -= row.penalty * (row.rhs - have)
    return v


def ruin_recreate(c: Candidates, x: np.ndarray, *, churn: Mapping[int, float] | None = None,
                  churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = (),
                  passes: int = 3, max_ruin: int = 2) -> np.ndarray:
    """Drop one (then two) non-forced items, refill greedily without them; keep the best
    strict improvement (many-for-many exchanges the swap search cannot make). Hard rows
    always hold."""
    lim = hard_limits(c)
    rows = soft_rows(c, extra_forced)
    rows_of: dict[int, list[tuple[int, ...]]] = {}
    for a, bs in c.chain_rows:
        rows_of.setdefault(a, []).append(bs)
    fixed = set(c.forced) | set(extra_forced)
    best_v = penalised_value(c, x, rows, churn, churn_penalty)
    size = 1
    for _ in range(passes * 2):
        improved = None
        sel = [int(i) for i in np.nonzero(x > 0.5)[0] if int(i) not in fixed]
        if size > 1 and len(sel) > RUIN_POOL:
            # multi-item ruins only among the items worth least per minute
            base = objective_value(c, x, churn=churn, churn_penalty=churn_penalty)
            worth = {}
            for i in sel:
                y = x.copy()
                y[i] = 0.0
                worth[i] = (base - objective_value(c, y, churn=churn, churn_penalty=churn_penalty)
                            ) / c.duration[i]
            sel = sorted(sel, key=worth.__getitem__)[:RUIN_POOL]
        for out in combinations(sel, size):
            y = x.copy()
            y[list(out)] = 0.0
            # drop chained items that lose their only teacher
            for a, bs in c.chain_rows:
                if y[a] > 0.5 and not any(y[b] > 0.5 for b in bs):
                    y[a] = 0.0
            s = _fill(_state_of(c, lim, y, churn, churn_penalty), rows_of, True, out)
            v = penalised_value(c, s.x, rows, churn, churn_penalty)
            if v > best_v + 1e-9:
                best_v, improved = v, s.x
        if improved is not None:
            x, size = improved, 1
        elif size < max_ruin:
            size += 1
        else:
            break
    return x


def _pairs(c: Candidates, lim: HardLimits, rows_of) -> dict:
    """(chained a, teacher b) pairs of single-row chained activities, with shared formats
    (P, F) and shared skills (P, K) masks; cached per candidate set."""
    P = c.cache.get("bundle_pairs")
    if P is None:
        pa, pb = [], []
        for a, rows in rows_of.items():
            if len(rows) == 1:
                for b in rows[0]:
                    pa.append(a)
                    pb.append(b)
        pa_arr = np.asarray(pa, dtype=np.int64)
        pb_arr = np.asarray(pb, dtype=np.int64)
        P = {"a": pa_arr, "b": pb_arr,
             "fmt": lim.fmt[pa_arr] & lim.fmt[pb_arr],
             "skill": lim.touch[pa_arr] & lim.touch[pb_arr]}
        c.cache["bundle_pairs"] = P
    return P


def _best_bundle(s: _State, rows_of: Mapping[int, list[tuple[int, ...]]], m: np.ndarray,
                 ratio: bool, tabu: tuple[int, ...] = ()) -> tuple[list[int], float]:
    """Best chained activity not yet enabled, added together with the best teacher of each of
    its unmet prerequisites (a two-step move the one-item greedy cannot see)."""
    c = s.c
    ok_forced = s.feasible(forced=True)
    pool = [a for a in rows_of
            if s.x[a] < 0.5 and ok_forced[a] and m[a] > 1e-12 and a not in tabu]
    pool = sorted(pool, key=lambda a: -m[a] / c.duration[a] if ratio else -m[a])[:BUNDLE_POOL]
    best, best_score = _best_pair(s, _pairs(c, s.lim, rows_of), m, ok_forced, ratio, tabu)
    for a in pool:
        rows = rows_of[a]
        if len(rows) == 1:
            continue  # handled by _best_pair, vectorised over every (chained, teacher) pair
        bundle, score = _chain_bundle(s, a, rows, m, ratio, tabu)
        if bundle and score > best_score:
            best, best_score = bundle, score
    return best, best_score


def _best_pair(s: _State, P: Mapping[str, np.ndarray], m: np.ndarray, ok_forced: np.ndarray,
               ratio: bool, tabu: tuple[int, ...]) -> tuple[list[int], float]:
    """Best (teacher, chained) pair among the single-row chains ``P`` (see ``_pairs``) that
    fits the hard limits together; ([], -inf) when none does. Vectorised over the pairs."""
    c, lim, r = s.c, s.lim, s.c.request
    if not len(P["a"]):
        return [], -np.inf
    ok_now = s.feasible()
    pa, pb = P["a"], P["b"]
    mask = ok_forced[pa] & ok_now[pb] & (m[pa] > 1e-12) & (s.x[pa] < 0.5)
    if tabu:
        tm = np.zeros(c.n, dtype=bool)
        tm[list(tabu)] = True
        mask &= ~tm[pa] & ~tm[pb]
    if not mask.any():
        return [], -np.inf
    pa, pb = pa[mask], pb[mask]
    fit = s.minutes + c.duration[pa] + c.duration[pb] <= r.budget_min + 1e-9
    fit &= s.count + 2 <= r.length_max
    mod = c.modality[pa]
    fit &= (mod != c.modality[pb]) | (s.mod[mod] + 2 <= lim.mod_hi[mod])
    if lim.fmt.shape[1]:
        fit &= ~(P["fmt"][mask] & (s.fmt + 2 > lim.fmt_cap)).any(axis=1)
    if lim.touch.shape[1]:
        fit &= ~(P["skill"][mask] & (s.skill + 2 > r.skill_cap)).any(axis=1)
    if not fit.any():
        return [], -np.inf
    pa, pb = pa[fit], pb[fit]
    overlap = (c.T[pb] * c.T[pa]) @ (s.coef * s.keep)  # gain a loses after b
    value = m[pa] + m[pb] - overlap
    score_v = value / (c.duration[pa] + c.duration[pb]) if ratio else value / 2.0
    j = int(np.argmax(score_v))
    return [int(pb[j]), int(pa[j])], float(score_v[j])


def _chain_bundle(s: _State, a: int, rows: list[tuple[int, ...]], m: np.ndarray, ratio: bool,
                  tabu: tuple[int, ...]) -> tuple[list[int], float]:
    """Chained activity ``a`` after the best feasible teacher of each unmet row, as
    (teachers + [a], score); ([], -inf) when some row has no feasible teacher or ``a`` no
    longer fits."""
    c = s.c
    t = s.copy()
    bundle: list[int] = []
    for bs in rows:
        if any(t.x[b] > 0.5 for b in bs):
            continue
        okb = t.feasible()
        cand = [b for b in bs if okb[b] and b not in tabu]
        if not cand:
            return [], -np.inf
        mb = t.marginal()
        b = max(cand, key=lambda i: mb[i] / c.duration[i] if ratio else mb[i])
        t.add(b)
        bundle.append(b)
    if not bundle or not t.feasible()[a]:
        return [], -np.inf
    value = float(t.marginal()[a]) + sum(float(m[b]) for b in bundle)
    minutes = float(c.duration[a] + sum(c.duration[b] for b in bundle))
    score = value / minutes if ratio else value / len(bundle + [a])
    return [*bundle, a], score


def _state_of(c: Candidates, lim: HardLimits, x: np.ndarray, churn, mu) -> _State:
    """State of selection ``x`` built in bulk (vector ops, no per-item loop)."""
    st = _State(c, lim, churn, mu)
    sel = x > 0.5
    if not sel.any():
        return st
    st.x = sel.astype(np.float64)
    st.keep = np.prod(1.0 - c.T[sel], axis=0) if c.T.shape[1] else st.keep
    st.minutes = float(c.duration[sel].sum())
    st.mod = np.bincount(c.modality[sel], minlength=len(MODALITIES)).astype(np.float64)
    st.count = int(sel.sum())
    blocked = (st.mod + 1 > lim.mod_hi)[c.modality]
    if lim.fmt.shape[1]:
        st.fmt = lim.fmt[sel].sum(axis=0).astype(np.float64)
        blocked |= lim.fmt[:, st.fmt + 1 > lim.fmt_cap].any(axis=1)
    if lim.touch.shape[1]:
        st.skill = lim.touch[sel].sum(axis=0).astype(np.float64)
        blocked |= lim.touch[:, st.skill + 1 > c.request.skill_cap].any(axis=1)
    st.blocked = blocked
    if len(lim.chain_owner):
        st.row_met = lim.chain @ st.x > 0.5
        st.missing = np.bincount(lim.chain_owner[~st.row_met], minlength=c.n).astype(np.int64)
    return st


def local_search(c: Candidates, x: np.ndarray, *, churn: Mapping[int, float] | None = None,
                 churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = (),
                 max_moves: int = 30) -> np.ndarray:
    """Improve ``x`` by best-improvement add and swap moves that keep every hard row and never
    lower the satisfaction of a soft row (forced items are never swapped out)."""
    lim = hard_limits(c)
    rows = [r for r in soft_rows(c, extra_forced)]
    member = np.zeros((len(rows), c.n), dtype=bool)
    for n, row in enumerate(rows):
        member[n, list(row.members)] = True
    rhs = np.array([row.rhs for row in rows])
    fixed = set(c.forced) | set(extra_forced)
    chain_by_teacher: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
    for a, bs in c.chain_rows:
        for b in bs:
            chain_by_teacher.setdefault(b, []).append((a, bs))
    x = x.copy()
    for _ in range(max_moves):
        base = objective_value(c, x, churn=churn, churn_penalty=churn_penalty)
        counts = member @ (x > 0.5) if len(rows) else np.zeros(0)
        best = (1e-9, None, None)
        sel = [int(a) for a in np.nonzero(x > 0.5)[0]]
        for i in [None, *sel]:
            if i is not None and i in fixed:
                continue
            y = x.copy()
            if i is not None:
                y[i] = 0.0
                if any(y[a] > 0.5 and not any(y[b] > 0.5 for b in bs)
                       for a, bs in chain_by_teacher.get(i, ())):
                    continue
            st = _state_of(c, lim, y, churn, churn_penalty)
            ok = st.feasible()
            if i is not None:
                ok[i] = False
                tight = (counts <= rhs + 1e-9) & member[:, i] if len(rows) else []
                for n in np.nonzero(tight)[0]:
                    ok &= member[n]
            if not ok.any():
                continue
            loss = 0.0 if i is None else base - objective_value(
                c, y, churn=churn, churn_penalty=churn_penalty)
            gain = st.marginal() - loss
            j = int(np.argmax(np.where(ok, gain, -np.inf)))
            if gain[j] > best[0]:
                best = (float(gain[j]), i, j)
        if best[2] is None:
            break
        _, i, j = best
        if i is not None:
            x[i] = 0.0
        x[j] = 1.0
    return x
