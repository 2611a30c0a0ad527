"""Per-learner content for class plans: readiness, gains, group activities and playlists.

Readiness follows the playlist planner: skill k is *ready* for a learner when
P(L_k) < θ and every direct prerequisite has P >= θ. Gains are expected mastery gains
``(1 - p) * T`` (T = learn probability of the activity or mini-lesson on that skill).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.model import PlanActivity, PlanLearner, PlannedItem, PlaylistRequest, SkillGraph
from planner.reasons import build_reason
from planner.request import PlanWeights

SCHOOL_PLACES = frozenset({"school", "classroom", "lab"})


def mastery_matrix(graph: SkillGraph, learners: Sequence[PlanLearner]) -> np.ndarray:
    """(S, n_skills) P(L) of every learner on every skill (missing = 0)."""
    return np.array([[lr.mastery_of(k) for k in graph.ids] for lr in learners], dtype=float).reshape(
        len(learners), len(graph))


def ready_matrix(graph: SkillGraph, mastery: np.ndarray, theta: float) -> np.ndarray:
    """(S, n_skills) bool: skill not mastered and every direct prerequisite mastered."""
    mastered = mastery >= theta
    ready = ~mastered
    for i in range(len(graph)):
        for j in graph._prereqs[i]:
            ready[:, i] &= mastered[:, j]
    return ready


def goal_weights(graph: SkillGraph, learners: Sequence[PlanLearner], default: float = 1.0) -> np.ndarray:
    """(S, n_skills) goal weight of every learner on every skill (``default`` when unlisted)."""
    return np.array([[float(lr.goals.get(k, default)) for k in graph.ids] for lr in learners],
                    dtype=float).reshape(len(learners), len(graph))


def teacher_topics(graph: SkillGraph, learners: Sequence[PlanLearner], theta: float, p_teach: float,
                   n_topics: int, extra: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Candidate mini-lesson topics and the benefit matrix b (S, T).

    b[s, t] = goal weight * (1 - P(L)) * p_teach when topic t is ready for learner s, else 0.
    Topics: the ``n_topics`` skills with the largest total benefit, plus ``extra`` (locked or
    previously taught topics) so teacher requests can always be expressed."""
    m = mastery_matrix(graph, learners)
    ready = ready_matrix(graph, m, theta)
    ben = np.where(ready, (1.0 - m) * p_teach, 0.0) * goal_weights(graph, learners)
    total = ben.sum(axis=0)
    order = [int(i) for i in np.argsort(-total, kind="stable") if total[i] > 0][:n_topics]
    for k in extra:
        i = graph.index[k]
        if i not in order:
            order.append(i)
    return [graph.ids[i] for i in order], ben[:, order]


def learner_gain(graph: SkillGraph, learner: PlanLearner, activity: PlanActivity,
                 theta: float) -> tuple[float, str | None, float, float]:
    """(weighted gain, target skill, mastery now, mastery after) of one activity for a learner;
    only ready skills count (gain 0 and target None when none is ready)."""
    best: tuple[float, str | None, float, float] = (0.0, None, 0.0, 0.0)
    total = 0.0
    for k, _w in activity.skills:
        if k not in graph:
            continue
        p = learner.mastery_of(k)
        if p >= theta or any(learner.mastery_of(j) < theta for j in graph.prerequisites_of(k)):
            continue
        g = (1.0 - p) * activity.learn_probability(k) * float(learner.goals.get(k, 1.0))
        total += g
        if g > best[0]:
            best = (g, k, p, p + (1.0 - p) * activity.learn_probability(k))
    return total, best[1], best[2], best[3]


def place_ok(activity: PlanActivity, place: str) -> bool:
    """Can ``activity`` happen at ``place``? Same place, any in-school place for school
    activities (lab-only activities only in the lab), and online work anywhere but lab-only."""
    if activity.place == place:
        return True
    if activity.place == "lab":
        return False
    if activity.modality == "online":
        return True
    return activity.place in SCHOOL_PLACES and place in SCHOOL_PLACES


def fits_learner(activity: PlanActivity, learner: PlanLearner) -> bool:
    """Hard filters that do not depend on the session: accommodations, device, language."""
    if learner.accommodations - activity.accommodations:
        return False
    if activity.device is not None and learner.devices and activity.device not in learner.devices:
        return False
    return not (learner.languages and activity.language not in learner.languages)


def group_activity(graph: SkillGraph, catalog: Sequence[PlanActivity], members: Sequence[PlanLearner],
                   kind: str, minutes: float, place: str, theta: float, *, topic: str | None = None,
                   used: frozenset[str] = frozenset()) -> PlanActivity | None:
    """The shared activity of a group: modality ``kind``, at most ``minutes`` long, doable at
    ``place`` by every member (accommodations, devices), ``group_min`` <= team size, and with
    the largest total gain over the members (on ``topic`` when given). None when nothing fits."""
    best, best_val = None, -1.0
    n = len(members)
    for a in catalog:
        if a.modality != kind or a.duration_min > minutes + 1e-9 or a.id in used:
            continue
        if not place_ok(a, place) or n < a.group_min:
            continue
        if topic is not None and topic not in a.skill_ids:
            continue
        if not all(fits_learner(a, m) for m in members):
            continue
        val = sum(learner_gain(graph, m, a, theta)[0] for m in members)
        if val > best_val + 1e-12:
            best, best_val = a, val
    return best


def mini_lesson(graph: SkillGraph, catalog: Sequence[PlanActivity], members: Sequence[PlanLearner],
                topic: str, minutes: float, place: str, p_teach: float,
                theta: float) -> PlanActivity:
    """The teacher's mini-lesson on ``topic``: a teacher-led catalog activity on it that fits
    the slot and every member, else a plain ``mini-lesson:<topic>`` activity of the slot length."""
    found = group_activity(graph, catalog, members, "teacher_led", minutes, place, theta, topic=topic)
    if found is not None:
        return found
    return PlanActivity(
        id=f"mini-lesson:{topic}", title=f"Mini-lesson: {graph.title_of(topic)}",
        skills=((topic, 1.0),), kind="small-group instruction", modality="teacher_led",
        place=place, duration_min=float(minutes), group_min=1, group_max=max(1, len(members)),
        formats=("discussion",), accommodations=frozenset().union(*(m.accommodations for m in members))
        if members else frozenset(), p_learn=p_teach)


def make_item(graph: SkillGraph, learner: PlanLearner, activity: PlanActivity, position: int,
              theta: float, constraints: tuple[str, ...], *, topic: str | None = None,
              p_learn: float | None = None) -> PlannedItem:
    """A ``PlannedItem`` with its reason for an activity the class plan gave this learner."""
    gain, target, now, after = learner_gain(graph, learner, activity, theta)
    if topic is not None:
        target = topic
        now = learner.mastery_of(topic)
        pl = activity.learn_probability(topic) if p_learn is None else p_learn
        unmet = [j for j in graph.prerequisites_of(topic) if learner.mastery_of(j) < theta]
        if now >= theta or unmet:
            return _joiner_item(graph, learner, activity, position, topic, now, unmet, constraints,
                                theta)
        after = now + (1.0 - now) * pl
    if target is None:
        target = activity.skills[0][0] if activity.skills else ""
        now = after = learner.mastery_of(target) if target in graph else 0.0
    prereqs = tuple((j, learner.mastery_of(j)) for j in graph.prerequisites_of(target)) \
        if target in graph else ()
    basis = "ready" if now < theta else "review"
    tags = tuple([f"interest:{i}" for i in sorted(learner.interests & set(activity.interests))]
                 + [f"format:{f}" for f in activity.formats if f in learner.preferred_formats]
                 + ([f"grouping:{activity.grouping}"]
                    if activity.grouping in learner.preferred_groupings else []))
    goal = float(learner.goals.get(target, 1.0))
    reason = build_reason(
        graph=graph, activity=activity, target_skill=target, basis=basis, forced=None,
        mastery_now=now, mastery_after=after, prerequisites=prereqs, taught_earlier=(),
        taught_earlier_titles=(), goal_weight=goal, is_goal=goal > 1.0, preferences=tags,
        constraints=constraints, mastered_threshold=theta)
    return PlannedItem(activity.id, position, target, float(max(0.0, after - now)),
                       float(activity.duration_min), activity.modality, reason)


def _joiner_item(graph: SkillGraph, learner: PlanLearner, activity: PlanActivity, position: int,
                 topic: str, now: float, unmet: Sequence[str],
                 constraints: tuple[str, ...], theta: float) -> PlannedItem:
    """Item of a learner who sits in a group whose topic is not in their ready set."""
    from planner.model import Reason

    title = graph.title_of(topic)
    if now >= theta:
        why = f"you have already mastered '{title}' ({now:.2f}), so this is review"
    else:
        pre = ", ".join(f"'{graph.title_of(j)}' ({learner.mastery_of(j):.2f})" for j in unmet)
        why = (f"'{title}' is not yet in your ready set (prerequisite {pre} still to master), "
               "so expect little gain")
    sentence = (f"'{activity.title}' ({activity.duration_min:g} min): you join this group so that "
                f"every learner has a seat in one; {why}")
    if constraints:
        sentence += "; " + ", ".join(constraints)
    reason = Reason(target_skill=topic, target_title=title, basis="review", mastery_now=now,
                    mastery_after=now,
                    prerequisites=tuple((j, learner.mastery_of(j)) for j in graph.prerequisites_of(topic)),
                    taught_earlier=(), goal_weight=float(learner.goals.get(topic, 1.0)),
                    is_goal=False, preferences=(), constraints=tuple(constraints),
                    sentence=sentence + ".")
    return PlannedItem(activity.id, position, topic, 0.0, float(activity.duration_min),
                       activity.modality, reason)


def slot_playlist(graph: SkillGraph, catalog: Sequence[PlanActivity], learner: PlanLearner,
                  slots: Sequence[tuple[str, float, str]], theta: float, *,
                  removes: frozenset[str] = frozenset(), solver: str = "milp",
                  time_limit_s: float = 0.05, protect: float = 0.0) -> list[PlannedItem | None]:
    """Fill ``slots`` (kind, minutes, place) with one activity each for one learner.

    Runs the playlist planner once on the catalog restricted to activities whose modality is a
    slot kind, which fit that slot's minutes and place; modality caps = slots per kind, budget
    = the slots' total minutes. Items are handed to slots of their kind in playlist order
    (shortest fitting slot first). ``solver``: "milp" (planner.playlist) or "greedy";
    ``protect``: the forgetting-protection weight (``ModelSettings.protect``)."""
    from planner.playlist.plan import greedy_playlist, plan_playlist

    if not slots:
        return []
    by_kind: dict[str, list[int]] = {}
    for i, (kind, _m, _p) in enumerate(slots):
        by_kind.setdefault(kind, []).append(i)
    sub = []
    for a in catalog:
        idx = by_kind.get(a.modality)
        if not idx or a.id in removes:
            continue
        if learner.accommodations - a.accommodations:  # cheap pre-filter; the planner re-checks
            continue
        if any(a.duration_min <= slots[i][1] + 1e-9 and place_ok(a, slots[i][2]) for i in idx):
            sub.append(a)
    out: list[PlannedItem | None] = [None] * len(slots)
    if not sub:
        return out
    bounds = {k: (0, len(v)) for k, v in by_kind.items()}
    from planner.model import MODALITIES
    for m in MODALITIES:
        bounds.setdefault(m, (0, 0))
    req = PlaylistRequest(budget_min=float(sum(s[1] for s in slots)), modality_bounds=bounds,
                          length_min=0, length_max=len(slots), format_cap=None,
                          skill_cap=2, mastered_threshold=theta, time_limit_s=time_limit_s,
                          weights=PlanWeights(protect=protect))
    learner_free = learner
    if learner.places:  # the station decides the place; keep the learner's other filters
        from dataclasses import replace
        learner_free = replace(learner, places=frozenset())
    fn = plan_playlist if solver == "milp" else greedy_playlist
    pl = fn(graph, sub, learner_free, req)
    free = {k: sorted(v, key=lambda i: slots[i][1]) for k, v in by_kind.items()}
    for it in pl.items:
        for i in free.get(it.modality, []):
            if it.duration_min <= slots[i][1] + 1e-9:
                out[i] = it
                free[it.modality].remove(i)
                break
    return out


def home_playlist(graph: SkillGraph, catalog: Sequence[PlanActivity], learner: PlanLearner,
                  budget: float, theta: float, *, modalities: Sequence[str] = ("online",),
                  place: str = "home", max_items: int = 8, time_limit_s: float = 0.05,
                  protect: float = 0.0) -> tuple[list[PlannedItem], list]:
    """A learner's own playlist of ``modalities`` doable at ``place`` within ``budget`` minutes
    (``protect``: the forgetting-protection weight, ``ModelSettings.protect``).
    Returns (items in order, playlist conflicts)."""
    from planner.model import MODALITIES
    from planner.playlist.plan import plan_playlist

    sub = [a for a in catalog if a.modality in modalities and place_ok(a, place)]
    if not sub or budget <= 0:
        return [], []
    bounds = {m: ((0, max_items) if m in modalities else (0, 0)) for m in MODALITIES}
    from dataclasses import replace
    req = PlaylistRequest(budget_min=float(budget), modality_bounds=bounds, length_min=0,
                          length_max=max_items, mastered_threshold=theta, time_limit_s=time_limit_s,
                          weights=PlanWeights(protect=protect))
    pl = plan_playlist(graph, sub, replace(learner, places=frozenset()), req)
    return list(pl.items), list(pl.conflicts)


def _value(graph: SkillGraph, learner: PlanLearner, acts: Sequence[PlanActivity], theta: float,
           pref_weight: float) -> float:
    """Exact objective of a set of activities for one learner: Σ_k w_k (1-p_k)(1 - Π(1-T_ak))
    over ready skills, plus ``pref_weight`` x preference matches."""
    keep: dict[str, float] = {}
    for a in acts:
        for k, _w in a.skills:
            keep[k] = keep.get(k, 1.0) * (1.0 - a.learn_probability(k))
    val = 0.0
    for k, miss in keep.items():
        if k not in graph:
            continue
        p = learner.mastery_of(k)
        if p >= theta or any(learner.mastery_of(j) < theta for j in graph.prerequisites_of(k)):
            continue
        val += float(learner.goals.get(k, 1.0)) * (1.0 - p) * (1.0 - miss)
    return val + pref_weight * sum(_pref(learner, a) for a in acts)


def _pref(learner: PlanLearner, a: PlanActivity) -> float:
    parts = [bool(set(a.format_keys) & learner.preferred_formats),
             bool(set(a.interests) & learner.interests),
             a.grouping in learner.preferred_groupings]
    return sum(parts) / 3.0


def _ready_activity(graph: SkillGraph, learner: PlanLearner, a: PlanActivity, theta: float) -> bool:
    """Every non-mastered skill of ``a`` is ready and at least one is (the ZPD rule)."""
    any_ready = False
    for k, _w in a.skills:
        if k not in graph:
            return False
        if learner.mastery_of(k) >= theta:
            continue
        if any(learner.mastery_of(j) < theta for j in graph.prerequisites_of(k)):
            return False
        any_ready = True
    return any_ready


def station_choice(graph: SkillGraph, catalog: Sequence[PlanActivity], learner: PlanLearner,
                   slots: Sequence[tuple[str, float, str]], theta: float, *,
                   removes: frozenset[str] = frozenset(), top_k: int = 6,
                   pref_weight: float = 0.04) -> list[PlanActivity | None]:
    """Exact per-station choice for one learner: one activity per slot (kind, minutes, place)
    maximising the playlist objective (diminishing returns on shared skills + preference).

    Candidates per slot: the activity's modality is the slot kind, it fits the minutes and the
    place, the learner can do it (accommodations, device, language) and it is in the learner's
    ready set. The ``top_k`` best per slot by standalone value are enumerated jointly; with
    ``top_k`` > (other slots x skills per activity) this is exact, since a skill-disjoint
    top-k item always exists to replace a pruned one."""
    cands: list[list[tuple[float, PlanActivity]]] = []
    for kind, minutes, place in slots:
        row = []
        for a in catalog:
            if (a.modality != kind or a.duration_min > minutes + 1e-9 or a.id in removes
                    or not place_ok(a, place) or not fits_learner(a, learner)
                    or not _ready_activity(graph, learner, a, theta)):
                continue
            row.append((_value(graph, learner, [a], theta, pref_weight), a))
        row.sort(key=lambda va: (-va[0], va[1].id))
        cands.append(row[:top_k])
    best: list[PlanActivity | None] = [None] * len(slots)
    best_val = -1.0

    def walk(i: int, chosen: list[PlanActivity | None]) -> None:
        nonlocal best, best_val
        if i == len(slots):
            acts = [a for a in chosen if a is not None]
            v = _value(graph, learner, acts, theta, pref_weight) if acts else 0.0
            if v > best_val + 1e-12:
                best, best_val = list(chosen), v
            return
        used = {a.id for a in chosen if a is not None}
        options = [a for _, a in cands[i] if a.id not in used] or [None]
        for a in options:
            walk(i + 1, [*chosen, a])

    walk(0, [])
    return best


def group_teams(graph: SkillGraph, catalog: Sequence[PlanActivity], members: Sequence[PlanLearner],
                kind: str, minutes: float, place: str, theta: float
                ) -> list[tuple[PlanActivity | None, list[int]]]:
    """Split a station group into teams that can each share one activity.

    Greedy: the activity (modality ``kind``, fits ``minutes`` and ``place``) with the largest
    total gain over the remaining members who can do it (accommodations, devices, language),
    at least ``group_min`` of them, takes those members (largest teams first on ties); repeat.
    Members nothing fits form a last team with ``None``. Returns (activity, member indices)."""
    pool = [a for a in catalog if a.modality == kind and a.duration_min <= minutes + 1e-9
            and place_ok(a, place)]
    left = list(range(len(members)))
    out: list[tuple[PlanActivity | None, list[int]]] = []
    gains: dict[tuple[str, int], float] = {}
    while left:
        best, best_key, best_team = None, None, []
        for a in pool:
            team = [i for i in left if fits_learner(a, members[i])]
            if len(team) < a.group_min or not team:
                continue
            val = 0.0
            for i in team:
                key = (a.id, i)
                if key not in gains:
                    gains[key] = learner_gain(graph, members[i], a, theta)[0]
                val += gains[key]
            k = (len(team) == len(left), val, len(team))
            if best_key is None or k > best_key:
                best, best_key, best_team = a, k, team
        if best is None:
            out.append((None, left))
            break
        out.append((best, best_team))
        left = [i for i in left if i not in best_team]
        pool = [a for a in pool if a.id != best.id]
    return out
