"""The OneRoster 1.2 REST consumer: read a SIS's rostering service with OAuth 2 client
credentials (authlib), page through each collection (``limit``/``offset``, ``X-Total-Count``
and ``Link: rel="next"``) and turn the JSON records into the CSV binding's rows, validated
by the same rules as a CSV set (problems name the endpoint and the record's position).

    rset = fetch_set(base_url, token_url=..., client_id=..., client_secret=...)
    school.import_roster_set(caller, rset)

Every collection is read in full, so the result is a bulk set (records with status
``tobedeleted`` are left out: they are not on the roster).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from engine.roster import binding as b
from engine.roster.csvread import RosterSet, read_files
from engine.roster.errors import Issue, RosterFormatError, RosterSourceError

SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
# collection endpoint -> its envelope key and the CSV file its records become
COLLECTIONS = (("orgs", "orgs"), ("academicSessions", "academicSessions"), ("courses", "courses"),
               ("classes", "classes"), ("users", "users"), ("enrollments", "enrollments"))
MAX_PAGES = 10_000


def _ref(obj: Any) -> str:
    return obj.get("sourcedId", "") if isinstance(obj, dict) else ""


def _refs(objs: Any) -> str:
    return ",".join(_ref(o) for o in objs or [])


def _list(values: Any) -> str:
    return ",".join(str(v) for v in values or [])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _row(name: str, rec: dict) -> dict[str, str]:
    """One JSON record of a collection as the CSV binding's row (column -> text)."""
    row = {c: _text(rec.get(c)) for c in b.columns(name)}
    row["status"] = ""  # a full read is a bulk set
    if name in ("orgs", "academicSessions"):
        row["parentSourcedId"] = _ref(rec.get("parent"))
    if name == "courses":
        row.update(schoolYearSourcedId=_ref(rec.get("schoolYear")), orgSourcedId=_ref(rec.get("org")),
                   grades=_list(rec.get("grades")), subjects=_list(rec.get("subjects")),
                   subjectCodes=_list(rec.get("subjectCodes")))
    if name == "classes":
        row.update(courseSourcedId=_ref(rec.get("course")), schoolSourcedId=_ref(rec.get("school")),
                   termSourcedIds=_refs(rec.get("terms")), grades=_list(rec.get("grades")),
                   subjects=_list(rec.get("subjects")), subjectCodes=_list(rec.get("subjectCodes")),
                   periods=_list(rec.get("periods")))
    if name == "users":
        row.update(userIds=",".join(f"{{{u.get('type', '')}:{u.get('identifier', '')}}}"
                                    for u in rec.get("userIds") or [] if isinstance(u, dict)),
                   agentSourcedIds=_refs(rec.get("agents")), grades=_list(rec.get("grades")),
                   preferredGivenName=_text(rec.get("preferredFirstName")),
                   preferredMiddleName=_text(rec.get("preferredMiddleName")),
                   preferredFamilyName=_text(rec.get("preferredLastName")),
                   primaryOrgSourcedId=_ref(rec.get("primaryOrg")), password="")
    if name == "enrollments":
        row.update(classSourcedId=_ref(rec.get("class")), schoolSourcedId=_ref(rec.get("school")),
                   userSourcedId=_ref(rec.get("user")))
    return row


def _role_rows(user: dict) -> list[dict[str, str]]:
    """The roles.csv rows of a user's ``roles`` (1.2: roleType, role, org)."""
    out = []
    for i, r in enumerate(user.get("roles") or []):
        if not isinstance(r, dict):
            continue
        out.append({"sourcedId": f"{user.get('sourcedId')}:role:{i}", "status": "", "dateLastModified": "",
                    "userSourcedId": _text(user.get("sourcedId")), "roleType": _text(r.get("roleType")),
                    "role": _text(r.get("role")), "beginDate": _text(r.get("beginDate")),
                    "endDate": _text(r.get("endDate")), "orgSourcedId": _ref(r.get("org")),
                    "userProfileSourcedId": _ref(r.get("userProfile"))})
    return out


def _csv(name: str, rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(b.columns(name))
    w.writerows([[r.get(c, "") for c in b.columns(name)] for r in rows])
    return buf.getvalue().encode("utf-8")


def to_set(collections: dict[str, list[dict]]) -> RosterSet:
    """A bulk :class:`RosterSet` from the JSON records of each collection (``users`` with
    their ``roles``). Problems name ``GET /<collection>`` and the record's position (1-based)."""
    files: dict[str, list[dict[str, str]]] = {}
    for name, records in collections.items():
        live = [r for r in records if isinstance(r, dict) and r.get("status", "active") != "tobedeleted"]
        files[name] = [_row(name, r) for r in live]
        if name == "users":
            files["roles"] = [row for r in live for row in _role_rows(r)]
    data = {f"{n}.csv": _csv(n, rows) for n, rows in files.items()}
    manifest = [["propertyName", "value"], ["manifest.version", b.MANIFEST_VERSION],
                ["oneroster.version", b.ONEROSTER_VERSION], *[[f"file.{n}", "bulk"] for n in files]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(manifest)
    data["manifest.csv"] = buf.getvalue().encode()
    try:
        return read_files(data, source="rest")
    except RosterFormatError as exc:
        where = {"roles": "users (roles)"}
        raise RosterFormatError([Issue(f"GET /{where.get(i.file[:-4], i.file[:-4])}", max(i.row - 1, 0),
                                       i.column, i.message) for i in exc.issues]) from None


def fetch_set(base_url: str, *, token_url: str, client_id: str, client_secret: str,
              page_size: int = 100, timeout: float = 30.0, client: Any = None) -> RosterSet:
    """Read every rostering collection of the service at ``base_url`` (e.g.
    ``https://sis.example/ims/oneroster/rostering/v1p2``) and return it as a bulk set.
    ``client``: an authlib ``OAuth2Client`` to use instead of a new one (tests)."""
    from authlib.integrations.httpx_client import OAuth2Client

    if not 1 <= page_size <= 10_000:
        raise RosterSourceError(f"page size {page_size} is out of range; use 1..10000")
    own = client is None
    if own:
        client = OAuth2Client(client_id, client_secret, scope=SCOPE, timeout=timeout,
                              token_endpoint=token_url, token_endpoint_auth_method="client_secret_basic")
    try:
        try:
            client.fetch_token(token_url, grant_type="client_credentials")
        except Exception as exc:  # authlib raises OAuthError; httpx raises transport errors
            raise RosterSourceError(f"the OneRoster token endpoint {token_url} refused the client "
                                    f"credentials or is unreachable ({exc}); check --client-id, the "
                                    "secret and --token-url") from None
        return to_set({name: _read_all(client, base_url.rstrip("/"), name, key, page_size)
                       for name, key in COLLECTIONS})
    finally:
        if own:
            client.close()


def _read_all(client: Any, base: str, name: str, key: str, page_size: int) -> list[dict]:
    """Every record of one collection, following ``Link: rel="next"`` (else offsets up to
    ``X-Total-Count``)."""
    url: str | None = f"{base}/{name}"
    params: dict | None = {"limit": page_size, "offset": 0}
    out: list[dict] = []
    for _ in range(MAX_PAGES):
        if url is None:
            return out
        try:
            resp = client.get(url, params=params)
        except Exception as exc:
            raise RosterSourceError(f"GET {url}: {exc}") from None
        if resp.status_code != 200:
            raise RosterSourceError(f"GET {url} answered {resp.status_code}: {resp.text[:200]}")
        try:
            page = resp.json()[key]
        except (ValueError, KeyError, TypeError):
            raise RosterSourceError(f"GET {url}: the body is not a OneRoster envelope {{\"{key}\": [...]}}") from None
        if not isinstance(page, list):
            raise RosterSourceError(f"GET {url}: {key} must be a list")
        out += page
        nxt = resp.links.get("next", {}).get("url")
        total = resp.headers.get("X-Total-Count")
        if nxt:
            url, params = nxt, None
        elif total is not None and total.isdigit() and len(out) < int(total) and page:
            url, params = f"{base}/{name}", {"limit": page_size, "offset": len(out)}
        else:
            url = None
    raise RosterSourceError(f"GET {base}/{name}: more than {MAX_PAGES} pages; raise the page size")
