"""Choice boards through the API: the student sees the options of today's slots, picks one,
the plan records it (the teacher sees body.choices), picks feed the learned preferences, and
the teacher switches choice off per class and back on per learner."""

from __future__ import annotations

import pytest

from tests.service.conftest import ADMIN, NGUYEN, ORTIZ, auth, roster

KEY = "pw-test-chooser"
STUDENT = auth(KEY)


@pytest.fixture(scope="module")
def chooser(client):
    return _setup(client)


def _setup(client) -> dict:
    """A c-3-station learner whose approved playlist has a slot with a choice, and their key."""
    school = client.app.state.pathwise.school("demo")
    for lid in roster(client, "c-3-station"):
        plan = client.post(f"/v1/learners/{lid}/playlist", headers=ADMIN, json={}).json()
        sets = school._choice_sets(lid, school._plan_versioned(plan["plan_id"])[0])
        if any(cs.has_choice for cs in sets):
            assert client.post(f"/v1/plans/{plan['plan_id']}/approve", headers=ORTIZ).status_code == 200
            school.setup_key("student", subject=lid, key=KEY, name="Chooser")
            return {"learner": lid, "plan_id": plan["plan_id"]}
    pytest.fail("no c-3-station learner has a choice on their playlist")


def _slot(client, lid):
    today = client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()
    item = next(i for i in today["items"] if i["options"])
    return today, item


def test_pick_is_recorded_in_the_plan(client, chooser):
    lid = chooser["learner"]
    today, item = _slot(client, lid)
    assert today["plan_id"] == chooser["plan_id"] and today["status"] == "approved"
    planned, alt = item["options"][0], item["options"][1]
    assert planned["planned"] and planned["activity_id"] == item["activity_id"]
    assert alt["reason"].startswith("same skill, ") and alt["activity_id"] != item["activity_id"]
    r = client.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
                    json={"plan_id": today["plan_id"], "position": item["position"], "activity_id": alt["activity_id"]})
    assert r.status_code == 200, r.text
    plan = client.get(f"/v1/plans/{today['plan_id']}", headers=ORTIZ).json()
    assert plan["status"] == "approved"  # the teacher's decision stands: every option fits it
    assert plan["items"][item["position"]]["activity_id"] == alt["activity_id"]
    assert plan["items"][item["position"]]["added_by"] == "student"
    pick = plan["body"]["choices"][-1]
    assert pick["chosen"] == alt["activity_id"] and pick["position"] == item["position"]
    assert set(pick["offered"]) == {o["activity_id"] for o in item["options"]}
    assert plan["history"][-1]["op"] == "choose"
    rows = client.get("/v1/audit", headers=ADMIN, params={"limit": 5000}).json()
    chosen = [r for r in rows if r["action"] == "choose"]
    assert chosen and chosen[-1]["resource"] == f"plan:{lid}" and chosen[-1]["detail"]["chosen"] == alt["activity_id"]
    # today now says the pick was made
    again = client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()
    assert again["items"][item["position"]]["chosen"]["chosen"] == alt["activity_id"]


def test_only_offered_options_and_own_plan(client, chooser):
    lid = chooser["learner"]
    today, item = _slot(client, lid)
    r = client.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
                    json={"plan_id": today["plan_id"], "position": item["position"], "activity_id": "A0001"})
    assert r.status_code == 422 and "is not an option of slot" in r.json()["error"]["message"]
    r = client.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
                    json={"plan_id": today["plan_id"], "position": 99, "activity_id": "A0001"})
    assert r.status_code == 422 and "position=99" in r.json()["error"]["message"]
    other = next(x for x in roster(client, "c-3-station") if x != lid)
    r = client.post(f"/v1/learners/{other}/choices", headers=STUDENT,
                    json={"plan_id": today["plan_id"], "position": 0, "activity_id": "A0001"})
    assert r.status_code == 403


def test_picks_feed_learned_preferences(fresh_client):
    from planner.choices import learned_preferences

    client = fresh_client
    lid = _setup(client)["learner"]
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=ADMIN,
                    json={"fields": {"preferred_formats": []}, "on_behalf": "student"})
    assert r.status_code == 200, r.text
    today, item = _slot(client, lid)
    target = item["options"][1]
    school = client.app.state.pathwise.school("demo")
    mine = {getattr(f, "value", f) for f in school.view.activities[target["activity_id"]].formats}
    for n in range(3):  # the same option three times: its tags are chosen 3 of 3 times
        if n == 2:  # two events are not enough (MIN_EVENTS = 3)
            prof = client.get(f"/v1/learners/{lid}/profile", headers=ADMIN).json()["fields"]
            assert prof["preferred_formats"]["value"] == []
        today, _ = _slot(client, lid)
        r = client.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
                        json={"plan_id": today["plan_id"], "position": item["position"],
                              "activity_id": target["activity_id"]})
        assert r.status_code == 200, r.text
    prof = client.get(f"/v1/learners/{lid}/profile", headers=ADMIN).json()["fields"]
    pairs = dict(prof["choices"]["value"])
    counts = {k.removeprefix("pick:"): tuple(float(x) for x in v.split("/"))
              for k, v in pairs.items() if k.startswith("pick:")}
    learned, _groupings = learned_preferences({k: (c, e, int(n)) for k, (c, e, n) in counts.items()})
    assert mine and mine <= learned, (mine, counts)
    assert set(prof["preferred_formats"]["value"]) == learned
    assert prof["preferred_formats"]["set_by"] == "system"
    story = client.get(f"/v1/learners/{lid}/profile/story", headers=STUDENT).json()["fields"]
    assert next(f for f in story if f["field"] == "preferred_formats")["author"] == "learned from your choices"


def test_teacher_switches_choice_per_class_and_learner(client, chooser):
    lid = chooser["learner"]
    assert client.put("/v1/choice-settings", headers=STUDENT,
                      json={"class_id": "c-3-station", "enabled": False}).status_code == 403
    assert client.put("/v1/choice-settings", headers=NGUYEN,
                      json={"class_id": "c-3-station", "enabled": False}).status_code == 403
    assert client.put("/v1/choice-settings", headers=ORTIZ, json={"enabled": False}).status_code == 422
    r = client.put("/v1/choice-settings", headers=ORTIZ, json={"class_id": "c-3-station", "enabled": False})
    assert r.status_code == 200, r.text
    today = client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()
    assert today["choice_enabled"] is False and all(not i["options"] for i in today["items"])
    r = client.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
                    json={"plan_id": today["plan_id"], "position": 0, "activity_id": today["items"][0]["activity_id"]})
    assert r.status_code == 409 and "switched off" in r.json()["error"]["message"]
    # the learner's own switch wins over the class's
    assert client.put("/v1/choice-settings", headers=ORTIZ,
                      json={"learner_id": lid, "enabled": True}).status_code == 200
    today = client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()
    assert today["choice_enabled"] is True and any(i["options"] for i in today["items"])
    # null removes the learner's own switch: the class's "off" applies again
    assert client.put("/v1/choice-settings", headers=ORTIZ,
                      json={"class_id": "c-3-station", "enabled": None}).status_code == 422
    r = client.put("/v1/choice-settings", headers=ORTIZ, json={"learner_id": lid, "enabled": None})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["follows_class"], r.text
    assert client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()["choice_enabled"] is False
    # resetting again changes nothing and is not an error
    assert client.put("/v1/choice-settings", headers=ORTIZ,
                      json={"learner_id": lid, "enabled": None}).status_code == 200
    client.put("/v1/choice-settings", headers=ORTIZ, json={"class_id": "c-3-station", "enabled": True})
    assert client.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()["choice_enabled"] is True
