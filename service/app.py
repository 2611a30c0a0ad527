"""The FastAPI application factory.

``create_app(settings)`` builds the app; nothing happens at import. The lifespan opens the
store (``settings.db_url``), optionally loads the demo school and its credentials, warms the
Numba kernels, and closes everything on shutdown.
"""

from __future__ import annotations

import gc
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


def freeze_startup_heap() -> int:
    """Collect garbage, then freeze every object still alive (``gc.freeze``): the collector's
    full passes skip them from now on. Returns how many objects are frozen. For a serving
    process, once its startup objects are made (``Settings.freeze_heap``)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def start_writes(app: FastAPI, pw, settings: Settings) -> None:
    """The app's write groups (group commit on this loop, ``service.writes``) and, when
    ``settings.forward_writes`` on a SQLite file, its part in the one-writer agreement
    (``service.forward``; ``app.state.forwarder`` is None otherwise)."""
    from service.writes import WriteGroups

    app.state.write_groups = WriteGroups(pw)
    app.state.forwarder = None
    if settings.forward_writes and pw.store_file is not None:
        from service.forward import Forwarder

        app.state.forwarder = await Forwarder(app, pw.store_file).start()


def create_app(settings: Settings | None = None, *, pathwise=None, on_ready=None) -> FastAPI:
    """Build the app. ``pathwise``: an already-open :class:`engine.app.Pathwise` (tests);
    ``on_ready(app)``: called once startup is complete (the CLI prints its banner there)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from engine.app import Pathwise
        from engine.app.jobs import warm_kernels
        from service.logs import configure_logging, get_logger

        configure_logging(settings.log_level, settings.log_json)
        log = get_logger("app")
        own = pathwise is None
        pw = Pathwise.open(settings.db_url) if own else pathwise
        app.state.pathwise = pw
        await start_writes(app, pw, settings)
        if settings.demo:
            from engine.app.demo import ensure_demo

            app.state.demo = ensure_demo(pw, settings.tenant)
        if settings.warm_kernels:
            # On the job worker: startup stays fast and fit jobs queue behind the warm-up.
            pw.jobs.run_first(warm_kernels)
        if settings.demo:
            pw.view(settings.tenant)  # load the school cache before the first request
        if settings.freeze_heap:
            freeze_startup_heap()
        log.info("service ready", extra={"db": pw.kind, "demo": settings.demo})
        from service.lrs_sync_job import start_lrs_sync

        stop_sync = start_lrs_sync(pw, settings.tenant, log)  # PATHWISE_LRS_SYNC_URL; off by default
        from service.lti_grades_job import start_lti_grades

        stop_grades = start_lti_grades(pw, settings.tenant, log)  # PATHWISE_LTI_GRADES_INTERVAL (3600 s)
        if on_ready is not None:
            on_ready(app)
        try:
            yield
        finally:
            stop_grades()
            if app.state.forwarder is not None:
                app.state.forwarder.close()
            stop_sync()
            if own:
                pw.close()

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

    _install(app, settings)
    return app


def _install(app: FastAPI, settings: Settings) -> None:
    """Error handlers, the request middleware, every router and the static files."""
    from service.docs import install_docs
    from service.http_errors import install_error_handlers, install_size_handler
    from service.middleware import RequestContextMiddleware
    from service.routes import (
        admin,
        evidence,
        experiments,
        graph,
        learners,
        lti,
        plans,
        roster,
        sso,
        students,
        xapi,
    )
    from service.routes.xapi_fast import XapiFastPath
    from service.web import guardian, oidc, pages, plp, student

    install_error_handlers(app)
    install_size_handler(app)
    # ordinary POST /xapi/statements without FastAPI's per-request machinery; inside the
    # request middleware, so its headers and body limit apply (service.routes.xapi_fast)
    app.add_middleware(XapiFastPath)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       trusted_proxies=settings.trusted_proxies)
    # The LMS's hot paths first: Starlette tries routers in order, and each router that does
    # not match costs 10-60 us (POST /xapi/statements spent ~190 us in route matching when
    # the xAPI router came sixth; docs/performance.md).
    app.include_router(evidence.router)
    xapi.install(app)  # the xAPI statement resource and its version header
    for module in (admin, learners, graph, plans):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(roster.router)  # OneRoster import, class defaults, retention, roster CRUD
    oidc.install(app)  # single sign-on pages and the login page's button
    app.include_router(sso.router)
    app.include_router(lti.router)  # LTI admin API
    app.include_router(lti.tool)  # LTI tool endpoints (/lti/{tenant}/...)
    # the learner's voice (today, choices, self-reports, PLP), then planner experiments
    for module in (students, student, guardian, plp, experiments):
        app.include_router(module.router)
    install_docs(app)  # before /static: its assets live under /static/swagger-ui
    app.mount("/static", StaticFiles(packages=[("service", "static")]), name="static")
