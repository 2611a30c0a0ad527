"""The items of a solved playlist: each one's target skill, its expected gain (learning only,
not a check's value of information) and its reason in plain words."""

from __future__ import annotations

import numpy as np

from planner.model import MODALITIES, PlannedItem
from planner.playlist.candidates import Candidates
from planner.reasons import build_reason


def planned_items(c: Candidates, order: list[int], x: np.ndarray) -> list[PlannedItem]:
    """One ``PlannedItem`` per selected activity (``x`` (A,) in {0, 1}) in ``order``; the
    mastery expected before each item counts the items placed before it."""
    m = c.p.copy()
    used = float(c.duration[x > 0.5].sum())
    mod_counts = np.bincount(c.modality[x > 0.5], minlength=len(MODALITIES))
    pos_of = {a: n for n, a in enumerate(order)}
    fmt_counts: dict[str, int] = {}
    for a in order:
        for f in c.activities[a].format_keys:
            fmt_counts[f] = fmt_counts.get(f, 0) + 1
    learn = c.learn  # learning only, not a check's information value
    goal_w = c.goal_w  # without what a review protects (planner.protection)
    items = []
    for pos, a in enumerate(order):
        act = c.activities[a]
        ks = np.nonzero(c.T[a] > 0)[0]
        if len(ks):
            gains = (1.0 - m[ks]) * learn[a, ks]
            best = int(ks[np.argmax(c.w[ks] * gains + 1e-12 * gains)])
            target, now = c.skills[best], float(m[best])
            m[ks] = m[ks] + gains
            after, basis, w = float(m[best]), c.basis[best], float(goal_w[best])
            check = c.info is not None and c.info[a, best] > 0  # a diagnostic check
        else:  # forced item with no gain-bearing skill
            target = act.skills[0][0] if act.skills else ""
            now = after = c.learner.mastery_of(target) if target else 0.0
            basis, w, check = "ready", 0.0, False
        cons = _constraint_words(c, a, pos, c.forced.get(a), mod_counts, fmt_counts, used)
        reason = _reason(c, a, pos, pos_of, target, basis, w, now, after, cons, check)
        items.append(PlannedItem(act.id, pos, target, float(after - now), act.duration_min,
                                 act.modality, reason))
    return items


def _reason(c: Candidates, a: int, pos: int, pos_of: dict[int, int], target: str, basis: str,
            w: float, now: float, after: float, cons: tuple, check: bool):
    """The ``Reason`` of item ``a`` at ``pos`` (see :func:`planner.reasons.build_reason`)."""
    learner, graph, r = c.learner, c.graph, c.request
    tsk = target if target in graph else None
    prereqs = tuple((p, learner.mastery_of(p)) for p in graph.prerequisites_of(tsk)) if tsk else ()
    earlier: list[int] = []
    for (ca, bs), _ in zip(c.chain_rows, c.chain_skills, strict=True):
        if ca == a:
            earlier += [b for b in bs if b in pos_of and pos_of[b] < pos]
    earlier = list(dict.fromkeys(earlier))
    struggling_with = None
    if basis == "prerequisite_gap":
        for s in sorted(learner.struggling):
            if s in graph and target in graph.prerequisites_of(s):
                struggling_with = s
                break
    goal = float(learner.goals.get(target, r.weights.default_goal_weight))
    check_next = tuple(s for s in graph.successors_of(target)
                       if learner.mastery_of(s) < r.mastered_threshold) if check and tsk else ()
    return build_reason(
        graph=graph, activity=c.activities[a], target_skill=target, basis=basis,
        forced=c.forced.get(a), mastery_now=now, mastery_after=after, prerequisites=prereqs,
        taught_earlier=tuple(c.activities[b].id for b in earlier),
        taught_earlier_titles=tuple(c.activities[b].title for b in earlier),
        goal_weight=w, is_goal=goal > r.weights.default_goal_weight,
        preferences=c.pref_tags[a], constraints=tuple(cons),
        days_since_practice=learner.days_since_practice.get(target),
        struggling_with=struggling_with, mastered_threshold=r.mastered_threshold,
        check_next=check_next,
    )


def _constraint_words(c: Candidates, a: int, pos: int, forced: str | None,
                      mod_counts: np.ndarray, fmt_counts: dict[str, int], used: float) -> tuple:
    """The constraints that shaped item ``a`` at 0-based ``pos``, in plain words (for its
    reason): teacher pins/locks, modality slots, format caps and the minute budget."""
    act, r = c.activities[a], c.request
    cons = []
    if forced == "pin":
        cons.append("pinned by your teacher")
    elif forced == "lock":
        cons.append(f"locked at position {pos + 1} by your teacher")
    elif forced == "frozen":
        cons.append("already started, so it stays")
    lo, hi = r.modality_bounds.get(act.modality, (0, 10**9))
    mname = act.modality.replace("_", "-")
    if lo > 0 and mod_counts[c.modality[a]] <= lo:
        cons.append(f"fills the required {mname} slot")
    elif mod_counts[c.modality[a]] >= hi:
        cons.append(f"takes the last {mname} slot the class model allows ({hi})")
    for f in act.format_keys:
        cap = r.cap_for_format(f)
        if cap is not None and fmt_counts.get(f, 0) >= cap:
            cons.append(f"one of at most {cap} {f} activities")
            break
    cons.append(f"fits the {r.budget_min:g}-min budget ({used:g} min planned)")
    return tuple(cons)
