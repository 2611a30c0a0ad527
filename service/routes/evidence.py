"""Evidence ingest: native batches and xAPI 1.0.3 statements."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from engine.errors import ConflictError, NotFoundError
from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import ErrorResponse, EvidenceBatch, IngestResult
from service.xapi import XAPI_VERSION, StatementError, map_statement

router = APIRouter(tags=["evidence"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
          413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


def _check_size(request: Request, n: int, what: str) -> None:
    limit = request.app.state.settings.max_batch
    if n > limit:
        raise ApiError(413, "too_large", f"{n} {what} in one request; send at most {limit} per batch")


@router.post("/v1/evidence", response_model=IngestResult, responses=ERRORS,
             summary="Ingest a batch of observations (idempotent by observation id)")
def ingest_evidence(ctx: CtxDep, request: Request, batch: EvidenceBatch) -> IngestResult:
    """All-or-nothing: a batch with one bad observation writes nothing. Re-sending an id with
    the same payload counts once; the same id with a different payload is 409."""
    _check_size(request, len(batch.observations), "observations")
    ctx.allow("evidence:write")
    learners = {o.learner_id for o in batch.observations}
    if ctx.principal.role == "teacher":
        for lid in sorted(learners):
            ctx.allow("evidence:write", learner_id=lid)
    observations = ctx.tb.build_observations([o.model_dump() for o in batch.observations])
    with ctx.unit():
        accepted, duplicates, updates = ctx.tb.ingest(observations)
        ctx.audit("write", "evidence", detail={"n": len(observations), "accepted": accepted,
                                               "learners": sorted(learners)[:50]})
    return IngestResult(accepted=accepted, duplicates=duplicates, mastery_updates=updates)


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
    """Returns the statement ids in order. Same id + same statement: accepted once;
    same id + different statement: 409. Voiding statements retract the voided evidence."""
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    return _store(ctx, request, body)


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
    _store(ctx, request, {**body, "id": statementId})
    return Response(status_code=204, headers={"X-Experience-API-Version": XAPI_VERSION})


def _store(ctx, request: Request, body) -> list[str]:
    version = request.headers.get("x-experience-api-version")
    if version is not None and not version.startswith("1.0"):
        raise ApiError(400, "bad_version", f"X-Experience-API-Version {version!r} unsupported; use 1.0.3")
    statements = body if isinstance(body, list) else [body]
    if not statements:
        raise ApiError(422, "invalid", "empty statement array", [{"loc": ["body"], "field": "body",
                                                                   "msg": "send at least one statement", "type": "xapi"}])
    _check_size(request, len(statements), "statements")
    ctx.allow("evidence:write")
    tb = ctx.tb
    now = time.time()
    mapped = []
    for i, st in enumerate(statements):
        try:
            mapped.append(map_statement(st, resolve_learner=tb.resolve_learner,
                                        resolve_activity=tb.resolve_activity, now=now))
        except StatementError as exc:
            where = f"statements[{i}].{exc.field}" if isinstance(body, list) else exc.field
            raise ApiError(422, "invalid_statement", f"{where}: {exc.message}",
                           [{"loc": where.split("."), "field": where, "msg": exc.message, "type": "xapi"}]) from None
    # Idempotency: within the batch and against stored statements; nothing is written on error.
    seen: dict[str, str] = {}
    fresh = []
    for m in mapped:
        if m.statement_id in seen:
            if seen[m.statement_id] != m.digest:
                raise ConflictError(f"statement id {m.statement_id} appears twice with different content")
            continue
        seen[m.statement_id] = m.digest
        stored = tb.get_statement(m.statement_id)
        if stored is not None:
            if stored["digest"] != m.digest:
                raise ConflictError(
                    f"statement {m.statement_id} was already stored with different content; "
                    "statements are immutable, send a new id (or void the old one)"
                )
            continue
        fresh.append(m)
    for m in fresh:
        if ctx.principal.role == "teacher" and m.learner_id is not None:
            ctx.allow("evidence:write", learner_id=m.learner_id)
        if m.voids is not None:
            target = tb.get_statement(m.voids)
            if target is None and m.voids not in seen:
                raise NotFoundError(f"voided statement {m.voids} is unknown; nothing to void")
            if target is not None and target.get("voids"):
                raise ApiError(422, "invalid_statement", f"statement {m.voids} is itself a voiding statement; it cannot be voided")
    learners = sorted({m.learner_id for m in fresh if m.learner_id})
    with ctx.unit():  # evidence, voids, statement records and the audit row: all or nothing
        tb.store_statements(fresh)
        ctx.audit("write", "xapi", detail={"n": len(fresh), "learners": learners[:50],
                                           "voided": [m.voids for m in fresh if m.voids]})
    return [m.statement_id for m in mapped]
