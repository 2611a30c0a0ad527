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
* :func:`model_settings` — the class's blended model → ``planner.classplan.ModelSettings``.
* :func:`plan_class_session` — run ``planner.classplan.plan_class`` and turn the class plan
  into a reviewable body (stations, groups with reasons, schedule, each learner's items).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    _band_graphs: dict = field(default_factory=dict, compare=False, repr=False)

    def graph_for_grade(self, grade: str):
        """The prerequisite graph restricted to the grade band [grade - 2, grade] (prerequisites
        below the band are dropped, i.e. taken as known); the full graph for non-numeric grades."""
        band = grade_band(grade)
        if band is None or not self.skill_grades:
            return self.graph
        if band not in self._band_graphs:
            from planner.model import PlanSkill, SkillGraph

            lo, hi = band

            def inside(k: str) -> bool:
                g = _grade_num(self.skill_grades.get(k, ""))
                return g is None or lo <= g <= hi

            keep = [k for k in self.graph.ids if inside(k)]
            self._band_graphs[band] = SkillGraph.from_skills(
                PlanSkill(k, tuple(p for p in self.graph.prerequisites_of(k) if inside(p)),
                          self.graph.title_of(k)) for k in keep)
        return self._band_graphs[band]

    def activities_for_grade(self, grade: str) -> tuple:
        """Activities whose skills all lie in the grade band [grade - 2, grade] (numeric
        grades; every activity when the grade is not a number)."""
        band = grade_band(grade)
        if band is None or not self.skill_grades:
            return self.activities
        key = ("activities", band)
        if key in self._band_graphs:
            return self._band_graphs[key]
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
        self._band_graphs[key] = tuple(out) or self.activities
        return self._band_graphs[key]


def _grade_num(grade: str) -> int | None:
    text = str(grade).strip().upper()
    if text == "K":
        return 0
    return int(text) if text.isdigit() else None


def grade_band(grade: str, below: int = 2, above: int = 0) -> tuple[int, int] | None:
    g = _grade_num(grade)
    return None if g is None else (g - below, g + above)


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
                 now: datetime | None = None, *, own_devices: bool = False):
    """Learner + ``{skill: MasteryState}`` → PlanLearner.

    Goals: profile goal skills weigh 2.0, growth areas 1.5 (others 1.0). Struggling: at least
    3 observations and P(mastered) < 0.4. Days since practice from each state's ``updated_at``.
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
                      removes: Iterable[str] = ()):
    """Run the playlist planner for one learner; returns (items, conflicts, meta)."""
    from planner.playlist.plan import plan_playlist

    pl_learner = plan_learner(learner, mastery_states, inp.graph.ids, own_devices=uses_own_devices(cls))
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


# ----------------------------------------------------------------------------- planner.classplan


def _station_modality(st) -> str:
    if st.teacher_led:
        return "teacher_led"
    if st.online:
        return "online"
    if st.collaborative:
        return "collaborative"
    return "independent_offline"


def model_settings(cls, *, time_limit_s: float = 2.0):
    """The class's blended model → ``planner.classplan.ModelSettings``."""
    from planner.classplan import ModelSettings, StationPlan

    m = cls.model
    tag = getattr(type(m), "tag", "")
    cap = max(1, int(getattr(m, "small_group_cap", cls.small_group_cap)))
    common = {"g_min": min(2, cap), "g_max": cap, "time_limit_s": time_limit_s}
    session = float(cls.schedule[0].minutes) if cls.schedule else DEFAULT_BUDGET_MIN
    if tag in ("station_rotation", "individual_rotation"):
        stations = tuple(StationPlan(st.name, _station_modality(st), float(st.minutes), int(st.capacity))
                         for st in m.stations)
        return ModelSettings(tag, stations=stations, **common)
    if tag == "lab_rotation":
        # The session (classroom + lab minutes) is split into equal rotations; one of them is
        # the computer lab (seats = lab devices). A fourth, independent station is added when
        # the teacher groups would otherwise overflow the small-group cap.
        n = len(cls.roster)
        n_st = 3 if -(-n // 3) <= cap else 4
        slot = max(1.0, float(m.classroom_minutes + m.lab_minutes) / n_st)
        stations = [StationPlan("Teacher table", "teacher_led", slot, cap),
                    StationPlan("Classroom projects", "collaborative", slot, max(1, n)),
                    StationPlan("Computer lab", "online", slot, max(1, int(m.lab_devices)), place="lab")]
        if n_st == 4:
            stations.append(StationPlan("Independent work", "independent_offline", slot, max(1, n)))
        stations = tuple(stations)
        return ModelSettings("lab_rotation", stations=stations, **common)
    if tag == "flipped":
        return ModelSettings("flipped", session_minutes=float(m.class_minutes),
                             remote_minutes=float(m.home_minutes), **common)
    if tag == "flex":
        common["g_max"] = max(1, int(m.pullout_max_group))
        common["g_min"] = min(2, common["g_max"])
        return ModelSettings("flex", session_minutes=session, pull_out_slots=int(m.pullout_slots),
                             pull_out_minutes=float(m.pullout_minutes), **common)
    if tag == "a_la_carte":
        return ModelSettings("a_la_carte", course_minutes=float(m.online_minutes_per_week), **common)
    if tag == "enriched_virtual":
        return ModelSettings("enriched_virtual", session_minutes=float(m.in_person_minutes),
                             remote_minutes=float(m.virtual_minutes_per_week), **common)
    raise ValueError(f"class {cls.id!r} has an unknown blended model {tag!r}")


def _item_record(it, by_id, titles, *, station=None, slot=None, start=None) -> dict:
    items, _ = playlist_items(_OnePlaylist((it,)), by_id, titles)
    rec = items[0].to_record()
    rec["details"].update({"station": station, "slot": slot, "start_min": start})
    return rec


@dataclass(frozen=True)
class _OnePlaylist:
    items: tuple
    conflicts: tuple = ()


def plan_class_session(inp: PlanningInput, cls, learners: Sequence, mastery: Mapping[str, Mapping], *,
                       keep_apart=(), keep_together=(), session=None, time_limit_s: float = 2.0):
    """Run ``planner.classplan.plan_class`` for the class's model.

    Returns ``(body, conflicts, playlists)``: ``body``: model, session, settings,
    (stations, groups with one-sentence reasons, schedule per rotation, each learner's
    scheduled items); ``playlists``: learner id → (PlanItems, conflicts, meta), each learner's
    share of the session, ready to review one by one.
    """
    from engine.domain.serialize import to_record
    from planner.classplan import ClassRequests, plan_class

    settings = model_settings(cls, time_limit_s=time_limit_s)
    graph = inp.graph_for_grade(cls.grade)
    own = uses_own_devices(cls)
    pl_learners = [plan_learner(lr, mastery.get(lr.id, {}), graph.ids, own_devices=own) for lr in learners]
    catalog = inp.activities_for_grade(cls.grade)
    ids = {lr.id for lr in learners}
    requests = ClassRequests(
        keep_apart=tuple((a, b) for a, b in keep_apart if a in ids and b in ids),
        keep_together=tuple((a, b) for a, b in keep_together if a in ids and b in ids),
    )
    plan = plan_class(settings, pl_learners, catalog, graph, requests)
    names = {lr.id: lr.name for lr in learners}
    rotation = settings.model in ("station_rotation", "lab_rotation", "individual_rotation")
    stations = [{"name": st.id, "kind": st.kind, "minutes": st.minutes, "capacity": st.capacity,
                 "modality": st.kind, "place": st.place} for st in plan.stations] if rotation else []
    letters = {}
    groups = []
    for g in plan.groups:
        label = f"Group {g.id}"  # the planner's own sentences name groups by id
        letters[g.id] = label
        groups.append({
            "name": label, "id": g.id, "station": g.station_id, "kind": g.kind, "slot": g.slot,
            "start_min": g.start_min, "minutes": g.minutes, "learners": list(g.learner_ids),
            "names": [names.get(i, i) for i in g.learner_ids], "focus_skill": g.topic,
            "focus_title": g.reason.topic_title or (inp.titles.get(g.topic, g.topic) if g.topic else ""),
            "activity_id": g.activity_id, "reason": g.reason.sentence,
            "when": (f"{g.station_id}, rotation {g.slot + 1}" if rotation
                     else f"{g.station_id.replace('_', ' ')}, from minute {g.start_min:g} for {g.minutes:g} min"),
        })
    schedule = []
    if stations:
        slots = sorted({g.slot for g in plan.groups} | {it.slot for s in plan.schedules for it in s.items})
        for slot in slots:
            at_station: dict[str, list[str]] = {}
            start, minutes = None, 0.0
            for g in plan.groups:
                if g.slot == slot:
                    at_station.setdefault(g.station_id, []).append(letters[g.id])
                    start = g.start_min if start is None else min(start, g.start_min)
                    minutes = max(minutes, g.minutes)
            for s in plan.schedules:
                for it in s.items:
                    if it.slot == slot:
                        start = it.start_min if start is None else min(start, it.start_min)
                        minutes = max(minutes, it.minutes)
                        if it.group_id is None:
                            at_station.setdefault(it.station_id, [])
            counts = {st: sum(1 for s in plan.schedules for it in s.items
                              if it.slot == slot and it.station_id == st) for st in at_station}
            cells = {st: (", ".join(labels) if labels else f"{counts[st]} on their own")
                     for st, labels in at_station.items()}
            schedule.append({"rotation": slot + 1, "start_min": start or 0.0, "minutes": minutes,
                             "stations": cells})
    playlists_body, playlists = {}, {}
    for s in plan.schedules:
        recs, items = [], []
        for it in s.items:
            if it.item is None:
                continue
            rec = _item_record(it.item, inp.by_id, inp.titles, station=it.station_id, slot=it.slot,
                               start=it.start_min)
            recs.append(rec)
            items.append(PlanItem.from_record(rec))
        meta = {"status": plan.status, "solver": "planner.classplan", "class_id": cls.id}
        playlists_body[s.learner_id] = {"items": recs, "meta": meta}
        playlists[s.learner_id] = (items, [], meta)
    conflicts = [{"constraint": c.constraint, "amount": float(c.amount), "blocked_by": list(c.blocked_by),
                  "message": c.message} for c in plan.conflicts]
    body = {
        "model": getattr(type(cls.model), "tag", settings.model),
        "session": session or (f"{_value(cls.schedule[0].day)} {cls.schedule[0].start}" if cls.schedule else ""),
        "settings": to_record(cls.model),
        "stations": stations,
        "groups": groups,
        "schedule": schedule,
        "playlists": playlists_body,
        "planner": {"status": plan.status, "objective": round(plan.objective, 4), "solve_ms": round(plan.solve_ms, 1),
                    "slots": plan.n_slots, "notes": list(plan.notes)},
        "grouping": "planner.classplan.plan_class",
        "class_id": cls.id,
    }
    return body, conflicts, playlists


def why_not_for(inp: PlanningInput, learner, mastery_states, cls, activity_id: str, *,
                budget_min: float | None = None, pins: Sequence[str] = (), removes: Iterable[str] = ()) -> dict:
    """"Why not X?" for one learner: one extra solve with X forced in (planner.whynot).

    Returns ``activity_id, in_plan, excluded_by, objective_cost`` (None when a hard rule forbids
    it), ``dropped``, ``added`` and the plain ``sentence``.
    """
    import math

    from planner.whynot import why_not

    pl_learner = plan_learner(learner, mastery_states, inp.graph.ids, own_devices=uses_own_devices(cls))
    request = playlist_request(cls, budget_min=budget_min, pins=pins, removes=removes,
                               known_activities=inp.by_id)
    catalog = inp.activities_for_grade(getattr(learner, "grade", ""))
    if activity_id not in {a.id for a in catalog}:
        catalog = catalog + tuple(a for a in inp.activities if a.id == activity_id)
    w = why_not(inp.graph, catalog, pl_learner, request, activity_id)
    cost = None if math.isinf(w.objective_cost) else round(float(w.objective_cost), 4)
    return {"activity_id": w.activity_id, "in_plan": w.in_plan, "excluded_by": list(w.excluded_by),
            "objective_cost": cost, "dropped": list(w.dropped), "added": list(w.added), "sentence": w.sentence}
