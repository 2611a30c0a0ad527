"""The student's voice on the teacher's pages (issue 14 items 2 and 3): the learner page shows
the student's "how did it go?" ratings in words with their sentence and date, the choices they
made (offered, picked, when) and the profile fields the student and family wrote (who and
when); the class page has the "students choose" switch per class and per learner and a sign on
each card with picks or ratings since its playlist was made."""

from __future__ import annotations

import re

from tests.service.conftest import ADMIN, ORTIZ, auth, roster
from tests.service.test_choices import KEY, _setup
from tests.service.test_teacher_pages import DECIMAL, _visible_text
from tests.service.test_web import csrf_of, login

STUDENT = auth(KEY)
GUARDIAN_KEY = "pw-test-voice-guardian"


def _section(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i:html.index(end, i)]


def _student_speaks(c) -> dict:
    """The chooser picks another way for one slot, rates the first activity 3 with a sentence,
    writes a goal; their guardian adds a note."""
    from engine.domain.classes import Guardian

    ch = _setup(c)
    lid = ch["learner"]
    school = c.app.state.pathwise.school("demo")
    school.setup_key("guardian", subject="g-voice", key=GUARDIAN_KEY, name="Ms. Voice")
    school.store.put_guardians([Guardian("g-voice", "Ms. Voice", (lid,))])
    c.app.state.pathwise.invalidate("demo")
    today = c.get(f"/v1/learners/{lid}/today", headers=STUDENT).json()
    item = next(i for i in today["items"] if i["options"])
    alt = item["options"][1]
    r = c.post(f"/v1/learners/{lid}/choices", headers=STUDENT,
               json={"plan_id": today["plan_id"], "position": item["position"], "activity_id": alt["activity_id"]})
    assert r.status_code == 200, r.text
    rated = today["items"][0]
    r = c.post(f"/v1/learners/{lid}/self-reports", headers=STUDENT,
               json={"activity_id": rated["activity_id"], "rating": 3, "sentence": "The second part was tricky"})
    assert r.status_code == 201, r.text
    r = c.post(f"/v1/learners/{lid}/profile/own", headers=STUDENT,
               json={"fields": {"goals": ["Finish the fractions unit"], "interests": ["space", "drawing"]}})
    assert r.status_code == 200, r.text
    r = c.post(f"/v1/learners/{lid}/family-notes", headers=auth(GUARDIAN_KEY),
               json={"text": "Loves to explain to her sister"})
    assert r.status_code == 201, r.text
    titles = {o["activity_id"]: o["title"] for o in item["options"]}
    return {"learner": lid, "chosen": alt["title"], "others": [t for a, t in titles.items() if a != alt["activity_id"]],
            "rated": rated["title"], "plan_id": today["plan_id"]}


def test_learner_page_shows_ratings_choices_and_who_wrote_what(fresh_client):
    c = fresh_client
    said = _student_speaks(c)
    lid = said["learner"]
    login(c)
    html = c.get(f"/learners/{lid}").text
    ratings = _section(html, 'id="ratings"', "</ul>")
    assert said["rated"] in ratings
    assert "\u201cmostly\u201d (3 of 4)" in ratings and "<q>The second part was tricky</q>" in ratings
    assert re.search(r"\d{1,2} [A-Z][a-z]{2}, today", ratings)  # the date and how long ago
    picks = _section(html, 'id="picks"', "</ul>")
    assert f"Chose <strong>{said['chosen']}</strong>" in picks
    assert all(t in picks for t in said["others"]) and ", today" in picks
    story = _section(html, 'id="story"', "</table>")
    assert "Finish the fractions unit <small class=\"muted\">(the student (Chooser)," in story
    assert "Loves to explain to her sister <small class=\"muted\">(the family (Ms. Voice)," in story
    assert "drawing, space" in story and "by the student (Chooser)" in story
    assert "How I learn best" in story and "not written yet" in story  # a field nobody wrote yet
    text = _visible_text(html)
    assert not DECIMAL.findall(text), DECIMAL.findall(text)[:5]
    assert not re.search(r"\b(family_notes|home_availability|how_i_learn|format:|grouping:)", text)


def test_learner_page_without_a_voice_says_so(fresh_client):
    c = fresh_client
    login(c)
    lid = roster(c, "c-3-station")[-1]
    html = c.get(f"/learners/{lid}").text
    assert "No ratings yet" in html and "No choices made yet." in html
    assert "Choice boards are <strong>on</strong>" in html and "(the class's setting)" in html


def test_class_page_card_sign_since_the_playlist(fresh_client):
    c = fresh_client
    said = _student_speaks(c)
    lid = said["learner"]
    login(c)
    html = c.get("/classes/c-3-station").text
    card = _section(html, f'id="l-{lid}"', "</article>")
    assert "Since this playlist: made a choice · rated 1 activity, last \u201cmostly\u201d" in card
    assert html.count('class="voice-sign') == 1  # nobody else spoke
    # a new playlist for the learner: the sign starts over
    plan = c.post(f"/v1/learners/{lid}/playlist", headers=ADMIN, json={}).json()
    c.post(f"/v1/plans/{plan['plan_id']}/approve", headers=ORTIZ)
    html = c.get("/classes/c-3-station").text
    assert 'class="voice-sign' not in _section(html, f'id="l-{lid}"', "</article>")
    # ... while the learner page keeps the history
    assert said["chosen"] in _section(c.get(f"/learners/{lid}").text, 'id="picks"', "</ul>")


def test_students_choose_switch_per_class_and_per_learner(fresh_client):
    c = fresh_client
    login(c)
    lid, other = roster(c, "c-3-station")[:2]
    page = c.get("/classes/c-3-station").text
    token = csrf_of(page)
    section = _section(page, 'id="choice"', "</section>")
    assert "Choice boards are <strong>on</strong> for this class" in section and "Turn off for the class" in section
    r = c.post("/choice", data={"csrf": token, "class_id": "c-3-station", "enabled": "off",
                                "back": "/classes/c-3-station#choice"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/classes/c-3-station#choice"
    school = c.app.state.pathwise.school("demo")
    assert not school.choice_enabled(lid) and not school.choice_enabled(other)
    section = _section(c.get("/classes/c-3-station").text, 'id="choice"', "</section>")
    assert "Choice boards are <strong>off</strong> for this class" in section and "Turn on for the class" in section
    # one learner back on: their switch wins over the class's, named on the class page
    r = c.post("/choice", data={"csrf": token, "learner_id": lid, "enabled": "on", "back": "/classes/c-3-station"},
               follow_redirects=False)
    assert r.status_code == 303
    assert school.choice_enabled(lid) and not school.choice_enabled(other)
    name = school.view.learners[lid].name
    section = _section(c.get("/classes/c-3-station").text, 'id="choice"', "</section>")
    assert f"Set per student: {name} (on)." in section
    learner = c.get(f"/learners/{lid}").text
    assert "Choice boards are <strong>on</strong>" in learner and "(the class's setting)" not in learner
    # from the learner page: off for this learner
    r = c.post("/choice", data={"csrf": token, "learner_id": lid, "enabled": "off", "back": f"/learners/{lid}#voice"},
               follow_redirects=False)
    assert r.status_code == 303 and not school.choice_enabled(lid)
    # back to the class's setting: the learner's own switch is gone, the class page no longer names them
    learner = c.get(f"/learners/{lid}").text
    assert 'id="choice-reset"' in learner, _section(learner, 'id="voice"', "</section>")[:3000]
    c.post("/choice", data={"csrf": token, "class_id": "c-3-station", "enabled": "on"})
    assert not school.choice_enabled(lid)  # the learner's own "off" still wins over the class's "on"
    r = c.post("/choice", data={"csrf": token, "learner_id": lid, "enabled": "class", "back": f"/learners/{lid}#voice"},
               follow_redirects=False)
    assert r.status_code == 303 and school.choice_enabled(lid)
    learner = c.get(f"/learners/{lid}").text
    assert "(the class's setting)" in learner and 'id="choice-reset"' not in learner
    assert "Set per student" not in _section(c.get("/classes/c-3-station").text, 'id="choice"', "</section>")
    c.post("/choice", data={"csrf": token, "class_id": "c-3-station", "enabled": "off"})
    assert not school.choice_enabled(lid)  # following the class again
    # refusals: no CSRF, a bad value, both or neither target, another teacher's class
    assert c.post("/choice", data={"class_id": "c-3-station", "enabled": "on"}).status_code == 403
    r = c.post("/choice", data={"csrf": token, "class_id": "c-3-station", "enabled": "maybe"})
    assert r.status_code == 422 and "choose on, off, or class" in r.text
    r = c.post("/choice", data={"csrf": token, "class_id": "c-3-station", "learner_id": lid, "enabled": "on"})
    assert r.status_code == 422 and "exactly one of class_id or learner_id" in r.text
    assert c.post("/choice", data={"csrf": token, "enabled": "on"}).status_code == 422
    assert c.post("/choice", data={"csrf": token, "class_id": "c-4-lab", "enabled": "off"}).status_code == 403
    for target in ({"class_id": "c-nope"}, {"learner_id": "nobody"}):  # unknown: an error page, never a 500
        assert c.post("/choice", data={"csrf": token, "enabled": "off", **target}).status_code in (403, 404)
    assert c.app.state.pathwise.school("demo").choice_enabled(roster(c, "c-4-lab")[0])  # t-nguyen's class
    assert not school.choice_enabled(lid) and not school.choice_enabled(other)  # nothing else changed


def test_the_voice_data_of_the_use_cases(fresh_client):
    """SchoolApp.learner_page and class_page carry the student's voice as data (numbers and
    ids; the pages word them): ratings newest first, picks with the other offered titles,
    the student's and family's fields only, and per card the counts since its playlist."""
    from engine.access import Caller

    c = fresh_client
    said = _student_speaks(c)
    lid = said["learner"]
    pw = c.app.state.pathwise
    school = pw.school("demo")
    teacher = Caller(pw.authenticate("pw-demo-teacher-t-ortiz"))
    page = school.learner_page(teacher, lid)
    voice = page["voice"]
    assert [(r["title"], r["rating"], r["sentence"]) for r in voice["ratings"]] == \
        [(said["rated"], 3, "The second part was tricky")]
    assert len(voice["picks"]) == 1 and voice["picks"][0]["chosen"] == said["chosen"]
    assert sorted(voice["picks"][0]["others"]) == sorted(said["others"]) and voice["picks"][0]["at"].endswith("Z")
    owners = {f["field"]: f["owner"] for f in voice["story"]}
    assert set(owners.values()) <= {"student", "parent"} and {"goals", "family_notes", "interests"} <= set(owners)
    assert "strengths" not in owners and "accommodations" not in owners  # the teacher's own fields stay in the profile
    assert page["choice"] == {"enabled": True, "own": None}
    cls = school.class_page(teacher, "c-3-station")
    signs = {card["id"]: card["voice"] for card in cls["cards"] if card["voice"]}
    assert signs == {lid: {"chose": 1, "rated": 1, "last_rating": 3}}
    assert cls["choice"] == {"class": True, "learners": {}}
    # a rating dated before the playlist was made shows on the learner page, not in the card's sign
    from datetime import UTC, datetime, timedelta

    before = datetime.fromtimestamp(page["plan"].created_at, UTC) - timedelta(days=2)
    school.rate_activity(Caller(pw.authenticate(KEY)), lid, page["plan"].items[0].activity_id, 1, at=before)
    assert [r["rating"] for r in school.learner_page(teacher, lid)["voice"]["ratings"]] == [3, 1]  # by date
    card = next(x for x in school.class_page(teacher, "c-3-station")["cards"] if x["id"] == lid)
    assert card["voice"] == {"chose": 1, "rated": 1, "last_rating": 3}
