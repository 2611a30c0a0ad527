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
    """Load (or compile, on a fresh clone) the Numba kernels of BKT fitting with a tiny fit,
    so the first fit job does not pay for compilation. Ingest uses the pure-Python online
    step, which needs no warming. Returns what was warmed."""
    import numpy as np

    from kt.bkt import BKT
    from kt.log import ObservationLog

    log = ObservationLog.from_arrays(learner=np.array(["a", "a", "b", "b"]), skill=np.array(["s"] * 4),
                                     outcome=np.array([0, 1, 1, 1], dtype=np.int8), source="warm-up")
    BKT(max_iter=2).fit(log)
    return "kt.bkt.BKT.fit (EM kernels)"


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
            # On the job worker: startup stays fast and fit jobs queue behind the warm-up.
            app.state.jobs.run_first(warm_kernels)
        if settings.demo:
            be.view(settings.tenant)  # load the school cache before the first request
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
        docs_url=None,  # service.docs serves /docs with local Swagger UI assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings

    from service.docs import install_docs
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
    install_docs(app)  # before /static: its assets live under /static/swagger-ui
    app.mount("/static", StaticFiles(packages=[("service", "static")]), name="static")
    return app
