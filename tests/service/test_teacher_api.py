"""The teacher overview through the JSON API and the rules of "who needs me today"
(engine.app._teacher_view) on constructed histories where the answer is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.app._teacher_view import _growth_line, _stalled, _struggling
from engine.domain.evidence import MasteryChange
from tests.service.conftest import ADMIN, LMS, NGUYEN, ORTIZ, roster

T0 = datetime(2026, 10, 1, 14, 0, tzinfo=UTC)


def _rows(steps, skill="s1", start=0.5):
    """History rows from (day, after) steps, each starting where the last ended."""
    out, p = [], start
    for k, (day, after) in enumerate(steps):
        out.append(MasteryChange("L", skill, f"o{k}", p, after, 0.5, T0 + timedelta(days=day, minutes=k)))
        p = after
    return out


def test_struggling_rule():
    six_wrong = _rows([(0, 0.6), (0, 0.55), (1, 0.5), (1, 0.45), (1, 0.5), (1, 0.45), (1, 0.4), (1, 0.35)],
                      start=0.65)
    got = _struggling(six_wrong, 0.95)
    assert got["category"] == "struggling" and got["wrong"] == 7 and got["answers"] == 8
    # four wrong of eight and no big fall: not struggling
    mixed = _rows([(0, 0.6), (0, 0.5), (0, 0.6), (0, 0.5), (1, 0.6), (1, 0.5), (1, 0.6), (1, 0.55)])
    assert _struggling(mixed, 0.95) is None
    # a fall of 0.3 or more within the last session, ending below one half, is struggling
    fall = _rows([(0, 0.7), (1, 0.8), (2, 0.85), (2, 0.7), (2, 0.5), (2, 0.45)])
    got = _struggling(fall, 0.95)
    assert got["fell"]["from"] == 0.8 and got["fell"]["to"] == 0.45


def test_stalled_rule():
    flat = _rows([(0, 0.41), (0, 0.42), (2, 0.4), (2, 0.43), (5, 0.42), (5, 0.44)], start=0.42)
    got = _stalled(flat, 0.95)
    assert got["category"] == "stalled" and got["sessions"] == 3 and round(got["p"], 2) == 0.44
    rising = _rows([(0, 0.45), (2, 0.5), (5, 0.55)], start=0.42)
    assert _stalled(rising, 0.95) is None
    assert _stalled(flat[:4], 0.95) is None  # two sessions are not enough to call it
    held = _rows([(0, 0.99), (2, 0.995), (5, 0.996)], start=0.99)
    assert _stalled(held, 0.95) is None  # keeping a mastered skill is not being stuck


def test_growth_line_is_the_mean_after_each_session():
    rows = _rows([(0, 0.6), (0, 0.8), (1, 0.9)], skill="a") + _rows([(1, 0.2)], skill="b", start=0.1)
    rows.sort(key=lambda r: r.at)
    line = _growth_line(["a", "b"], rows)
    assert [round(x["p"], 3) for x in line] == [0.4, 0.55]  # (0.8 + 0) / 2, (0.9 + 0.2) / 2


def test_overview_api_and_access(fresh_client):
    c = fresh_client
    heat = c.get("/v1/classes/c-3-station/heatmap", headers=ORTIZ).json()
    assert len(heat["skills"]) == 37 and len(heat["rows"]) == len(roster(c, "c-3-station"))
    assert all(cell["p"] is None or 0 <= cell["p"] <= 1 for r in heat["rows"] for cell in r["cells"])
    needs = c.get("/v1/classes/c-3-station/needs", headers=ORTIZ).json()
    assert set(needs) == {"struggling", "stalled", "ready", "not_started"}
    for cid in ("heatmap", "needs", "groups"):
        assert c.get(f"/v1/classes/c-3-station/{cid}", headers=NGUYEN).status_code == 403
        assert c.get(f"/v1/classes/c-3-station/{cid}", headers=LMS).status_code == 403
    ids = roster(c, "c-3-station")[:2]
    r = c.post("/v1/classes/c-3-station/groups", headers=ORTIZ,
               json={"skill_id": "3.NF.A.1", "learner_ids": ids, "reason": "Struggling"})
    assert r.status_code == 201 and r.json()["learner_ids"] == ids
    assert [g["group_id"] for g in c.get("/v1/classes/c-3-station/groups", headers=ORTIZ).json()] == [r.json()["group_id"]]
    bad = c.post("/v1/classes/c-3-station/groups", headers=ORTIZ, json={"skill_id": "3.NF.A.1", "learner_ids": []})
    assert bad.status_code == 422 and "learner_ids" in bad.text
    assert c.post("/v1/classes/c-3-station/approve-all", headers=ORTIZ).json() == {"approved": [], "learners": 0}
    c.post("/v1/classes/c-3-station/plan", headers=ORTIZ)
    done = c.post("/v1/classes/c-3-station/approve-all", headers=ORTIZ).json()
    assert done["learners"] >= 1 and len(done["approved"]) == done["learners"] + 1
    assert c.post("/v1/classes/c-3-station/approve-all", headers=NGUYEN).status_code == 403
    hits = c.get("/v1/activities/search", headers=ORTIZ, params={"q": "3.NF.A.1"}).json()
    assert hits and all("3.NF.A.1" in h["skills"] for h in hits)
    assert c.get("/v1/activities/search", headers=ORTIZ, params={"q": "x" * 101}).status_code == 422


def test_not_started_and_ready(fresh_client):
    c = fresh_client
    assert c.put("/v1/roster/learners/N-new", headers=ADMIN, json={"name": "Nia New", "grade": "3"}).status_code in (200, 201)
    assert c.put("/v1/roster/learners/N-ready", headers=ADMIN, json={"name": "Ray Ready", "grade": "3"}).status_code in (200, 201)
    r = c.put("/v1/roster/classes/c-needs", headers=ADMIN, json={"name": "Needs", "grade": "3", "teachers": ["t-ortiz"],
                                                                  "roster": ["N-new", "N-ready"]})
    assert r.status_code in (200, 201), r.text
    obs = [{"id": f"ready-{k}", "learner_id": "N-ready", "activity_id": "A0001", "correct": True,
            "observed_at": f"2026-10-{1 + k:02d}T10:00:00Z"} for k in range(12)]
    assert c.post("/v1/evidence", headers=LMS, json={"observations": obs}).status_code in (200, 201, 202)
    needs = c.get("/v1/classes/c-needs/needs", headers=ORTIZ).json()
    assert [x["learner_id"] for x in needs["not_started"]] == ["N-new"]
    assert [x["learner_id"] for x in needs["ready"]] == ["N-ready"]
    assert needs["ready"][0]["skill_id"] == "3.G.A.1"

