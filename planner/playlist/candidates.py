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


@dataclass(frozen=True, eq=False)
class Candidates:
    """Arrays of one learner's planning problem (A candidates, K gain-bearing skills).

    ``T``: (A, K) learn probabilities, ``p``: (K,) mastery used for the gain, ``w``: (K,)
    skill weights, ``duration``: (A,) minutes, ``modality``: (A,) index into ``MODALITIES``,
    ``pref``: (A,) preference match in [0, 1], ``chained``: (A,) bool, ``chain_rows``: list of
    (a, (b, ...)) meaning x_a <= sum x_b, ``forced``: activity index -> "pin"/"lock"/"frozen".
    ``excluded``: activity id -> (constraint, plain explanation) for every non-candidate.
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


def effective_mastery(learner: PlanLearner, skill: str, request: PlaylistRequest) -> float:
    """Mastery after forgetting since the last practice: decays half-way toward
    ``request.review_floor`` every ``review_half_life_days`` (only above the floor)."""
    p = learner.mastery_of(skill)
    days = learner.days_since_practice.get(skill)
    if days is None or days <= 0 or p <= request.review_floor:
        return p
    factor = 0.5 ** (float(days) / request.review_half_life_days)
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
    theta = request.mastered_threshold
    frozen = tuple(frozen)
    for aid in (*request.pins, *request.locks, *frozen):
        if aid not in by_id:
            raise PlanInputError(
                f"activity {aid!r} (pinned, locked or frozen) is not in the catalog; "
                "pass its PlanActivity or drop the request"
            )
    for k in request.must_cover:
        if k not in graph:
            raise PlanInputError(f"must_cover skill {k!r} is not in the skill graph")
    ids = graph.ids
    mastery = np.array([learner.mastery_of(k) for k in ids], dtype=np.float64)
    mastered = mastery >= theta
    prereqs = graph._prereqs

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
    for k in learner.days_since_practice:
        i = graph.index.get(k)
        if i is not None and mastered[i]:
            pe = effective_mastery(learner, k, request)
            if pe < theta:
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

    forced: dict[str, str] = {}
    for aid in request.pins:
        forced[aid] = "pin"
    for aid in request.locks:
        forced[aid] = "lock"
    for aid in frozen:
        forced[aid] = "frozen"

    excluded: dict[str, tuple[str, str]] = {}
    plain: list[PlanActivity] = []
    chained_list: list[tuple[PlanActivity, list[int]]] = []
    for a in by_id.values():
        kind = forced.get(a.id)
        if kind != "frozen":
            why = hard_filter(a, learner, request)
            if why is not None:
                excluded[a.id] = why
                continue
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
        if kind is None:
            if blocked is not None:
                unmet = [ids[j] for j in prereqs[graph.index[blocked]] if not mastered[j]]
                excluded[a.id] = (
                    f"prerequisite:{unmet[0] if unmet else blocked}",
                    f"not ready for '{graph.title_of(blocked)}': prerequisite "
                    f"{', '.join(repr(graph.title_of(u)) for u in unmet[:3])} not mastered yet",
                )
                continue
            if gain_skills == 0:
                excluded[a.id] = ("mastered", f"'{a.title}' only works on skills already mastered")
                continue
        if chain_needs and kind is None:
            chained_list.append((a, chain_needs))
        else:
            plain.append(a)

    # chained activities: each unmet prerequisite must be taught by a plain candidate
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

    acts = tuple(plain) + tuple(a for a, _ in chained_ok)
    index = {a.id: n for n, a in enumerate(acts)}
    chain_rows = []
    chain_skills = []
    chained = np.zeros(len(acts), dtype=bool)
    for a, rows in chained_ok:
        ai = index[a.id]
        chained[ai] = True
        for sk, t in rows:
            chain_rows.append((ai, tuple(index[b] for b in t)))
            chain_skills.append((ai, sk))

    # gain-bearing skills actually touched
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
    A, K = len(acts), len(skills)
    T = np.zeros((A, K))
    for ai, a in enumerate(acts):
        for k, _w in a.skills:
            ki = skill_index.get(k)
            if ki is not None:
                T[ai, ki] = min(a.learn_probability(k), 0.999)
    duration = np.array([a.duration_min for a in acts], dtype=np.float64)
    modality = np.array([MODALITIES.index(a.modality) for a in acts], dtype=np.int64)
    pref = np.zeros(A)
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
    formats = tuple(sorted({f for a in acts for f in a.format_keys}))
    fidx = {f: n for n, f in enumerate(formats)}
    members: list[list[int]] = [[] for _ in formats]
    for ai, a in enumerate(acts):
        for f in a.format_keys:
            members[fidx[f]].append(ai)
    forced_idx = {index[aid]: kind for aid, kind in forced.items() if aid in index}
    return Candidates(
        learner=learner, graph=graph, request=request, activities=acts, index=index,
        skills=skills, skill_index=skill_index, basis=basis, p=p, w=w, T=T,
        duration=duration, modality=modality, pref=pref, pref_tags=tuple(tags),
        chained=chained, chain_rows=tuple(chain_rows), chain_skills=tuple(chain_skills),
        forced=forced_idx, excluded=excluded, formats=formats,
        format_members=tuple(tuple(m) for m in members), catalog=by_id,
    )


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


