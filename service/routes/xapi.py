"""The xAPI 1.0.3 statement resource (``/xapi/statements``, ``/xapi/about``); 2.0.0 requests
are accepted where the two versions agree.

Every ``/xapi`` response carries ``X-Experience-API-Version`` (errors too). Requests other
than ``/xapi/about`` must send ``X-Experience-API-Version`` 1.0.x or 2.0.0 (missing or other:
400). Request errors are 400 (never 422), as the spec requires. Authentication: HTTP Basic
with the API key as the password (what LRS clients and forwarders send), or Bearer /
X-API-Key. Rules live in ``engine`` (:mod:`engine.app.xapi`, :mod:`engine.xapi`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from engine.access import Principal
from engine.app.xapi import XAPI_VERSION
from service.deps import CtxDep, current_principal
from service.http_errors import ApiError
from service.schemas import ErrorResponse
from service.schemas_xapi import XapiAbout, XapiStatementResult
from service.writes import run_checked

VERSION_HEADER = "X-Experience-API-Version"
ACCEPTED = re.compile(r"^(1\.0(\.\d+)?|2\.0\.0)$")
ABOUT_VERSIONS = ["1.0.3", "1.0.2", "1.0.1", "1.0.0", "2.0.0"]
ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413)}


async def require_version(
    _: Annotated[Principal, Depends(current_principal)],
    version: Annotated[str | None, Header(alias=VERSION_HEADER, description="xAPI version: 1.0.3 (any 1.0.x) or 2.0.0")] = None,
) -> str:
    """The request's xAPI version (after authentication, so a request without credentials
    is 401 whatever its headers): 1.0.x or 2.0.0, else 400."""
    if version is None:
        raise ApiError(400, "bad_version", f"send the {VERSION_HEADER} header (e.g. '1.0.3')")
    if not ACCEPTED.match(version.strip()):
        raise ApiError(400, "bad_version", f"{VERSION_HEADER} {version!r} is not supported; "
                       f"use one of {ABOUT_VERSIONS}")
    return version.strip()


class XapiRoute(APIRoute):
    """Turns request validation errors into 400 naming the fields (xAPI has no 422)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                fields = [{"loc": [str(p) for p in e.get("loc", ())], "field": ".".join(str(p) for p in e.get("loc", ())),
                           "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
                summary = "; ".join(f"{f['field']}: {f['msg']}" for f in fields[:5])
                raise ApiError(400, "invalid", f"request is invalid: {summary}", fields) from None

        return route


class XapiVersionHeader:
    """ASGI middleware: every response under ``/xapi`` carries ``X-Experience-API-Version``
    (also errors raised before or outside the route: 401, 404, 405, 413)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/xapi"):
            await self.app(scope, receive, send)
            return
        asked = dict(scope.get("headers") or ()).get(b"x-experience-api-version", b"").strip()
        version = b"2.0.0" if asked == b"2.0.0" else XAPI_VERSION.encode()

        async def send_with_version(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-experience-api-version"]
                message = {**message, "headers": [*headers, (b"x-experience-api-version", version)]}
            await send(message)

        await self.app(scope, receive, send_with_version)


router = APIRouter(tags=["xapi"], route_class=XapiRoute)
VERSIONED = [Depends(require_version)]

XAPI_EXAMPLE = {
    "id": "2a3b6a1e-3f1c-4c59-9a36-5a3c8d3b9f01",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": "learner-id"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
    "object": {"objectType": "Activity", "id": "https://lms.example/activities/activity-id"},
    "result": {"score": {"scaled": 0.8}, "success": True},
    "timestamp": "2026-09-03T14:05:00Z",
}


def _check_size(request: Request, n: int) -> None:
    limit = request.app.state.settings.max_batch
    if n > limit:
        raise ApiError(413, "too_large", f"{n} statements in one request; send at most {limit} per batch")


def _report(headers, notes: list[dict]) -> None:
    if notes:
        headers["X-Pathwise-Not-Applied-Count"] = str(len(notes))
        headers["X-Pathwise-Not-Applied"] = json.dumps(notes[:20], ensure_ascii=True)


async def _store(ctx, request: Request, body) -> dict[str, list]:
    statements = body if isinstance(body, list) else [body]
    if not statements:
        raise ApiError(400, "invalid_statement", "empty statement array",
                       [{"loc": ["body"], "field": "body", "msg": "send at least one statement", "type": "xapi"}])
    _check_size(request, len(statements))
    return await write_statements(request.app, ctx.school, ctx.by, statements, array=isinstance(body, list))


async def write_statements(app, school, by, statements: list, *, array: bool) -> dict[str, list]:
    """``school.store_statements`` for a request, checked and mapped before its write group
    (:func:`service.writes.run_checked`)."""
    return await run_checked(app, len(statements), school.prepare_statements, school.write_statements,
                             by, statements, array=array)


@router.post("/xapi/statements", response_model=list[str], responses=ERRORS, dependencies=VERSIONED,
             summary="xAPI: store one statement or an array of statements")
async def post_statements(ctx: CtxDep, request: Request, response: Response,
                    body: Annotated[Any, Body(examples=[XAPI_EXAMPLE], description="A Statement or an array of Statements")],
                    ) -> list[str]:
    """Returns the statement ids in order (statements without an id get a new one each).
    Every valid statement is stored; only invalid xAPI refuses the batch (400). Statements
    that carry evidence but cannot be applied (unknown learner identity or activity) are
    listed in the ``X-Pathwise-Not-Applied`` header as JSON ``[{id, note}]`` (first 20;
    ``X-Pathwise-Not-Applied-Count`` has the total). Same id + the same statement by the
    spec's comparison rules: accepted once; same id + a different statement: 409. Voiding
    statements retract the voided evidence, also before the voided statement arrives."""
    stored = await _store(ctx, request, body)
    _report(response.headers, stored["not_applied"])
    return stored["ids"]


@router.put("/xapi/statements", status_code=204, responses=ERRORS, dependencies=VERSIONED,
            summary="xAPI: store one statement under the id given in ?statementId=")
async def put_statement(ctx: CtxDep, request: Request,
                  statementId: Annotated[str, Query(description="The statement's UUID")],  # noqa: N803 (xAPI name)
                  body: Annotated[dict[str, Any], Body(examples=[XAPI_EXAMPLE], description="One Statement")],
                  ) -> Response:
    """Same rules as POST; the body's ``id``, when present, must equal ``statementId``."""
    if body.get("id") not in (None, statementId) and str(body.get("id")).lower() != statementId.lower():
        raise ApiError(409, "conflict", f"body id {body.get('id')!r} differs from statementId {statementId!r}")
    stored = await _store(ctx, request, {**body, "id": statementId})
    out = Response(status_code=204)
    _report(out.headers, stored["not_applied"])
    return out


Str = Annotated[str | None, Query()]


@router.get("/xapi/statements", response_model=dict[str, Any], dependencies=VERSIONED,
            responses={**ERRORS, 200: {"model": XapiStatementResult, "description": "A StatementResult, "
                                       "or one Statement for statementId/voidedStatementId"}},
            summary="xAPI: read statements back (one by id, or filtered and paged)")
def get_statements(ctx: CtxDep, request: Request, response: Response,
                   statementId: Str = None, voidedStatementId: Str = None, agent: Str = None,  # noqa: N803
                   verb: Str = None, activity: Str = None, registration: Str = None,
                   related_activities: Str = None, related_agents: Str = None, since: Str = None,
                   until: Str = None, limit: Str = None, format: Str = None, attachments: Str = None,  # noqa: A002
                   ascending: Str = None, more: Str = None) -> Any:
    """xAPI 1.0.3 statement queries (LMS and admin keys): ``statementId`` or
    ``voidedStatementId`` return that statement; otherwise a StatementResult
    ``{statements, more}`` filtered by ``agent`` (JSON Agent), ``verb``, ``activity``,
    ``registration`` (``related_agents``/``related_activities`` widen the agent/activity
    match), ``since``/``until`` (stored time), newest first unless ``ascending=true``, at
    most ``limit`` (0 or absent: 100; capped at 500). ``more`` is a relative URL to the next
    page ("" when there is none). ``format=ids`` reduces agents, verbs and activities to their
    identifiers. Voided statements are never returned by filters."""
    params = dict(request.query_params)
    token = params.pop("more", None)
    if token is not None and params:
        raise ApiError(400, "invalid", "send 'more' alone, as the URL the previous page gave")
    found = ctx.school.read_statements(ctx.by, params, more=token)
    response.headers["X-Experience-API-Consistent-Through"] = ctx.school.consistent_through()
    if "statement" in found:
        return found["statement"]
    more_url = f"{request.url.path}?more={found['more']}" if found["more"] else ""
    return {"statements": found["statements"], "more": more_url}


@router.get("/xapi/about", response_model=XapiAbout, summary="xAPI: the versions this LRS speaks")
def about(request: Request) -> XapiAbout:
    """No credentials needed (the spec's About resource). A client speaking 1.0.x (its
    ``X-Experience-API-Version`` header) is told the 1.0.x versions only: 1.0 client libraries
    refuse an About that lists a version they do not know (TinCanPython does)."""
    asked = request.headers.get(VERSION_HEADER, "").strip()
    versions = ABOUT_VERSIONS if not asked.startswith("1.0") else [v for v in ABOUT_VERSIONS if v.startswith("1.0")]
    return XapiAbout(version=versions, extensions={})


def install(app: FastAPI) -> None:
    """Register the xAPI routes and the version-header middleware on ``app``."""
    app.include_router(router)
    app.add_middleware(XapiVersionHeader)
