"""The student, guardian and PLP pages without a browser: sign-in lands each role on its page,
the language comes from ?lang, the cookie, the profile or Accept-Language, forms need their
CSRF token, other roles are refused, and the Spanish catalog covers every string."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.web import i18n
from tests.service.conftest import ORTIZ, roster

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def people(client):
    """A student login, and a guardian login linked to two children of c-3-station."""
    from engine.access import Caller
    from engine.domain.classes import Guardian

    pw = client.app.state.pathwise
    school = pw.school("demo")
    admin = Caller(pw.authenticate("pw-demo-admin"))
    kids = roster(client, "c-3-station")[:2]
    school.store.put_guardians([Guardian("g-pages", "Ana Parent", tuple(kids))])
    pw.invalidate("demo")
    school.add_login(admin, "kid-pages", PASSWORD, role="student", person=kids[0], name="Kid")
    school.add_login(admin, "parent-pages", PASSWORD, role="guardian", person="g-pages", name="Ana Parent")
    return {"kids": kids}


def _login(client, username: str, headers: dict | None = None):
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token, "next": "/"},
                       headers=headers or {}, follow_redirects=True)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_each_role_lands_on_its_page(client, people):
    r = _login(client, "kid-pages")
    assert r.status_code == 200 and r.url.path == "/me"
    assert "<h2 id=\"today-h\">" in r.text
    # a student has no guardian or other learner's pages
    assert client.get("/family").status_code == 403
    other = people["kids"][1]
    assert client.get(f"/learners/{other}/plp").status_code == 403
    r = _login(client, "parent-pages")
    assert r.url.path == "/family" and all(k in r.text for k in people["kids"])  # two children: a list
    r = client.get(f"/family/{people['kids'][1]}?lang=en")
    assert r.status_code == 200 and "Family notes" in r.text
    assert client.get("/me").status_code == 403


def test_language_order(client, people):
    _login(client, "kid-pages")
    learner = client.app.state.pathwise.school("demo").view.learners[people["kids"][0]]
    r = client.get("/me")
    assert f'<html lang="{learner.language if learner.language in i18n.LANGUAGES else "en"}">' in r.text
    r = client.get("/me?lang=es")
    assert '<html lang="es">' in r.text and "Mis metas" in r.text
    assert client.cookies.get(i18n.COOKIE) == "es"
    r = client.get("/me")  # the cookie keeps it
    assert '<html lang="es">' in r.text
    r = client.get("/me?lang=en")
    assert '<html lang="en">' in r.text and "My goals" in r.text
    client.cookies.delete(i18n.COOKIE)
    # a guardian's page follows the browser when nothing else says
    _login(client, "parent-pages")
    r = client.get(f"/family/{people['kids'][0]}", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in r.text and "Notas de la familia" in r.text
    r = client.get(f"/family/{people['kids'][0]}", headers={"Accept-Language": "fr-FR,de;q=0.8"})
    assert '<html lang="en">' in r.text


def test_forms_need_csrf_and_write_with_provenance(client, people):
    _login(client, "parent-pages")
    kid = people["kids"][0]
    r = client.post(f"/family/{kid}/note", data={"text": "hello", "csrf": "forged"})
    assert r.status_code == 403
    page = client.get(f"/family/{kid}?lang=en")
    r = client.post(f"/family/{kid}/note", data={"text": "Practises at the kitchen table", "csrf": _csrf(page.text)},
                    follow_redirects=True)
    assert r.status_code == 200 and "Practises at the kitchen table" in r.text
    assert "written by Ana Parent" in r.text
    r = client.post(f"/family/{kid}/note", data={"text": "   ", "csrf": _csrf(page.text)})
    assert r.status_code == 422 and "the note" in r.text  # a clear message on the error page


def test_plp_page_for_teacher_and_family(client, people):
    kid = people["kids"][0]
    _login(client, "parent-pages")
    r = client.get(f"/learners/{kid}/plp?lang=es")
    assert r.status_code == 200 and "Plan de Aprendizaje Personalizado" in r.text
    assert "I have read this plan" not in r.text and "He leído este plan" in r.text
    api = client.get(f"/v1/learners/{kid}/plp", headers=ORTIZ)
    assert api.status_code == 200 and api.json()["learner_id"] == kid


def test_spanish_catalog_covers_every_string():
    from babel.messages.pofile import read_po

    base = Path(i18n.LOCALE_DIR)
    with open(base / "messages.pot", "rb") as f:
        pot = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with open(base / "es" / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f)
    done = {m.id if isinstance(m.id, str) else m.id[0] for m in po
            if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    assert pot and pot <= done, sorted(pot - done)[:10]
    assert not po.fuzzy
    # the compiled catalog is the one the pages load
    assert i18n.translations("es").gettext("My goals") == "Mis metas"


def test_plain_words():
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    en, es = i18n.Words("en", now), i18n.Words("es", now)
    assert [en.chance(p) for p in (0.05, 0.2, 0.55, 0.8, 0.97)] == [
        "not yet", "about 1 in 5", "about 3 in 5", "about 4 in 5", "almost certainly"]
    assert es.chance(0.8) == "más o menos 4 de 5"
    assert [en.ago(d) for d in ("2026-12-04T08:00:00Z", "2026-12-03T08:00:00Z", "2026-11-30T00:00:00Z",
                                "2026-11-13T00:00:00Z", "2026-08-01T00:00:00Z")] == [
        "today", "yesterday", "4 days ago", "3 weeks ago", "4 months ago"]
    assert es.ago("2026-11-13T00:00:00Z") == "hace 3 semanas"
    assert en.date("2026-12-03T10:00:00Z") == "3 Dec" and es.date("2026-12-03T10:00:00Z") == "3 dic"
    assert en.accommodation("movement_breaks") == "movement breaks"
    assert es.accommodation("extended_time") == "tiempo adicional"
    assert en.minutes(1) == "1 minute" and es.minutes(15) == "15 minutos"
    assert i18n.negotiate("de, es;q=0.4, en;q=0.3") == "es" and i18n.negotiate("fr") is None


def test_no_raw_decimals_on_the_pages(client, people):
    """Plain language: no probability or duration shown as a raw decimal (0.83, 21.15)."""
    decimal = re.compile(r"\b0\.\d|\d\.\d{2,}")

    def text(html: str) -> str:
        html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
        return re.sub(r"<[^>]+>", " ", html)

    _login(client, "kid-pages")
    kid = people["kids"][0]
    for url in ("/me?lang=en", "/me?lang=es", f"/learners/{kid}/plp?lang=en"):
        body = text(client.get(url).text)
        assert not decimal.search(body), (url, decimal.search(body))
    _login(client, "parent-pages")
    body = text(client.get(f"/family/{kid}?lang=en").text)
    assert "about" in body or "almost" in body or "not yet" in body
    assert not decimal.search(body)
