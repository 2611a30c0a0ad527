"""The PLP PDF's Content-Disposition stays a valid latin-1 header for any learner id (a
learner id outside latin-1 made starlette raise UnicodeEncodeError: a 500 found by
schemathesis)."""

from werkzeug.http import parse_options_header

from service.web import plp


def _filename(header: str) -> str:
    """The file name an RFC 6266 client reads (Werkzeug's parser, which decodes RFC 2231
    ``filename*`` and prefers it over ``filename``)."""
    return parse_options_header(header)[1]["filename"]


def test_pdf_filename_header_for_a_non_latin1_learner_id(monkeypatch):
    monkeypatch.setattr(plp, "pdf_bytes", lambda html: b"%PDF-1.7")
    monkeypatch.setattr(plp, "plp_html", lambda *a, **k: "<html></html>")
    learner = "\U00063938\x7fR\u00a7\u00a1 ana"
    response = plp.pdf_response({"learner_id": learner}, "en")
    header = response.headers["content-disposition"]
    header.encode("latin-1")  # what starlette needs
    assert 'filename="plp-__R___ana.pdf"' in header
    assert _filename(header) == f"plp-{learner}.pdf"


def test_pdf_filename_header_for_a_plain_learner_id(monkeypatch):
    monkeypatch.setattr(plp, "pdf_bytes", lambda html: b"%PDF-1.7")
    monkeypatch.setattr(plp, "plp_html", lambda *a, **k: "<html></html>")
    header = plp.pdf_response({"learner_id": "ana-1"}, "en").headers["content-disposition"]
    assert header == "inline; filename=\"plp-ana-1.pdf\"; filename*=UTF-8''plp-ana-1.pdf"
    assert _filename(header) == "plp-ana-1.pdf"
