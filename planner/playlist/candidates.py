"""Candidate set of one learner's playlist: hard filters, readiness (ZPD), review and gaps.

Skill sets (θ = ``request.mastered_threshold``, mastery p from the learner's BKT state):

* ready (F): p < θ and every direct prerequisite has p >= θ (the outer fringe);
* chained (F2): p < θ, not ready, and every unmet prerequisite is ready — an activity on it
  is allowed only together with an earlier activity teaching that prerequisite;
* review: p >= θ but the mastery decayed since the last practice (spaced review), or the skill
  was mastered once and fell below θ since;
* prerequisite_gap: direct prerequisites of a skill the learner is struggling with.

An activity is a candidate when it passes the hard filters (removes, accommodations, device,
place, language, seats, duration <= budget) and each of its non-mastered skills is in one of
the sets above, with at least one gain-bearing skill. Teacher-forced activities (pins, locks)
skip the readiness rule but never the hard filters; frozen activities (already started or done
in a re-plan) skip both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from planner.errors import PlanInputError
from planner.model import MODALITIES, PlanActivity, PlanLearner, PlaylistRequest, SkillGraph
from planner.playlist._eligibility import (  # noqa: F401  (public here)
    effective_mastery,
    hard_filter,
    resolve_chains,
    screen_activities,
    skill_status,
)


@dataclass(frozen=True, eq=False)
class Candidates:
    """Arrays of one learner's planning problem (A candidates, K gain-bearing skills).

    ``T``: (A, K) learn probabilities, ``p``: (K,) mastery used for the gain, ``w``: (K,)
    skill weights, ``duration``: (A,) minutes, ``modality``: (A,) index into ``MODALITIES``,
    ``pref``: (A,) preference match in [0, 1], ``chained``: (A,) bool, ``chain_rows``: list of
    (a, (b, ...)) meaning x_a <= sum x_b, ``forced``: activity index -> "pin"/"lock"/"frozen".
    ``excluded``: activity id -> (constraint, plain explanation) for every non-candidate.
    ``info``: (A, K) the part of ``T`` that is a check's value of information, not learning
    (None when no check carries any). ``protect``: (K,) the part of ``w`` that is what a
    review protects from forgetting (:mod:`planner.protection`; None when the term is off).
    """

    learner: PlanLearner
    graph: SkillGraph
    request: PlaylistRequest
    activities: tuple[PlanActivity, ...]
    index: Mapping[str, int]
    skills: tuple[str, ...]
    skill_index: Mapping[str, int]
    basis: tuple[str, ...]
    p: np.ndarray
    w: np.ndarray
    T: np.ndarray
    duration: np.ndarray
    modality: np.ndarray
    pref: np.ndarray
    pref_tags: tuple[tuple[str, ...], ...]
    chained: np.ndarray
    chain_rows: tuple[tuple[int, tuple[int, ...]], ...]
    chain_skills: tuple[tuple[int, str], ...]
    forced: Mapping[int, str]
    excluded: Mapping[str, tuple[str, str]]
    formats: tuple[str, ...]
    format_members: tuple[tuple[int, ...], ...]
    catalog: Mapping[str, PlanActivity]
    cache: dict = field(default_factory=dict, repr=False)
    info: np.ndarray | None = None
    protect: np.ndarray | None = None

    @property
    def goal_w(self) -> np.ndarray:
        """(K,) skill weights without the protection part (what an item's reason shows)."""
        return self.w if self.protect is None else self.w - self.protect

    @property
    def learn(self) -> np.ndarray:
        """(A, K) learn probabilities alone: ``T`` minus the checks' information value
        ``info`` (:mod:`planner.diagnostic`), for the mastery a plan is expected to reach."""
        return self.T if self.info is None else self.T - self.info

    @property
    def n(self) -> int:
        return len(self.activities)


def catalog_index(catalog: Sequence[PlanActivity]) -> dict[str, PlanActivity]:
    """Map id -> activity; raise ``PlanInputError`` on a duplicate id."""
    out: dict[str, PlanActivity] = {}
    for a in catalog:
        if a.id in out:
            raise PlanInputError(f"activity id {a.id!r} appears twice in the catalog; ids must be unique")
        out[a.id] = a
    return out


def build_candidates(
    graph: SkillGraph,
    catalog: Sequence[PlanActivity],
    learner: PlanLearner,
    request: PlaylistRequest,
    *,
    frozen: Iterable[str] = (),
    catalog_by_id: Mapping[str, PlanActivity] | None = None,
) -> Candidates:
    """Filter the catalog and build the arrays of the playlist problem (see module doc)."""
    by_id = dict(catalog_by_id) if catalog_by_id is not None else catalog_index(catalog)
    frozen = tuple(frozen)
    _check_references(graph, by_id, request, frozen)
    mastery = np.array([learner.mastery_of(k) for k in graph.ids], dtype=np.float64)
    mastered = mastery >= request.mastered_threshold
    status, p_eff = skill_status(graph, learner, request, mastery, mastered)
    forced = _forced_kinds(request, frozen)
    excluded: dict[str, tuple[str, str]] = {}
    plain, chained_list = screen_activities(
        graph, by_id, learner, request, forced, status, mastered, excluded)
    chained_ok = resolve_chains(graph, plain, chained_list, status, mastered, excluded)
    acts = tuple(plain) + tuple(a for a, _ in chained_ok)
    index = {a.id: n for n, a in enumerate(acts)}
    chained, chain_rows, chain_skills = _chain_arrays(acts, index, chained_ok)
    skills, basis, p, w, T = _skill_arrays(graph, learner, request, acts, status, p_eff)
    protect = None
    if request.weights.protect:
        protect = _add_protection(learner, request, skills, basis, p, w, T)
    info = None
    if request.weights.diagnostic:
        info = _add_check_value(graph, learner, request, acts, skills, p, w, T)
    pref, tags = _preference_arrays(learner, acts)
    formats, members = _format_members(acts)
    forced_idx = {index[aid]: kind for aid, kind in forced.items() if aid in index}
    return Candidates(
        learner=learner, graph=graph, request=request, activities=acts, index=index,
        skills=skills, skill_index={k: n for n, k in enumerate(skills)}, basis=basis,
        p=p, w=w, T=T, duration=np.array([a.duration_min for a in acts], dtype=np.float64),
        modality=np.array([MODALITIES.index(a.modality) for a in acts], dtype=np.int64),
        pref=pref, pref_tags=tags, chained=chained, chain_rows=chain_rows,
        chain_skills=chain_skills, forced=forced_idx, excluded=excluded, formats=formats,
        format_members=members, catalog=by_id, info=info, protect=protect,
    )


def _check_references(
    graph: SkillGraph, by_id: Mapping[str, PlanActivity], request: PlaylistRequest,
    frozen: tuple[str, ...],
) -> None:
    """Raise ``PlanInputError`` for a pinned/locked/frozen activity or must_cover skill
    that is unknown."""
    for aid in (*request.pins, *request.locks, *frozen):
        if aid not in by_id:
            raise PlanInputError(
                f"activity {aid!r} (pinned, locked or frozen) is not in the catalog; "
                "pass its PlanActivity or drop the request"
            )
    for k in request.must_cover:
        if k not in graph:
            raise PlanInputError(f"must_cover skill {k!r} is not in the skill graph")


def _forced_kinds(request: PlaylistRequest, frozen: tuple[str, ...]) -> dict[str, str]:
    """Activity id -> "pin"/"lock"/"frozen" (a later kind overrides an earlier one)."""
    forced: dict[str, str] = {}
    for aid in request.pins:
        forced[aid] = "pin"
    for aid in request.locks:
        forced[aid] = "lock"
    for aid in frozen:
        forced[aid] = "frozen"
    return forced


def _chain_arrays(
    acts: Sequence[PlanActivity], index: Mapping[str, int],
    chained_ok: Sequence[tuple[PlanActivity, list[tuple[str, list[str]]]]],
) -> tuple[np.ndarray, tuple[tuple[int, tuple[int, ...]], ...], tuple[tuple[int, str], ...]]:
    """``chained`` (A,) bool, ``chain_rows`` and ``chain_skills`` of ``Candidates``."""
    chain_rows = []
    chain_skills = []
    chained = np.zeros(len(acts), dtype=bool)
    for a, rows in chained_ok:
        ai = index[a.id]
        chained[ai] = True
        for sk, t in rows:
            chain_rows.append((ai, tuple(index[b] for b in t)))
            chain_skills.append((ai, sk))
    return chained, tuple(chain_rows), tuple(chain_skills)


def _skill_arrays(
    graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
    acts: Sequence[PlanActivity], status: Mapping[int, str], p_eff: Mapping[int, float],
) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Gain-bearing skills the candidates touch (K): ids, basis, ``p`` (K,), ``w`` (K,)
    and the learn probabilities ``T`` (A, K), capped at 0.999."""
    ids = graph.ids
    touched: list[int] = sorted({graph.index[k] for a in acts for k, _ in a.skills
                                 if graph.index[k] in status})
    skills = tuple(ids[i] for i in touched)
    skill_index = {k: n for n, k in enumerate(skills)}
    W = request.weights
    basis = tuple(status[i] for i in touched)
    p = np.array([p_eff[i] for i in touched], dtype=np.float64)
    w = np.empty(len(touched))
    for n, i in enumerate(touched):
        g = float(learner.goals.get(ids[i], W.default_goal_weight))
        if basis[n] == "review":
            g *= W.review
        elif basis[n] == "prerequisite_gap":
            g *= W.prerequisite_gap
        w[n] = g
    T = np.zeros((len(acts), len(skills)))
    for ai, a in enumerate(acts):
        for k, _w in a.skills:
            ki = skill_index.get(k)
            if ki is not None:
                T[ai, ki] = min(a.learn_probability(k), 0.999)
    w = w + W.unlock * unlock_values(graph, learner, request, touched)
    _discount_chained(graph, learner, request, touched, basis, skill_index, T)
    return skills, basis, p, w, T


def _add_protection(learner: PlanLearner, request: PlaylistRequest, skills: Sequence[str],
                    basis: Sequence[str], p: np.ndarray, w: np.ndarray,
                    T: np.ndarray) -> np.ndarray | None:
    """Add ``protect`` x V_k / ((1 − p_k) t_k) to the weight of every review skill mastered
    at its last practice (in place; :mod:`planner.protection`, t_k the best learn probability
    of a candidate on k); returns what was added, (K,), or None."""
    from planner.protection import protection_values

    W, theta = request.weights, request.mastered_threshold
    rows = [n for n, k in enumerate(skills) if basis[n] == "review"
            and learner.mastery_of(k) >= theta and k in learner.days_since_practice]
    if not rows or not T.shape[0]:
        return None
    ks = [skills[n] for n in rows]
    value = protection_values(
        np.array([learner.mastery_of(k) for k in ks]),
        np.array([float(learner.days_since_practice[k]) for k in ks]),
        np.array([float(learner.half_life_days.get(k, request.review_half_life_days))
                  for k in ks]),
        np.array([float(learner.goals.get(k, W.default_goal_weight)) for k in ks]),
        floor=request.review_floor, horizon_days=W.protect_horizon_days,
        consolidation=W.protect_consolidation)
    scale = (1.0 - p[rows]) * T[:, rows].max(axis=0)
    add = np.zeros_like(w)
    ok = scale > 1e-9
    add[np.array(rows)[ok]] = W.protect * value[ok] / scale[ok]
    w += add
    return add if add.any() else None


def _add_check_value(graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
                     acts: Sequence[PlanActivity], skills: Sequence[str], p: np.ndarray,
                     w: np.ndarray, T: np.ndarray) -> np.ndarray | None:
    """Add ``diagnostic`` x VoI of a check (:mod:`planner.diagnostic`) to the learn
    probability of every assessment-kind candidate on a skill below the threshold (in place,
    as VoI / (w_k (1 - p_k)), capped at 0.999); returns what was added, (A, K), or None."""
    from planner.diagnostic import CHECK_KIND, check_values

    checks = [ai for ai, a in enumerate(acts) if a.kind == CHECK_KIND]
    if not checks or not len(skills):
        return None
    W, theta = request.weights, request.mastered_threshold
    succ: dict[str, list[tuple[float, float]]] = {}
    for n, k in enumerate(skills):
        if p[n] < theta:
            beliefs = ((j, learner.mastery_of(j)) for j in graph.successors_of(k))
            succ[k] = [(float(learner.goals.get(j, W.default_goal_weight)), pj)
                       for j, pj in beliefs if pj < theta]
    voi = W.diagnostic * check_values(skills, p, w, T.max(axis=0), succ, W.chain_residual)
    scale = w * (1.0 - p)
    info = np.zeros_like(T)
    for n in np.flatnonzero((voi > 0) & (scale > 0)):
        for ai in checks:
            if T[ai, n] > 0:
                info[ai, n] = min(T[ai, n] + voi[n] / scale[n], 0.999) - T[ai, n]
    T += info
    return info if info.any() else None


def unlock_values(graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
                  touched: Sequence[int]) -> np.ndarray:
    """(K,) goal weights of what mastering each skill helps open up, in goal-weighted skills:
    at ``lookahead_depth`` 1 (the default) the sum over its direct successors not yet
    mastered; deeper, :func:`planner.lookahead.horizon_unlock_values`."""
    from planner.lookahead import horizon_unlock_values

    W = request.weights
    return horizon_unlock_values(graph, learner, request, touched, depth=W.lookahead_depth,
                                 discount=W.lookahead_discount)


def _discount_chained(graph: SkillGraph, learner: PlanLearner, request: PlaylistRequest,
                      touched: Sequence[int], basis: Sequence[str],
                      skill_index: Mapping[str, int], T: np.ndarray) -> None:
    """Multiply the learn probabilities of chained skills (in place) by the chance their
    unmet prerequisites are known after this playlist (see ``PlanWeights.chain_residual``)."""
    r = request.weights.chain_residual
    if r >= 1.0:
        return
    theta = request.mastered_threshold
    for n, i in enumerate(touched):
        if basis[n] != "chained":
            continue
        factor = 1.0
        for j in graph._prereqs[i]:
            pj = learner.mastery_of(graph.ids[j])
            if pj >= theta:
                continue
            kj = skill_index.get(graph.ids[j])
            teach = float(T[:, kj].max()) if kj is not None and T.shape[0] else 0.0
            q = pj + (1.0 - pj) * teach
            factor *= q + (1.0 - q) * r
        T[:, n] *= factor


def _preference_arrays(
    learner: PlanLearner, acts: Sequence[PlanActivity],
) -> tuple[np.ndarray, tuple[tuple[str, ...], ...]]:
    """Preference match ``pref`` (A,) in [0, 1] and the matched tags of each candidate."""
    pref = np.zeros(len(acts))
    tags: list[tuple[str, ...]] = []
    parts = sum(bool(x) for x in (learner.preferred_formats, learner.interests,
                                  learner.preferred_groupings))
    for ai, a in enumerate(acts):
        t: list[str] = []
        fm = [f for f in a.format_keys if f in learner.preferred_formats]
        if fm:
            t.append(f"format:{fm[0]}")
        im = [x for x in a.interests if x in learner.interests]
        if im:
            t.append(f"interest:{im[0]}")
        if a.grouping in learner.preferred_groupings:
            t.append(f"grouping:{a.grouping}")
        tags.append(tuple(t))
        pref[ai] = len(t) / parts if parts else 0.0
    return pref, tuple(tags)


def _format_members(
    acts: Sequence[PlanActivity],
) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """Sorted format keys of the candidates and the candidate indices of each format."""
    formats = tuple(sorted({f for a in acts for f in a.format_keys}))
    fidx = {f: n for n, f in enumerate(formats)}
    members: list[list[int]] = [[] for _ in formats]
    for ai, a in enumerate(acts):
        for f in a.format_keys:
            members[fidx[f]].append(ai)
    return formats, tuple(tuple(m) for m in members)


def gain_value(c: Candidates, x: np.ndarray) -> np.ndarray:
    """Exact expected gain per skill (K,) of selection ``x`` (A,) in {0, 1}."""
    if c.T.shape[1] == 0:
        return np.zeros(0)
    sel = x > 0.5
    keep = np.prod(1.0 - c.T[sel], axis=0) if sel.any() else np.ones(c.T.shape[1])
    return (1.0 - c.p) * (1.0 - keep)


def objective_value(c: Candidates, x: np.ndarray, *, churn: Mapping[int, float] | None = None,
                    churn_penalty: float = 0.0) -> float:
    """Exact (not linearised) objective of selection ``x``: weighted gain + preference +
    variety − churn penalty (``churn`` = previous selection as index -> 1)."""
    W = c.request.weights
    sel = x > 0.5
    val = float(c.w @ gain_value(c, x)) + W.preference * float(c.pref[sel].sum())
    if W.variety and c.formats:
        used = sum(1 for m in c.format_members if any(sel[i] for i in m))
        val += W.variety * used
    if churn is not None and churn_penalty:
        changes = sum(1 for i in range(c.n) if bool(sel[i]) != (i in churn))
        val -= churn_penalty * changes
    return val


