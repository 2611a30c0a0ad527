"""Teacher review pages: login, classes, class view (session plan + playlists), learner view.

Every action is a plain HTML form POST that redirects back (303). The pages call the same
``engine.app.SchoolApp`` use cases as the JSON API (same access rules, same audit, one review
implementation); the teacher sees a pending proposal next to the plan they decided on.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from engine.access import Principal
from engine.errors import AccessDenied, EngineError, TooManyAttempts, ValidationError
from planner.errors import PlannerError
from service.deps import Ctx, note_actor
from service.web import teacher_view
from service.web.session import COOKIE, LOGIN_COOKIE, MAX_AGE, SessionSigner

router = APIRouter(include_in_schema=False)
_TEMPLATES: Jinja2Templates | None = None


def templates() -> Jinja2Templates:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
        teacher_view.install(_TEMPLATES.env)
    return _TEMPLATES


def signer(request: Request) -> SessionSigner:
    app = request.app
    if getattr(app.state, "signer", None) is None:
        # PATHWISE_SESSION_SECRET, else a secret generated once and kept in the store
        secret = app.state.settings.session_secret or app.state.pathwise.session_secret()
        app.state.signer = SessionSigner(secret)
    return app.state.signer


class LoginRequired(Exception):
    pass


def _principal(request: Request) -> Principal | None:
    body = signer(request).loads(request.cookies.get(COOKIE))
    if body is None:
        return None
    pathwise = request.app.state.pathwise
    if pathwise.page_session_ended(body["t"], body["s"]):
        return None
    principal = pathwise.page_principal(body["t"], body["k"])
    if principal is not None:
        note_actor(principal)
    return principal


def _ctx(request: Request) -> Ctx:
    p = _principal(request)
    if p is None:
        raise LoginRequired()
    return Ctx(p, request.app.state.pathwise, via="page")


def _render(request: Request, name: str, ctx: Ctx | None, status: int = 200, **data) -> HTMLResponse:
    cookie = request.cookies.get(COOKIE, "")
    data.update(request=request, me=ctx.principal if ctx else None,
                csrf=signer(request).csrf(cookie) if cookie else "")
    return templates().TemplateResponse(request, name, data, status_code=status)


def _check_csrf(request: Request, token: str) -> None:
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not hmac.compare_digest(token, signer(request).csrf(cookie)):
        raise AccessDenied("the form expired or came from another site; reload the page and retry")


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _guard(fn):
    """Login redirect and friendly error pages for page handlers."""
    import functools

    @functools.wraps(fn)
    def wrapper(request: Request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except LoginRequired:
            return _back(f"/login?next={quote(request.url.path)}")
        except (EngineError, PlannerError) as exc:
            from service.http_errors import status_for

            status = (status_for(exc) or (400, ""))[0]
            ctx = None
            try:
                ctx = _ctx(request)
            except LoginRequired:
                pass
            referer = request.headers.get("referer", "")
            base = str(request.base_url)
            back = "/" + referer[len(base):] if referer.startswith(base) else ""
            return _render(request, "error.html", ctx, status=status, message=str(exc), back=back)

    return wrapper


# ------------------------------------------------------------------------------ login


def _login_page(request: Request, *, status: int = 200, next: str = "/", error: str = "") -> HTMLResponse:
    """The login form with its CSRF token, bound to a random ``pathwise_login`` cookie."""
    value = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    resp = _render(request, "login.html", None, status=status, next=next, error=error,
                   demo=getattr(request.app.state, "demo", None),
                   login_csrf=signer(request).csrf("login:" + value))
    resp.set_cookie(LOGIN_COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax",
                    secure=request.url.scheme == "https")
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", error: str = ""):
    return _login_page(request, next=next, error=error)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), api_key: str = Form(""),
          next: str = Form("/"), csrf: str = Form("")):
    value = request.cookies.get(LOGIN_COOKIE, "")
    if not value or not hmac.compare_digest(csrf, signer(request).csrf("login:" + value)):
        return _login_page(request, status=403, next=next,
                           error="The form expired or came from another site; please log in again.")
    address = request.client.host if request.client else None
    try:
        session = request.app.state.pathwise.page_login(request.app.state.settings.tenant, username=username,
                                                        password=password, api_key=api_key, address=address)
    except TooManyAttempts as exc:
        resp = _login_page(request, status=429, next=next, error=str(exc))
        resp.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return resp
    if session is None:
        return _login_page(request, status=401, next=next,
                           error="Unknown user, wrong password, or a key that is not a teacher/admin key.")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = _back(target)
    resp.set_cookie(COOKIE, signer(request).dumps(*session), max_age=MAX_AGE,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
@_guard
def logout(request: Request, csrf: str = Form("")):
    _check_csrf(request, csrf)
    body = signer(request).loads(request.cookies.get(COOKIE))
    if body is not None:  # revoked in the store: the cookie stops working everywhere
        request.app.state.pathwise.end_page_session(body["t"], body["s"], body["e"])
    resp = _back("/login")
    resp.delete_cookie(COOKIE)
    return resp


# ------------------------------------------------------------------------------ pages


@router.get("/", response_class=HTMLResponse)
@_guard
def classes_page(request: Request):
    ctx = _ctx(request)
    home = {"student": "/me", "guardian": "/family"}.get(ctx.principal.role)  # their own pages
    if home:
        return _back(home)
    return _render(request, "classes.html", ctx, classes=ctx.school.classes_overview(ctx.by),
                   tw=teacher_view.TeacherWords())


@router.get("/classes/{class_id}", response_class=HTMLResponse)
@_guard
def class_page(request: Request, class_id: str, add_for: str = "", find: str = "", approved: str = ""):
    """The class page; ``add_for`` + ``find``: an activity search for one learner's card."""
    ctx = _ctx(request)
    data = ctx.school.class_page(ctx.by, class_id)
    found = {}
    if add_for and find.strip():
        found[add_for] = ctx.school.search_activities(ctx.by, find, learner_id=add_for)
    data.update(teacher_view.class_extras(data))
    return _render(request, "class.html", ctx, **data, found=found, find=find, add_for=add_for)


@router.post("/classes/{class_id}/plan")
@_guard
def class_generate(request: Request, class_id: str, csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    ctx.school.generate_class_plan(ctx.by, class_id)
    return _back(f"/classes/{class_id}")


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
@_guard
def learner_page(request: Request, learner_id: str, why_not: str = "", find: str = ""):
    """The learner page; ``find``: search the catalog (add to the playlist, or "why not?")."""
    ctx = _ctx(request)
    data = ctx.school.learner_page(ctx.by, learner_id, why_not=why_not or None)
    found = ctx.school.search_activities(ctx.by, find, learner_id=learner_id) if find.strip() else None
    data.update(teacher_view.learner_extras(data))
    return _render(request, "learner.html", ctx, **data, skill_fields=("strengths", "growth_areas", "goal_skills"), found=found, find=find)


@router.get("/activities/search")
@_guard
def activity_search(request: Request, q: str = "", learner_id: str = ""):
    """The "add activity" picker's search as JSON (at most 20 activities): id, title,
    minutes, modality, language, skill codes."""
    ctx = _ctx(request)
    return JSONResponse(ctx.school.search_activities(ctx.by, q, learner_id=learner_id or None))


@router.post("/classes/{class_id}/approve-all")
@_guard
def class_approve_all(request: Request, class_id: str, csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    done = ctx.school.approve_all(ctx.by, class_id)
    return _back(f"/classes/{class_id}?approved={len(done['approved'])}#plans")


@router.post("/classes/{class_id}/groups")
@_guard
def class_form_group(request: Request, class_id: str, skill_id: str = Form(""),
                     learner_ids: Annotated[list[str] | None, Form()] = None, reason: str = Form(""),
                     csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    ctx.school.form_group(ctx.by, class_id, skill_id, learner_ids or [], reason)
    return _back(f"/classes/{class_id}#groups")


@router.post("/choice")
@_guard
def page_choice(request: Request, enabled: str = Form(""), class_id: str = Form(""), learner_id: str = Form(""),
                csrf: str = Form(""), back: str = Form("/")):
    """The "students choose" switch of a class or one learner (``enabled``: "on", "off", or
    "class": the learner follows the class's setting again)."""
    _check_csrf(request, csrf)
    if enabled not in ("on", "off", "class"):
        raise ValidationError(f"enabled={enabled!r}: choose on, off, or class (the class's setting)")
    ctx = _ctx(request)
    ctx.school.set_choice(ctx.by, enabled=None if enabled == "class" else enabled == "on",
                          class_id=class_id or None, learner_id=learner_id or None)
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return _back(target)


@router.post("/classes/{class_id}/groups/{group_id}/done")
@_guard
def class_close_group(request: Request, class_id: str, group_id: str, csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    ctx.school.close_group(ctx.by, class_id, group_id)
    return _back(f"/classes/{class_id}#groups")


# ------------------------------------------------------------------------------ review forms


def _review(request: Request, plan_id: str, csrf: str, back: str, step: str, **args) -> Response:
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    ctx.school.review(ctx.by, plan_id, step, **args)
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return _back(target)


@router.post("/plans/{plan_id}/approve")
@_guard
def page_approve(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, "approve")


@router.post("/plans/{plan_id}/activate")
@_guard
def page_activate(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, "activate")


@router.post("/plans/{plan_id}/complete")
@_guard
def page_complete(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, "complete")


@router.post("/plans/{plan_id}/reject")
@_guard
def page_reject(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/"),
                reason: str = Form("")):
    return _review(request, plan_id, csrf, back, "reject", reason=reason)


@router.post("/plans/{plan_id}/regenerate")
@_guard
def page_regenerate(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, "regenerate")


@router.post("/plans/{plan_id}/edit")
@_guard
def page_edit(request: Request, plan_id: str, op: str = Form(""), activity_id: str = Form(""),
              act: str = Form(""), csrf: str = Form(""), back: str = Form("/")):
    """``op`` + ``activity_id``, or ``act`` = "<op> <activity id>" (the card's one form)."""
    if act:
        op, _, activity_id = act.partition(" ")
    if not op:
        raise ValidationError("op: say what to do (pin, unpin, remove, add, up, down)")
    return _review(request, plan_id, csrf, back, "edit", op=op, activity_id=activity_id or None)
