"""Sign in with the school's OpenID Connect provider: authorization code flow with PKCE (S256),
through authlib's httpx OAuth 2 client.

``GET /login/sso`` discovers the tenant's provider, keeps ``state``, ``nonce``, the PKCE
verifier and the page to return to in a signed 10-minute ``pathwise_oidc`` cookie and sends the
browser to the provider. ``GET /login/sso/callback`` accepts only the answer to that sign-in
(same ``state``), exchanges the code (with the verifier), has ``engine.sso.tokens`` verify the
ID token and ``SchoolApp.sso_sign_in`` find the rostered person (never creating one), then sets
the page session. Every refusal is a plain page saying what happened and what to do.
"""

from __future__ import annotations

import hmac
import secrets

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from engine.sso import tokens
from engine.sso.errors import SignInRefused
from service.web.pages import _render, signer, templates
from service.web.session import COOKIE, MAX_AGE, OIDC_COOKIE, OIDC_MAX_AGE

router = APIRouter(include_in_schema=False)
SCOPE = "openid email profile"
# where each role lands after signing in (the student and guardian pages are their own home)
HOME = {"teacher": "/", "admin": "/", "student": "/me", "guardian": "/family"}


def _refused(request: Request, message: str, status: int = 403) -> HTMLResponse:
    resp = _render(request, "error.html", None, status=status, back="/login",
                   message=f"Sign-in refused: {message}")
    resp.delete_cookie(OIDC_COOKIE)
    return resp


def _client(provider, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(client_id=provider.client_id, client_secret=provider.client_secret or None,
                        scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256",
                        token_endpoint_auth_method="client_secret_basic" if provider.client_secret else "none",
                        timeout=tokens.TIMEOUT_S)


def _tenant(request: Request) -> str:
    return request.app.state.settings.tenant


def sso_label(request: Request) -> str | None:
    """The sign-in button's label when the tenant has single sign-on, else None."""
    provider = request.app.state.pathwise.school(_tenant(request)).sign_in_provider()
    return None if provider is None else provider.label


def install(app) -> None:
    """Add the sign-in routes and the login page's button (``sso_label`` in the templates)."""
    app.include_router(router)
    templates().env.globals["sso_label"] = sso_label


@router.get("/login/sso", name="oidc_start")
def oidc_start(request: Request, next: str = "/"):
    school = request.app.state.pathwise.school(_tenant(request))
    provider = school.sign_in_provider()
    if provider is None:
        return _refused(request, "this school has not set up single sign-on; sign in with your "
                        "user name and password", status=404)
    try:
        meta = tokens.discover(provider)
    except SignInRefused as exc:
        return _refused(request, str(exc), status=502)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    redirect_uri = str(request.url_for("oidc_callback"))
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(meta.authorization_endpoint, state=state,
                                                 nonce=nonce, code_verifier=verifier)
    target = next if next.startswith("/") and not next.startswith("//") else ""
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": target,
            "redirect_uri": redirect_uri, "issuer": provider.issuer}
    resp = RedirectResponse(url, status_code=303)
    resp.set_cookie(OIDC_COOKIE, signer(request).seal(flow, OIDC_MAX_AGE), max_age=OIDC_MAX_AGE,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return resp


@router.get("/login/sso/callback", name="oidc_callback")
def oidc_callback(request: Request, state: str = "", code: str = "", error: str = "",
                  error_description: str = ""):
    flow = signer(request).unseal(request.cookies.get(OIDC_COOKIE))
    if flow is not None and error:  # an error signs no one in: show it (some providers drop state)
        return _refused(request, f"the identity provider answered {error[:100]!r}"
                        + (f" ({error_description[:300]})" if error_description else "")
                        + "; start again from the login page")
    if flow is None or not state or not hmac.compare_digest(state, flow["state"]):
        return _refused(request, "state mismatch: this answer does not belong to a sign-in "
                        "started in this browser (or it took more than 10 minutes); start again "
                        "from the login page", status=400)
    school = request.app.state.pathwise.school(_tenant(request))
    provider = school.sign_in_provider()
    if provider is None or provider.issuer != flow["issuer"]:
        return _refused(request, "the school's single sign-on settings changed meanwhile; start again")
    try:
        meta = tokens.discover(provider)
        with _client(provider, flow["redirect_uri"]) as client:
            token = client.fetch_token(meta.token_endpoint, code=code, code_verifier=flow["verifier"],
                                       redirect_uri=flow["redirect_uri"])
        claims = tokens.verify_id_token(token.get("id_token", ""), provider=provider, metadata=meta,
                                        nonce=flow["nonce"])
        tenant, key_hash, role, _ = school.sso_sign_in(claims)
    except (OAuth2Error, OAuthError) as exc:
        detail = getattr(exc, "description", "") or ""
        return _refused(request, f"the identity provider refused the code exchange: {exc.error}"
                        f"{' (' + detail + ')' if detail else ''}; an admin checks the client id "
                        "and secret (pathwise sso set)")
    except httpx.HTTPError as exc:
        return _refused(request, f"the identity provider could not be reached: {exc}", status=502)
    except SignInRefused as exc:
        return _refused(request, str(exc))
    resp = RedirectResponse(flow["next"] if flow["next"] and role in ("teacher", "admin") else HOME[role],
                            status_code=303)
    resp.set_cookie(COOKIE, signer(request).dumps(tenant, key_hash), max_age=MAX_AGE,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    resp.delete_cookie(OIDC_COOKIE)
    return resp
