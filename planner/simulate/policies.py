"""Planning policies compared by the simulator. Each maps (cohort, learner belief, session) to
an ordered list of activities for one session of ``cohort.session_minutes``.

* ``random``: random catalog activities that fit the remaining minutes (no readiness filter);
* ``one_size_fits_all``: the whole class follows one fixed sequence (target-skill activities
  in curriculum order), the same items for everyone, continuing where the last session ended;
* ``lowest_mastery_first``: repeatedly the ready target skill with the lowest believed mastery,
  and the first activity on it in catalog order that the learner can do (the common ZPD rule);
* ``greedy``: the playlist planner's greedy (``planner.playlist.plan.greedy_playlist``);
* ``pathwise``: the playlist planner's MILP (``planner.playlist.plan.plan_playlist``), exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from planner.model import PlanActivity, PlanLearner, PlanWeights, PlaylistRequest

MAX_ITEMS = 8


@dataclass(frozen=True)
class Policy:
    """A named planning policy: ``plan(cohort, learner, session, rng_seed) -> activities``."""

    name: str
    plan: Callable[..., list[PlanActivity]]
    description: str


def request_for(cohort) -> PlaylistRequest:
    """The session request every planner-based policy uses: the session budget, at most
    ``MAX_ITEMS`` items, target skills (the learners' goals) weighted 1 and other skills 0.05,
    spaced review calibrated to the world's forgetting (about 0.5 % a week: half-life ~960
    days). ``exact``: the MILP is solved to optimality without a wall-clock limit, so a run is
    reproducible (a time-limited solve depends on machine load)."""
    return PlaylistRequest(budget_min=cohort.session_minutes, length_max=MAX_ITEMS,
                           weights=PlanWeights(default_goal_weight=0.05, preference=0.1),
                           review_half_life_days=960.0, exact=True,
                           mastered_threshold=cohort.mastered_threshold)


def feasible(a: PlanActivity, learner: PlanLearner) -> bool:
    """Hard per-learner constraints: accommodations, device, place, language."""
    if learner.accommodations - a.accommodations:
        return False
    if a.device is not None and learner.devices and a.device not in learner.devices:
        return False
    if learner.places and a.place not in learner.places:
        return False
    return not (learner.languages and a.language not in learner.languages)


def _random(cohort, learner, session, seed) -> list[PlanActivity]:
    rng = np.random.default_rng(seed)
    left = cohort.session_minutes
    out = []
    for i in rng.permutation(len(cohort.catalog)):
        a = cohort.catalog[int(i)]
        if a.duration_min <= left and len(out) < MAX_ITEMS:
            out.append(a)
            left -= a.duration_min
    return out


def osfa_sequence(cohort) -> list[PlanActivity]:
    """The fixed class sequence: activities whose first skill is a target the middle of the
    class has not mastered yet (median prior P(L) < θ = ``cohort.mastered_threshold``), by
    curriculum rank — a teacher pacing the curriculum to the median learner, the same for
    everyone."""
    g = cohort.graph
    theta = cohort.mastered_threshold
    class_mastery = np.median(cohort.prior, axis=0)
    acts = [a for a in cohort.catalog if a.skills and a.skills[0][0] in g.index
            and cohort.targets[g.index[a.skills[0][0]]]
            and class_mastery[g.index[a.skills[0][0]]] < theta]
    return sorted(acts, key=lambda a: (g.rank_of(a.skills[0][0]), a.skills[0][0], a.id))


def _osfa(cohort, learner, session, seed) -> list[PlanActivity]:
    seq = getattr(cohort, "_osfa_cache", None)
    if seq is None:
        seq = osfa_sequence(cohort)
        object.__setattr__(cohort, "_osfa_cache", seq)
    # one shared pointer: each session takes the next items that fill the session
    pos, out = 0, []
    for _ in range(session + 1):
        out, left = [], cohort.session_minutes
        while pos < len(seq) and seq[pos].duration_min <= left and len(out) < MAX_ITEMS:
            out.append(seq[pos])
            left -= seq[pos].duration_min
            pos += 1
    return out


def _lowest_mastery_first(cohort, learner, session, seed) -> list[PlanActivity]:
    g = cohort.graph
    theta = cohort.mastered_threshold
    belief = {k: learner.mastery_of(k) for k in g.ids}
    left = cohort.session_minutes
    out: list[PlanActivity] = []
    used: set[str] = set()
    by_skill: dict[str, list[PlanActivity]] = {}
    for a in cohort.catalog:
        if a.skills:
            by_skill.setdefault(a.skills[0][0], []).append(a)
    while len(out) < MAX_ITEMS:
        ready = [k for k in g.ids if belief[k] < theta
                 and all(belief[j] >= theta for j in g.prerequisites_of(k))]
        tgt = [k for k in ready if cohort.targets[g.index[k]]] or ready
        pick = None
        for k in sorted(tgt, key=lambda k: belief[k]):
            for a in by_skill.get(k, []):
                if a.id not in used and a.duration_min <= left and feasible(a, learner):
                    pick = a
                    break
            if pick is not None:
                break
        if pick is None:
            break
        out.append(pick)
        used.add(pick.id)
        left -= pick.duration_min
        for k, _w in pick.skills:
            if k in belief:
                belief[k] += (1.0 - belief[k]) * pick.learn_probability(k)
    return out


def _planner(kind: str):
    def plan(cohort, learner, session, seed) -> list[PlanActivity]:
        from planner.playlist.plan import greedy_playlist, plan_playlist

        fn = plan_playlist if kind == "milp" else greedy_playlist
        pl = fn(cohort.graph, cohort.catalog, learner, request_for(cohort))
        by_id = _index(cohort)
        return [by_id[i.activity_id] for i in pl.items]
    return plan


def _index(cohort) -> dict[str, PlanActivity]:
    idx = getattr(cohort, "_by_id", None)
    if idx is None:
        idx = {a.id: a for a in cohort.catalog}
        object.__setattr__(cohort, "_by_id", idx)
    return idx


POLICIES: dict[str, Policy] = {
    "random": Policy("random", _random, "random catalog activities (no readiness filter)"),
    "one_size_fits_all": Policy("one_size_fits_all", _osfa,
                                "whole class follows one fixed curriculum sequence"),
    "lowest_mastery_first": Policy("lowest_mastery_first", _lowest_mastery_first,
                                   "lowest-mastery ready skill first (ZPD rule)"),
    "greedy": Policy("greedy", _planner("greedy"), "playlist planner, greedy only"),
    "pathwise": Policy("pathwise", _planner("milp"), "playlist planner, MILP (HiGHS)"),
}


def available(names: Sequence[str]) -> list[str]:
    """Policies in ``names`` that can run here (pathwise/greedy need planner.playlist)."""
    out = []
    for n in names:
        if n in ("greedy", "pathwise"):
            try:
                import planner.playlist.plan  # noqa: F401
            except ImportError:
                continue
        out.append(n)
    return out
