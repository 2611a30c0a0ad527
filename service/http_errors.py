"""One place that turns engine/kt/planner exceptions into HTTP answers.

Every error body has the same shape::

    {"error": {"type": "not_found", "message": "...", "request_id": "...", "fields": [...]}}

``fields`` lists field-level problems for 422s (``loc`` path + ``msg``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors as ee
from engine.app.xapi import StatementError
from kt import errors as ke
from planner import errors as pe
from service.logs import get_logger, request_id_var

log = get_logger("errors")


class ApiError(Exception):
    """Raised by routes for a known HTTP outcome (status, type, message, fields)."""

    def __init__(self, status: int, type_: str, message: str, fields: list | None = None, headers=None):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message
        self.fields = fields or []
        self.headers = headers


# (exception class, status, type) — first match wins, so subclasses come first.
ERROR_MAP: tuple[tuple[type[BaseException], int, str], ...] = (
    (ee.AccessDenied, 403, "forbidden"),
    (ee.NotFoundError, 404, "not_found"),
    (ee.ConflictError, 409, "conflict"),
    (pe.NothingToPlan, 409, "nothing_to_plan"),
    (StatementError, 400, "invalid_statement"),  # xAPI: invalid statements are 400
    (ee.GraphError, 422, "invalid_graph"),
    (ee.ImportFormatError, 422, "invalid_import"),
    (ee.ValidationError, 422, "invalid"),
    (pe.PlanInputError, 422, "invalid_plan_input"),
    (ke.NotFittedError, 409, "model_not_fitted"),
    (ke.UnknownSkillError, 404, "unknown_skill"),
    (ke.KTError, 422, "invalid"),
)


def status_for(exc: BaseException) -> tuple[int, str] | None:
    for cls, status, kind in ERROR_MAP:
        if isinstance(exc, cls):
            return status, kind
    return None


def error_body(status: int, kind: str, message: str, fields: list | None = None) -> dict:
    return {
        "error": {
            "type": kind,
            "status": status,
            "message": message,
            "request_id": request_id_var.get(),
            "fields": fields or [],
        }
    }


def _json(status: int, kind: str, message: str, fields=None, headers=None) -> JSONResponse:
    return JSONResponse(error_body(status, kind, message, fields), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _json(exc.status, exc.type, exc.message, exc.fields, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            fields.append({"loc": loc, "field": ".".join(loc), "msg": err.get("msg", ""), "type": err.get("type", "")})
        summary = "; ".join(f"{f['field']}: {f['msg']}" for f in fields[:5])
        return _json(422, "invalid", f"request is invalid: {summary}", fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, kind, str(exc.detail), headers=getattr(exc, "headers", None))

    for cls, _status, _kind in ERROR_MAP:
        @app.exception_handler(cls)
        async def _domain(request: Request, exc: Exception):
            status, kind = status_for(exc)  # type: ignore[misc]
            fields = []
            if isinstance(exc, StatementError):
                fields = [{"loc": exc.field.split("."), "field": exc.field, "msg": exc.message, "type": "xapi"}]
            return _json(status, kind, str(exc), fields)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error", extra={"path": request.url.path})
        return _json(500, "internal", "internal error; the request id identifies it in the logs")


def install_size_handler(app: FastAPI) -> None:
    """A body that grows past the limit while streaming answers 413 (see middleware)."""
    from service.middleware import BodyTooLarge

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge):
        limit = request.app.state.settings.max_body_bytes
        return _json(413, "too_large", f"request body exceeds {limit} bytes; send smaller batches")
