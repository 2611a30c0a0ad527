"""No silent shortfall: a playlist that leaves more than a fifth of its minute budget unused
says so, as a ``Conflict`` naming what stopped it (issue 15 item 5).

The cause is found by trying every candidate left out that would still fit the minutes: the
hard rows each would break (length limit, format caps, modality limits, per-skill cap,
prerequisite chaining) are counted; when nothing fits the minutes, the cause is the
catalog (no eligible activity is short enough, or none is left after readiness and the
hard filters).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from planner.playlist.candidates import Candidates
from planner.playlist.rows import hard_limits, hard_violations
from planner.results import Conflict

UNUSED_SHARE = 0.2
"""A plan leaving more than this share of the budget unused raises a shortfall conflict."""


def person_amount(value: float) -> float:
    """An amount rounded to what a person reads: whole numbers stay whole (items, learners,
    5.9999999999999964 -> 6), others to 0.1 (minutes)."""
    r = round(float(value))
    return float(r) if abs(value - r) < 1e-6 else round(float(value), 1)


def shortfall_conflict(c: Candidates, x: np.ndarray) -> Conflict | None:
    """The "budget_unused" conflict of selection ``x`` (A,), or None when at most
    ``UNUSED_SHARE`` of ``request.budget_min`` is unused."""
    budget = c.request.budget_min
    used = float(c.duration[x > 0.5].sum()) if c.n else 0.0
    unused = budget - used
    if budget <= 0 or unused <= UNUSED_SHARE * budget + 1e-9:
        return None
    causes = _causes(c, x, unused)
    amount = person_amount(unused)
    return Conflict(
        "budget_unused", amount, causes,
        f"only {person_amount(used):g} of the {budget:g} minutes are planned "
        f"({amount:g} min unused): {_words(causes)}")


def _causes(c: Candidates, x: np.ndarray, unused: float) -> tuple[str, ...]:
    fits = [a for a in range(c.n) if x[a] < 0.5 and c.duration[a] <= unused + 1e-9]
    if not fits:
        if c.n == int((x > 0.5).sum()):
            excluded = Counter(name.partition(":")[0] for name, _ in c.excluded.values())
            top = tuple(f"{k}" for k, _ in excluded.most_common(2))
            return ("no eligible activity left", *top)
        return ("no eligible activity fits the remaining minutes",)
    lim = hard_limits(c)
    count: Counter[str] = Counter()
    for a in fits:
        y = x.copy()
        y[a] = 1.0
        kinds = {v.partition(":")[0] + (":" + v.partition(":")[2]
                                         if v.startswith(("format_cap", "modality_max")) else "")
                 for v in hard_violations(c, y, lim)}
        count.update(kinds or {"no expected gain"})
    return tuple(k for k, _ in count.most_common(3))


def _words(causes: tuple[str, ...]) -> str:
    words = {
        "length_max": "the limit on the number of items",
        "skill_cap": "the cap on items per skill",
        "prerequisite": "prerequisites not taught in this playlist",
        "no expected gain": "the remaining activities add no expected gain",
        "no eligible activity left": "no other activity is eligible",
        "no eligible activity fits the remaining minutes":
            "no eligible activity is short enough for the remaining minutes",
        "prerequisite_not_ready": "prerequisites not mastered yet",
        "accommodation": "activities that do not support the learner's accommodations",
        "mastered": "activities only on mastered skills",
    }
    out = []
    for cause in causes:
        kind, _, what = cause.partition(":")
        if kind == "format_cap":
            out.append(f"the cap on {what} activities")
        elif kind == "modality_max":
            out.append(f"the class model's limit on {what.replace('_', '-')} activities")
        else:
            out.append(words.get(cause, words.get(kind, cause)))
    return "blocked by " + " and ".join(out)
