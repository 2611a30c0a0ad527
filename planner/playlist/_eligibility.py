"""Eligibility of catalog activities for one learner: hard filters, skill categories
(ready, chained, review, prerequisite_gap) and prerequisite chains.

Helpers of ``planner.playlist.candidates.build_candidates`` (see that module's doc for the
rules); skill indices are positions in ``SkillGraph.ids``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from planner.errors import PlanInputError
from planner.model import PlanActivity, PlanLearner, PlaylistRequest, SkillGraph


def effective_mastery(learner: PlanLearner, skill: str, request: PlaylistRequest) -> float:
    """Mastery after forgetting since the last practice: decays half-way toward
    ``request.review_floor`` every half-life (the learner's own ``half_life_days`` of the
    skill, else ``request.review_half_life_days``; only above the floor)."""
    p = learner.mastery_of(skill)
    days = learner.days_since_practice.get(skill)
    if days is None or days <= 0 or p <= request.review_floor:
        return p
    half = float(learner.half_life_days.get(skill, request.review_half_life_days))
    factor = 0.5 ** (float(days) / half)
    return request.review_floor + (p - request.review_floor) * factor


def hard_filter(
    a: PlanActivity, learner: PlanLearner, request: PlaylistRequest
) -> tuple[str, str] | None:
    """The hard constraint that rules ``a`` out for this learner, or None."""
    if a.id in request.removes:
        return "remove", f"removed by the teacher ({a.id})"
    missing = sorted(learner.accommodations - a.accommodations)
    if missing:
        return (f"accommodation:{missing[0]}",
                f"'{a.title}' does not support the accommodation {missing[0]!r} this learner needs")
    if a.device is not None and learner.devices and a.device not in learner.devices:
        return f"device:{a.device}", f"'{a.title}' needs a {a.device}, which is not available"
    if learner.places and a.place not in learner.places:
        return f"place:{a.place}", f"'{a.title}' happens in {a.place!r}, where this learner is not"
    if request.available_places is not None and a.place not in request.available_places:
        return f"place:{a.place}", f"'{a.title}' needs {a.place!r}, not available this session"
    if learner.languages and a.language not in learner.languages:
        return f"language:{a.language}", f"'{a.title}' is in {a.language!r}, not a language of the learner"
    seats = request.seats_left.get(a.id)
    if seats is not None and seats <= 0:
        return "capacity", f"'{a.title}' has no seats left"
    if a.duration_min > request.budget_min + 1e-9:
        return ("budget", f"'{a.title}' takes {a.duration_min:g} min, more than the whole "
                f"{request.budget_min:g}-min budget")
    return None


def skill_status(
    graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
    mastery: np.ndarray, mastered: np.ndarray,
) -> tuple[dict[int, str], dict[int, float]]:
    """Category (ready/chained/review/prerequisite_gap) and gain mastery of every
    gain-bearing skill index; ``mastery``, ``mastered``: (n_skills,) over ``graph.ids``.
    With ``PlanWeights.protect`` > 0 every mastered skill with a known last practice is a
    review skill (what a review protects, :mod:`planner.protection`), else only those whose
    decayed mastery fell below θ."""
    ids, prereqs = graph.ids, graph._prereqs
    # skill categories (vectorised over the prerequisite edges)
    n_sk = len(ids)
    src, dst = graph.edge_src, graph.edge_dst
    unmet_edge = ~mastered[src]
    n_unmet = np.bincount(dst[unmet_edge], minlength=n_sk)
    ready = ~mastered & (n_unmet == 0)
    not_ready_prereq = unmet_edge & ~ready[src]
    chained = ~mastered & ~ready & (np.bincount(dst[not_ready_prereq], minlength=n_sk) == 0)
    status: dict[int, str] = {}
    p_eff: dict[int, float] = {}
    for i in np.nonzero(ready)[0].tolist():
        status[i] = "review" if ids[i] in learner.ever_mastered else "ready"
        p_eff[i] = float(mastery[i])
    for i in np.nonzero(chained)[0].tolist():
        status[i] = "chained"
        p_eff[i] = float(mastery[i])
    protect = request.weights.protect > 0  # every mastered skill is worth protecting
    for k in learner.days_since_practice:
        i = graph.index.get(k)
        if i is not None and mastered[i]:
            pe = effective_mastery(learner, k, request)
            if pe < request.mastered_threshold or protect:
                status[i] = "review"
                p_eff[i] = pe
    for sk in learner.struggling:
        if sk not in graph:
            continue
        for j in prereqs[graph.index[sk]]:
            if mastered[j] and j not in status:
                status[j] = "prerequisite_gap"
                p_eff[j] = float(mastery[j])
            elif status.get(j) == "ready":
                status[j] = "prerequisite_gap"
    return status, p_eff


def screen_activities(
    graph: SkillGraph, by_id: Mapping[str, PlanActivity], learner: PlanLearner,
    request: PlaylistRequest, forced: Mapping[str, str], status: Mapping[int, str],
    mastered: np.ndarray, excluded: dict[str, tuple[str, str]],
) -> tuple[list[PlanActivity], list[tuple[PlanActivity, list[int]]]]:
    """Split the catalog into plain candidates and chained ones (with the indices of their
    chained skills); record every activity ruled out in ``excluded``."""
    plain: list[PlanActivity] = []
    chained_list: list[tuple[PlanActivity, list[int]]] = []
    for a in by_id.values():
        kind = forced.get(a.id)
        if kind != "frozen":
            why = hard_filter(a, learner, request)
            if why is not None:
                excluded[a.id] = why
                continue
        gain_skills, chain_needs, blocked = _readiness(graph, a, status, mastered)
        if kind is None:
            why = _not_ready_reason(graph, a, blocked, gain_skills, mastered)
            if why is not None:
                excluded[a.id] = why
                continue
        if chain_needs and kind is None:
            chained_list.append((a, chain_needs))
        else:
            plain.append(a)
    return plain, chained_list


def _readiness(
    graph: SkillGraph, a: PlanActivity, status: Mapping[int, str], mastered: np.ndarray,
) -> tuple[int, list[int], str | None]:
    """(number of gain-bearing skills, chained skill indices, last blocked skill id or None)
    of activity ``a``."""
    gain_skills = 0
    chain_needs: list[int] = []
    blocked: str | None = None
    for k, _w in a.skills:
        i = graph.index.get(k)
        if i is None:
            raise PlanInputError(
                f"activity {a.id!r} works on skill {k!r}, which is not in the skill graph"
            )
        st = status.get(i)
        if st is None:
            if not mastered[i]:
                blocked = k
            continue
        if a.learn_probability(k) > 0:
            gain_skills += 1
        if st == "chained":
            chain_needs.append(i)
    return gain_skills, chain_needs, blocked


def _not_ready_reason(
    graph: SkillGraph, a: PlanActivity, blocked: str | None, gain_skills: int,
    mastered: np.ndarray,
) -> tuple[str, str] | None:
    """(constraint, explanation) when ``a`` is blocked by a prerequisite or has no gain."""
    if blocked is not None:
        unmet = [graph.ids[j] for j in graph._prereqs[graph.index[blocked]] if not mastered[j]]
        return (
            f"prerequisite:{unmet[0] if unmet else blocked}",
            f"not ready for '{graph.title_of(blocked)}': prerequisite "
            f"{', '.join(repr(graph.title_of(u)) for u in unmet[:3])} not mastered yet",
        )
    if gain_skills == 0:
        return ("mastered", f"'{a.title}' only works on skills already mastered")
    return None


def resolve_chains(
    graph: SkillGraph, plain: Sequence[PlanActivity],
    chained_list: Sequence[tuple[PlanActivity, list[int]]], status: Mapping[int, str],
    mastered: np.ndarray, excluded: dict[str, tuple[str, str]],
) -> list[tuple[PlanActivity, list[tuple[str, list[str]]]]]:
    """Keep a chained activity only when each unmet prerequisite is taught by a plain
    candidate; returns (activity, [(prerequisite id, teaching activity ids)])."""
    ids, prereqs = graph.ids, graph._prereqs
    teachers: dict[int, list[str]] = {}
    for a in plain:
        for k, _w in a.skills:
            i = graph.index[k]
            if status.get(i) in ("ready", "review", "prerequisite_gap") and a.learn_probability(k) > 0:
                teachers.setdefault(i, []).append(a.id)
    chained_ok: list[tuple[PlanActivity, list[tuple[str, list[str]]]]] = []
    for a, needs in chained_list:
        rows: list[tuple[str, list[str]]] = []
        missing = None
        for i in needs:
            for j in prereqs[i]:
                if mastered[j]:
                    continue
                t = teachers.get(j)
                if not t:
                    missing = ids[j]
                    break
                rows.append((ids[j], t))
            if missing:
                break
        if missing:
            excluded[a.id] = (f"prerequisite:{missing}",
                              f"no eligible activity teaches the prerequisite "
                              f"'{graph.title_of(missing)}' first")
            continue
        chained_ok.append((a, rows))
    return chained_ok
