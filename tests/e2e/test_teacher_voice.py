"""The student's voice reaches the teacher, in Chromium (issue 14 items 2-3): a student signs
in on a phone, picks another way on a choice board and says how an activity went; their
teacher signs in and finds the rating (in the student's words, with the sentence and the
date) and the pick on the learner page, a sign on the student's card on the class page, and
switches "students choose" off for the class from the page. axe-core: zero violations on the
learner page and the class page carrying the student's voice, at phone, tablet and laptop
size, neither wider than the screen. Screenshots in tests/e2e/artifacts/."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_student_page import SIZES, axe_violations, family, shot, sign_in  # noqa: F401
from tests.e2e.test_teacher_a11y import _login

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN = {"Authorization": "Bearer pw-demo-admin"}
SENTENCE = "I need more help with the last part"


def _student_speaks(chromium, base: str) -> dict:
    """On the student's page (phone): pick the other option of the first board, rate the
    first activity 2 ("a little") with a sentence. Returns the picked and rated titles."""
    context, page = sign_in(chromium, base, "student-e2e")
    page.goto(f"{base}/me?lang=en")
    board = page.locator("form.choice").first
    other = board.locator("input[name=activity_id]:not([checked])").first
    picked = other.get_attribute("value")
    other.check()
    board.locator("button").click()
    page.wait_for_load_state("load")
    first = page.locator("li.task").first
    rated = first.locator("input[name=activity_id]").last.get_attribute("value")
    first.locator("details.rate summary").click()
    first.locator("input[name=rating][value='2']").check()
    first.locator("textarea[name=sentence]").fill(SENTENCE)
    first.locator("details.rate button").click()
    page.wait_for_load_state("load")
    assert "Thanks!" in page.locator("p.done").inner_text()
    context.close()
    title = lambda a: httpx.get(f"{base}/v1/catalog/activities/{a}", headers=ADMIN).json()["title"]  # noqa: E731
    return {"picked": title(picked), "rated": title(rated)}


def test_teacher_sees_the_students_rating_and_choice(chromium, family):  # noqa: F811
    base, lid = family["base"], family["learner_id"]
    said = _student_speaks(chromium, base)
    cls = next(c for c in httpx.get(f"{base}/v1/classes", headers=ADMIN).json()
               if lid in {m["id"] for m in httpx.get(f"{base}/v1/classes/{c['id']}", headers=ADMIN).json()["roster"]})
    found = {}
    for size, (w, h) in SIZES.items():
        context = chromium.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        page.set_default_timeout(60_000)
        _login(page, base, cls["teachers"][0])
        page.goto(f"{base}/learners/{lid}#voice")
        ratings = page.locator("#ratings").inner_text()
        assert said["rated"] in ratings and "\u201ca little\u201d (2 of 4)" in ratings, ratings
        assert SENTENCE in ratings and "today" in ratings, ratings
        assert f"Chose {said['picked']}" in page.locator("#picks").inner_text()
        assert "Choice boards are on" in page.locator("#voice").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= w  # no sideways scroll
        found[("learner", size)] = axe_violations(page)
        shot(page, f"teacher-voice-learner-{size}")
        page.goto(f"{base}/classes/{cls['id']}#l-{lid}")
        sign = page.locator(f"#l-{lid} p.voice-sign").inner_text()
        assert "made a choice" in sign and "rated 1 activity, last \u201ca little\u201d" in sign, sign
        assert page.evaluate("document.documentElement.scrollWidth") <= w
        found[("class", size)] = axe_violations(page)
        shot(page, f"teacher-voice-class-{size}")
        context.close()
    assert {k: v for k, v in found.items() if v} == {}
    # the teacher switches choice off for the class on the page; the student's today says so
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    _login(page, base, cls["teachers"][0])
    page.goto(f"{base}/classes/{cls['id']}")
    page.click(f"#l-{lid} p.voice-sign a")  # the sign opens what the student said
    page.wait_for_url(f"**/learners/{lid}#voice")
    assert SENTENCE in page.locator("#ratings").inner_text()
    page.goto(f"{base}/classes/{cls['id']}#choice")
    page.click("#class-choice")
    page.wait_for_load_state("load")
    assert "Choice boards are off for this class" in page.locator("#choice").inner_text()
    assert axe_violations(page) == []
    context.close()
    today = httpx.get(f"{base}/v1/learners/{lid}/today", headers=ADMIN).json()
    assert today["choice_enabled"] is False and all(not i["options"] for i in today["items"])
