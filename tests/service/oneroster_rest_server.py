"""A small OneRoster 1.2 REST rostering service for the tests, serving a CSV set as JSON:
OAuth 2 client credentials at ``/token`` (HTTP Basic client authentication, bearer tokens),
collections under ``/ims/oneroster/rostering/v1p2`` in the binding's envelope
(``{"users": [...]}``), paged by ``limit``/``offset`` (default 100) with ``X-Total-Count``
and a ``Link`` header (``next``, ``last``), references as ``{href, sourcedId, type}`` and
user roles as ``roles: [{roleType, role, org}]`` like the 1.2 REST binding.
"""

from __future__ import annotations

import base64
import csv
import secrets
import socket
import threading
import time
from pathlib import Path

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse

BASE = "/ims/oneroster/rostering/v1p2"


def _rows(folder: Path, name: str) -> list[dict]:
    path = folder / f"{name}.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _split(v: str) -> list[str]:
    return [p for p in (v or "").split(",") if p]


def collections(folder: Path, host: str) -> dict[str, list[dict]]:
    """The set's records in the REST binding's JSON shape."""
    def ref(kind: str, sid: str, coll: str):
        return {"href": f"{host}{BASE}/{coll}/{sid}", "sourcedId": sid, "type": kind} if sid else None

    def base(r):
        return {"sourcedId": r["sourcedId"], "status": "active",
                "dateLastModified": r.get("dateLastModified") or "2026-08-01T00:00:00.000Z"}

    roles: dict[str, list] = {}
    for r in _rows(folder, "roles"):
        roles.setdefault(r["userSourcedId"], []).append(
            {"roleType": r["roleType"], "role": r["role"], "org": ref("org", r["orgSourcedId"], "orgs")})
    out = {
        "orgs": [{**base(r), "name": r["name"], "type": r["type"], "identifier": r["identifier"],
                  "parent": ref("org", r["parentSourcedId"], "orgs")} for r in _rows(folder, "orgs")],
        "academicSessions": [{**base(r), "title": r["title"], "type": r["type"], "startDate": r["startDate"],
                              "endDate": r["endDate"], "schoolYear": r["schoolYear"],
                              "parent": ref("academicSession", r["parentSourcedId"], "academicSessions")}
                             for r in _rows(folder, "academicSessions")],
        "courses": [{**base(r), "title": r["title"], "courseCode": r["courseCode"], "grades": _split(r["grades"]),
                     "subjects": _split(r["subjects"]), "org": ref("org", r["orgSourcedId"], "orgs"),
                     "schoolYear": ref("academicSession", r["schoolYearSourcedId"], "academicSessions")}
                    for r in _rows(folder, "courses")],
        "classes": [{**base(r), "title": r["title"], "classCode": r["classCode"], "classType": r["classType"],
                     "location": r["location"], "grades": _split(r["grades"]), "subjects": _split(r["subjects"]),
                     "course": ref("course", r["courseSourcedId"], "courses"),
                     "school": ref("org", r["schoolSourcedId"], "orgs"),
                     "terms": [ref("academicSession", t, "academicSessions") for t in _split(r["termSourcedIds"])],
                     "periods": _split(r["periods"])} for r in _rows(folder, "classes")],
        "users": [{**base(r), "enabledUser": r["enabledUser"] == "true", "username": r["username"],
                   "userIds": [{"type": u.strip("{}").split(":", 1)[0], "identifier": u.strip("{}").split(":", 1)[1]}
                               for u in _split(r["userIds"])],
                   "givenName": r["givenName"], "familyName": r["familyName"], "identifier": r["identifier"],
                   "email": r["email"], "grades": _split(r["grades"]), "roles": roles.get(r["sourcedId"], []),
                   "agents": [ref("user", a, "users") for a in _split(r["agentSourcedIds"])],
                   "primaryOrg": ref("org", r["primaryOrgSourcedId"], "orgs")} for r in _rows(folder, "users")],
        "enrollments": [{**base(r), "role": r["role"], "primary": r["primary"] == "true",
                         "beginDate": r["beginDate"] or None, "endDate": r["endDate"] or None,
                         "class": ref("class", r["classSourcedId"], "classes"),
                         "school": ref("org", r["schoolSourcedId"], "orgs"),
                         "user": ref("user", r["userSourcedId"], "users")} for r in _rows(folder, "enrollments")],
    }
    return out


def make_app(folder: Path, client_id: str, client_secret: str) -> FastAPI:
    app = FastAPI()
    tokens: set[str] = set()
    app.state.requests = []
    app.state.data = None

    @app.post("/token")
    def token(grant_type: str = Form(...), scope: str = Form(""), authorization: str = Header("")):
        expected = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        if not secrets.compare_digest(authorization, expected):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if grant_type != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        tok = secrets.token_urlsafe(24)
        tokens.add(tok)
        return {"access_token": tok, "token_type": "bearer", "expires_in": 3600, "scope": scope}

    @app.get(BASE + "/{collection}")
    def collection(request: Request, collection: str, limit: int = 100, offset: int = 0,
                   authorization: str = Header("")):
        app.state.requests.append((collection, limit, offset))
        if not authorization.startswith("Bearer ") or authorization[7:] not in tokens:
            return JSONResponse({"imsx_codeMajor": "failure", "imsx_severity": "error",
                                 "imsx_description": "unauthorized"}, status_code=401)
        host = str(request.base_url).rstrip("/")
        data = app.state.data or collections(folder, host)
        if collection not in data:
            return JSONResponse({"imsx_codeMajor": "failure", "imsx_severity": "error",
                                 "imsx_description": f"unknown collection {collection}"}, status_code=404)
        records = data[collection]
        page = records[offset: offset + limit]
        total = len(records)
        url = f"{host}{BASE}/{collection}"
        links = []
        if offset + limit < total:
            links.append(f'<{url}?limit={limit}&offset={offset + limit}>; rel="next"')
        last = max(total - 1, 0) // limit * limit
        links.append(f'<{url}?limit={limit}&offset={last}>; rel="last"')
        return JSONResponse({collection: page}, headers={"X-Total-Count": str(total), "Link": ", ".join(links)})

    return app


class Server:
    """Run the app with uvicorn on a free loopback port in a thread (``with Server(app) as url``)."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("OneRoster test server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
