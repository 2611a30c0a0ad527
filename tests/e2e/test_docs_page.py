"""Headless Chromium opens /docs with no internet access and sees the API rendered."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_docs_render_offline(chromium, server):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside = []
    # any request to another host fails, as on a school network without internet
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server)
               else (outside.append(route.request.url), route.abort()))
    page.goto(f"{server}/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 20  # one block per operation
    assert "Pathwise API" in page.locator(".swagger-ui .title").inner_text()
    assert outside == []
    context.close()
