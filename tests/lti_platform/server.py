"""A small LTI 1.3 platform (an LMS stand-in) for the tests, built on the ``lti1p3platform``
library: its OIDC login initiation, launch-message building and RS256 signing, JWKS, OAuth 2
client-credentials token endpoint, deep-linking response validation, Assignment and Grade
Services and Names and Role Provisioning Services. This file only stores state in memory and
routes HTTP to the library.

    python -m tests.lti_platform.server --port 9500 --tool http://127.0.0.1:8000/lti/demo

Test controls (query parameters of ``GET /start``): ``user`` (a course member's user id),
``kind`` (``resource`` or ``deeplink``), ``item`` (launch a placed content item),
``attack`` (``forge``: sign with another key under the real key id; ``aud``: address the
message to another client id; ``deployment``: claim an unregistered deployment in the launch).
``GET /_test/state`` shows the gradebook, the placed items and the issued tokens.
"""

from __future__ import annotations

import argparse
import json
import typing as t

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lti1p3platform.framework.fastapi.message_launch import FastapiMessageLaunch
from lti1p3platform.framework.fastapi.oidc_login import FastAPIOIDCLogin
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as LtiRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
CONTEXT = {"id": "course-101", "label": "MATH-3", "title": "Grade 3 Math (LMS)"}


def _pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class State:
    def __init__(self, base: str, tool: str, client_id: str, deployment_id: str) -> None:
        self.base, self.tool, self.client_id, self.deployment_id = base, tool, client_id, deployment_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.members = [
            {"user_id": "inst-1", "roles": [MEMBERSHIP + "Instructor"], "name": "Maria Ortiz",
             "email": "ortiz@school.example", "status": "Active"},
            {"user_id": "stu-1", "roles": [MEMBERSHIP + "Learner"], "name": "Ava A.",
             "email": "l001@students.example", "status": "Active"},
            {"user_id": "stu-2", "roles": [MEMBERSHIP + "Learner"], "name": "Ben LMS-only",
             "email": "ben@students.example", "status": "Active"},
        ]
        self.lineitems: dict[str, dict] = {}
        self.scores: dict[str, list[dict]] = {}
        self.placed: list[dict] = []
        self.tokens_issued = 0


S: State


class ForgingRegistration(Registration):
    """Signs with the attacker's key but names the platform's real key id (a forged signature)."""

    def get_kid(self) -> str | None:
        return Registration.get_jwk(_public_pem(S.key)).get("kid")


def conf(forge: bool = False) -> LTI1P3PlatformConfAbstract:
    class Conf(LTI1P3PlatformConfAbstract):
        def init_platform_config(self, **kwargs: t.Any) -> None:
            reg = ForgingRegistration() if forge else Registration()
            key = S.attacker if forge else S.key
            (reg.set_iss(S.base).set_client_id(S.client_id).set_deployment_id(S.deployment_id)
             .set_launch_url(S.tool + "/launch").set_deeplink_launch_url(S.tool + "/launch")
             .set_oidc_login_url(S.tool + "/login").set_tool_key_set_url(S.tool + "/jwks")
             .set_platform_public_key(_public_pem(S.key)).set_platform_private_key(_pem(key)))
            self._registration = reg

        def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
            return self._registration

    return Conf()


class Login(FastAPIOIDCLogin):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = json.dumps(kwargs)


class Launch(LTIAdvantageMessageLaunchAbstract, FastapiMessageLaunch):
    def prepare_launch(self, preflight_response: dict) -> None:
        hint = json.loads(preflight_response["lti_message_hint"])
        member = next(m for m in S.members if m["user_id"] == hint["user"])
        if preflight_response.get("login_hint") != member["user_id"]:
            raise ValueError("login_hint does not match the user of this launch")
        self.set_user_data(member["user_id"], member["roles"], member["name"], member["email"])
        self.set_launch_context_claim(CONTEXT["id"], context_title=CONTEXT["title"], context_label=CONTEXT["label"])
        self.set_resource_link_claim(hint.get("link", "link-1"), title="Pathwise")
        if hint.get("item") is not None:
            self.set_custom_parameters_claim(S.placed[int(hint["item"])].get("custom", {}))
        self.set_ags(f"{S.base}/ags/{CONTEXT['id']}/lineitems")
        self.set_nrps(f"{S.base}/nrps/{CONTEXT['id']}/memberships")
        if hint["kind"] == "deeplink":
            self.set_dl(f"{S.base}/deep_link_return", title="Place content", extra_data={"course": CONTEXT["id"]})
        attack = hint.get("attack")
        if attack == "aud":
            self.set_extra_claims({"aud": "someone-else", "azp": "someone-else"})
        elif attack == "deployment":
            self.set_extra_claims({"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-unregistered"})


class FastRequest(LtiRequest):
    def build_metadata(self, request: t.Any) -> dict:
        return request


async def lti_request(request: Request) -> FastRequest:
    body = await request.body()
    form = dict(await request.form()) if request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded") else {}
    js = json.loads(body) if body and "json" in request.headers.get("content-type", "") else None
    return FastRequest({"method": request.method, "form_data": form, "get_data": dict(request.query_params),
                        "headers": request.headers, "content_type": request.headers.get("content-type"),
                        "path": request.url.path, "json": js})


class Grades(AssignmentsGradesService):
    def find_lineitems(self, page: int = 1, limit: t.Any = None, line_item_id: t.Any = None,
                       resource_link_id: t.Any = None, resource_id: t.Any = None, tag: t.Any = None, **_: t.Any):
        items = [i for i in S.lineitems.values() if resource_id is None or i.get("resourceId") == resource_id]
        return {"content": items, "has_next": False, "next": None}

    def find_lineitem(self, line_item_id: str) -> TLineItem:
        return S.lineitems[line_item_id]

    def create_lineitem(self, creation_data: TLineItem) -> TLineItem:
        item = dict(creation_data, id=f"{S.base}/ags/{CONTEXT['id']}/lineitems/{len(S.lineitems) + 1}")
        S.lineitems[item["id"]] = item
        return item

    def update_lineitem(self, update_data: TLineItem) -> TLineItem:
        S.lineitems[update_data["id"]].update(update_data)
        return S.lineitems[update_data["id"]]

    def delete_lineitem(self, line_item_id: str) -> None:
        S.lineitems.pop(line_item_id)

    def update_score(self, line_item_id: str, score: t.Any) -> UpdateScoreStatus:
        S.scores.setdefault(line_item_id, []).append(score)
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, page: int = 1, limit: t.Any = None, user_id: t.Any = None):
        return {"content": S.scores.get(line_item_id, []), "has_next": False, "next": None}


class Roster(NamesRoleProvisioningService):
    def get_member_data_page(self, page: int = 1, limit: t.Any = None, role: t.Any = None, since: t.Any = None,
                             **_: t.Any):
        return {"content": [dict(m) for m in S.members], "has_next": False, "next": None}

    def get_context_by_id(self) -> Context:
        return Context(CONTEXT["id"], CONTEXT["label"], CONTEXT["title"])


def _reply(resp) -> Response:
    if resp.result is None:
        return Response(status_code=resp.code, content=resp.message if resp.code >= 400 else None)
    return JSONResponse(resp.result, status_code=resp.code, media_type=resp.media_type)


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/jwks")
    def jwks():
        return conf().get_jwks()

    @app.get("/start")
    def start(request: Request, user: str, kind: str = "resource", item: int | None = None, attack: str = ""):
        login = Login(request, conf())
        login.set_lti_message_hint(user=user, kind=kind, item=item, attack=attack)
        if kind == "deeplink":
            login.set_deeplinking_launch_url()
        return login.initiate_login(user)

    @app.get("/authorize")
    def authorize(request: Request):
        hint = json.loads(request.query_params.get("lti_message_hint", "{}"))
        return Launch(request, conf(forge=hint.get("attack") == "forge")).lti_launch()

    @app.post("/token")
    async def token(request: Request):
        form = {k: v for k, v in (await request.form()).items()}
        try:
            result = conf().get_access_token(form)
        except Exception as exc:  # the library's refusals: the test sees them
            return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, status_code=400)
        S.tokens_issued += 1
        return result

    @app.api_route("/ags/{ctx}/lineitems", methods=["GET", "POST"])
    async def lineitems(request: Request, ctx: str):
        svc = Grades(await lti_request(request), conf(), f"{S.base}/ags/{ctx}/lineitems")
        fn = svc.handle_get_lineitems if request.method == "GET" else svc.handle_create_lineitem
        return _reply(svc.handle_resp(fn))

    @app.post("/ags/{ctx}/lineitems/{n}/scores")
    async def scores(request: Request, ctx: str, n: str):
        svc = Grades(await lti_request(request), conf(), f"{S.base}/ags/{ctx}/lineitems")
        line_item = f"{S.base}/ags/{ctx}/lineitems/{n}"
        return _reply(svc.handle_resp(svc.handle_update_score, line_item_id=line_item))

    @app.get("/nrps/{ctx}/memberships")
    async def memberships(request: Request, ctx: str):
        svc = Roster(await lti_request(request), conf(), f"{S.base}/nrps/{ctx}/memberships")
        return _reply(svc.handle_resp(svc.handle_get_members))

    @app.post("/deep_link_return")
    async def deep_link_return(request: Request):
        form = {k: v for k, v in (await request.form()).items()}
        try:
            items = conf().validate_deeplinking_resp(form)
        except Exception as exc:
            return HTMLResponse(f"deep link refused: {exc}", status_code=400)
        S.placed += items
        return HTMLResponse(f"placed {len(items)} item(s)")

    @app.get("/_test/state")
    def state():
        return {"lineitems": S.lineitems, "scores": S.scores, "placed": S.placed, "tokens": S.tokens_issued}

    @app.put("/_test/members")
    async def set_members(request: Request):
        S.members = await request.json()
        return {"members": len(S.members)}

    @app.get("/health")
    def health():
        return {"ok": True}

    return app


def main() -> None:
    global S
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tool", required=True, help="the tool's base URL, e.g. http://127.0.0.1:8000/lti/demo")
    ap.add_argument("--client-id", default="pathwise-client")
    ap.add_argument("--deployment-id", default="dep-1")
    args = ap.parse_args()
    S = State(f"http://127.0.0.1:{args.port}", args.tool.rstrip("/"), args.client_id, args.deployment_id)
    uvicorn.run(make_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
