"""How Pathwise progress and mastery become LMS gradebook line items and scores (AGS 2.0).
The mapping is documented in docs/lti.md; every score is on a 0-100 scale.

Per linked course (class), two line items:

* ``pathwise:progress`` "Pathwise progress": 100 x (skills mastered / skills in scope), where a
  skill is mastered when P(mastered) >= the tenant's mastery threshold;
* ``pathwise:mastery`` "Pathwise mastery": 100 x mean P(mastered) over the skills in scope
  (a skill without evidence counts 0);

and one per skill a teacher placed in the course by deep linking, ``pathwise:skill:<id>``:
100 x P(mastered) of that skill. ``activityProgress`` is ``Completed`` when every skill in
scope is mastered, ``InProgress`` once there is evidence, else ``Initialized``;
``gradingProgress`` is always ``FullyGraded`` (Pathwise scores are computed, never pending).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

PROGRESS, MASTERY, SKILL_PREFIX = "pathwise:progress", "pathwise:mastery", "pathwise:skill:"
SCORE_MAXIMUM = 100


def course_line_items(course_title: str, skill_ids: Iterable[str] = ()) -> list[dict]:
    """The line items Pathwise keeps in a course: progress, mastery and one per placed skill."""
    items = [{"label": f"Pathwise progress - {course_title}", "scoreMaximum": SCORE_MAXIMUM,
              "resourceId": PROGRESS, "tag": "pathwise"},
             {"label": f"Pathwise mastery - {course_title}", "scoreMaximum": SCORE_MAXIMUM,
              "resourceId": MASTERY, "tag": "pathwise"}]
    items += [{"label": f"Pathwise skill {sid}", "scoreMaximum": SCORE_MAXIMUM,
               "resourceId": SKILL_PREFIX + sid, "tag": "pathwise"} for sid in skill_ids]
    return items


def learner_scores(p_mastered: Mapping[str, float], scope: Iterable[str], threshold: float,
                   placed_skills: Iterable[str] = ()) -> dict[str, tuple[float, str]]:
    """resourceId -> (scoreGiven in [0, 100], activityProgress) for one learner.

    p_mastered: skill id -> P(mastered) in [0, 1] for the skills with evidence; scope: the
    course's skills; threshold: P(mastered) at which a skill counts as mastered."""
    scope = list(dict.fromkeys(scope))
    ps = [float(p_mastered.get(s, 0.0)) for s in scope]
    mastered = sum(p >= threshold for p in ps)
    started = any(s in p_mastered for s in scope)
    progress = "Completed" if scope and mastered == len(scope) else ("InProgress" if started else "Initialized")
    out = {PROGRESS: (round(100.0 * mastered / len(scope), 2) if scope else 0.0, progress),
           MASTERY: (round(100.0 * sum(ps) / len(scope), 2) if scope else 0.0, progress)}
    for sid in placed_skills:
        p = p_mastered.get(sid)
        out[SKILL_PREFIX + sid] = (round(100.0 * (p or 0.0), 2),
                                   "Initialized" if p is None else ("Completed" if p >= threshold else "InProgress"))
    return out


def score_body(user_id: str, given: float, activity: str, *, now: datetime | None = None) -> dict:
    """The AGS score document for one learner on one line item."""
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"userId": user_id, "scoreGiven": given, "scoreMaximum": SCORE_MAXIMUM, "timestamp": at,
            "activityProgress": activity, "gradingProgress": "FullyGraded"}
