"""Evidence ingest: native batches and xAPI 1.0.3 statements (every valid statement stored and
acknowledged; evidence-bearing ones that cannot be applied are reported in the
``X-Pathwise-Not-Applied`` header), plus the tenant's xAPI verb table and identity map."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from engine.app.xapi import XAPI_VERSION
from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import ErrorResponse, EvidenceBatch, IngestResponse
from service.schemas_xapi import (
    XapiApplied,
    XapiIdentityMap,
    XapiIdentityResult,
    XapiIdentityUpdate,
    XapiPendingOut,
    XapiVerbRule,
    XapiVerbUpdate,
)

router = APIRouter(tags=["evidence"])
ERRORS = {400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
          413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


def _check_size(request: Request, n: int, what: str) -> None:
    limit = request.app.state.settings.max_batch
    if n > limit:
        raise ApiError(413, "too_large", f"{n} {what} in one request; send at most {limit} per batch")


@router.post("/v1/evidence", response_model=IngestResponse, responses=ERRORS,
             summary="Ingest a batch of observations (idempotent by observation id)")
def ingest_evidence(ctx: CtxDep, request: Request, batch: EvidenceBatch) -> IngestResponse:
    """All-or-nothing: a batch with one bad observation writes nothing. Re-sending an id with
    the same payload counts once; the same id with a different payload is 409."""
    _check_size(request, len(batch.observations), "observations")
    counts = ctx.school.ingest_evidence(ctx.by, [o.model_dump() for o in batch.observations])
    return IngestResponse(**counts)


XAPI_EXAMPLE = {
    "id": "2a3b6a1e-3f1c-4c59-9a36-5a3c8d3b9f01",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": "learner-id"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
    "object": {"objectType": "Activity", "id": "https://lms.example/activities/activity-id"},
    "result": {"score": {"scaled": 0.8}, "success": True},
    "timestamp": "2026-09-03T14:05:00Z",
}


@router.post("/xapi/statements", response_model=list[str], responses=ERRORS, tags=["xapi"],
             summary="xAPI 1.0.3: store one statement or an array of statements")
def post_statements(ctx: CtxDep,
    request: Request,
    response: Response,
    body: Annotated[Any, Body(examples=[XAPI_EXAMPLE], description="A Statement or an array of Statements")],
) -> list[str]:
    """Returns the statement ids in order. Every valid statement is stored; only invalid xAPI
    refuses the batch (400). Statements that carry evidence but cannot be applied (unknown
    learner identity or activity) are listed in the ``X-Pathwise-Not-Applied`` header as JSON
    ``[{id, note}]`` (first 20; ``X-Pathwise-Not-Applied-Count`` has the total). Same id + same
    statement: accepted once; same id + different statement: 409. Voiding statements retract
    the voided evidence, also before the voided statement arrives."""
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    stored = _store(ctx, request, body)
    _report(response.headers, stored["not_applied"])
    return stored["ids"]


@router.put("/xapi/statements", status_code=204, responses=ERRORS, tags=["xapi"],
            summary="xAPI 1.0.3: store one statement under the id given in ?statementId=")
def put_statement(ctx: CtxDep,
    request: Request,
    statementId: Annotated[str, Query(description="The statement's UUID")],  # noqa: N803 (xAPI name)
    body: Annotated[dict[str, Any], Body(examples=[XAPI_EXAMPLE], description="One Statement")],
) -> Response:
    """Same rules as POST; the body's ``id``, when present, must equal ``statementId``."""
    if body.get("id") not in (None, statementId):
        raise ApiError(409, "conflict", f"body id {body.get('id')!r} differs from statementId {statementId!r}")
    stored = _store(ctx, request, {**body, "id": statementId})
    out = Response(status_code=204, headers={"X-Experience-API-Version": XAPI_VERSION})
    _report(out.headers, stored["not_applied"])
    return out


def _report(headers, notes: list[dict]) -> None:
    if notes:
        headers["X-Pathwise-Not-Applied-Count"] = str(len(notes))
        headers["X-Pathwise-Not-Applied"] = json.dumps(notes[:20], ensure_ascii=True)


def _store(ctx, request: Request, body) -> dict[str, list]:
    version = request.headers.get("x-experience-api-version")
    if version is not None and not version.startswith("1.0"):
        raise ApiError(400, "bad_version", f"X-Experience-API-Version {version!r} unsupported; use 1.0.3")
    statements = body if isinstance(body, list) else [body]
    if not statements:
        raise ApiError(400, "invalid_statement", "empty statement array",
                       [{"loc": ["body"], "field": "body", "msg": "send at least one statement", "type": "xapi"}])
    _check_size(request, len(statements), "statements")
    return ctx.school.store_statements(ctx.by, statements, array=isinstance(body, list))


@router.get("/v1/xapi/verbs", response_model=XapiVerbRule, responses=ERRORS, tags=["xapi"],
            summary="The xAPI verb table: which verbs become evidence and how")
def get_verbs(ctx: CtxDep) -> XapiVerbRule:
    """``attempt``: scaled score, else raw/min/max, else success, else completion;
    ``graded``: the same without completion; ``ignore`` (and verbs not in the table): stored,
    never evidence. A result is required for evidence."""
    return XapiVerbRule(**ctx.school.xapi_verbs(ctx.by))


@router.put("/v1/xapi/verbs", response_model=XapiVerbRule, responses=ERRORS, tags=["xapi"],
            summary="Set the tenant's verb overrides (admins)")
def put_verbs(ctx: CtxDep, body: XapiVerbUpdate) -> XapiVerbRule:
    return XapiVerbRule(**ctx.school.set_xapi_verbs(ctx.by, dict(body.verbs)))


@router.get("/v1/xapi/identities", response_model=XapiIdentityMap, responses=ERRORS, tags=["xapi"],
            summary="The tenant's xAPI identity map (admins)")
def get_identities(ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=10000)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> XapiIdentityMap:
    return XapiIdentityMap(**ctx.school.xapi_identities(ctx.by, limit=limit, offset=offset))


@router.put("/v1/xapi/identities", response_model=XapiIdentityResult, responses=ERRORS, tags=["xapi"],
            summary="Map xAPI agents (account, mbox, mbox_sha1sum, openid) to learners (admins)")
def put_identities(ctx: CtxDep, body: XapiIdentityUpdate) -> XapiIdentityResult:
    """Statements whose actor maps to no learner are stored, not applied. No guessing: an
    email's local part or another LMS's account name never names a learner by itself."""
    counts = ctx.school.set_xapi_identities(ctx.by, [e.model_dump() for e in body.entries],
                                            body.roster_home_pages)
    return XapiIdentityResult(**counts)


@router.get("/v1/xapi/pending", response_model=list[XapiPendingOut], responses=ERRORS, tags=["xapi"],
            summary="Statements stored, not applied (unknown learner or activity), oldest first (admins)")
def get_pending(ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[XapiPendingOut]:
    return [XapiPendingOut(**p) for p in ctx.school.pending_statements(ctx.by, limit=limit, offset=offset)]


@router.post("/v1/xapi/pending/apply", response_model=XapiApplied, responses=ERRORS, tags=["xapi"],
             summary="Apply stored statements whose learner and activity are now known (admins)")
def apply_pending(ctx: CtxDep) -> XapiApplied:
    """Runs by itself after identity-map and catalog changes through the API; call it after a
    roster import from the command line."""
    return XapiApplied(applied=ctx.school.apply_pending_statements(ctx.by))
