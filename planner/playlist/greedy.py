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


class _State:
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
        self.coef = c.w * (1.0 - c.p)
        W = c.request.weights
        self.static = W.preference * c.pref
        if churn is not None and mu:
            prev = np.zeros(c.n, dtype=bool)
            prev[list(churn)] = True
            self.static = self.static + np.where(prev, mu, -mu)
        self.variety = W.variety

    def feasible(self, forced: bool = False) -> np.ndarray:
        c, lim, r = self.c, self.lim, self.c.request
        ok = self.x < 0.5
        ok &= self.minutes + c.duration <= r.budget_min + 1e-9
        ok &= (self.mod + 1 <= lim.mod_hi)[c.modality]
        if lim.fmt.shape[1]:
            full = self.fmt + 1 > lim.fmt_cap
            ok &= ~(lim.fmt[:, full].any(axis=1))
        if lim.touch.shape[1]:
            full = self.skill + 1 > r.skill_cap
            ok &= ~(lim.touch[:, full].any(axis=1))
        if self.count + 1 > r.length_max:
            ok[:] = False
        if not forced:
            for a, bs in c.chain_rows:
                if ok[a] and not any(self.x[b] > 0.5 for b in bs):
                    ok[a] = False
        return ok

    def marginal(self) -> np.ndarray:
        m = self.c.T @ (self.coef * self.keep) + self.static
        if self.variety and self.lim.fmt.shape[1]:
            new = self.lim.fmt[:, self.fmt == 0].any(axis=1)
            m = m + self.variety * new
        return m

    def add(self, a: int) -> None:
        c = self.c
        self.x[a] = 1.0
        self.keep = self.keep * (1.0 - c.T[a])
        self.minutes += c.duration[a]
        self.mod[c.modality[a]] += 1
        if self.lim.fmt.shape[1]:
            self.fmt += self.lim.fmt[a]
        if self.lim.touch.shape[1]:
            self.skill += self.lim.touch[a]
        self.count += 1

    def copy(self) -> _State:
        s = object.__new__(_State)
        s.__dict__.update(self.__dict__)
        for k in ("x", "keep", "mod", "fmt", "skill"):
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
    best_x, best_v = None, -np.inf
    for ratio in (True, False):
        s = st.copy()
        while True:
            ok = s.feasible()
            if not ok.any():
                break
            m = s.marginal()
            need = s.count < c.request.length_min
            good = ok & ((m > 1e-12) | need)
            if not good.any():
                break
            score = m / c.duration if ratio else m
            s.add(int(np.argmax(np.where(good, score, -np.inf))))
        v = objective_value(c, s.x, churn=churn, churn_penalty=churn_penalty)
        if v > best_v:
            best_x, best_v = s.x, v
    return best_x


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
