"""The teacher pages in Chromium (issue 14 items 6-8): axe-core finds no violation on the
login page, the classes list, the class page (heatmap, who needs me, groups, playlists, a
search, the "students choose" switches), the learner page (with the student's voice section)
and the error page, at phone 390x844, tablet 820x1180 and laptop
1366x768; a keyboard-only teacher review (sign in, open the class, generate, read a heatmap
cell with the arrow keys, remove an item and approve that playlist, form a small group,
approve all). Screenshots in
tests/e2e/artifacts/ (gitignored; or $PATHWISE_SCREENSHOTS)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_student_page import SIZES, _tab_to, axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN = {"Authorization": "Bearer pw-demo-admin"}


def _login(page, server: str, user: str = "t-ortiz") -> None:
    page.goto(f"{server}/login")
    page.fill("#username", user)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def test_teacher_pages_have_no_axe_violations_at_three_sizes(chromium, server):
    httpx.post(f"{server}/v1/classes/c-3-station/plan", headers=ADMIN, timeout=120)
    learner = httpx.get(f"{server}/v1/classes/c-3-station", headers=ADMIN).json()["roster"][0]["id"]
    # one learner with their own "students choose" switch: named in the class page's switch
    # section and shown on their learner page (the student's voice: tests/e2e/test_teacher_voice.py)
    assert httpx.put(f"{server}/v1/choice-settings", headers=ADMIN,
                     json={"learner_id": learner, "enabled": False}).status_code == 200
    pages = {"login": "/login", "classes": "/", "class": "/classes/c-3-station",
             "class-search": f"/classes/c-3-station?add_for={learner}&find=fraction#playlists",
             "learner": f"/learners/{learner}?find=game#find", "error": "/classes/c-4-lab"}
    found = {}
    for size, (w, h) in SIZES.items():
        context = chromium.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        page.set_default_timeout(60_000)
        for name, path in pages.items():
            if name == "classes":
                _login(page, server)
            page.goto(f"{server}{path}")
            found[(name, size)] = axe_violations(page)
            shot(page, f"teacher-{name}-{size}", top=name in ("class", "learner"))
        context.close()
    bad = {k: v for k, v in found.items() if v}
    assert bad == {}, sorted({v for vs in bad.values() for v in vs} | {str(k) for k in bad})


def test_teacher_review_keyboard_only(chromium, server):
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server}/login")
    _tab_to(page, "#username")
    page.keyboard.type("t-ortiz")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, 'a[href="/classes/c-3-station"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, "#generate-plan")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # the heatmap: one tab stop, arrow keys move, the cell is read in words
    _tab_to(page, "table.heat td", limit=600)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    said = page.locator("#heat-say").inner_text()
    assert " · " in said and ":" in said, said
    assert any(w in said for w in ("mastered", " in 5", "nearly certain", "less than", "no answers")), said
    # review one playlist: remove an item, then approve the edited playlist
    _tab_to(page, 'article.learner button[value^="remove "]', limit=2000)
    card_id = page.evaluate("() => document.activeElement.closest('article').id")
    removed = page.evaluate("() => document.activeElement.value.split(' ')[1]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    card = page.locator(f"#{card_id}")
    assert card.locator("span.status").inner_text().lower() == "edited"
    assert card.locator(f'li.item[data-activity="{removed}"]').count() == 0
    _tab_to(page, f'#{card_id} button.primary[formaction$="/approve"]', limit=2000)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(f"#{card_id} span.status").inner_text().lower() == "approved"
    # one-click small group from the first non-empty "who needs me" list
    _tab_to(page, "#needs button", limit=600)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#groups .group-row").count() >= 1
    # approve all
    _tab_to(page, "#approve-all", limit=600)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "approved=" in page.url
    roster = httpx.get(f"{server}/v1/classes/c-3-station", headers=ADMIN).json()["roster"]
    statuses = {httpx.get(f"{server}/v1/learners/{m['id']}/playlist", headers=ADMIN).json()["status"]
                for m in roster}
    assert "proposed" not in statuses, statuses
    shot(page, "teacher-class-after-keyboard")
    context.close()
