"""Reasons: every planned item says why, in data and in one plain sentence.

Built from the optimisation model's own facts (design notes §5.1): readiness (prerequisites
and their mastery), expected benefit (mastery now -> after, the sequential marginal gain),
goal, matched preferences, and the constraints that shaped the choice.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.model import PlanActivity, Reason, SkillGraph

_MODALITY_WORDS = {
    "online": "online",
    "teacher_led": "with the teacher",
    "collaborative": "in a group",
    "independent_offline": "on your own, offline",
}

_BASIS_PREFIX = {"pin": "pinned", "lock": "locked", "frozen": "frozen"}


def _fmt_prereqs(graph: SkillGraph, prereqs: Sequence[tuple[str, float]]) -> str:
    parts = [f"'{graph.title_of(k)}' ({p:.2f})" for k, p in prereqs]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _readiness(graph: SkillGraph, basis: str, skill: str, prereqs, taught_earlier_titles,
               days: float | None, struggling_with: str | None) -> str:
    title = graph.title_of(skill)
    if basis == "chained":
        first = ", ".join(f"'{t}'" for t in taught_earlier_titles) or "an earlier item"
        return f"you are nearly ready for '{title}', and {first} earlier in this playlist covers its missing prerequisite"
    if basis == "review":
        when = f" (last practised {days:g} days ago)" if days else ""
        return f"it is time to review '{title}'{when} before it fades"
    if basis == "prerequisite_gap":
        on = f" for '{graph.title_of(struggling_with)}', which you are finding hard" if struggling_with else ""
        return f"it shores up '{title}', a building block{on}"
    if prereqs:
        return f"you are ready for '{title}': you have mastered {_fmt_prereqs(graph, prereqs)}"
    return f"you are ready for '{title}', which has no prerequisites"


def _gain_words(mastery_now: float, mastery_after: float, mastered: float) -> str:
    """The expected-gain clause (``mastered``: the threshold θ); a change that rounds away is
    said plainly, not as 1.00 → 1.00."""
    if round(mastery_after, 2) > round(mastery_now, 2):
        return f"expected mastery {mastery_now:.2f} → {mastery_after:.2f}"
    if mastery_now >= mastered:
        return f"mastery already {mastery_now:.2f}: practice to keep it"
    return f"little expected gain (mastery {mastery_now:.2f})"


def _check_words(graph: SkillGraph, skill: str, after: tuple[str, ...], mastery_now: float) -> str:
    """The diagnostic clause: what a quick check's answer decides."""
    names = [f"'{graph.title_of(k)}'" for k in after[:3]]
    more = f" and {len(after) - 3} more" if len(after) > 3 else ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (f"a quick check: it is not clear yet whether '{graph.title_of(skill)}' is known "
            f"(mastery {mastery_now:.2f}), and the answer decides whether to keep working on it "
            f"or move on to {joined}{more}")


def _preference_words(tags: Sequence[str]) -> list[str]:
    out = []
    for t in tags:
        kind, _, value = t.partition(":")
        if kind == "interest":
            out.append(f"matches your interest in {value}")
        elif kind == "format":
            out.append(f"is a {value} activity (a format you like)")
        elif kind == "grouping":
            out.append(f"is {value.replace('_', '-')} work as you prefer")
    return out


def build_reason(
    *,
    graph: SkillGraph,
    activity: PlanActivity,
    target_skill: str,
    basis: str,
    forced: str | None,
    mastery_now: float,
    mastery_after: float,
    prerequisites: tuple[tuple[str, float], ...],
    taught_earlier: tuple[str, ...],
    taught_earlier_titles: tuple[str, ...],
    goal_weight: float,
    is_goal: bool,
    preferences: tuple[str, ...],
    constraints: tuple[str, ...],
    days_since_practice: float | None = None,
    struggling_with: str | None = None,
    mastered_threshold: float,
    check_next: tuple[str, ...] = (),
) -> Reason:
    """Assemble a ``Reason`` and its one-sentence explanation from the planning facts.

    ``mastered_threshold``: θ of the request or class settings (mastery >= θ is "mastered").
    ``check_next``: for a diagnostic check (:mod:`planner.diagnostic`), the skills whose turn
    its answer decides."""
    head = (f"'{activity.title}' ({activity.duration_min:g} min, "
            f"{_MODALITY_WORDS.get(activity.modality, activity.modality)})")
    clauses = [_readiness(graph, basis, target_skill, prerequisites, taught_earlier_titles,
                          days_since_practice, struggling_with)]
    if check_next:
        clauses.append(_check_words(graph, target_skill, check_next, mastery_now))
    clauses.append(_gain_words(mastery_now, mastery_after, mastered_threshold))
    extras = []
    if is_goal:
        extras.append("works toward one of your goals")
    extras += _preference_words(preferences)
    sentence = f"{head}: " + "; ".join(clauses)
    if extras:
        joined = extras[0] if len(extras) == 1 else ", ".join(extras[:-1]) + " and " + extras[-1]
        sentence += "; it " + joined
    if constraints:
        sentence += "; " + ", ".join(constraints)
    sentence += "."
    return Reason(
        target_skill=target_skill,
        target_title=graph.title_of(target_skill),
        basis=_BASIS_PREFIX.get(forced or "", basis) if forced else basis,
        mastery_now=float(mastery_now),
        mastery_after=float(mastery_after),
        prerequisites=tuple(prerequisites),
        taught_earlier=tuple(taught_earlier),
        goal_weight=float(goal_weight),
        is_goal=bool(is_goal),
        preferences=tuple(preferences),
        constraints=tuple(constraints),
        sentence=sentence,
    )
