"""Learner mastery/history/profile, graph (CASE import, queries) and catalog CRUD."""

from __future__ import annotations

from tests.service.conftest import ADMIN, ORTIZ, RESEARCHER, roster
from tests.service.conftest import LMS as LMS_KEY

DOC = "a1b2c3d4-0000-4000-8000-000000000001"
I1 = "a1b2c3d4-0000-4000-8000-0000000000a1"
I2 = "a1b2c3d4-0000-4000-8000-0000000000a2"


def _node(ident, kind="CFItems", title=""):
    return {"title": title, "identifier": ident, "uri": f"https://case.example/{kind}/{ident}"}


def case_package():
    when = "2026-01-05T10:00:00+00:00"
    return {
        "CFDocument": {"uri": f"https://case.example/CFDocuments/{DOC}", "identifier": DOC,
                       "lastChangeDateTime": when, "creator": "Pathwise tests", "title": "Tiny framework"},
        "CFItems": [
            {"uri": f"https://case.example/CFItems/{I1}", "identifier": I1, "lastChangeDateTime": when,
             "humanCodingScheme": "TF.1", "fullStatement": "Count objects in a set"},
            {"uri": f"https://case.example/CFItems/{I2}", "identifier": I2, "lastChangeDateTime": when,
             "humanCodingScheme": "TF.2", "fullStatement": "Add two small sets"},
        ],
        "CFAssociations": [
            {"uri": "https://case.example/CFAssociations/x1", "identifier": "a1b2c3d4-0000-4000-8000-0000000000b1",
             "lastChangeDateTime": when, "associationType": "precedes",
             "originNodeURI": _node(I1, title="TF.1"), "destinationNodeURI": _node(I2, title="TF.2")},
        ],
    }


def test_mastery_history_profile(client):
    learner = roster(client, "c-3-station")[0]
    m = client.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()
    assert m["skills"], "demo learners have evidence"
    assert all(0.0 <= s["p_mastered"] <= 1.0 and s["title"] for s in m["skills"])
    skill = m["skills"][0]["skill_id"]
    h = client.get(f"/v1/learners/{learner}/mastery/history", params={"skill_id": skill}, headers=ADMIN).json()
    assert h["points"] and all(p["skill_id"] == skill for p in h["points"])
    assert abs(h["points"][-1]["after"] - m["skills"][0]["p_mastered"]) < 1e-9
    p = client.get(f"/v1/learners/{learner}/profile", headers=ORTIZ).json()
    assert p["fields"]["interests"]["set_by"] in ("student", "teacher", "parent", "system")
    assert set(p["fields"]) >= {"strengths", "growth_areas", "interests", "aspirations", "accommodations",
                                "availability", "preferred_formats"}
    assert client.get("/v1/learners/NOPE/mastery", headers=ADMIN).status_code == 404
    assert client.get(f"/v1/learners/{learner}/mastery/history", params={"skill_id": "nope"},
                      headers=ADMIN).status_code == 404


def test_profile_update_records_who(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    # a teacher may not speak for the student (per-field ownership), an admin may on their behalf
    claimed = c.patch(f"/v1/learners/{learner}/profile", headers=ORTIZ,
                      json={"set_by": "student", "fields": {"interests": ["space"]}})
    assert claimed.status_code == 403 and "set_by='student'" in claimed.json()["error"]["message"]
    mixed = c.patch(f"/v1/learners/{learner}/profile", headers=ADMIN,
                    json={"set_by": "student", "fields": {"interests": ["space"], "pace": 1.5}})
    assert mixed.status_code == 403 and "fields.pace: the teacher owns" in mixed.json()["error"]["message"]
    r = c.patch(f"/v1/learners/{learner}/profile", headers=ADMIN,
                json={"set_by": "student", "fields": {"interests": ["space", "music"]}})
    assert r.status_code == 200, r.text
    r = c.patch(f"/v1/learners/{learner}/profile", headers=ORTIZ,
                json={"set_by": "teacher", "fields": {"pace": 1.5}})
    assert r.status_code == 200, r.text
    f = r.json()["fields"]
    assert sorted(f["interests"]["value"]) == ["music", "space"]
    assert f["interests"]["set_by"] == "student" and f["pace"]["value"] == 1.5
    assert any(h["field"] == "interests" for h in r.json()["history"])
    again = c.get(f"/v1/learners/{learner}/profile", headers=ADMIN).json()
    assert again["fields"]["interests"]["set_by"] == "student"
    bad = c.patch(f"/v1/learners/{learner}/profile", headers=ORTIZ,
                  json={"set_by": "teacher", "fields": {"pace": 99}})
    assert bad.status_code == 422 and "pace" in bad.json()["error"]["message"]
    unknown = c.patch(f"/v1/learners/{learner}/profile", headers=ORTIZ,
                      json={"set_by": "teacher", "fields": {"shoe_size": 3}})
    assert unknown.status_code == 422
    who = c.patch(f"/v1/learners/{learner}/profile", headers=ORTIZ,
                  json={"set_by": "robot", "fields": {"pace": 1}})
    assert who.status_code == 422


def test_ready_to_learn_and_gaps(client):
    learner = roster(client, "c-3-station")[0]
    ready = client.get(f"/v1/learners/{learner}/ready-to-learn", headers=ADMIN).json()
    assert ready["skills"]
    mastery = {s["skill_id"]: s["p_mastered"] for s in
               client.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["skills"]}
    skills = {s["id"]: s for s in client.get("/v1/graph/skills", headers=RESEARCHER).json()}
    for s in ready["skills"]:
        assert mastery.get(s["skill_id"], 0.0) < 0.95
        assert all(mastery.get(p, 0.0) >= 0.95 for p in skills[s["skill_id"]]["prerequisites"])
    deep = max(skills.values(), key=lambda s: len(s["prerequisites"]))
    g = client.get(f"/v1/learners/{learner}/gaps/{deep['id']}", headers=ADMIN)
    assert g.status_code == 200
    dist = [x["distance"] for x in g.json()["gaps"]]
    assert dist == sorted(dist)
    assert client.get(f"/v1/learners/{learner}/gaps/nope", headers=ADMIN).status_code == 404


def test_case_import_and_skill_queries(fresh_client):
    c = fresh_client
    r = c.post("/v1/graph/case", headers=ADMIN, json=case_package())
    assert r.status_code == 200, r.text
    assert r.json()["skills"] == 2 and r.json()["prerequisites"] == 1
    s = c.get(f"/v1/graph/skills/{I2}", headers=ADMIN).json()
    assert s["code"] == "TF.2" and s["prerequisites"] == [I1]
    # the demo graph is still there (merged, not replaced)
    assert c.get("/v1/graph/skills/3.OA.A.1", headers=ADMIN).status_code == 200
    bad = case_package()
    del bad["CFDocument"]
    assert c.post("/v1/graph/case", headers=ADMIN, json=bad).status_code == 422
    cyc = case_package()
    cyc["CFAssociations"].append({**cyc["CFAssociations"][0], "identifier": "a1b2c3d4-0000-4000-8000-0000000000b2",
                                  "originNodeURI": _node(I2), "destinationNodeURI": _node(I1)})
    r = c.post("/v1/graph/case", headers=ADMIN, json=cyc)
    assert r.status_code == 422 and "cycle" in r.json()["error"]["message"].lower()
    assert c.get("/v1/graph/skills/nope", headers=ADMIN).status_code == 404


def _activity(aid, **kw):
    a = {"id": aid, "title": "Counting with beads", "skills": [["3.OA.A.1", 1.0]], "kind": "practice",
         "modality": "independent_offline", "place": "school", "duration_min": 12,
         "formats": ["hands_on"], "accommodations": ["extended_time"]}
    a.update(kw)
    return a


def test_catalog_crud_and_import(fresh_client):
    c = fresh_client
    r = c.post("/v1/catalog/activities", headers=ADMIN, json=_activity("T1"))
    assert r.status_code == 201, r.text
    assert r.json()["formats"] == ["hands_on"]
    assert c.post("/v1/catalog/activities", headers=ADMIN, json=_activity("T1")).status_code == 409
    assert c.get("/v1/catalog/activities/T1", headers=ORTIZ).json()["title"] == "Counting with beads"
    r = c.put("/v1/catalog/activities/T1", headers=ADMIN, json=_activity("T1", title="Beads 2"))
    assert r.status_code == 200 and r.json()["title"] == "Beads 2"
    assert c.put("/v1/catalog/activities/T1", headers=ADMIN, json=_activity("T2")).status_code == 422
    listed = c.get("/v1/catalog/activities", params={"skill_id": "3.OA.A.1"}, headers=ADMIN).json()
    assert "T1" in {a["id"] for a in listed}
    assert c.delete("/v1/catalog/activities/T1", headers=ADMIN).status_code == 204
    assert c.get("/v1/catalog/activities/T1", headers=ADMIN).status_code == 404
    assert c.delete("/v1/catalog/activities/T1", headers=ADMIN).status_code == 404
    # bad enum value -> 422 naming the field
    r = c.post("/v1/catalog/activities", headers=ADMIN, json=_activity("T3", modality="telepathy"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["loc"][-1] == "modality"
    # import: all or nothing
    r = c.post("/v1/catalog/import", headers=ADMIN,
               json={"activities": [_activity("T4"), _activity("T5", skills=[["no.skill", 1.0]])]})
    assert r.status_code == 422
    assert c.get("/v1/catalog/activities/T4", headers=ADMIN).status_code == 404
    r = c.post("/v1/catalog/import", headers=ADMIN, json={"activities": [_activity("T4"), _activity("T5")]})
    assert r.json() == {"created": 2, "updated": 0, "removed": 0}
    r = c.post("/v1/catalog/import", headers=ADMIN, json={"activities": [_activity("T4", title="x")]})
    assert r.json() == {"created": 0, "updated": 1, "removed": 0}


def test_planning_policy_is_per_tenant_and_sets_the_threshold(fresh_client):
    """One PlanningPolicy per tenant: admins set it, everything that decides 'mastered' uses it
    (mastery/ready-to-learn/gaps defaults, the planner), other tenants keep theirs."""
    from tests.service.conftest import LMS, RIVAL_ADMIN

    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    assert c.get("/v1/planning-policy", headers=ORTIZ).json()["mastered_threshold"] == 0.95
    assert c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["threshold"] == 0.95
    ready_095 = {s["skill_id"] for s in c.get(f"/v1/learners/{learner}/ready-to-learn", headers=ADMIN).json()["skills"]}
    # only admins change it; bad values name the field
    assert c.patch("/v1/planning-policy", headers=ORTIZ, json={"mastered_threshold": 0.8}).status_code == 403
    assert c.patch("/v1/planning-policy", headers=LMS, json={"mastered_threshold": 0.8}).status_code == 403
    bad = c.patch("/v1/planning-policy", headers=ADMIN, json={"mastered_threshold": 1.5})
    assert bad.status_code == 422 and "mastered_threshold" in bad.text
    bad = c.patch("/v1/planning-policy", headers=ADMIN, json={"struggling_mastery": 0.9, "mastered_threshold": 0.6})
    assert bad.status_code == 422 and "struggling_mastery" in bad.text
    r = c.patch("/v1/planning-policy", headers=ADMIN, json={"mastered_threshold": 0.6, "goal_weight": 3.0})
    assert r.status_code == 200, r.text
    assert r.json()["mastered_threshold"] == 0.6 and r.json()["goal_weight"] == 3.0 and r.json()["growth_weight"] == 1.5
    assert c.get("/v1/planning-policy", headers=ADMIN).json()["mastered_threshold"] == 0.6
    assert c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["threshold"] == 0.6
    ready = c.get(f"/v1/learners/{learner}/ready-to-learn", headers=ADMIN).json()
    assert ready["threshold"] == 0.6
    mastery = {s["skill_id"]: s["p_mastered"] for s in
               c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["skills"]}
    skills = {s["id"]: s for s in c.get("/v1/graph/skills", headers=ADMIN).json()}
    for s in ready["skills"]:
        assert mastery.get(s["skill_id"], 0.0) < 0.6
        assert all(mastery.get(p, 0.0) >= 0.6 for p in skills[s["skill_id"]]["prerequisites"])
    assert {s["skill_id"] for s in ready["skills"]} != ready_095
    # an explicit threshold still wins for one query
    assert c.get(f"/v1/learners/{learner}/ready-to-learn", params={"threshold": 0.95},
                 headers=ADMIN).json()["threshold"] == 0.95
    # the planner runs under it (reasons and playlists still come out) and the audit has the change
    assert c.post(f"/v1/learners/{learner}/playlist", headers=LMS).status_code == 200
    audit = c.get("/v1/audit", params={"limit": 5000}, headers=ADMIN).json()
    assert any(a["resource"] == "planning_policy" and a["action"] == "write" for a in audit)
    # another tenant keeps its own policy
    assert c.get("/v1/planning-policy", headers=RIVAL_ADMIN).json()["mastered_threshold"] == 0.95


def test_learned_model_switches_are_off_by_default_and_set_over_http(fresh_client):
    """The planning policy's learned-model switches (issue 15 items 2-3): off by default,
    admins switch them on, a non-boolean names the field, and a playlist then records which
    learned models it used (planner.learned)."""
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    policy = c.get("/v1/planning-policy", headers=ADMIN).json()
    assert policy["learn_effectiveness"] == "when_shown" and policy["fitted_forgetting"] is False
    off = c.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    assert "learned" not in c.get(f"/v1/plans/{off['plan_id']}", headers=ADMIN).json()["body"]["planner"]
    bad = c.patch("/v1/planning-policy", headers=ADMIN, json={"learn_effectiveness": "maybe"})
    assert bad.status_code == 422 and "learn_effectiveness" in bad.text
    r = c.patch("/v1/planning-policy", headers=ADMIN, json={"learn_effectiveness": True, "fitted_forgetting": True})
    assert r.status_code == 200, r.text
    assert r.json()["learn_effectiveness"] == "on" and r.json()["fitted_forgetting"] is True
    on = c.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    learned = c.get(f"/v1/plans/{on['plan_id']}", headers=ADMIN).json()["body"]["planner"]["learned"]
    assert learned["effectiveness"] is True and learned["forgetting"] is True and learned["tickets"] > 0


def test_the_forgetting_protection_switch_waits_for_evidence_by_default_and_is_set_over_http(fresh_client):
    c = fresh_client
    assert c.get("/v1/planning-policy", headers=ADMIN).json()["protect_from_forgetting"] == "when_shown"
    bad = c.patch("/v1/planning-policy", headers=ADMIN, json={"protect_from_forgetting": "often"})
    assert bad.status_code == 422 and "protect_from_forgetting" in bad.text and "when_shown" in bad.text
    r = c.patch("/v1/planning-policy", headers=ADMIN, json={"protect_from_forgetting": True})
    assert r.status_code == 200 and r.json()["protect_from_forgetting"] == "on"  # true means on
    assert c.get("/v1/planning-policy", headers=ADMIN).json()["protect_from_forgetting"] == "on"
    r = c.patch("/v1/planning-policy", headers=ADMIN, json={"protect_from_forgetting": "when_shown"})
    assert r.status_code == 200 and r.json()["protect_from_forgetting"] == "when_shown"
    learner = roster(c, "c-3-station")[0]
    assert c.get("/v1/planning-policy/forgetting", headers=ADMIN).status_code == 200  # fits the school's test
    plan = c.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    test = c.get(f"/v1/plans/{plan['plan_id']}", headers=ADMIN).json()["body"]["planner"]["protect_from_forgetting"]
    assert test["forgets"] is False and test["retention_checks"] > 1000  # the demo school forgets nothing
    r = c.patch("/v1/planning-policy", headers=ADMIN, json={"protect_from_forgetting": "on"})
    assert r.status_code == 200
    assert c.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).status_code == 200  # plans with it


def test_an_admin_asks_whether_the_school_forgets(fresh_client):
    """GET /v1/planning-policy/forgetting: the demo school's ~1,150 retention checks fail at
    the same rate at every gap: it does not forget, so "when_shown" protects nothing; "on"
    protects whatever the test says; the LMS key may not read it."""
    c = fresh_client
    r = c.get("/v1/planning-policy/forgetting", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "when_shown" and body["forgets"] is False and body["protecting"] is False
    assert body["retention_checks"] > 1000 and body["evidence"] < 2.71 and body["half_life_days"] is None
    c.patch("/v1/planning-policy", headers=ADMIN, json={"protect_from_forgetting": "on"})
    on = c.get("/v1/planning-policy/forgetting", headers=ORTIZ).json()  # teachers read it too
    assert on["mode"] == "on" and on["protecting"] is True and on["forgets"] is False
    assert c.get("/v1/planning-policy/forgetting", headers=LMS_KEY).status_code == 403
