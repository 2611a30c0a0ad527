"""Remote (home) playlists tied to an in-person group topic (flipped, enriched virtual)."""

from __future__ import annotations

from dataclasses import replace

from planner.classplan import _content as content
from planner.classplan._groups import timeline
from planner.classplan.types import LearnerSchedule, ScheduledItem
from planner.model import MODALITIES, Conflict, PlaylistRequest
from planner.request import PlanWeights


def remote_schedules(settings, learners, catalog, graph, gs, groups, items, *, class_start: float,
                     class_minutes: float, remote_first: bool):
    """Each learner: an online home playlist of ``remote_minutes`` that covers their group's
    topic when an online activity on it exists, plus their in-class group item."""
    from planner.playlist.plan import plan_playlist

    theta = settings.mastered_threshold
    gid = {lid: g.id for g in groups for lid in g.learner_ids}
    topic_of = {lid: g.topic for g in groups for lid in g.learner_ids}
    online = [a for a in catalog if a.modality == "online" and content.place_ok(a, settings.home_place)]
    schedules, conflicts = [], []
    for s, lr in enumerate(learners):
        own = []
        if online and settings.remote_minutes > 0:
            topic = topic_of.get(lr.id)
            cover = ()
            if topic is not None and any(topic in a.skill_ids and content.fits_learner(a, lr)
                                         and a.duration_min <= settings.remote_minutes for a in online):
                if lr.mastery_of(topic) < theta and all(
                        lr.mastery_of(j) >= theta for j in graph.prerequisites_of(topic)):
                    cover = (topic,)
            bounds = {m: ((0, 8) if m == "online" else (0, 0)) for m in MODALITIES}
            req = PlaylistRequest(budget_min=settings.remote_minutes, modality_bounds=bounds,
                                  length_min=0, length_max=8, must_cover=cover,
                                  mastered_threshold=theta, weights=PlanWeights(protect=settings.protect))
            pl = plan_playlist(graph, online, replace(lr, places=frozenset()), req)
            own = list(pl.items)
            conflicts += [Conflict(f"{lr.id}:{c.constraint}", c.amount, c.blocked_by, c.message)
                          for c in pl.conflicts if not c.constraint.startswith("must_cover:")]
        home_start = 0.0 if remote_first else class_start + class_minutes
        home = timeline(lr.id, own, station_id="home", place=settings.home_place, start=home_start)
        in_class = []
        if s in items:
            in_class = [ScheduledItem(lr.id, 0, class_start, class_minutes, "teacher",
                                      items[s].modality, "classroom", items[s], gid.get(lr.id))]
        seq = home + in_class if remote_first else in_class + home
        seq = [replace(x, slot=i) for i, x in enumerate(seq)]
        schedules.append(LearnerSchedule(lr.id, tuple(seq)))
    return schedules, conflicts
