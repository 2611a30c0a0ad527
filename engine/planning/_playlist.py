"""One learner's playlist: PlanLearner, PlaylistRequest, planner output → review items,
and "why not X?", under the tenant's :class:`~engine.domain.policy.PlanningPolicy`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from engine.domain.policy import DEFAULT_POLICY, PlanningPolicy
from engine.planning._input import PlanningInput, _value
from engine.planning._learned import (
    learn_when_shown,
    learned_switches,
    plan_weights,
    protect_when_shown,
)
from engine.review import PlanItem

DEFAULT_BUDGET_MIN = 60.0


def uses_own_devices(cls) -> bool:
    """True when part of the class's session happens away from school (flipped homework,
    enriched-virtual remote days, an a-la-carte course taken outside school), so the learner's
    own devices limit what can be planned; at school the school's devices are used."""
    if cls is None:
        return False
    tag = getattr(type(cls.model), "tag", "")
    if tag in ("flipped", "enriched_virtual"):
        return True
    return tag == "a_la_carte" and not getattr(cls.model, "at_school", True)


def plan_learner(learner, mastery_states: Mapping[str, object], graph_ids: Iterable[str] | None = None,
                 now: datetime | None = None, *, own_devices: bool = False,
                 policy: PlanningPolicy = DEFAULT_POLICY):
    """Learner + ``{skill: SkillMastery}`` → PlanLearner.

    Goals: profile goal skills weigh ``policy.goal_weight`` (2.0), growth areas
    ``policy.growth_weight`` (1.5), others 1.0. Struggling: at least
    ``policy.struggling_min_observations`` (3) observations and mastery below
    ``policy.struggling_mastery`` (0.4). Days since practice from each state's ``updated_at``.
    ``own_devices``: restrict device-bound activities to the learner's own devices (work away
    from school, see :func:`uses_own_devices`); otherwise no device restriction.
    """
    from planner.model import PlanLearner

    now = now or datetime.now(UTC)
    known = set(graph_ids) if graph_ids is not None else None
    prof = learner.profile.values()
    mastery, days, struggling = {}, {}, set()
    for sid, st in mastery_states.items():
        if known is not None and sid not in known:
            continue
        mastery[sid] = float(st.p_mastered)
        days[sid] = max(0.0, (now - st.updated_at).total_seconds() / 86400.0)
        if (st.n_observations >= policy.struggling_min_observations
                and st.p_mastered < policy.struggling_mastery):
            struggling.add(sid)
    goals: dict[str, float] = {}
    for sid in prof["growth_areas"]:
        goals[sid] = policy.growth_weight
    for sid in prof["goal_skills"]:
        goals[sid] = policy.goal_weight
    if known is not None:
        goals = {k: v for k, v in goals.items() if k in known}
    avail = prof["availability"]
    return PlanLearner(
        id=learner.id,
        mastery=mastery,
        goals=goals,
        interests=frozenset(prof["interests"]),
        preferred_formats=frozenset(_value(f) for f in prof["preferred_formats"]),
        preferred_groupings=frozenset(_value(g) for g in prof["preferred_groupings"]),
        accommodations=frozenset(_value(a) for a in prof["accommodations"]),
        devices=frozenset(avail.devices) if own_devices else frozenset(),
        places=frozenset(_value(p) for p in avail.places),
        languages=frozenset({learner.language}),
        days_since_practice=days,
        struggling=frozenset(struggling),
    )


def class_budget(cls) -> tuple[float, dict[str, tuple[int, int]], frozenset[str] | None]:
    """Minutes, modality bounds and places of one session of the class's blended model."""
    if cls is None:
        return DEFAULT_BUDGET_MIN, {}, None
    m = cls.model
    tag = getattr(type(m), "tag", "")
    if tag in ("station_rotation", "individual_rotation"):
        minutes = float(sum(s.minutes for s in m.stations))
        return minutes, {}, frozenset({"school"})
    if tag == "lab_rotation":
        return float(m.classroom_minutes + m.lab_minutes), {"online": (1, 8)}, frozenset({"school"})
    if tag == "flipped":
        return float(m.home_minutes + m.class_minutes), {"online": (1, 8)}, frozenset({"school", "home"})
    if tag == "flex":
        return float(cls.schedule[0].minutes) if cls.schedule else DEFAULT_BUDGET_MIN, {}, None
    if tag == "a_la_carte":
        bounds = {"online": (1, 8), "teacher_led": (0, 0), "collaborative": (0, 0),
                  "independent_offline": (0, 0)}
        return float(m.online_minutes_per_week), bounds, None
    if tag == "enriched_virtual":
        return float(m.in_person_minutes), {}, None
    return DEFAULT_BUDGET_MIN, {}, None


def playlist_request(cls=None, *, budget_min: float | None = None, pins: Sequence[str] = (),
                     removes: Iterable[str] = (), known_activities: Iterable[str] | None = None,
                     policy: PlanningPolicy = DEFAULT_POLICY, forgets: bool = False):
    """PlaylistRequest for the class's model (or the defaults) with teacher overrides, the
    tenant's mastery threshold and, when its policy says so, the forgetting-protection weight:
    ``protect_from_forgetting`` "on", or "when_shown" and ``forgets`` (the tenant's forgetting
    test, :meth:`LearnedModels.forgetting_test`). An experiment arm's weights are applied on
    top by the caller."""
    from planner.model import PlaylistRequest
    from planner.request import PlanWeights

    budget, bounds, places = class_budget(cls)
    if budget_min is not None:
        budget = float(budget_min)
    known = set(known_activities) if known_activities is not None else None
    pins = tuple(p for p in pins if known is None or p in known)
    removes = frozenset(r for r in removes if known is None or r in known)
    return PlaylistRequest(budget_min=budget, modality_bounds=bounds, pins=pins, removes=removes,
                           available_places=places, length_max=max(2, min(12, int(budget // 8) or 2)),
                           mastered_threshold=policy.mastered_threshold,
                           weights=PlanWeights(protect=float(policy.protects(forgets))))


def _forgets(learned, policy: PlanningPolicy, weights) -> tuple[bool, dict]:
    """(whether the tenant's forgetting test fires, what a plan's meta says about it, with the
    half-life review then decays with, ``review_half_life_days``: :func:`with_school_half_life`)
    when the policy protects ``"when_shown"`` and the arm does not set ``protect``; else
    (False, {})."""
    if learned is None or not protect_when_shown(policy, weights):
        return False, {}
    test = learned.forgetting_test()
    review = test["half_life_days"] if test["forgets"] else None  # None: the planner's fixed half-life
    return test["forgets"], {"protect_from_forgetting": {"mode": "when_shown", **test,
                                                         "review_half_life_days": review}}


def with_school_half_life(pl_learner, learned, forgets: bool):
    """``pl_learner`` with the school's fitted half-life (days, the forgetting test's
    ``ForgettingModel.school_half_life``) on every skill they have practised and have no own
    fitted half-life of (``planner.forgetting.with_half_life``), when protection is on because
    the school's test fired (``forgets``); else unchanged (the planner's fixed
    ``review_half_life_days``, 120 days). Measured in the simulator's worlds
    (planner/README.md, thirteenth session)."""
    from planner.forgetting import with_half_life

    if not forgets or learned is None:
        return pl_learner
    return with_half_life(pl_learner, learned.forgetting.school_half_life())


def _differ_meta(learned, policy: PlanningPolicy, weights) -> dict:
    """What a plan's meta says about the tenant's activities-differ test when the policy
    learns effectiveness ``"when_shown"`` and the arm does not set it; else {}."""
    if learned is None or not learn_when_shown(policy, weights) or not learned.with_effectiveness:
        return {}
    test = {k: round(v, 3) if isinstance(v, float) else v for k, v in learned.differ.items()}
    return {"learn_effectiveness": {"mode": "when_shown", **test}}


def playlist_items(playlist, by_id: Mapping[str, object], titles: Mapping[str, str],
                   pins: Iterable[str] = ()) -> tuple[list[PlanItem], list[dict]]:
    """Planner Playlist → (review PlanItems in order, conflict dicts)."""
    pinned = set(pins)
    items = []
    for it in playlist.items:
        act = by_id.get(it.activity_id)
        r = it.reason
        title = getattr(act, "title", None)
        if title is None:  # a teacher mini-lesson is not a catalog activity
            topic = titles.get(r.target_skill, r.target_skill)
            title = f"Mini-lesson: {topic}" if it.activity_id.startswith("mini-lesson:") else it.activity_id
        items.append(PlanItem(
            activity_id=it.activity_id,
            title=title,
            minutes=float(it.duration_min),
            skills=tuple(getattr(act, "skill_ids", ()) or ((r.target_skill,) if r.target_skill else ())),
            reason=r.sentence,
            details={
                "target_skill": r.target_skill,
                "target_title": r.target_title or titles.get(r.target_skill, r.target_skill),
                "basis": r.basis,
                "mastery_now": round(float(r.mastery_now), 4),
                "mastery_after": round(float(r.mastery_after), 4),
                "expected_gain": round(float(it.expected_gain), 4),
                "modality": it.modality,
                "preferences": list(r.preferences),
                "constraints": list(r.constraints),
                "prerequisites": [[k, round(float(p), 4)] for k, p in r.prerequisites],
            },
            pinned=it.activity_id in pinned,
        ))
    conflicts = [
        {"constraint": c.constraint, "amount": float(c.amount), "blocked_by": list(c.blocked_by),
         "message": c.message}
        for c in playlist.conflicts
    ]
    return items, conflicts


def plan_playlist_for(inp: PlanningInput, learner, mastery_states, cls=None, *,
                      budget_min: float | None = None, pins: Sequence[str] = (),
                      removes: Iterable[str] = (), policy: PlanningPolicy = DEFAULT_POLICY,
                      planner: str = "pathwise", weights: Mapping[str, float] | None = None,
                      learned=None):
    """Run the playlist planner for one learner; returns (items, conflicts, meta).

    ``planner``/``weights``: an experiment arm's planner settings (engine.experiment):
    ``"greedy"`` runs the planner's greedy rule instead of the MILP, ``"lowest_mastery"`` the
    lowest-mastery-ready-skill-first baseline of ``planner.simulate.baselines`` (its picks,
    locked in its order, explained by the planner), ``weights`` override ``PlanWeights``
    fields (e.g. ``unlock=0``); the defaults plan as usual. ``learned``: the tenant's
    :class:`~engine.planning._learned.LearnedModels`, used where the policy or the arm's weights
    (``learn_effectiveness``, ``fitted_forgetting``) switch them on, and for the forgetting
    test when the policy protects ``"when_shown"`` (meta ``protect_from_forgetting`` says what
    the test found)."""
    from dataclasses import replace

    from planner.playlist.plan import greedy_playlist, plan_playlist

    pl_learner = plan_learner(learner, mastery_states, inp.graph.ids, own_devices=uses_own_devices(cls),
                              policy=policy)
    forgets, protect_meta = _forgets(learned, policy, weights)
    request = playlist_request(cls, budget_min=budget_min, pins=pins, removes=removes,
                               known_activities=inp.by_id, policy=policy, forgets=forgets)
    catalog = inp.activities_for_grade(getattr(learner, "grade", ""))
    pinned = set(pins)
    if pinned - {a.id for a in catalog}:
        catalog = catalog + tuple(a for a in inp.activities if a.id in pinned and a not in catalog)
    given = catalog
    pl_learner, catalog, used = _with_learned(learned, learned_switches(policy, weights, learned), pl_learner, catalog)
    pl_learner = with_school_half_life(pl_learner, learned, forgets)
    weights_given, weights = weights, plan_weights(weights)
    if weights:
        request = replace(request, weights=replace(request.weights, **weights))
    if planner == "lowest_mastery":
        request = _lowest_mastery_request(inp.graph, catalog, pl_learner, request)
        if request is None:
            return [], [], {"status": "empty", "solver": "lowest_mastery", "solve_ms": 0.0, "expected_gain": 0.0,
                            "budget_min": 0.0, "gap": None}
    solve = greedy_playlist if planner == "greedy" else plan_playlist
    playlist = solve(inp.graph, catalog, pl_learner, request)
    if planner == "lowest_mastery":
        playlist = replace(playlist, solver="lowest_mastery")
    items, conflicts = playlist_items(playlist, inp.by_id, inp.titles, pins)
    if used.get("effectiveness"):
        items = explain_learned(items, learned_ratios(given, catalog))
    meta = {"status": playlist.status, "solver": playlist.solver, "solve_ms": round(playlist.solve_ms, 2),
            "expected_gain": round(playlist.expected_gain, 4), "budget_min": request.budget_min,
            "gap": None if playlist.gap != playlist.gap else round(playlist.gap, 4)}  # NaN: no bound
    if used:
        meta["learned"] = used
    return items, conflicts, {**meta, **protect_meta, **_differ_meta(learned, policy, weights_given)}


#: A learned multiplier is worth a sentence when it moves the learn probability by >= 10 %.
EXPLAIN_RATIO = 1.10


def learned_ratios(given: Sequence, learned: Sequence) -> dict[str, float]:
    """Activity id -> learned ÷ catalog learn probability (geometric mean over its skills) for
    the activities whose ``p_learn`` the learned models changed; ``given`` and ``learned`` are
    the same PlanActivity catalog before and after :meth:`LearnedModels.catalog_for`."""
    import math

    out: dict[str, float] = {}
    for before, after in zip(given, learned, strict=True):
        if before is after:
            continue
        logs = [math.log(after.p_learn_for(k) / before.p_learn_for(k)) for k, _w in before.skills
                if before.p_learn_for(k) > 0]
        if logs:
            out[before.id] = math.exp(sum(logs) / len(logs))
    return out


def explain_learned(items: list[PlanItem], ratios: Mapping[str, float]) -> list[PlanItem]:
    """Items whose learn probability the school's own evidence moved by >= :data:`EXPLAIN_RATIO`
    (``ratios``: :func:`learned_ratios`) get ``details.learned_multiplier`` and a sentence
    saying so (a plan made with learned effectiveness says where it departs from the catalog)."""
    from dataclasses import replace

    out = []
    for item in items:
        m = ratios.get(item.activity_id)
        if m is None or 1 / EXPLAIN_RATIO < m < EXPLAIN_RATIO:
            out.append(item)
            continue
        how = "more" if m > 1 else "less"
        sentence = (f"This school's own evidence says learners learn {how} from it than the catalog "
                    f"expects (about {m:.1f}× the catalog's rate, relative to the other activities).")
        out.append(replace(item, reason=f"{item.reason} {sentence}".strip(),
                           details={**item.details, "learned_multiplier": round(m, 3)}))
    return out


def _with_learned(learned, switches: tuple[bool, bool], pl_learner, catalog, *, per_learner: bool = True):
    """(PlanLearner with fitted half-lives, catalog with learned learn probabilities, what was
    used: {} or {"effectiveness": bool, "forgetting": bool, tickets, retention_checks, fit_ms})
    under ``switches`` (effectiveness, forgetting); unchanged without ``learned``."""
    from dataclasses import replace

    eff, fog = switches
    if learned is None or not (eff or fog):
        return pl_learner, catalog, {}
    if eff:
        catalog = learned.catalog_for(catalog, pl_learner if per_learner else None)
    if fog and pl_learner is not None:
        halves = learned.half_lives_for(pl_learner)
        if halves:
            pl_learner = replace(pl_learner, half_life_days=halves)
    return pl_learner, catalog, {"effectiveness": eff, "forgetting": fog, **learned.summary()}


def _lowest_mastery_request(graph, catalog, learner, request):
    """The request that makes the planner keep exactly the lowest-mastery-first picks, in
    their order (pins, locks, their minutes and count), or None when it picks nothing."""
    from types import SimpleNamespace

    from planner.simulate.baselines import lowest_mastery_first

    picks = lowest_mastery_first(SimpleNamespace(graph=graph, catalog=list(catalog), cache={}), learner,
                                 request, 0, 0)
    if not picks:
        return None
    from dataclasses import replace

    ids = tuple(a.id for a in picks)
    return replace(request, pins=ids, locks={a: i for i, a in enumerate(ids)}, length_min=len(ids),
                   length_max=len(ids), budget_min=float(sum(a.duration_min for a in picks)),
                   modality_bounds={}, format_cap=None)


def why_not_for(inp: PlanningInput, learner, mastery_states, cls, activity_id: str, *,
                budget_min: float | None = None, pins: Sequence[str] = (), removes: Iterable[str] = (),
                policy: PlanningPolicy = DEFAULT_POLICY, learned=None,
                weights: Mapping[str, float] | None = None) -> dict:
    """"Why not X?" for one learner: one extra solve with X forced in (planner.whynot), under
    the same objective the learner's playlist is planned with (``weights``: an experiment
    arm's weights, which also switch the learned models as in :func:`plan_playlist_for`).

    Returns ``activity_id, in_plan, excluded_by, objective_cost`` (None when a hard rule forbids
    it), ``dropped``, ``added`` and the plain ``sentence``.
    """
    import math
    from dataclasses import replace

    from planner.whynot import why_not

    pl_learner = plan_learner(learner, mastery_states, inp.graph.ids, own_devices=uses_own_devices(cls),
                              policy=policy)
    forgets = _forgets(learned, policy, weights)[0]
    request = playlist_request(cls, budget_min=budget_min, pins=pins, removes=removes,
                               known_activities=inp.by_id, policy=policy, forgets=forgets)
    catalog = inp.activities_for_grade(getattr(learner, "grade", ""))
    if activity_id not in {a.id for a in catalog}:
        catalog = catalog + tuple(a for a in inp.activities if a.id == activity_id)
    pl_learner, catalog, _used = _with_learned(learned, learned_switches(policy, weights, learned), pl_learner,
                                               catalog)
    pl_learner = with_school_half_life(pl_learner, learned, forgets)
    weights = plan_weights(weights)
    if weights:
        request = replace(request, weights=replace(request.weights, **weights))
    w = why_not(inp.graph, catalog, pl_learner, request, activity_id)
    cost = None if math.isinf(w.objective_cost) else round(float(w.objective_cost), 4)
    return {"activity_id": w.activity_id, "in_plan": w.in_plan, "excluded_by": list(w.excluded_by),
            "objective_cost": cost, "dropped": list(w.dropped), "added": list(w.added), "sentence": w.sentence}
