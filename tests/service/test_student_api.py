"""The learner's voice through the API: per-field profile ownership (who may write what, who
wrote it and when), "how did it go?" as soft self-report evidence, the guardian's weekly
summary and notes, the PLP (JSON and acknowledgements) and the refusals of each role."""

from __future__ import annotations

import pytest

from engine.app._student import SELF_REPORT_WEIGHT, self_report_score
from engine.errors import ValidationError
from tests.service.conftest import ADMIN, NGUYEN, ORTIZ, auth, roster

STUDENT_KEY, OTHER_KEY, GUARDIAN_KEY = "pw-test-student", "pw-test-student-2", "pw-test-guardian"
STUDENT, OTHER, GUARDIAN = auth(STUDENT_KEY), auth(OTHER_KEY), auth(GUARDIAN_KEY)


@pytest.fixture(scope="module")
def family(client):
    """Two learners of c-3-station with student keys; a guardian linked to the first."""
    from engine.domain.classes import Guardian

    pw = client.app.state.pathwise
    school = pw.school("demo")
    lid, other = roster(client, "c-3-station")[:2]
    school.setup_key("student", subject=lid, key=STUDENT_KEY, name=school.view.learners[lid].name)
    school.setup_key("student", subject=other, key=OTHER_KEY, name="Other")
    school.setup_key("guardian", subject="g-api", key=GUARDIAN_KEY, name="Ms. Family")
    school.store.put_guardians([Guardian("g-api", "Ms. Family", (lid,))])
    pw.invalidate("demo")
    return {"learner": lid, "other": other}


def test_ownership_each_role_writes_only_its_fields(client, family):
    lid = family["learner"]
    ok = client.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT,
                     json={"fields": {"goals": ["Read a chapter book"], "how_i_learn": ["with pictures"]}})
    assert ok.status_code == 200, ok.text
    fields = {f["field"]: f for f in ok.json()["fields"]}
    assert fields["goals"]["value"] == ["Read a chapter book"]
    assert fields["goals"]["set_by"] == "student" and fields["goals"]["owner"] == "student"
    assert fields["goals"]["author"] and fields["goals"]["set_at"].endswith("Z")
    # the student may not write the teacher's accommodations
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT,
                    json={"fields": {"accommodations": ["extended_time"]}})
    assert r.status_code == 403 and "the teacher owns this field" in r.json()["error"]["message"]
    # the guardian writes notes and home availability, not interests
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=GUARDIAN,
                    json={"fields": {"home_availability": ["weekdays after 5 pm"]}})
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=GUARDIAN, json={"fields": {"interests": ["chess"]}})
    assert r.status_code == 403 and "the student owns this field" in r.json()["error"]["message"]
    # the teacher of the class writes strengths, not the family's notes
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=ORTIZ, json={"fields": {"accommodations": ["quiet_space"]}})
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=ORTIZ, json={"fields": {"family_notes": ["x"]}})
    assert r.status_code == 403
    # an admin writes on behalf of the owner, and must say whose
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=ADMIN, json={"fields": {"goals": ["x"]}})
    assert r.status_code == 422 and "on_behalf" in r.json()["error"]["message"]
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=ADMIN,
                    json={"fields": {"goals": ["Read a chapter book", "Learn fractions"]}, "on_behalf": "student"})
    assert r.status_code == 200
    story = client.get(f"/v1/learners/{lid}/profile/story", headers=STUDENT).json()
    goals = next(f for f in story["fields"] if f["field"] == "goals")
    # each goal keeps its own author: the first was the student's, the second the admin's
    assert [e["text"] for e in goals["entries"]] == ["Read a chapter book", "Learn fractions"]
    assert goals["entries"][0]["set_by"] == goals["entries"][1]["set_by"] == "student"
    assert goals["entries"][0]["author"] == fields["goals"]["author"] != goals["entries"][1]["author"]


def test_bad_profile_input_names_the_field(client, family):
    lid = family["learner"]
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT, json={"fields": {"shoe_size": 3}})
    assert r.status_code == 422 and "fields.shoe_size" in r.json()["error"]["message"]
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT, json={"fields": {"goals": ["x" * 600]}})
    assert r.status_code == 422 and "fields.goals" in r.json()["error"]["message"]
    r = client.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT, json={"fields": {}})
    assert r.status_code == 422


def test_students_and_guardians_stay_in_their_scope(client, family):
    lid, other = family["learner"], family["other"]
    assert client.get(f"/v1/learners/{other}/today", headers=STUDENT).status_code == 403
    assert client.get(f"/v1/learners/{other}/plp", headers=GUARDIAN).status_code == 403
    assert client.post(f"/v1/learners/{other}/family-notes", headers=GUARDIAN, json={"text": "hi"}).status_code == 403
    assert client.post(f"/v1/learners/{lid}/self-reports", headers=OTHER,
                       json={"activity_id": "A0001", "rating": 3}).status_code == 403
    # a guardian rates nothing (self-reports are the student's voice)
    assert client.post(f"/v1/learners/{lid}/self-reports", headers=GUARDIAN,
                       json={"activity_id": "A0001", "rating": 3}).status_code == 403
    # a teacher of another class sees nothing of this learner
    assert client.get(f"/v1/learners/{lid}/weekly-summary", headers=NGUYEN).status_code == 403
    assert client.get("/v1/me/children", headers=GUARDIAN).json() == [
        {"id": lid, "name": client.app.state.pathwise.school("demo").view.learners[lid].name, "grade": "3"}]


def test_self_report_is_soft_evidence_with_low_weight(client, family):
    lid = family["learner"]
    school = client.app.state.pathwise.school("demo")
    before = {m["skill_id"]: m["p_mastered"] for m in
              client.get(f"/v1/learners/{lid}/mastery", headers=ADMIN).json()["skills"]}
    act = next(a for a in sorted(school.view.activities.values(), key=lambda a: a.id)
               if len(a.skill_ids) == 1 and a.skill_ids[0] in before and a.skill_ids[0] in school.view.model_params
               and before[a.skill_ids[0]] < 0.9)
    k = act.skill_ids[0]
    r = client.post(f"/v1/learners/{lid}/self-reports", headers=STUDENT,
                    json={"activity_id": act.id, "rating": 4, "sentence": "I can explain it"})
    assert r.status_code == 201, r.text
    assert r.json()["score"] == pytest.approx(0.6)
    after = {m["skill_id"]: m["p_mastered"] for m in
             client.get(f"/v1/learners/{lid}/mastery", headers=ADMIN).json()["skills"]}
    # the running model's one filter step, by hand: a soft score of 0.6 (never rounded to 1)
    p = school.view.model_params[k]
    g, sl, lr, f = p["p_guess"], p["p_slip"], p["p_learn"], p.get("p_forget", 0.0)

    def step(p0, score):
        like_m = score * (1 - sl) + (1 - score) * sl
        like_n = score * g + (1 - score) * (1 - g)
        post = p0 * like_m / (p0 * like_m + (1 - p0) * like_n)
        return post * (1 - f) + (1 - post) * lr

    p0 = before[k]
    assert after[k] == pytest.approx(step(p0, 0.6), abs=1e-9)
    assert step(p0, 0.5) < after[k] < step(p0, 1.0)  # up, but far less than a correct answer
    teacher_view = client.get(f"/v1/learners/{lid}/self-reports", headers=ORTIZ).json()
    assert teacher_view[0]["rating"] == 4 and teacher_view[0]["sentence"] == "I can explain it"
    bad = client.post(f"/v1/learners/{lid}/self-reports", headers=STUDENT, json={"activity_id": act.id, "rating": 5})
    assert bad.status_code == 422
    missing = client.post(f"/v1/learners/{lid}/self-reports", headers=STUDENT,
                          json={"activity_id": "no-such-activity", "rating": 2})
    assert missing.status_code == 404 and "no-such-activity" in missing.json()["error"]["message"]


def test_self_report_score_rule():
    assert [round(self_report_score(r), 4) for r in (1, 2, 3, 4)] == [0.4, 0.4667, 0.5333, 0.6]
    assert SELF_REPORT_WEIGHT == 0.2
    for bad in (0, 5, 2.5, True, "3"):
        with pytest.raises(ValidationError, match="rating="):
            self_report_score(bad)


def test_guardian_summary_note_and_plp(client, family):
    lid = family["learner"]
    s = client.get(f"/v1/learners/{lid}/weekly-summary", headers=GUARDIAN)
    assert s.status_code == 200, s.text
    body = s.json()
    assert set(body) >= {"worked_on", "next", "teacher_notes", "goals", "family_notes", "counts"}
    r = client.post(f"/v1/learners/{lid}/family-notes", headers=GUARDIAN, json={"text": "Loves drawing"})
    assert r.status_code == 201
    notes = next(f for f in r.json()["fields"] if f["field"] == "family_notes")
    assert notes["entries"][-1]["text"] == "Loves drawing"
    assert notes["entries"][-1]["author"] == "Ms. Family" and notes["entries"][-1]["set_by"] == "parent"
    assert client.post(f"/v1/learners/{lid}/family-notes", headers=GUARDIAN, json={"text": ""}).status_code == 422
    plp = client.get(f"/v1/learners/{lid}/plp", headers=GUARDIAN).json()
    assert {"profile", "goals", "path", "progress", "accommodations", "acknowledgements"} <= set(plp)
    assert any(f["field"] == "family_notes" and "Loves drawing" in f["value"] for f in plp["profile"])
    for who in (GUARDIAN, STUDENT, ORTIZ):
        assert client.post(f"/v1/learners/{lid}/plp/acknowledgements", headers=who, json={}).status_code == 201
    assert client.post(f"/v1/learners/{lid}/plp/acknowledgements", headers=ADMIN, json={}).status_code == 403
    acks = client.get(f"/v1/learners/{lid}/plp", headers=ORTIZ).json()["acknowledgements"]
    assert sorted(a["role"] for a in acks) == ["guardian", "student", "teacher"]
    # acknowledging again keeps one entry per person (the newest)
    client.post(f"/v1/learners/{lid}/plp/acknowledgements", headers=STUDENT, json={"note": "again"})
    acks = client.get(f"/v1/learners/{lid}/plp", headers=ORTIZ).json()["acknowledgements"]
    assert len(acks) == 3 and next(a for a in acks if a["role"] == "student")["note"] == "again"


def test_progress_map_and_growth(client, family):
    lid = family["learner"]
    pm = client.get(f"/v1/learners/{lid}/progress-map", headers=STUDENT).json()
    assert pm["grade"] == "3" and sum(pm["counts"].values()) == len(pm["skills"]) > 0
    thr = pm["threshold"]
    for s in pm["skills"]:
        assert (s["status"] == "mastered") == (s["p_mastered"] >= thr)
    ready = [s for s in pm["skills"] if s["status"] == "ready"]
    assert ready and any(s["unlocks"] for s in ready)
    g = client.get(f"/v1/learners/{lid}/growth", headers=GUARDIAN).json()
    assert g["skills"] and all(len(x["points"]) >= 2 for x in g["skills"])
    assert all(0.0 <= p["p"] <= 1.0 for x in g["skills"] for p in x["points"])


def test_erasure_takes_the_learners_voice_too(fresh_client):
    """Self-ratings, acknowledgements and the learner's choice switch go with the learner."""
    from engine.access import Caller

    client = fresh_client
    pw = client.app.state.pathwise
    school = pw.school("demo")
    lid = roster(client, "c-3-station")[0]
    school.setup_key("student", subject=lid, key="pw-test-erase", name="E")
    me = auth("pw-test-erase")
    act = next(a.id for a in school.view.activities.values() if all(k in school.view.skills for k in a.skill_ids))
    assert client.post(f"/v1/learners/{lid}/self-reports", headers=me,
                       json={"activity_id": act, "rating": 2, "sentence": "hard"}).status_code == 201
    assert client.post(f"/v1/learners/{lid}/plp/acknowledgements", headers=me, json={}).status_code == 201
    assert client.put("/v1/choice-settings", headers=ORTIZ, json={"learner_id": lid, "enabled": False}).status_code == 200
    exported = client.get(f"/v1/learners/{lid}/export", headers=ADMIN)
    assert exported.status_code == 200, exported.text[:300]
    kinds = {d["kind"] for d in exported.json()["data"]["documents"]}
    assert {"self_report", "plp_ack", "choice_setting"} <= kinds, exported.text[:300]
    admin = Caller(pw.authenticate("pw-demo-admin"))
    school.erase_learner(admin, lid)
    for kind in ("self_report", "plp_ack", "choice_setting"):
        assert school.store.list_documents(kind, learner_id=lid) == []
