"""Headless Chromium drives the guardian's page: sign in, read the weekly summary in plain
words, add a note to the child's profile and see it on the child's page ("From my family");
axe-core finds no violation at phone, tablet and laptop size, in English and Spanish."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_student_page import axe_violations, family, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DECIMAL = re.compile(r"\b0\.\d|\d\.\d{2,}")


def test_guardian_summary_and_note(chromium, family):  # noqa: F811
    base, lid = family["base"], family["learner_id"]
    context, page = sign_in(chromium, base, "guardian-e2e")
    assert page.url.endswith(f"/family/{lid}"), page.url  # one child: straight to the summary
    page.goto(f"{base}/family/{lid}?lang=en")
    first = family["name"].split(" ")[0]
    assert page.locator("h1").inner_text() == f"{first}'s week"
    text = page.locator("main").inner_text()
    for heading in (f"What {first} worked on", "What's next", "From the teacher", f"{first}'s goals",
                    "Family notes"):
        assert heading in text
    assert not DECIMAL.search(text), DECIMAL.search(text)  # plain words, no raw decimals
    assert axe_violations(page) == []
    shot(page, "guardian-phone", top=True)
    page.fill("#note-text", "She reads every evening with her brother.")
    page.locator("#notes button").click()
    page.wait_for_load_state("load")
    assert "Your note is saved" in page.locator("p.done").inner_text()
    assert "She reads every evening" in page.locator("ul.notes").inner_text()
    assert "Maria Family" in page.locator("ul.notes").inner_text()
    assert axe_violations(page) == []
    context.close()
    # the student sees who wrote it
    context, page = sign_in(chromium, base, "student-e2e")
    page.goto(f"{base}/me?lang=en")
    about = page.locator("#about").inner_text()
    assert "She reads every evening" in about and "written by Maria Family" in about
    context.close()


@pytest.mark.parametrize("size", ["tablet", "laptop"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_guardian_sizes_and_languages(chromium, family, size, lang):  # noqa: F811
    context, page = sign_in(chromium, family["base"], "guardian-e2e", size, lang)
    page.goto(f"{family['base']}/family/{family['learner_id']}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    if lang == "es":
        assert page.locator("h1").inner_text().startswith("La semana de")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, f"guardian-{size}-{lang}")
    context.close()


def test_guardian_language_from_browser(chromium, family):  # noqa: F811
    """No ?lang and no cookie: the browser's Accept-Language picks Spanish."""
    context, page = sign_in(chromium, family["base"], "guardian-e2e", "phone", "es")
    page.goto(f"{family['base']}/family/{family['learner_id']}")
    assert page.locator("html").get_attribute("lang") == "es"
    assert axe_violations(page) == []
    shot(page, "guardian-phone-es")
    context.close()


def test_guardian_with_two_children_and_refusals(chromium, family):  # noqa: F811
    """Two linked children: a list first; another family's child and the student page are
    refused with an accessible error page."""
    context, page = sign_in(chromium, family["base"], "guardian2-e2e")
    assert page.url.endswith("/family")
    assert page.locator("ul.children li").count() == 2
    assert axe_violations(page) == []
    shot(page, "guardian-children-phone")
    page.goto(f"{family['base']}/me")
    assert page.locator("h1").inner_text() == "That did not work"
    assert "this page is for student accounts" in page.locator("p.error").inner_text()
    assert axe_violations(page) == []
    context.close()
