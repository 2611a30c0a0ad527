"""The FastAPI application factory.

``create_app(settings)`` builds the app; nothing happens at import. The lifespan opens the
store (``settings.db_url``), optionally loads the demo school and its credentials, warms the
Numba kernels, and closes everything on shutdown.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.settings import Settings

API_VERSION = "1.0.0"

DESCRIPTION = """
Pathwise: evidence in (native batches or xAPI 1.0.3), mastery out, constraint-aware
playlists and class plans with reasons, and a teacher review workflow.

**Auth**: send `Authorization: Bearer <key>` (or `X-API-Key`). Keys map to a tenant and a role:
`lms`, `teacher` (own classes only), `researcher` (pseudonymized exports), `admin`.
Only `/health` answers without credentials.

**Errors** share one body: `{"error": {"type", "status", "message", "request_id", "fields"}}`.
"""


def warm_kernels() -> str:
    """Compile (or load cached) Numba kernels so the first request is not slow."""
    try:
        import kt.bkt as bkt
    except ImportError:
        return "kt.bkt unavailable"
    for name in ("warm_up", "warmup", "warm"):
        fn = getattr(bkt, name, None)
        if callable(fn):
            fn()
            return f"kt.bkt.{name}"
    from kt.bkt.online import step
    from kt.bkt.params import SkillParams

    step(0.3, 1.0, SkillParams(p_init=0.3, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1))
    return "kt.bkt.online.step"


def create_app(settings: Settings | None = None, *, backend=None, on_ready=None) -> FastAPI:
    """Build the app. ``backend``: an already-open :class:`service.backend.Backend` (tests);
    ``on_ready(app)``: called once startup is complete (the CLI prints its banner there)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from service.backend import Backend
        from service.jobs import JobRunner
        from service.logs import configure_logging, get_logger

        configure_logging(settings.log_level, settings.log_json)
        log = get_logger("app")
        own = backend is None
        be = Backend.open(settings.db_url) if own else backend
        app.state.backend = be
        app.state.jobs = JobRunner()
        if settings.demo:
            from service.demo import ensure_demo

            app.state.demo = ensure_demo(be, settings)
        if settings.warm_kernels:
            log.info("warm kernels", extra={"via": warm_kernels()})
        log.info("service ready", extra={"db": be.kind, "demo": settings.demo})
        if on_ready is not None:
            on_ready(app)
        try:
            yield
        finally:
            app.state.jobs.shutdown()
            if own:
                be.close()

    app = FastAPI(
        title="Pathwise API",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings

    from service.http_errors import install_error_handlers, install_size_handler
    from service.middleware import RequestContextMiddleware
    from service.routes import admin, evidence, graph, learners, plans
    from service.web import pages

    install_error_handlers(app)
    install_size_handler(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    for module in (admin, evidence, learners, graph, plans):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("service", "static")]), name="static")
    return app
