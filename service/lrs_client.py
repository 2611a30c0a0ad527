"""Reading statements from another LRS over HTTP (xAPI 1.0.3 ``GET statements``), for
``pathwise lrs-sync`` and the service's scheduled sync. Standard library only.

:class:`LrsClient` is the ``fetch(since, more)`` that
:meth:`engine.app.SchoolApp.sync_statements` pulls pages through: the first page of a pass is
``GET <endpoint>statements?since=...&ascending=true&limit=N``, the next ones follow the
LRS's ``more`` link (relative to the endpoint's server).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen

XAPI_VERSION = "1.0.3"


class LrsError(ConnectionError):
    """The remote LRS could not be read (message names the URL and what it answered)."""


@dataclass(frozen=True)
class LrsClient:
    """endpoint: the LRS's xAPI base URL, ending in '/' (e.g. ``https://lrs.example/xAPI/``);
    username/password: HTTP Basic credentials; page_size: statements per page (1..);
    timeout: seconds per request."""

    endpoint: str
    username: str = ""
    password: str = ""
    page_size: int = 500
    timeout: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"LRS URL {self.endpoint!r} must be an http(s) URL such as https://lrs.example/xAPI/")
        if not self.endpoint.endswith("/"):
            object.__setattr__(self, "endpoint", self.endpoint + "/")
        if self.page_size < 1:
            raise ValueError(f"--page-size {self.page_size}: use 1 or more")

    @property
    def source(self) -> str:
        """The name the sync cursor is kept under: the endpoint URL without credentials."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"

    def _headers(self) -> dict[str, str]:
        headers = {"X-Experience-API-Version": XAPI_VERSION, "Accept": "application/json"}
        if self.username or self.password:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    def get(self, url: str) -> dict:
        try:
            with urlopen(Request(url, headers=self._headers()), timeout=self.timeout) as r:  # noqa: S310 (http(s) checked)
                return json.loads(r.read().decode("utf-8"))
        except HTTPError as exc:
            body = exc.read()[:300].decode("utf-8", "replace")
            hint = " (check --user and the password)" if exc.code in (401, 403) else ""
            raise LrsError(f"GET {url} answered {exc.code}{hint}: {body}") from None
        except (URLError, TimeoutError, OSError) as exc:
            raise LrsError(f"GET {url} failed: {getattr(exc, 'reason', exc)}") from None
        except ValueError:
            raise LrsError(f"GET {url} did not answer JSON; is it an xAPI endpoint?") from None

    def __call__(self, since: str | None, more: str | None) -> tuple[list, str | None]:
        """One page: ``(statements, more link or None)``."""
        if more:
            url = urljoin(self.endpoint, more)
        else:
            params = {"ascending": "true", "limit": str(self.page_size)}
            if since:
                params["since"] = since
            url = f"{self.endpoint}statements?{urlencode(params)}"
        page = self.get(url)
        statements = page.get("statements") if isinstance(page, dict) else None
        if not isinstance(statements, list):
            raise LrsError(f"GET {url} did not answer a StatementResult {{statements, more}}")
        return statements, page.get("more") or None


def credentials_from_env(user: str | None, password_file: str | None) -> tuple[str, str]:
    """Username and password: flags first, then PATHWISE_LRS_USER / PATHWISE_LRS_PASSWORD
    (the password never on the command line: a file or the environment)."""
    username = user if user is not None else os.environ.get("PATHWISE_LRS_USER", "")
    if password_file:
        with open(password_file, encoding="utf-8") as f:
            password = f.read().strip()
    else:
        password = os.environ.get("PATHWISE_LRS_PASSWORD", "")
    return username, password
