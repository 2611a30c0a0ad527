"""LTI 1.3 tool endpoints (per tenant: ``/lti/{tenant}/...``) and the admin API for platforms,
tool keys, courses, roster sync and grade passback (``/v1/lti/...``). Rules live in
``engine.lti``; this module parses, calls one ``SchoolApp`` method and maps errors."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from engine.errors import EngineError, NotFoundError, ValidationError
from engine.lti.errors import LaunchRefused, LmsServiceError
from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import ErrorResponse
from service.web.pages import _check_csrf, _ctx, _guard, _render, signer, templates
from service.web.session import COOKIE, MAX_AGE

router = APIRouter(tags=["lti"])
tool = APIRouter(include_in_schema=False)
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          422: {"model": ErrorResponse}, 502: {"model": ErrorResponse}}


def _school(request: Request, tenant: str):
    try:
        return request.app.state.pathwise.existing_school(tenant)
    except (ValidationError, NotFoundError) as exc:
        raise ApiError(404, "not_found", str(exc)) from None


def _refused(request: Request, message: str, status: int = 403) -> HTMLResponse:
    return _render(request, "error.html", None, status=status, back="",
                   message=f"The launch from your course was refused: {message}")


def tool_urls(request: Request, tenant: str) -> dict:
    """The URLs an LMS administrator enters when adding Pathwise as an LTI 1.3 tool."""
    return {"login_url": str(request.url_for("lti_login", tenant=tenant)),
            "launch_url": str(request.url_for("lti_launch", tenant=tenant)),
            "deep_linking_url": str(request.url_for("lti_launch", tenant=tenant)),
            "jwks_url": str(request.url_for("lti_jwks", tenant=tenant))}


# ------------------------------------------------------------------------------ tool endpoints


@tool.get("/lti/{tenant}/jwks", name="lti_jwks")
def jwks(request: Request, tenant: str):
    try:
        keys = _school(request, tenant).tool_jwks()
    except NotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return JSONResponse(keys, headers={"Cache-Control": "max-age=300"})


@tool.api_route("/lti/{tenant}/login", methods=["GET", "POST"], name="lti_login")
async def login(request: Request, tenant: str):
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    school = _school(request, tenant)
    missing = [k for k in ("iss", "login_hint", "target_link_uri") if not params.get(k)]
    if missing:
        return _refused(request, f"the login initiation lacks {', '.join(missing)}", status=400)
    try:
        url = school.lti_login(iss=params["iss"], login_hint=params["login_hint"],
                               target_link_uri=params["target_link_uri"],
                               redirect_uri=tool_urls(request, tenant)["launch_url"],
                               client_id=params.get("client_id"), lti_message_hint=params.get("lti_message_hint"),
                               lti_deployment_id=params.get("lti_deployment_id"))
    except LaunchRefused as exc:
        return _refused(request, str(exc))
    return RedirectResponse(url, status_code=302)


@tool.post("/lti/{tenant}/launch", name="lti_launch")
def launch(request: Request, tenant: str, id_token: str = Form(""), state: str = Form("")):
    school = _school(request, tenant)
    if not id_token:
        return _refused(request, "no id_token was posted", status=400)
    try:
        result = school.lti_launch(id_token, state)
    except (LaunchRefused, LmsServiceError) as exc:
        return _refused(request, str(exc))
    except EngineError as exc:
        return _refused(request, str(exc), status=400)
    if result["deep_link"]:
        target = str(request.url_for("lti_deep_link", tenant=tenant).include_query_params(token=result["deep_link"]))
    elif result["role"] == "teacher":
        target = f"/classes/{result['class_id']}" if result["class_id"] else "/"
    else:
        target = {"student": "/me", "guardian": "/family"}[result["role"]]
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, signer(request).dumps(result["tenant"], result["key_hash"]), max_age=MAX_AGE,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return resp


@tool.get("/lti/{tenant}/deep-link", name="lti_deep_link", response_class=HTMLResponse)
@_guard
def deep_link_form(request: Request, tenant: str, token: str = ""):
    ctx = _ctx(request)
    data = ctx.school.deep_link_options(ctx.by, token)
    return _render(request, "lti_deep_link.html", ctx, token=token, options=data["options"],
                   action=str(request.url_for("lti_deep_link_post", tenant=tenant)))


@tool.post("/lti/{tenant}/deep-link", name="lti_deep_link_post")
@_guard
def deep_link_post(request: Request, tenant: str, token: str = Form(""), choice: str = Form(""),
                   csrf: str = Form("")):
    _check_csrf(request, csrf)
    ctx = _ctx(request)
    url, jwt_ = ctx.school.deep_link_response(ctx.by, token, choice, tool_urls(request, tenant)["launch_url"])
    return templates().TemplateResponse(request, "lti_post.html", {"url": url, "fields": {"JWT": jwt_}})


# ------------------------------------------------------------------------------ admin API


class PlatformIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    deployment_ids: list[str] = Field(min_length=1, max_length=100)
    jwks_url: str = Field(max_length=1000)
    auth_login_url: str = Field(max_length=1000, description="the platform's OIDC authorization endpoint")
    token_url: str = Field(max_length=1000, description="the platform's OAuth 2 token endpoint")
    name: str = Field("", max_length=200)
    default_grade: str = Field("unknown", min_length=1, max_length=20,
                               description="grade of classes and learners created by roster sync")


class PlatformOut(PlatformIn):
    id: str
    tool: dict = Field(default_factory=dict, description="the URLs to enter in the LMS")


def _lms_call(fn, *args):
    try:
        return fn(*args)
    except LmsServiceError as exc:
        raise ApiError(502, "lms_error", str(exc)) from None


@router.get("/v1/lti/platforms", response_model=list[PlatformOut], responses=ERRORS, summary="Registered LMS platforms")
def list_platforms(ctx: CtxDep, request: Request):
    urls = tool_urls(request, ctx.principal.tenant)
    return [{**p, "tool": urls} for p in ctx.school.lti_platforms(ctx.by)]


@router.post("/v1/lti/platforms", response_model=PlatformOut, status_code=201, responses=ERRORS,
             summary="Register (or update) an LMS platform")
def register_platform(ctx: CtxDep, request: Request, body: PlatformIn):
    rec = ctx.school.register_platform(ctx.by, body.model_dump())
    return {**rec, "tool": tool_urls(request, ctx.principal.tenant)}


@router.delete("/v1/lti/platforms/{platform_id}", status_code=204, responses=ERRORS, summary="Remove a platform")
def delete_platform(ctx: CtxDep, platform_id: str):
    ctx.school.delete_platform(ctx.by, platform_id)
    return Response(status_code=204)


@router.get("/v1/lti/keys", responses=ERRORS, summary="The tool's signing keys (ids and dates only)")
def list_keys(ctx: CtxDep):
    return ctx.school.tool_key_listing(ctx.by)


@router.post("/v1/lti/keys/rotate", responses=ERRORS, summary="Rotate the tool's signing key")
def rotate_key(ctx: CtxDep):
    return ctx.school.rotate_tool_key(ctx.by)


@router.get("/v1/lti/courses", responses=ERRORS, summary="LMS courses seen in launches, with their classes")
def courses(ctx: CtxDep):
    return ctx.school.lti_courses(ctx.by)


@router.post("/v1/lti/classes/{class_id}/sync", responses=ERRORS,
             summary="Sync the class roster from its LMS course (NRPS)")
def sync(ctx: CtxDep, class_id: str):
    return _lms_call(ctx.school.lti_sync, ctx.by, class_id)


@router.post("/v1/lti/classes/{class_id}/grades", responses=ERRORS,
             summary="Post progress and mastery to the LMS gradebook (AGS)")
def post_grades(ctx: CtxDep, class_id: str):
    return _lms_call(ctx.school.lti_post_grades, ctx.by, class_id)

