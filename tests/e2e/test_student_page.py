"""Headless Chromium drives the student's page, phone first: sign in with a page login, see
today, make a choice, rate an activity and see the rating and the growth in the progress;
axe-core (axe-playwright-python) finds no violation on the page in English and Spanish at
phone, tablet and laptop size; a keyboard-only run completes the same flow.

Screenshots go to tests/e2e/artifacts/ (or $PATHWISE_SCREENSHOTS), one per size.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._servers import REPO, pathwise_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(os.environ.get("PATHWISE_SCREENSHOTS") or REPO / "tests" / "e2e" / "artifacts")
SIZES = {"phone": (390, 844), "tablet": (820, 1180), "laptop": (1366, 768)}
PASSWORD = "correct horse battery"  # >= 12 characters, a page login set by a user
GUARDIAN = "g-e2e"


def shot(page, name: str, *, top: bool = False) -> None:
    """A full-page screenshot ``<name>.png``; ``top``: also the first screen, ``<name>-top.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if top:
        page.screenshot(path=str(ARTIFACTS / f"{name}-top.png"))


def axe_violations(page) -> list[str]:
    """Every axe-core violation on the page (all rules: WCAG 2.1 A/AA and best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})"
            for v in results.response["violations"]]


def _prepare(db: Path) -> dict:
    """The demo school plus: an approved playlist with a choice for one learner, a student
    login for them, and a guardian linked to them with a login."""
    from engine.access import Caller
    from engine.app import Pathwise
    from engine.app.demo import ensure_demo
    from engine.domain.classes import Guardian

    pw = Pathwise.open(f"sqlite:///{db}")
    try:
        ensure_demo(pw, "demo")
        school = pw.school("demo")
        admin = Caller(pw.authenticate("pw-demo-admin"))
        chosen = None
        for cls in sorted(school.view.classes.values(), key=lambda c: c.id):
            for lid in cls.roster:
                plan = school.generate_playlist(admin, lid)
                if plan.items and any(cs.has_choice for cs in school._choice_sets(lid, plan)):
                    school.review(admin, plan.plan_id, "approve")
                    chosen = lid
                    break
            if chosen:
                break
        assert chosen, "no demo learner has a choice board"
        learner = school.view.learners[chosen]
        sibling = next(lid for c in school.view.classes.values() for lid in c.roster if lid != chosen)
        school.store.put_guardians([Guardian(GUARDIAN, "Maria Family", (chosen,)),
                                    Guardian("g-e2e-2", "Sam Two", (chosen, sibling))])
        pw.invalidate("demo")
        school.add_login(admin, "student-e2e", PASSWORD, role="student", person=chosen, name=learner.name)
        school.add_login(admin, "guardian-e2e", PASSWORD, role="guardian", person=GUARDIAN, name="Maria Family")
        school.add_login(admin, "guardian2-e2e", PASSWORD, role="guardian", person="g-e2e-2", name="Sam Two")
        return {"learner_id": chosen, "name": learner.name, "language": learner.language}
    finally:
        pw.close()


@pytest.fixture(scope="module")
def family(tmp_path_factory, chromium):
    """A served demo school prepared by :func:`_prepare`: ``base`` URL and the learner."""
    db = tmp_path_factory.mktemp("family") / "pathwise.db"
    info = _prepare(db)
    with pathwise_server(f"sqlite:///{db}") as server:
        yield {"base": server.base, **info}


def sign_in(chromium, base: str, username: str, size: str = "phone", lang: str = "en"):
    w, h = SIZES[size]
    context = chromium.new_context(viewport={"width": w, "height": h},
                                   locale="es-ES" if lang == "es" else "en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def test_student_flow_phone(chromium, family):
    base = family["base"]
    context, page = sign_in(chromium, base, "student-e2e")
    assert page.url.endswith("/me"), page.url
    lang = page.locator("html").get_attribute("lang")
    assert lang == ("es" if family["language"] == "es" else "en")
    page.goto(f"{base}/me?lang=en")
    assert page.locator("h2#today-h").inner_text() == "Today"
    tasks = page.locator("li.task")
    assert tasks.count() >= 1
    assert page.locator("li.task.now").count() == 1  # what to do now: the first not yet rated
    assert page.locator("li.task").first.get_attribute("class") == "task now"
    assert axe_violations(page) == []
    shot(page, "student-phone", top=True)
    # make a choice: the first slot with options, pick the other option
    board = page.locator("form.choice").first
    slot = board.locator("input[name=position]").get_attribute("value")
    other = board.locator("input[name=activity_id]:not([checked])").first
    picked = other.get_attribute("value")
    other.check()
    board.locator("button").click()
    page.wait_for_load_state("load")
    assert page.locator("p.done").inner_text() == "Your choice is saved."
    task = page.locator(f"#slot-{slot}")
    assert task.locator("p.chosen").count() == 1
    # rate the first activity
    first = page.locator("li.task").first
    rated = first.locator("input[name=activity_id]").last.get_attribute("value")
    first.locator("details.rate summary").click()
    first.locator("input[name=rating][value='4']").check()
    first.locator("textarea[name=sentence]").fill("The game was fun")
    first.locator("details.rate button").click()
    page.wait_for_load_state("load")
    assert "Thanks!" in page.locator("p.done").inner_text()
    assert "I've got it" in page.locator("li.task").first.locator("p.rated").inner_text()
    if page.locator("li.task").count() > 1:  # "now" moved on to the next activity
        assert page.locator("li.task").nth(1).get_attribute("class") == "task now"
    # seen in the progress: the rated activity's skill has a growth chart, "practised today"
    growth = page.locator("#growth li")
    assert growth.count() >= 1
    assert "practised today" in growth.first.inner_text()
    assert page.locator("#growth svg polyline").first.get_attribute("points")
    # the plan records the pick, for the teacher
    import httpx

    plans = httpx.get(f"{base}/v1/plans", params={"learner_id": family["learner_id"]},
                      headers={"Authorization": "Bearer pw-demo-admin"}).json()
    picks = plans[0]["body"]["choices"]
    assert picks[-1]["chosen"] == picked and picks[-1]["position"] == int(slot)
    reports = httpx.get(f"{base}/v1/learners/{family['learner_id']}/self-reports",
                        headers={"Authorization": "Bearer pw-demo-admin"}).json()
    assert reports[0]["activity_id"] == rated and reports[0]["rating"] == 4
    assert reports[0]["sentence"] == "The game was fun"
    # goals: set one, shown as written by you
    page.locator("#goals summary").click()
    page.fill("#goals-text", "Read a chapter book")
    page.locator("#goals button").click()
    page.wait_for_load_state("load")
    assert "written by you" in page.locator("ul.goals").inner_text()
    assert axe_violations(page) == []
    shot(page, "student-phone-after")
    context.close()


@pytest.mark.parametrize("size", ["tablet", "laptop"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_student_page_sizes_and_languages(chromium, family, size, lang):
    context, page = sign_in(chromium, family["base"], "student-e2e", size, lang)
    page.goto(f"{family['base']}/me?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h2#today-h").inner_text() == {"en": "Today", "es": "Hoy"}[lang]
    assert axe_violations(page) == []
    # no horizontal scrolling at this width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, f"student-{size}-{lang}")
    context.close()


def test_student_spanish_phone_no_violations(chromium, family):
    context, page = sign_in(chromium, family["base"], "student-e2e", "phone", "es")
    page.goto(f"{family['base']}/me?lang=es")
    assert page.locator("h2#goals-h").inner_text() == "Mis metas"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []
    shot(page, "student-phone-es")
    context.close()


def _tab_to(page, selector: str, limit: int = 300) -> None:
    """Press Tab until the focused element matches ``selector`` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_student_flow_keyboard_only(chromium, family):
    base = family["base"]
    w, h = SIZES["phone"]
    context = chromium.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    _tab_to(page, "#username")
    page.keyboard.type("student-e2e")
    _tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/me")
    page.goto(f"{base}/me?lang=en")
    # the skip link is the first stop
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    # choose: focus the checked radio of the first board, arrow to the next option, submit
    _tab_to(page, "form.choice input[type=radio]")
    before = page.evaluate("document.activeElement.value")
    page.keyboard.press("ArrowDown")
    after = page.evaluate("document.activeElement.value")
    assert after != before
    _tab_to(page, "form.choice button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("p.done").count() == 1
    # rate: open "How did it go?", pick 3, write, send
    _tab_to(page, "details.rate summary")
    page.keyboard.press("Enter")
    _tab_to(page, "details.rate input[name=rating]")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "3"
    _tab_to(page, "details.rate textarea")
    page.keyboard.type("done with keys")
    _tab_to(page, "details.rate button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Thanks!" in page.locator("p.done").inner_text()
    assert page.locator("p.rated").count() >= 1
    context.close()


def test_page_weight_phone(family):
    """The student page stays light for a phone (HTML + CSS)."""
    import httpx

    with httpx.Client(base_url=family["base"]) as c:
        r = c.get("/login")
        import re

        token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        c.post("/login", data={"username": "student-e2e", "password": PASSWORD, "csrf": token, "next": "/"})
        html = c.get("/me").text
        css = c.get("/static/student.css").text
    assert len(html.encode()) < 60_000, len(html.encode())
    assert len(css.encode()) < 10_000
