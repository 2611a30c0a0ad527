"""Greedy playlist: incumbent, fallback and quality baseline for the MILP.

Forced items first, then the lower bounds (must-cover, modality min), then cost-benefit
filling (marginal objective per minute) and plain-marginal filling; the better of the two
fills wins. Every step keeps the hard rows satisfied. No approximation guarantee holds with
chaining, modality lower bounds and caps (see the design notes, §2.1); it is a start only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates, objective_value
from planner.playlist.rows import HardLimits, hard_limits, soft_rows

BUNDLE_POOL = 6
"""Chained activities (best first) tried as bundles with their teachers at each greedy step."""


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
        self.skill = np.zeros(c.T.shape[1])
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
          tabu: int | None = None) -> _State:
    """Add the best item (by marginal per minute when ``ratio``, else by marginal) or the best
    chained bundle while anything with a positive marginal fits; ``tabu`` is never added."""
    c = s.c
    while True:
        ok = s.feasible()
        if tabu is not None:
            ok[tabu] = False
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
        v -= row.penalty * max(0.0, row.rhs - sum(x[a] for a in row.members))
    return v


def ruin_recreate(c: Candidates, x: np.ndarray, *, churn: Mapping[int, float] | None = None,
                  churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = (),
                  passes: int = 3) -> np.ndarray:
    """Drop one non-forced item, refill greedily without it; keep the best strict improvement
    (a one-for-many exchange the swap search cannot make). Hard rows always hold."""
    lim = hard_limits(c)
    rows = soft_rows(c, extra_forced)
    rows_of: dict[int, list[tuple[int, ...]]] = {}
    for a, bs in c.chain_rows:
        rows_of.setdefault(a, []).append(bs)
    fixed = set(c.forced) | set(extra_forced)
    best_v = penalised_value(c, x, rows, churn, churn_penalty)
    for _ in range(passes):
        improved = None
        for i in np.nonzero(x > 0.5)[0]:
            if int(i) in fixed:
                continue
            y = x.copy()
            y[i] = 0.0
            # drop chained items that lose their only teacher
            for a, bs in c.chain_rows:
                if y[a] > 0.5 and not any(y[b] > 0.5 for b in bs):
                    y[a] = 0.0
            s = _fill(_state_of(c, lim, y, churn, churn_penalty), rows_of, True, int(i))
            v = penalised_value(c, s.x, rows, churn, churn_penalty)
            if v > best_v + 1e-9:
                best_v, improved = v, s.x
        if improved is None:
            break
        x = improved
    return x


def _best_bundle(s: _State, rows_of: Mapping[int, list[tuple[int, ...]]], m: np.ndarray,
                 ratio: bool, tabu: int | None = None) -> tuple[list[int], float]:
    """Best chained activity not yet enabled, added together with the best teacher of each of
    its unmet prerequisites (a two-step move the one-item greedy cannot see)."""
    c = s.c
    ok_forced = s.feasible(forced=True)
    best: list[int] = []
    best_score = -np.inf
    pool = [a for a in rows_of
            if s.x[a] < 0.5 and ok_forced[a] and m[a] > 1e-12 and a != tabu]
    pool = sorted(pool, key=lambda a: -m[a] / c.duration[a] if ratio else -m[a])[:BUNDLE_POOL]
    for a in pool:
        rows = rows_of[a]
        t = s.copy()
        bundle: list[int] = []
        for bs in rows:
            if any(t.x[b] > 0.5 for b in bs):
                continue
            okb = t.feasible()
            cand = [b for b in bs if okb[b] and b != tabu]
            if not cand:
                bundle = []
                break
            mb = t.marginal()
            b = max(cand, key=lambda i: mb[i] / c.duration[i] if ratio else mb[i])
            t.add(b)
            bundle.append(b)
        if not bundle or not t.feasible()[a]:
            continue
        value = float(t.marginal()[a]) + sum(float(m[b]) for b in bundle)
        minutes = float(c.duration[a] + sum(c.duration[b] for b in bundle))
        score = value / minutes if ratio else value / len(bundle + [a])
        if score > best_score:
            best, best_score = [*bundle, a], score
    return best, best_score


def _state_of(c: Candidates, lim: HardLimits, x: np.ndarray, churn, mu) -> _State:
    st = _State(c, lim, churn, mu)
    for a in np.nonzero(x > 0.5)[0]:
        st.add(int(a))
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
