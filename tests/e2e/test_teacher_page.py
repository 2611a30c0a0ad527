"""Headless Chromium drives the teacher page: log in, open a class, approve a playlist,
remove an item, and see both changes persisted after a reload."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = os.environ.get("PATHWISE_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_teacher_reviews_a_playlist(chromium, server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server}/")
    assert "/login" in page.url
    shot(page, "01-login")
    page.fill("#username", "t-ortiz")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert page.locator("h1").inner_text() == "My classes"
    shot(page, "02-classes")
    page.click("text=Grade 3 Math - Station Rotation")
    page.wait_for_url("**/classes/c-3-station")
    page.click("#generate-plan")
    page.wait_for_selector("table.schedule")
    page.locator("article.learner").first.wait_for()
    cards = page.locator("article.learner")
    chosen = None
    for k in range(cards.count()):  # a student whose playlist has at least two items
        if cards.nth(k).locator("li.item").count() >= 2:
            chosen = cards.nth(k)
            break
    assert chosen is not None, "no playlist with two items to edit"
    learner_id = chosen.get_attribute("id").removeprefix("l-")
    items = chosen.locator("li.item")
    n_before = items.count()
    removed = items.first.get_attribute("data-activity")
    shot(page, "03-class")
    # remove the first item
    items.first.locator("button", has_text="Remove").click()
    page.wait_for_load_state("load")
    card = page.locator(f"#l-{learner_id}")
    assert card.locator("span.status").inner_text().lower() == "edited"
    assert card.locator(f'li.item[data-activity="{removed}"]').count() == 0
    # approve the playlist
    card.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_load_state("load")
    page.reload()
    card = page.locator(f"#l-{learner_id}")
    assert card.locator("span.status").inner_text().lower() == "approved"
    assert card.locator("li.item").count() == n_before - 1
    assert card.locator(f'li.item[data-activity="{removed}"]').count() == 0
    # persisted in the store, seen through the API
    current = httpx.get(f"{server}/v1/learners/{learner_id}/playlist",  # the one the teacher decided on
                        headers={"Authorization": "Bearer pw-demo-admin"}).json()
    assert current["status"] == "approved"
    assert removed not in [i["activity_id"] for i in current["items"]]
    # learner view
    card.locator("h3 a").click()
    page.wait_for_url(f"**/learners/{learner_id}")
    assert page.locator("ul.bars li").count() > 0
    values = [float(v) for v in page.locator("meter.bar").evaluate_all("els => els.map(e => e.value)")]
    assert values and all(0.0 <= v <= 1.0 for v in values) and len(set(values)) > 1
    shot(page, "04-learner")
    # tablet width still renders the class page
    tablet = chromium.new_context(viewport={"width": 820, "height": 1180}, storage_state=context.storage_state())
    tp = tablet.new_page()
    tp.goto(f"{server}/classes/c-3-station")
    assert tp.locator("article.learner").count() > 0
    shot(tp, "05-class-tablet")
    tablet.close()
    context.close()
