"""``pathwise serve``: run the HTTP service (API + teacher page) with uvicorn."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the HTTP service (API under /v1, teacher page at /)",
        description=(
            "Run the Pathwise HTTP service with uvicorn. Settings also come from PATHWISE_* "
            "environment variables (PATHWISE_DB, PATHWISE_HOST, PATHWISE_PORT, ...); flags win."
        ),
    )
    p.add_argument("--db", metavar="URL", default=None,
                   help="store URL: sqlite:///path.db (default sqlite:///pathwise.db) or postgresql://...")
    p.add_argument("--host", default=None, help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 8000)")
    p.add_argument("--tenant", default=None, help="tenant of the demo school and of page logins (default demo)")
    p.add_argument("--demo", action="store_true",
                   help="load the bundled demo school (if the store has none), create demo keys and "
                        "teacher logins, and print them")
    p.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"],
                   help="log level (default info)")
    p.add_argument("--no-warm", action="store_true", help="skip warming the Numba kernels at startup")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="server processes sharing the port (default 1, or PATHWISE_WORKERS); each "
                        "has its own caches, kept coherent through the store within a second")
    p.set_defaults(handler=run)


def banner(settings, creds: dict | None) -> str:
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        "Pathwise is running.",
        f"  Teacher page : {base}/",
        f"  API docs     : {base}/docs",
        f"  Health       : {base}/health",
    ]
    if creds:
        lines += ["", f"Demo credentials (tenant '{creds['tenant']}'; for local demos only):"]
        for role, key in creds["keys"].items():
            lines.append(f"  {role:<10} API key: {key}")
        lines.append("  Teacher logins (user / password -> classes):")
        for t in creds["teachers"]:
            lines.append(f"    {t['username']:<14} / {t['password']}  -> {', '.join(t['classes'])}")
        from engine.app.demo import teacher_key

        lines.append(f"  (each teacher's API key: {teacher_key('<user>', creds['tenant'])})")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    import uvicorn

    from service.app import create_app
    from service.settings import Settings

    settings = Settings.from_env(
        db_url=args.db, host=args.host, port=args.port, tenant=args.tenant,
        demo=True if args.demo else None,
        log_level=args.log_level.upper() if args.log_level else None,
        warm_kernels=False if args.no_warm else None, freeze_heap=True,
    )
    workers = args.workers if args.workers is not None else int(os.environ.get("PATHWISE_WORKERS", "1"))
    if workers < 1:
        raise SystemExit(f"pathwise serve: --workers {workers}: use 1 or more processes")
    common = dict(host=settings.host, port=settings.port, proxy_headers=False,  # PATHWISE_TRUSTED_PROXIES
                  log_level=(args.log_level or "info"), access_log=False)
    if workers == 1:
        app = create_app(settings, on_ready=lambda a: print(banner(settings, getattr(a.state, "demo", None)),
                                                             flush=True))
        uvicorn.run(app, **common)
        return 0
    creds, store_file = _prepare_once(settings)  # the demo school and keys, before the workers
    print(banner(settings, creds), f"({workers} worker processes)", sep="\n", flush=True)
    os.environ.update(_worker_env(replace(settings, forward_writes=True)))
    writer = _start_writer(settings.db_url, store_file)
    try:
        uvicorn.run("service.app:create_app", factory=True, workers=workers, **common)
    finally:
        if writer is not None:
            writer.terminate()
            writer.wait(timeout=30)
    return 0


def _start_writer(db_url: str, store_file: str | None):
    """The process that writes every worker's evidence batches (``service.writer_process``),
    started and serving before the workers start; None when the store is not a SQLite file
    (or it could not start: a worker then takes the role, ``service.forward``)."""
    import os
    import subprocess
    import sys

    if store_file is None:
        return None
    proc = subprocess.Popen([sys.executable, "-m", "service.writer_process", "--db", db_url,
                             "--parent", str(os.getpid())], stdout=subprocess.PIPE, text=True)
    ready = proc.stdout.readline().strip() == "ready"  # or "" when it exited
    proc.stdout.close()
    if not ready:
        proc.wait(timeout=30)
        return None
    return proc


def _prepare_once(settings) -> tuple[dict | None, str | None]:
    """Open (and migrate) the store once and set up the demo school, so that the worker
    processes start on a ready store and do not race to create it. Returns the demo's
    credentials (None without the demo) and the SQLite file's path (None otherwise)."""
    from engine.app import Pathwise

    pathwise = Pathwise.open(settings.db_url)
    try:
        creds = None
        if settings.demo:
            from engine.app.demo import ensure_demo

            creds = ensure_demo(pathwise, settings.tenant)
        return creds, pathwise.store_file
    finally:
        pathwise.close()


def _worker_env(settings) -> dict[str, str]:
    """The settings as ``PATHWISE_*`` variables for the worker processes (they build their
    app with ``Settings.from_env``); the demo is already set up, so they skip it."""
    return {"PATHWISE_DB": settings.db_url, "PATHWISE_HOST": settings.host,
            "PATHWISE_PORT": str(settings.port), "PATHWISE_TENANT": settings.tenant,
            "PATHWISE_DEMO": "false", "PATHWISE_LOG_LEVEL": settings.log_level,
            "PATHWISE_WARM_KERNELS": "true" if settings.warm_kernels else "false",
            "PATHWISE_FREEZE_HEAP": "true" if settings.freeze_heap else "false",
            "PATHWISE_FORWARD_WRITES": "true" if settings.forward_writes else "false"}
