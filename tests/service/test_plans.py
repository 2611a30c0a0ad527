"""Recommendations and review: playlists, class plans for every blended model, lifecycle."""

from __future__ import annotations

import pytest

from tests.service.conftest import ADMIN, LMS, ORTIZ, RIVAL_ADMIN, roster

CLASSES = ["c-3-station", "c-4-lab", "c-5-individual", "c-6-flipped", "c-7-flex", "c-8-alacarte", "c-7-virtual"]


def test_playlist_has_reasons_and_fits_budget(client):
    learner = roster(client, "c-3-station")[0]
    r = client.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"budget_min": 45})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["status"] == "proposed" and plan["kind"] == "playlist" and plan["subject"] == learner
    assert plan["items"]
    assert plan["total_minutes"] <= 45
    for it in plan["items"]:
        assert it["reason"] and it["reason"].count(".") >= 1
        assert it["details"]["target_skill"]
    assert client.get(f"/v1/plans/{plan['plan_id']}", headers=LMS).json()["plan_id"] == plan["plan_id"]
    listed = client.get("/v1/plans", params={"learner_id": learner}, headers=ORTIZ).json()
    assert plan["plan_id"] in {p["plan_id"] for p in listed}


@pytest.mark.parametrize("class_id", CLASSES)
def test_class_plan_for_every_blended_model(client, class_id):
    r = client.post(f"/v1/classes/{class_id}/plan", headers=ADMIN, json={})
    assert r.status_code == 200, r.text
    body = r.json()["body"]
    members = roster(client, class_id)
    assert set(body["playlists"]) == set(members)  # everyone has a schedule
    assert all(g["reason"] for g in body["groups"])
    per_slot: dict = {}
    for g in body["groups"]:
        assert set(g["learners"]) <= set(members)
        for lid in g["learners"]:  # nobody is in two groups at the same time
            assert (g["slot"], lid) not in per_slot, (g, per_slot.get((g["slot"], lid)))
            per_slot[(g["slot"], lid)] = g["name"]
        if g["kind"] == "teacher_led":
            assert len(g["learners"]) <= 6  # the demo classes' small-group cap
    if body["model"] in ("station_rotation", "individual_rotation", "lab_rotation"):
        assert body["schedule"] and body["stations"]
    # every learner with something planned got a reviewable playlist from the same run
    with_items = [m for m, p in body["playlists"].items() if p["items"]]
    assert with_items
    for learner in with_items[:3]:
        plans = client.get("/v1/plans", params={"learner_id": learner}, headers=ADMIN).json()
        assert plans, "the class plan creates reviewable playlists"
    for items in body["playlists"].values():
        for it in items["items"]:
            assert it["reason"]


def test_keep_apart_is_respected(client):
    members = roster(client, "c-3-station")
    a, b = members[0], members[1]
    r = client.post("/v1/classes/c-3-station/plan", headers=ADMIN, json={"keep_apart": [[a, b]]})
    assert r.status_code == 200
    for g in r.json()["body"]["groups"]:
        assert not (a in g["learners"] and b in g["learners"])


def test_review_lifecycle_with_audit(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    plan = c.post(f"/v1/learners/{learner}/playlist", headers=ORTIZ).json()
    pid, items = plan["plan_id"], [i["activity_id"] for i in plan["items"]]
    assert len(items) >= 2
    # pin, remove, reorder, add
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "pin", "activity_id": items[0]})
    assert r.status_code == 200 and r.json()["status"] == "edited" and r.json()["items"][0]["pinned"]
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "remove", "activity_id": items[0]})
    assert r.status_code == 409  # pinned items must be unpinned first
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "remove", "activity_id": items[1]})
    assert r.status_code == 200 and items[1] not in [i["activity_id"] for i in r.json()["items"]]
    assert items[1] in r.json()["removes"]
    current = [i["activity_id"] for i in r.json()["items"]]
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "reorder", "order": current[::-1]})
    assert [i["activity_id"] for i in r.json()["items"]] == current[::-1]
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "reorder", "order": current + current[:1]})
    assert r.status_code == 422
    r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "add", "activity_id": "A0002", "position": 0})
    assert r.status_code == 200 and r.json()["items"][0]["activity_id"] == "A0002"
    assert r.json()["items"][0]["added_by"] == "teacher"
    assert c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "add", "activity_id": "NOPE"}).status_code == 404
    # regenerate keeps the teacher's pins and removals as constraints
    r = c.post(f"/v1/plans/{pid}/regenerate", headers=ORTIZ)
    assert r.status_code == 200, r.text
    regen = r.json()
    ids = [i["activity_id"] for i in regen["items"]]
    assert regen["version"] == 2 and regen["status"] == "proposed"
    assert items[0] in ids and items[1] not in ids
    # the added (pinned) activity is planned, or the planner says which constraint excluded it
    assert "A0002" in ids or any("A0002" in c["constraint"] for c in regen["conflicts"]), regen["conflicts"]
    # approve -> activate -> done; then no more changes
    assert c.post(f"/v1/plans/{pid}/approve", headers=ORTIZ).json()["status"] == "approved"
    assert c.post(f"/v1/plans/{pid}/activate", headers=ORTIZ).json()["status"] == "active"
    assert c.post(f"/v1/plans/{pid}/regenerate", headers=ORTIZ).status_code == 409
    assert c.post(f"/v1/plans/{pid}/complete", headers=ORTIZ).json()["status"] == "done"
    assert c.post(f"/v1/plans/{pid}/approve", headers=ORTIZ).status_code == 409
    history = c.get(f"/v1/plans/{pid}", headers=ORTIZ).json()["history"]
    assert [h["op"] for h in history] == ["edit", "edit", "edit", "edit", "regenerate", "approve", "activate", "complete"]
    audit = c.get("/v1/audit", params={"limit": 5000}, headers=ADMIN).json()
    review_rows = [a for a in audit if a["action"] == "review" and a["detail"].get("plan_id") == pid]
    assert len(review_rows) == len(history)


def test_reject_needs_reason(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[1]
    pid = c.post(f"/v1/learners/{learner}/playlist", headers=ORTIZ).json()["plan_id"]
    assert c.post(f"/v1/plans/{pid}/reject", headers=ORTIZ, json={"reason": ""}).status_code == 422
    r = c.post(f"/v1/plans/{pid}/reject", headers=ORTIZ, json={"reason": "too much screen time"})
    assert r.json()["status"] == "rejected" and r.json()["reject_reason"] == "too much screen time"
    assert c.post(f"/v1/plans/{pid}/approve", headers=ORTIZ).status_code == 409
    assert c.post(f"/v1/plans/{pid}/regenerate", headers=ORTIZ).json()["status"] == "proposed"


def test_infeasible_request_is_200_with_conflicts(client):
    learner = roster(client, "c-3-station")[0]
    acts = client.get("/v1/catalog/activities", params={"limit": 5000}, headers=ADMIN).json()
    long_ones = sorted(acts, key=lambda a: -a["duration_min"])[:3]
    pins = [a["id"] for a in long_ones]
    r = client.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"budget_min": 20, "pins": pins})
    assert r.status_code == 200, r.text
    assert r.json()["conflicts"], "pins beyond the budget must be reported"
    assert all(c["message"] for c in r.json()["conflicts"])


def test_nothing_to_plan_is_409(fresh_client):
    c = fresh_client
    assert c.delete("/v1/catalog/activities/RA1", headers=RIVAL_ADMIN).status_code == 204
    r = c.post("/v1/learners/R001/playlist", headers=RIVAL_ADMIN)
    assert r.status_code == 409, r.text


def test_unknown_ids(client):
    assert client.post("/v1/learners/NOPE/playlist", headers=LMS).status_code == 404
    assert client.post("/v1/classes/NOPE/plan", headers=ADMIN).status_code == 404
    assert client.get("/v1/plans/plan_nope", headers=ADMIN).status_code == 404
    learner = roster(client, "c-3-station")[0]
    r = client.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"pins": ["NOPE"]})
    assert r.status_code == 404
    r = client.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"budget_min": -5})
    assert r.status_code == 422


def test_class_playlists_are_reviewable_and_regenerable(fresh_client):
    c = fresh_client
    assert c.post("/v1/classes/c-3-station/plan", headers=ORTIZ, json={}).status_code == 200
    for learner in roster(c, "c-3-station"):
        plan = c.get("/v1/plans", params={"learner_id": learner}, headers=ORTIZ).json()[0]
        mini = [i for i in plan["items"] if i["activity_id"].startswith("mini-lesson:")]
        if not mini:
            continue
        assert mini[0]["title"].startswith("Mini-lesson: ") and mini[0]["details"]["station"]
        pid = plan["plan_id"]
        r = c.post(f"/v1/plans/{pid}/edit", headers=ORTIZ, json={"op": "pin", "activity_id": mini[0]["activity_id"]})
        assert r.status_code == 200
        r = c.post(f"/v1/plans/{pid}/regenerate", headers=ORTIZ)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
        return
    raise AssertionError("no class playlist with a teacher mini-lesson")


def test_why_not(client):
    learner = roster(client, "c-3-station")[0]
    plan = client.post(f"/v1/learners/{learner}/playlist", headers=LMS).json()
    inside = plan["items"][0]["activity_id"]
    r = client.get(f"/v1/learners/{learner}/why-not/{inside}", headers=ORTIZ)
    assert r.status_code == 200, r.text
    assert r.json()["in_plan"] is True
    acts = client.get("/v1/catalog/activities", params={"skill_id": plan["items"][0]["details"]["target_skill"]},
                      headers=LMS).json()
    outside = next(a["id"] for a in acts if a["id"] not in {i["activity_id"] for i in plan["items"]})
    w = client.get(f"/v1/learners/{learner}/why-not/{outside}", headers=LMS).json()
    assert w["in_plan"] is False and w["sentence"] and w["excluded_by"]
    assert client.get(f"/v1/learners/{learner}/why-not/NOPE", headers=LMS).status_code == 404


def test_stale_review_is_a_conflict(fresh_client):
    from engine import review as rv
    from engine.errors import ConflictError

    c = fresh_client
    learner = roster(c, "c-3-station")[2]
    plan = c.post(f"/v1/learners/{learner}/playlist", headers=ORTIZ).json()
    school = c.app.state.pathwise.school("demo")
    stale, version = school._plan_versioned(plan["plan_id"])
    assert c.post(f"/v1/plans/{plan['plan_id']}/approve", headers=ORTIZ).status_code == 200
    edited, _ = rv.edit(stale, "someone", "pin", activity_id=plan["items"][0]["activity_id"])
    with pytest.raises(ConflictError):
        school._save_plan(edited, expected_version=version)
    assert c.get(f"/v1/plans/{plan['plan_id']}", headers=ORTIZ).json()["status"] == "approved"


def test_current_playlist(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[5]
    assert c.get(f"/v1/learners/{learner}/playlist", headers=LMS).status_code == 404
    first = c.post(f"/v1/learners/{learner}/playlist", headers=LMS).json()
    assert c.get(f"/v1/learners/{learner}/playlist", headers=LMS).json()["plan_id"] == first["plan_id"]
    c.post(f"/v1/plans/{first['plan_id']}/reject", headers=ORTIZ, json={"reason": "not today"})
    assert c.get(f"/v1/learners/{learner}/playlist", headers=LMS).status_code == 404
    assert c.get("/v1/learners/NOPE/playlist", headers=ADMIN).status_code == 404


def test_empty_plan_is_409(client):
    learner = roster(client, "c-3-station")[0]
    r = client.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"budget_min": 1})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["type"] == "nothing_to_plan" and learner in r.json()["error"]["message"]


def test_new_session_plan_refreshes_proposals_and_keeps_teacher_decisions(fresh_client):
    """Teachers decide: a class-plan refresh updates still-unreviewed proposals in place; next
    to a playlist the teacher approved it only adds a proposal that waits beside it."""
    c = fresh_client
    members = roster(c, "c-3-station")
    assert c.post("/v1/classes/c-3-station/plan", headers=ORTIZ, json={}).status_code == 200
    first = {m: c.get(f"/v1/learners/{m}/playlist", headers=ORTIZ).json() for m in members}
    assert all(p["pending"] is None for p in first.values())
    kept = members[0]
    c.post(f"/v1/plans/{first[kept]['plan_id']}/approve", headers=ORTIZ)
    n_audit = len(c.get("/v1/audit", params={"limit": 5000}, headers=ADMIN).json())
    assert c.post("/v1/classes/c-3-station/plan", headers=ORTIZ, json={}).status_code == 200
    second = {m: c.get(f"/v1/learners/{m}/playlist", headers=ORTIZ).json() for m in members}
    assert second[kept]["plan_id"] == first[kept]["plan_id"]
    assert second[kept]["version"] == 1 and second[kept]["status"] == "approved"
    waiting = second[kept]["pending"]
    assert waiting is not None and waiting["status"] == "proposed" and waiting["plan_id"] != first[kept]["plan_id"]
    for m in members[1:]:
        assert second[m]["plan_id"] == first[m]["plan_id"] and second[m]["version"] == 2
        assert second[m]["pending"] is None
    rows = c.get("/v1/audit", params={"limit": 5000}, headers=ADMIN).json()[n_audit:]
    writes = [r for r in rows if r["action"] == "write" and r["resource"].startswith("plan")]
    # the class plan + each refreshed proposal + the new proposal beside the approved playlist
    assert len(writes) == 1 + len(members)
    # a third refresh updates the waiting proposal, still beside the approved playlist
    assert c.post("/v1/classes/c-3-station/plan", headers=ORTIZ, json={}).status_code == 200
    third = c.get(f"/v1/learners/{kept}/playlist", headers=ORTIZ).json()
    assert third["plan_id"] == first[kept]["plan_id"] and third["status"] == "approved"
    assert third["pending"]["plan_id"] == waiting["plan_id"] and third["pending"]["version"] == 2


@pytest.mark.parametrize("decision", ["approve", "activate"])
def test_lms_generation_never_replaces_the_teachers_plan(fresh_client, decision):
    """An LMS generating a playlist makes a proposal that waits beside the plan the teacher
    approved (or started); the teacher sees both and decides."""
    c = fresh_client
    learner = roster(c, "c-3-station")[3]
    mine = c.post(f"/v1/learners/{learner}/playlist", headers=ORTIZ).json()
    assert c.post(f"/v1/plans/{mine['plan_id']}/approve", headers=ORTIZ).status_code == 200
    if decision == "activate":
        assert c.post(f"/v1/plans/{mine['plan_id']}/activate", headers=ORTIZ).status_code == 200
    expected = "approved" if decision == "approve" else "active"
    lms = c.post(f"/v1/learners/{learner}/playlist", headers=LMS, json={"budget_min": 30}).json()
    assert lms["status"] == "proposed" and lms["plan_id"] != mine["plan_id"]
    current = c.get(f"/v1/learners/{learner}/playlist", headers=LMS).json()
    assert current["plan_id"] == mine["plan_id"] and current["status"] == expected
    assert current["pending"]["plan_id"] == lms["plan_id"] and current["pending"]["status"] == "proposed"
    # the teacher's plan is untouched, and both are listed for the teacher
    assert c.get(f"/v1/plans/{mine['plan_id']}", headers=ORTIZ).json()["version"] == 1
    listed = {p["plan_id"]: p["status"] for p in
              c.get("/v1/plans", params={"learner_id": learner}, headers=ORTIZ).json()}
    assert listed[mine["plan_id"]] == expected and listed[lms["plan_id"]] == "proposed"
    # why-not keeps the teacher's plan as the reference
    assert c.get(f"/v1/learners/{learner}/why-not/A0001", headers=LMS).status_code == 200
    if decision == "approve":  # the teacher takes the proposal: now it is the current one
        assert c.post(f"/v1/plans/{lms['plan_id']}/approve", headers=ORTIZ).status_code == 200
        now = c.get(f"/v1/learners/{learner}/playlist", headers=LMS).json()
        assert now["plan_id"] == lms["plan_id"] and now["pending"] is None
    else:  # the teacher dismisses it: the started plan stays, nothing waits
        r = c.post(f"/v1/plans/{lms['plan_id']}/reject", headers=ORTIZ, json={"reason": "keep going"})
        assert r.status_code == 200
        now = c.get(f"/v1/learners/{learner}/playlist", headers=LMS).json()
        assert now["plan_id"] == mine["plan_id"] and now["status"] == "active" and now["pending"] is None
