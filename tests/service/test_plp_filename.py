"""The PLP PDF's Content-Disposition stays a valid latin-1 header for any learner id (a
learner id outside latin-1 made starlette raise UnicodeEncodeError: a 500 found by
schemathesis)."""

from urllib.parse import unquote

from service.web import plp


def test_pdf_filename_header_for_a_non_latin1_learner_id(monkeypatch):
    monkeypatch.setattr(plp, "pdf_bytes", lambda html: b"%PDF-1.7")
    monkeypatch.setattr(plp, "plp_html", lambda *a, **k: "<html></html>")
    learner = "\U00063938\x7fR\u00a7\u00a1 ana"
    response = plp.pdf_response({"learner_id": learner}, "en")
    header = response.headers["content-disposition"]
    header.encode("latin-1")  # what starlette needs
    assert 'filename="plp-__R___ana.pdf"' in header
    exact = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(exact) == f"plp-{learner}.pdf"


def test_pdf_filename_header_for_a_plain_learner_id(monkeypatch):
    monkeypatch.setattr(plp, "pdf_bytes", lambda html: b"%PDF-1.7")
    monkeypatch.setattr(plp, "plp_html", lambda *a, **k: "<html></html>")
    header = plp.pdf_response({"learner_id": "ana-1"}, "en").headers["content-disposition"]
    assert header == "inline; filename=\"plp-ana-1.pdf\"; filename*=UTF-8''plp-ana-1.pdf"
