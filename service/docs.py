"""The interactive API documentation (``/docs``), served entirely by this server.

FastAPI's default ``/docs`` page loads Swagger UI from a public CDN, so on a school network
without internet access (or behind a strict proxy) it shows a blank page. The Swagger UI 5
files (5.x reads the OpenAPI 3.1 documents FastAPI writes; 4.x cannot) come instead from the
``swagger-ui-py`` package's ``static`` folder and are served under ``/static/swagger-ui``;
the page itself is FastAPI's own.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/swagger-ui"


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Mount the Swagger UI assets and add ``GET /docs`` (not part of the OpenAPI schema)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_assets())), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — documentation",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )


def swagger_ui_assets() -> Path:
    """Folder of the Swagger UI files in the installed ``swagger-ui-py`` package (found
    without importing it: its ``__init__`` loads adapters for other web frameworks)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the swagger-ui-py package is missing; reinstall Pathwise (pip install -e .)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "static"
