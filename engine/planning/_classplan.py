"""A class's session plan: the blended model → ``planner.classplan.ModelSettings`` and the
class plan → a reviewable body plus each learner's share of the session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.domain.policy import DEFAULT_POLICY, PlanningPolicy
from engine.planning._input import PlanningInput, _value
from engine.planning._learned import learned_switches
from engine.planning._playlist import (
    DEFAULT_BUDGET_MIN,
    _forgets,
    _with_learned,
    explain_learned,
    learned_ratios,
    plan_learner,
    playlist_items,
    uses_own_devices,
    with_school_half_life,
)
from engine.review import PlanItem


def _station_modality(st) -> str:
    if st.teacher_led:
        return "teacher_led"
    if st.online:
        return "online"
    if st.collaborative:
        return "collaborative"
    return "independent_offline"


def model_settings(cls, *, time_limit_s: float = 2.0, policy: PlanningPolicy = DEFAULT_POLICY,
                   forgets: bool = False):
    """The class's blended model → ``planner.classplan.ModelSettings`` (with the tenant's
    mastery threshold and, as for a playlist, the forgetting-protection weight when the policy
    protects: "on", or "when_shown" and ``forgets``)."""
    from planner.classplan import ModelSettings, StationPlan

    m = cls.model
    tag = getattr(type(m), "tag", "")
    cap = max(1, int(getattr(m, "small_group_cap", cls.small_group_cap)))
    common = {"g_min": min(2, cap), "g_max": cap, "time_limit_s": time_limit_s,
              "mastered_threshold": policy.mastered_threshold,
              "protect": float(policy.protects(forgets))}
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
                       keep_apart=(), keep_together=(), session=None, time_limit_s: float = 2.0,
                       policy: PlanningPolicy = DEFAULT_POLICY, learned=None):
    """Run ``planner.classplan.plan_class`` for the class's model.

    Returns ``(body, conflicts, playlists)``: ``body``: model, session, settings,
    (stations, groups with one-sentence reasons, schedule per rotation, each learner's
    scheduled items); ``playlists``: learner id → (PlanItems, conflicts, meta), each learner's
    share of the session, ready to review one by one. ``learned``: the tenant's fitted models
    (:mod:`engine.planning._learned`), used as the policy switches them on: one catalog for the
    class with the activity multipliers (no per-learner format part), each learner's half-lives;
    with "when_shown" protection the school's forgetting test decides, as for a playlist, whether
    the learners' own items protect from forgetting (meta ``protect_from_forgetting``).
    """
    from engine.domain.serialize import to_record
    from planner.classplan import ClassRequests, plan_class

    forgets, protect_meta = _forgets(learned, policy, None)
    settings = model_settings(cls, time_limit_s=time_limit_s, policy=policy, forgets=forgets)
    graph = inp.graph_for_grade(cls.grade)
    own = uses_own_devices(cls)
    pl_learners = [plan_learner(lr, mastery.get(lr.id, {}), graph.ids, own_devices=own, policy=policy)
                   for lr in learners]
    catalog = inp.activities_for_grade(cls.grade)
    eff_on, fog_on = learned_switches(policy, learned=learned)
    given = catalog
    _none, catalog, used = _with_learned(learned, (eff_on, fog_on), None, catalog, per_learner=False)
    ratios = learned_ratios(given, catalog) if used.get("effectiveness") else {}
    if used and fog_on:  # each learner's own half-lives
        pl_learners = [_with_learned(learned, (False, True), p, ())[0] for p in pl_learners]
    pl_learners = [with_school_half_life(p, learned, forgets) for p in pl_learners]
    ids = {lr.id for lr in learners}
    requests = ClassRequests(
        keep_apart=tuple((a, b) for a, b in keep_apart if a in ids and b in ids),
        keep_together=tuple((a, b) for a, b in keep_together if a in ids and b in ids),
    )
    plan = plan_class(settings, pl_learners, catalog, graph, requests)
    rotation = settings.model in ("station_rotation", "lab_rotation", "individual_rotation")
    stations = [{"name": st.id, "kind": st.kind, "minutes": st.minutes, "capacity": st.capacity,
                 "modality": st.kind, "place": st.place} for st in plan.stations] if rotation else []
    groups = _groups(plan, {lr.id: lr.name for lr in learners}, inp.titles, rotation)
    schedule = _schedule(plan) if stations else []
    playlists_body, playlists = _learner_shares(plan, inp, cls.id, ratios)
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
                    "slots": plan.n_slots, "notes": list(plan.notes), **({"learned": used} if used else {}),
                    **protect_meta},
        "grouping": "planner.classplan.plan_class",
        "class_id": cls.id,
    }
    return body, conflicts, playlists


def _groups(plan, names: Mapping[str, str], titles: Mapping[str, str], rotation: bool) -> list[dict]:
    """The class plan's groups as body records (the planner's sentences name groups by id)."""
    groups = []
    for g in plan.groups:
        groups.append({
            "name": f"Group {g.id}", "id": g.id, "station": g.station_id, "kind": g.kind, "slot": g.slot,
            "start_min": g.start_min, "minutes": g.minutes, "learners": list(g.learner_ids),
            "names": [names.get(i, i) for i in g.learner_ids], "focus_skill": g.topic,
            "focus_title": g.reason.topic_title or (titles.get(g.topic, g.topic) if g.topic else ""),
            "activity_id": g.activity_id, "reason": g.reason.sentence,
            "when": (f"{g.station_id}, rotation {g.slot + 1}" if rotation
                     else f"{g.station_id.replace('_', ' ')}, from minute {g.start_min:g} for {g.minutes:g} min"),
        })
    return groups


def _schedule(plan) -> list[dict]:
    """One row per rotation: start, minutes and who is at each station."""
    schedule = []
    slots = sorted({g.slot for g in plan.groups} | {it.slot for s in plan.schedules for it in s.items})
    for slot in slots:
        at_station: dict[str, list[str]] = {}
        start, minutes = None, 0.0
        for g in plan.groups:
            if g.slot == slot:
                at_station.setdefault(g.station_id, []).append(f"Group {g.id}")
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
    return schedule


def _learner_shares(plan, inp: PlanningInput, class_id: str,
                    ratios: Mapping[str, float]) -> tuple[dict, dict]:
    """(body records, learner id -> (PlanItems, conflicts, meta)) of each learner's share;
    ``ratios``: learned ÷ catalog learn probability per activity (:func:`learned_ratios`),
    explained in the items' reasons."""
    playlists_body, playlists = {}, {}
    for s in plan.schedules:
        recs, items = [], []
        for it in s.items:
            if it.item is None:
                continue
            rec = _item_record(it.item, inp.by_id, inp.titles, station=it.station_id, slot=it.slot,
                               start=it.start_min)
            item = PlanItem.from_record(rec)
            if ratios:
                item = explain_learned([item], ratios)[0]
                rec = item.to_record()
            recs.append(rec)
            items.append(item)
        meta = {"status": plan.status, "solver": "planner.classplan", "class_id": class_id}
        playlists_body[s.learner_id] = {"items": recs, "meta": meta}
        playlists[s.learner_id] = (items, [], meta)
    return playlists_body, playlists
