"""LTI 1.3 in Chromium: the platform's auto-posting launch forms (built and signed by the
``lti1p3platform`` library in tests/lti_platform/server.py) carry a teacher into Pathwise's
deep-linking page and back to the LMS with the placed content, then a student from the LMS
link onto their own playlist."""

from __future__ import annotations

import httpx
import pytest

from tests.service.lti_helpers import lti_rig
from tests.service.oidc_helpers import server_log

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    with lti_rig(tmp_path_factory.mktemp("lti-e2e")) as found:
        yield found


def test_teacher_places_the_playlist_and_a_student_opens_it(chromium, rig):
    pw, lms, db = rig
    teacher = chromium.new_context().new_page()
    teacher.set_default_timeout(30_000)
    teacher.goto(f"{lms}/start?user=inst-1&kind=deeplink")
    teacher.wait_for_url(f"{pw}/lti/demo/deep-link?token=**")
    assert teacher.locator("h1").inner_text() == "Place Pathwise in your course"
    from tests.e2e.test_student_page import axe_violations

    assert axe_violations(teacher) == [], "the deep-linking page has accessibility violations"
    teacher.check("input[value='skill:3.G.A.1']")
    teacher.click("#place")
    teacher.wait_for_url(f"{lms}/deep_link_return")
    assert "placed 1 item(s)" in teacher.content()
    placed = httpx.get(f"{lms}/_test/state").json()["placed"]
    assert placed[-1]["custom"] == {"pathwise_target": "skill", "pathwise_skill": "3.G.A.1"}
    teacher.goto(f"{lms}/start?user=inst-1")  # a plain launch: the class page of the course
    teacher.wait_for_url(f"{pw}/classes/lti-**")
    assert "Grade 3 Math (LMS)" in teacher.content(), server_log(db)
    student = chromium.new_context().new_page()
    student.set_default_timeout(30_000)
    student.goto(f"{lms}/start?user=stu-1&item={len(placed) - 1}")
    student.wait_for_url(f"{pw}/me")
    assert student.locator("h1").inner_text() == "Hi Umar!"
