"""Engine → planner adapter: turn the school's domain objects into planner input, and
planner output into reviewable plans.

Nothing here decides *what* to plan (that is the planner's job); it only translates:

* :func:`skill_graph` — CompetencyGraph → ``planner.model.SkillGraph`` (prerequisite edges).
* :func:`plan_activity` — Activity (+ fitted ``p_learn`` per skill) → ``PlanActivity``.
* :func:`plan_learner` — Learner + mastery states → ``PlanLearner`` (goals from the profile's
  goal skills and growth areas, preferences, accommodations, devices, places, spaced review).
* :func:`playlist_request` — the class's blended model → ``PlaylistRequest`` (time budget,
  modality mix) plus the teacher's pins and removals.
* :func:`playlist_items` — ``Playlist`` → review ``PlanItem`` list and conflict dicts.
* :func:`class_plan_body` — a class plan for any blended model (planner.classplan when it is
  available for the model; per-learner playlists grouped by target skill otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.review import PlanItem

DEFAULT_P_LEARN = 0.15
GOAL_WEIGHT = 2.0
GROWTH_WEIGHT = 1.5
STRUGGLING_P = 0.4
STRUGGLING_MIN_OBS = 3
DEFAULT_BUDGET_MIN = 60.0


@dataclass(frozen=True)
class PlanningInput:
    """What the planner needs for one tenant, converted once and cached by the caller.

    graph: planner SkillGraph; activities: PlanActivity tuple; by_id: activity id → Activity
    (domain); titles: skill id → title.
    """

    graph: object
    activities: tuple
    by_id: Mapping[str, object]
    titles: Mapping[str, str]
    skill_grades: Mapping[str, str] = None  # type: ignore[assignment]

    def activities_for_grade(self, grade: str) -> tuple:
        """Activities whose skills all lie in the grade band [grade - 2, grade] (numeric
        grades; every activity when the grade is not a number)."""
        band = grade_band(grade)
        if band is None or not self.skill_grades:
            return self.activities
        lo, hi = band
        out = []
        for a in self.activities:
            ok = True
            for k, _w in a.skills:
                g = _grade_num(self.skill_grades.get(k, ""))
                if g is not None and not lo <= g <= hi:
                    ok = False
                    break
            if ok:
                out.append(a)
        return tuple(out) or self.activities


def _grade_num(grade: str) -> int | None:
    text = str(grade).strip().upper()
    if text == "K":
        return 0
    return int(text) if text.isdigit() else None


def grade_band(grade: str, below: int = 2) -> tuple[int, int] | None:
    g = _grade_num(grade)
    return None if g is None else (g - below, g)


def skill_graph(graph):
    """CompetencyGraph → planner SkillGraph (prerequisite edges only)."""
    from planner.model import PlanSkill, SkillGraph

    return SkillGraph.from_skills(
        PlanSkill(s.id, tuple(graph.prerequisites(s.id)), s.title) for s in graph.skills
    )


def _value(x) -> str:
    return getattr(x, "value", x)


def plan_activity(activity, p_learn: Mapping[str, float] | None = None):
    """Activity → PlanActivity; ``p_learn``: fitted skill → p_learn (default 0.15)."""
    from planner.model import PlanActivity

    learn: float | dict[str, float] = DEFAULT_P_LEARN
    if p_learn:
        learn = {k: min(0.95, float(p_learn.get(k, DEFAULT_P_LEARN))) for k, _ in activity.skills}
    return PlanActivity(
        id=activity.id,
        title=activity.title,
        skills=tuple(activity.skills),
        kind=_value(activity.kind),
        modality=_value(activity.modality),
        place=_value(activity.place),
        duration_min=float(activity.duration_min),
        difficulty=float(activity.difficulty),
        group_min=int(activity.group_min),
        group_max=int(activity.group_max),
        device=activity.device,
        formats=tuple(sorted(_value(f) for f in activity.formats)),
        interests=tuple(sorted(activity.interests)),
        language=activity.language,
        accommodations=frozenset(_value(a) for a in activity.accommodations),
        p_learn=learn,
    )


def planning_input(graph, activities: Iterable, model_params: Mapping[str, Mapping] | None = None) -> PlanningInput:
    """Convert the tenant's graph and catalog once; activities on unknown skills are dropped."""
    sg = skill_graph(graph)
    p_learn = {k: float(v["p_learn"]) for k, v in (model_params or {}).items()}
    kept = [a for a in activities if all(k in sg for k, _ in a.skills)]
    plan_acts = tuple(plan_activity(a, p_learn) for a in kept)
    return PlanningInput(sg, plan_acts, {a.id: a for a in kept}, {s.id: s.title for s in graph.skills},
                         {s.id: s.grade for s in graph.skills})


def plan_learner(learner, mastery_states: Mapping[str, object], graph_ids: Iterable[str] | None = None,
                 now: datetime | None = None):
    """Learner + ``{skill: MasteryState}`` → PlanLearner.

    Goals: profile goal skills weigh 2.0, growth areas 1.5 (others 1.0). Struggling: at least
    3 observations and P(mastered) < 0.4. Days since practice from each state's ``updated_at``.
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
        if st.n_observations >= STRUGGLING_MIN_OBS and st.p_mastered < STRUGGLING_P:
            struggling.add(sid)
    goals: dict[str, float] = {}
    for sid in prof["growth_areas"]:
        goals[sid] = GROWTH_WEIGHT
    for sid in prof["goal_skills"]:
        goals[sid] = GOAL_WEIGHT
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
        devices=frozenset(avail.devices),
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
                     removes: Iterable[str] = (), known_activities: Iterable[str] | None = None):
    """PlaylistRequest for the class's model (or the defaults) with teacher overrides."""
    from planner.model import PlaylistRequest

    budget, bounds, places = class_budget(cls)
    if budget_min is not None:
        budget = float(budget_min)
    known = set(known_activities) if known_activities is not None else None
    pins = tuple(p for p in pins if known is None or p in known)
    removes = frozenset(r for r in removes if known is None or r in known)
    return PlaylistRequest(budget_min=budget, modality_bounds=bounds, pins=pins, removes=removes,
                           available_places=places, length_max=max(2, min(12, int(budget // 8) or 2)))


def playlist_items(playlist, by_id: Mapping[str, object], titles: Mapping[str, str],
                   pins: Iterable[str] = ()) -> tuple[list[PlanItem], list[dict]]:
    """Planner Playlist → (review PlanItems in order, conflict dicts)."""
    pinned = set(pins)
    items = []
    for it in playlist.items:
        act = by_id.get(it.activity_id)
        r = it.reason
        items.append(PlanItem(
            activity_id=it.activity_id,
            title=getattr(act, "title", it.activity_id),
            minutes=float(it.duration_min),
            skills=tuple(getattr(act, "skill_ids", ()) or ()),
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
                      removes: Iterable[str] = ()):
    """Run the playlist planner for one learner; returns (items, conflicts, meta)."""
    from planner.playlist.plan import plan_playlist

    pl_learner = plan_learner(learner, mastery_states, inp.graph.ids)
    request = playlist_request(cls, budget_min=budget_min, pins=pins, removes=removes,
                               known_activities=inp.by_id)
    catalog = inp.activities_for_grade(getattr(learner, "grade", ""))
    pinned = set(pins)
    if pinned - {a.id for a in catalog}:
        catalog = catalog + tuple(a for a in inp.activities if a.id in pinned and a not in catalog)
    playlist = plan_playlist(inp.graph, catalog, pl_learner, request)
    items, conflicts = playlist_items(playlist, inp.by_id, inp.titles, pins)
    meta = {"status": playlist.status, "solver": playlist.solver, "solve_ms": round(playlist.solve_ms, 2),
            "expected_gain": round(playlist.expected_gain, 4), "budget_min": request.budget_min}
    return items, conflicts, meta


# ----------------------------------------------------------------------------- class plans


def _focus(items: Sequence[PlanItem], mastery: Mapping[str, object]) -> str | None:
    """The skill a learner's playlist mostly works on (first planned item's target)."""
    for it in items:
        target = it.details.get("target_skill")
        if target:
            return target
    weakest = sorted(mastery.items(), key=lambda kv: kv[1].p_mastered)
    return weakest[0][0] if weakest else None


def need_groups(focus: Mapping[str, str | None], n_groups: int, cap: int,
                keep_apart: Iterable[tuple[str, str]] = (),
                keep_together: Iterable[tuple[str, str]] = ()) -> list[list[str]]:
    """Split learners into ``n_groups`` groups of at most ``cap`` by shared focus skill.

    Learners sharing a focus skill stay together where capacity allows; keep-together pairs
    are placed as one unit; a keep-apart pair is never placed in the same group when another
    group has room. Deterministic (sorted by focus, then id).
    """
    n_groups = max(1, n_groups)
    cap = max(cap, -(-len(focus) // n_groups))
    together: dict[str, str] = {}
    for a, b in keep_together:
        if a in focus and b in focus:
            together[b] = a
    units: dict[str, list[str]] = {}
    for lid in sorted(focus, key=lambda x: (str(focus[x]), x)):
        root = together.get(lid, lid)
        units.setdefault(root, []).append(lid)
    apart = {(a, b) for a, b in keep_apart} | {(b, a) for a, b in keep_apart}
    groups: list[list[str]] = [[] for _ in range(n_groups)]
    g = 0
    for root in sorted(units, key=lambda r: (str(focus[r]), r)):
        unit = units[root]
        order = [(g + k) % n_groups for k in range(n_groups)]
        placed = False
        for k in order:
            clash = any((m, o) in apart for m in unit for o in groups[k])
            if len(groups[k]) + len(unit) <= cap and not clash:
                groups[k].extend(unit)
                placed = True
                if len(groups[k]) >= cap:
                    g = (k + 1) % n_groups
                else:
                    g = k
                break
        if not placed:
            k = min(range(n_groups), key=lambda j: len(groups[j]))
            groups[k].extend(unit)
    return [grp for grp in groups if grp]


def class_plan(inp: PlanningInput, cls, learners: Sequence, mastery: Mapping[str, Mapping],
               playlists: Mapping[str, tuple], *, keep_apart=(), keep_together=(), session=None):
    """A session plan for any blended model: (body, conflicts).

    ``playlists``: learner id → (items, conflicts, meta) from :func:`plan_playlist_for`.
    Body: ``model``, ``session``, ``stations`` (rotation models), ``groups`` (learners,
    focus skill, one-sentence reason), ``schedule`` (per rotation: station → group) and
    ``playlists`` (learner → items). Conflicts: every learner's playlist conflicts, tagged.
    """
    from engine.domain.serialize import to_record

    m = cls.model
    tag = getattr(type(m), "tag", "")
    focus = {lr.id: _focus(playlists[lr.id][0], mastery.get(lr.id, {})) for lr in learners}
    names = {lr.id: lr.name for lr in learners}
    stations = []
    if tag in ("station_rotation", "individual_rotation"):
        for st in m.stations:
            modality = ("teacher_led" if st.teacher_led else "online" if st.online
                        else "collaborative" if st.collaborative else "independent_offline")
            stations.append({"name": st.name, "kind": _value(st.kind), "minutes": int(st.minutes),
                             "capacity": int(st.capacity), "modality": modality})
        n_groups = len(stations)
        cap = getattr(m, "small_group_cap", cls.small_group_cap)
    elif tag == "lab_rotation":
        stations = [{"name": "Classroom", "kind": "lesson", "minutes": int(m.classroom_minutes),
                     "capacity": len(learners), "modality": "teacher_led"},
                    {"name": "Computer lab", "kind": "online_module", "minutes": int(m.lab_minutes),
                     "capacity": int(m.lab_devices), "modality": "online"}]
        n_groups, cap = 2, max(1, int(m.lab_devices))
    elif tag == "flex":
        n_groups, cap = int(m.pullout_slots), int(m.pullout_max_group)
    else:
        n_groups, cap = max(1, -(-len(learners) // cls.small_group_cap)), cls.small_group_cap
    groups_ids = need_groups(focus, n_groups, cap, keep_apart, keep_together)
    groups = []
    for k, members in enumerate(groups_ids):
        skills = [focus[i] for i in members if focus[i]]
        top = max(set(skills), key=skills.count) if skills else None
        title = inp.titles.get(top, top) if top else "mixed skills"
        share = skills.count(top) if top else 0
        reason = (f"{share} of {len(members)} students are working on {title} next, so they "
                  f"share a small-group lesson on it." if top else "Mixed-need group.")
        groups.append({"name": f"Group {chr(65 + k)}", "learners": members,
                       "names": [names[i] for i in members], "focus_skill": top,
                       "focus_title": title, "reason": reason})
    schedule = []
    if stations:
        start = 0
        for r in range(len(stations)):
            assign = {}
            for gk, grp in enumerate(groups):
                assign[stations[(gk + r) % len(stations)]["name"]] = grp["name"]
            minutes = stations[r]["minutes"] if tag == "lab_rotation" else max(s["minutes"] for s in stations)
            schedule.append({"rotation": r + 1, "start_min": start, "minutes": minutes, "stations": assign})
            start += minutes
    conflicts = []
    for lid, (_items, confl, _meta) in playlists.items():
        for c in confl:
            conflicts.append({**c, "constraint": f"{lid}:{c['constraint']}"})
    body = {
        "model": tag,
        "session": session or (f"{_value(cls.schedule[0].day)} {cls.schedule[0].start}" if cls.schedule else ""),
        "settings": to_record(m),
        "stations": stations,
        "groups": groups,
        "schedule": schedule,
        "playlists": {lid: {"items": [i.to_record() for i in items], "meta": meta}
                      for lid, (items, _c, meta) in playlists.items()},
        "grouping": "engine.planning.need_groups",
        "class_id": cls.id,
    }
    return body, conflicts
