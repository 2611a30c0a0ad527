"""The student's page, phone first: today (what to do, where, with whom, how long, choices),
"how did it go?", my goals, my progress map and my growth; in English or Spanish.

Plain HTML forms (POST, then 303 back), no script needed: the keyboard-only flow is the
browser's own. Each handler calls one ``SchoolApp`` use case. Shared by the guardian and PLP
pages: the session principal of any role (:func:`page_ctx`), the language and the renderer
with the plain-word helpers (:func:`render`).
"""

from __future__ import annotations

import functools
import hmac
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from engine.errors import AccessDenied, EngineError
from planner.errors import PlannerError
from service.deps import Ctx, note_actor
from service.web import i18n
from service.web.session import COOKIE

router = APIRouter(include_in_schema=False)
_TEMPLATES: Jinja2Templates | None = None


class LoginRequired(Exception):
    pass


def templates() -> Jinja2Templates:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
        _TEMPLATES.env.globals.update(FIELD_LABELS=i18n.FIELD_LABELS, RATING_WORDS=i18n.RATING_WORDS)
    return _TEMPLATES


def page_ctx(request: Request, roles: tuple[str, ...]) -> Ctx:
    """The signed-in caller of a page (a session of ``roles``), else LoginRequired /
    AccessDenied."""
    from service.web.pages import signer

    body = signer(request).loads(request.cookies.get(COOKIE))
    pathwise = request.app.state.pathwise
    if body is None or pathwise.page_session_ended(body["t"], body["s"]):
        raise LoginRequired()
    principal = pathwise.principal_of(body["k"], body["t"])
    if principal is None:
        raise LoginRequired()
    note_actor(principal)
    if principal.role not in roles:
        raise AccessDenied(f"this page is for {' or '.join(roles)} accounts; you are signed in as "
                           f"a {principal.role}")
    return Ctx(principal, pathwise, via="page")


def language(request: Request, learner_language: str | None = None) -> str:
    return i18n.pick_language(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE),
                              learner_language, request.headers.get("accept-language"))


def render(request: Request, name: str, ctx: Ctx | None, lang: str, status: int = 200, **data) -> HTMLResponse:
    from service.web.pages import signer

    cookie = request.cookies.get(COOKIE, "")
    w = i18n.Words(lang)
    data.update(request=request, me=ctx.principal if ctx else None, lang=lang, w=w, _=w._,
                languages=i18n.NAMES, csrf=signer(request).csrf(cookie) if cookie else "",
                path=request.url.path)
    resp = templates().TemplateResponse(request, name, data, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        resp.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax",
                        secure=request.url.scheme == "https")
    return resp


def check_csrf(request: Request, token: str) -> None:
    from service.web.pages import signer

    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not hmac.compare_digest(token, signer(request).csrf(cookie)):
        raise AccessDenied("the form expired or came from another site; reload the page and retry")


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def guard(fn):
    """Login redirect and a friendly error page (in the page's language)."""

    @functools.wraps(fn)
    def wrapper(request: Request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except LoginRequired:
            return back(f"/login?next={quote(request.url.path)}")
        except (EngineError, PlannerError) as exc:
            from service.http_errors import status_for

            status = (status_for(exc) or (400, ""))[0]
            lang = language(request)
            return render(request, "student_error.html", None, lang, status=status, message=str(exc),
                          back=request.url.path)

    return wrapper


def _learner_of(ctx: Ctx) -> str:
    return ctx.principal.learner_id


# ------------------------------------------------------------------------------ pages


@router.get("/me", response_class=HTMLResponse)
@guard
def student_page(request: Request, done: str = ""):
    ctx = page_ctx(request, ("student",))
    lid = _learner_of(ctx)
    today = ctx.school.today(ctx.by, lid)
    lang = language(request, today["language"])
    progress = ctx.school.progress_map(ctx.by, lid)
    growth = ctx.school.growth(ctx.by, lid)
    story = ctx.school.profile_story(ctx.by, lid)
    return render(request, "student.html", ctx, lang, today=today, progress=progress,
                  growth=[dict(g, svg=sparkline(g["points"])) for g in growth["skills"]],
                  story={f["field"]: f for f in story["fields"]}, done=done)


@router.post("/me/choose")
@guard
def student_choose(request: Request, plan_id: str = Form(...), position: int = Form(...),
                   activity_id: str = Form(...), csrf: str = Form("")):
    check_csrf(request, csrf)
    ctx = page_ctx(request, ("student",))
    ctx.school.choose(ctx.by, _learner_of(ctx), plan_id, position, activity_id)
    return back(f"/me?done=chosen#slot-{position}")


@router.post("/me/rate")
@guard
def student_rate(request: Request, activity_id: str = Form(...), rating: int = Form(...),
                 sentence: str = Form(""), position: int = Form(0), csrf: str = Form("")):
    check_csrf(request, csrf)
    ctx = page_ctx(request, ("student",))
    ctx.school.rate_activity(ctx.by, _learner_of(ctx), activity_id, rating, sentence)
    return back(f"/me?done=rated#slot-{position}")


@router.post("/me/profile")
@guard
def student_profile(request: Request, goals: str = Form(""), how_i_learn: str = Form(""),
                    interests: str = Form(""), csrf: str = Form("")):
    """Goals and how I learn best: one per line; interests: comma-separated."""
    check_csrf(request, csrf)
    ctx = page_ctx(request, ("student",))
    fields = {"goals": _lines(goals), "how_i_learn": _lines(how_i_learn),
              "interests": sorted({t.strip().lower() for t in interests.split(",") if t.strip()})}
    ctx.school.write_profile(ctx.by, _learner_of(ctx), fields)
    return back("/me?done=saved#goals")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------------------------ growth chart


def sparkline(points: list[dict], width: int = 160, height: int = 40) -> dict:
    """An inline SVG polyline of mastery over time: ``points`` (at, p in [0, 1]) in time
    order, spaced by index (a chart per skill, a few dozen points). Returns the
    ``polyline`` points text and the last point (for a dot)."""
    n = len(points)
    if n == 0:
        return {"points": "", "x": 0, "y": height, "width": width, "height": height}
    pad = 3
    xs = [pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 1.0) for i in range(n)]
    ys = [pad + (height - 2 * pad) * (1.0 - max(0.0, min(1.0, float(p["p"])))) for p in points]
    text = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return {"points": text, "x": round(xs[-1], 1), "y": round(ys[-1], 1), "width": width, "height": height}
