"""Evidence ingest: native batches, plus the tenant's xAPI verb table, identity map and
stored-not-applied statements (the xAPI statement resource itself: :mod:`service.routes.xapi`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from service import forward
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
async def ingest_evidence(ctx: CtxDep, request: Request, batch: EvidenceBatch) -> IngestResponse:
    """All-or-nothing: a batch with one bad observation writes nothing. Re-sending an id with
    the same payload counts once; the same id with a different payload is 409."""
    _check_size(request, len(batch.observations), "observations")
    rows = [o.model_dump() for o in batch.observations]
    counts = await forward.ingest_evidence(request.app, ctx.school, ctx.by, rows)
    return IngestResponse(**counts)


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
