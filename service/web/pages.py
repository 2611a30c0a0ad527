"""Teacher review pages: login, classes, class view (session plan + playlists), learner view.

Every action is a plain HTML form POST that redirects back (303). The pages call the same
backend and engine review functions as the JSON API, with the same authorization and audit.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from engine import review as rv
from engine.access import Principal, hash_key, verify_password
from engine.errors import AccessDenied, EngineError
from planner.errors import PlannerError
from service.deps import Ctx
from service.web.session import COOKIE, MAX_AGE, SessionSigner

router = APIRouter(include_in_schema=False)
_TEMPLATES: Jinja2Templates | None = None


def templates() -> Jinja2Templates:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
        _TEMPLATES.env.filters["pct"] = lambda p: f"{100 * float(p or 0):.0f}%"
    return _TEMPLATES


def signer(request: Request) -> SessionSigner:
    app = request.app
    if getattr(app.state, "signer", None) is None:
        app.state.signer = SessionSigner(app.state.settings.session_secret)
    return app.state.signer


class LoginRequired(Exception):
    pass


def _principal(request: Request) -> Principal | None:
    cookie = request.cookies.get(COOKIE)
    body = signer(request).loads(cookie)
    if body is None:
        return None
    backend = request.app.state.backend
    rec = backend.store.find_api_key(body["k"])
    if rec is None or rec.tenant_id != body["t"] or rec.role not in ("teacher", "admin"):
        return None
    from service.backend import key_id_of
    from service.logs import actor_var

    principal = Principal(tenant=rec.tenant_id, role=rec.role, key_id=key_id_of(rec.key_hash),
                          name=rec.label or "", teacher_id=rec.subject if rec.role == "teacher" else None)
    holder = actor_var.get()
    if holder is not None:
        holder.update(tenant=principal.tenant, role=principal.role, actor=principal.key_id)
    return principal


def _ctx(request: Request) -> Ctx:
    p = _principal(request)
    if p is None:
        raise LoginRequired()
    return Ctx(p, request.app.state.backend)


def _render(request: Request, name: str, ctx: Ctx | None, status: int = 200, **data) -> HTMLResponse:
    cookie = request.cookies.get(COOKIE, "")
    data.update(request=request, me=ctx.principal if ctx else None,
                csrf=signer(request).csrf(cookie) if cookie else "")
    return templates().TemplateResponse(request, name, data, status_code=status)


def _check_csrf(request: Request, token: str) -> None:
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or token != signer(request).csrf(cookie):
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


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", error: str = ""):
    demo = getattr(request.app.state, "demo", None)
    return _render(request, "login.html", None, next=next, error=error, demo=demo)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), api_key: str = Form(""),
          next: str = Form("/")):
    settings = request.app.state.settings
    backend = request.app.state.backend
    key_hash = None
    if api_key.strip():
        principal = backend.authenticate(api_key.strip())
        if principal is not None and principal.role in ("teacher", "admin"):
            key_hash = hash_key(api_key.strip())
    elif username:
        tb = backend.for_tenant(settings.tenant)
        rec = tb.get_login(username.strip())
        if rec is not None and verify_password(password, rec["password"]):
            key_hash = rec["key_hash"]
    if key_hash is None or backend.store.find_api_key(key_hash) is None:
        return _render(request, "login.html", None, status=401, next=next, demo=getattr(request.app.state, "demo", None),
                       error="Unknown user, wrong password, or a key that is not a teacher/admin key.")
    rec = backend.store.find_api_key(key_hash)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = _back(target)
    resp.set_cookie(COOKIE, signer(request).dumps(rec.tenant_id, key_hash), max_age=MAX_AGE,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
def logout(request: Request):
    resp = _back("/login")
    resp.delete_cookie(COOKIE)
    return resp


# ------------------------------------------------------------------------------ pages


@router.get("/", response_class=HTMLResponse)
@_guard
def classes_page(request: Request):
    ctx = _ctx(request)
    ctx.allow("class:read")
    classes = ctx.tb.classes()
    if ctx.principal.role == "teacher":
        classes = [c for c in classes if c["id"] in ctx.scope.class_ids]
    return _render(request, "classes.html", ctx, classes=classes)


def _playlist_cards(ctx: Ctx, cls) -> list[dict]:
    view = ctx.tb.view
    cards = []
    for lid in cls.roster:
        learner = view.learners.get(lid)
        plan = ctx.tb.latest_plan(learner_id=lid, kind="playlist")
        cards.append({"id": lid, "name": learner.name if learner else lid, "plan": plan})
    return cards


@router.get("/classes/{class_id}", response_class=HTMLResponse)
@_guard
def class_page(request: Request, class_id: str):
    ctx = _ctx(request)
    ctx.allow("class:read", class_id=class_id)
    cls = ctx.tb.get_class(class_id)
    detail = ctx.tb.class_detail(class_id)
    class_plan = ctx.tb.latest_plan(class_id=class_id, kind="class")
    cards = _playlist_cards(ctx, cls)
    ctx.audit("read", "class.page", resource_id=class_id)
    activities = sorted(ctx.tb.view.activities.values(), key=lambda a: a.title)
    return _render(request, "class.html", ctx, cls=detail, plan=class_plan, cards=cards,
                   activities=activities)


@router.post("/classes/{class_id}/plan")
@_guard
def class_generate(request: Request, class_id: str, csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    ctx.allow("plan:review", class_id=class_id)
    ctx.tb.generate_class_plan(
        class_id, audit=lambda p: ctx.audit("write", "plan", learner_id=p.subject if p.kind == "playlist" else None,
                                            resource_id=p.plan_id,
                                            detail={"op": "generate", "class_id": class_id, "via": "page"}))
    return _back(f"/classes/{class_id}")


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
@_guard
def learner_page(request: Request, learner_id: str, why_not: str = ""):
    ctx = _ctx(request)
    ctx.allow("learner:read", learner_id=learner_id)
    tb = ctx.tb
    profile = tb.profile(learner_id)
    mastery = tb.mastery(learner_id)
    skills = tb.view.skills
    graph = tb.view.graph
    ready = tb.ready_to_learn(learner_id, 0.95)[:12] if graph is not None else []
    weakest = sorted((m for m in mastery if m["n_observations"] >= 2), key=lambda m: m["p_mastered"])[:3]
    gaps = []
    for m in weakest:
        found = tb.gaps(learner_id, m["skill_id"], 0.95)[:6] if graph is not None and m["skill_id"] in graph else []
        gaps.append({"skill": m, "gaps": found})
    # Mastery by domain for the heat map: every skill of the learner's grade band with evidence.
    by_domain: dict[str, list] = {}
    for m in mastery:
        s = skills.get(m["skill_id"])
        by_domain.setdefault(getattr(s, "domain", "") or "other", []).append(
            {**m, "code": getattr(s, "code", m["skill_id"])})
    plan = tb.latest_plan(learner_id=learner_id, kind="playlist")
    cls = tb.class_of(learner_id)
    ctx.audit("read", "learner.page", learner_id=learner_id)
    titles = {sid: s.title for sid, s in skills.items()}
    answer = None
    if why_not:
        ctx.allow("recommendation:read", learner_id=learner_id)
        answer = tb.why_not(learner_id, why_not)
        answer["title"] = tb.view.activities[why_not].title
    choices = sorted(tb.view.activities.values(), key=lambda a: a.title)
    return _render(request, "learner.html", ctx, why_not=answer, choices=choices, profile=profile, mastery=mastery, ready=ready,
                   gaps=gaps, by_domain=sorted(by_domain.items()), plan=plan, cls=cls, titles=titles,
                   skill_fields=("strengths", "growth_areas", "goal_skills"))


# ------------------------------------------------------------------------------ review forms


def _review(request: Request, plan_id: str, csrf: str, back: str, fn, **kw) -> Response:
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    tb = ctx.tb
    plan, doc_version = tb.get_plan_versioned(plan_id)
    if plan.kind == "playlist":
        ctx.allow("plan:review", learner_id=plan.subject)
    else:
        ctx.allow("plan:review", class_id=plan.subject)
    learner = plan.subject if plan.kind == "playlist" else None

    def audit(event) -> None:
        ctx.audit("review", "plan", learner_id=learner, resource_id=plan_id,
                  detail={**event.to_record(), "via": "page"})

    if fn == "regenerate":  # plans outside the transaction, stores + audits inside it
        tb.regenerate_plan(plan, ctx.principal.key_id, expected_version=doc_version, audit=audit)
    else:
        if kw.get("op") == "add":
            kw["new_item"] = tb.plan_item_for(kw["activity_id"])
        if kw.get("op") in ("up", "down"):  # a one-step move is a reorder
            ids = [i.activity_id for i in plan.items]
            k = ids.index(kw["activity_id"]) if kw["activity_id"] in ids else -1
            j = k - 1 if kw["op"] == "up" else k + 1
            if 0 <= k < len(ids) and 0 <= j < len(ids):
                ids[k], ids[j] = ids[j], ids[k]
            kw = {"op": "reorder", "order": ids}
        updated, event = fn(plan, ctx.principal.key_id, **kw)
        with ctx.unit():
            tb.save_plan(updated, expected_version=doc_version)
            audit(event)
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return _back(target)


@router.post("/plans/{plan_id}/approve")
@_guard
def page_approve(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, rv.approve)


@router.post("/plans/{plan_id}/activate")
@_guard
def page_activate(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, rv.activate)


@router.post("/plans/{plan_id}/complete")
@_guard
def page_complete(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, rv.complete)


@router.post("/plans/{plan_id}/reject")
@_guard
def page_reject(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/"),
                reason: str = Form("")):
    return _review(request, plan_id, csrf, back, rv.reject, reason=reason)


@router.post("/plans/{plan_id}/regenerate")
@_guard
def page_regenerate(request: Request, plan_id: str, csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, "regenerate")


@router.post("/plans/{plan_id}/edit")
@_guard
def page_edit(request: Request, plan_id: str, op: str = Form(...), activity_id: str = Form(""),
              csrf: str = Form(""), back: str = Form("/")):
    return _review(request, plan_id, csrf, back, rv.edit, op=op, activity_id=activity_id or None)
