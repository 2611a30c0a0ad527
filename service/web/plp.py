"""The Personalized Learning Plan page (printable) and its PDF, printed by the Chromium the
project already uses (Playwright ``page.pdf``; ``PATHWISE_CHROMIUM`` or /usr/bin/chromium).

Readers: the student, a linked guardian, the learner's teachers and admins. Each of the
student, guardian and teacher acknowledges the plan from the page (kept with the date)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from service.http_errors import ApiError
from service.web import i18n
from service.web.student import back, check_csrf, guard, language, page_ctx, render, templates

router = APIRouter(include_in_schema=False)
ROLES = ("student", "guardian", "teacher", "admin")
CSS = Path(__file__).resolve().parent.parent / "static" / "plp.css"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("PATHWISE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def plp_html(plp: dict, lang: str, *, for_print: bool = False) -> str:
    """The PLP as a standalone HTML document (styles inlined: the PDF has no server to ask)."""
    w = i18n.Words(lang)
    tpl = templates().env.get_template("plp_document.html")
    return tpl.render(p=plp, w=w, _=w._, lang=lang, css=CSS.read_text(encoding="utf-8"), for_print=for_print)


def pdf_bytes(html: str) -> bytes:
    """Print ``html`` to an A4/Letter-friendly PDF with headless Chromium (about 1 s)."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        raise ApiError(503, "unavailable", "printing the PLP needs Chromium and Playwright on the server; "
                       "install chromium or set PATHWISE_CHROMIUM")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html, wait_until="load")
            return page.pdf(format="A4", print_background=True,
                            margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@router.get("/learners/{learner_id}/plp", response_class=HTMLResponse)
@guard
def plp_page(request: Request, learner_id: str, done: str = ""):
    ctx = page_ctx(request, ROLES)
    plp = ctx.school.plp(ctx.by, learner_id)
    lang = language(request, plp["language"] if ctx.principal.role == "student" else None)
    return render(request, "plp.html", ctx, lang, p=plp, done=done,
                  can_ack=ctx.principal.role in ("student", "guardian", "teacher"))


@router.get("/learners/{learner_id}/plp.pdf")
@guard
def plp_pdf_page(request: Request, learner_id: str):
    ctx = page_ctx(request, ROLES)
    plp = ctx.school.plp(ctx.by, learner_id)
    lang = language(request, plp["language"] if ctx.principal.role == "student" else None)
    return pdf_response(plp, lang)


def pdf_response(plp: dict, lang: str) -> Response:
    data = pdf_bytes(plp_html(plp, lang, for_print=True))
    name = f"plp-{plp['learner_id']}.pdf"
    # a header is latin-1: an ASCII fallback name plus the exact one in RFC 6266 filename*
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=\"{plain}\"; "
                                                    f"filename*=UTF-8''{quote(name, safe='')}"})


@router.post("/learners/{learner_id}/plp/ack")
@guard
def plp_ack(request: Request, learner_id: str, note: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    ctx = page_ctx(request, ROLES)
    ctx.school.acknowledge_plp(ctx.by, learner_id, note)
    return back(f"/learners/{learner_id}/plp?done=acknowledged#acks")
