"""Pathwise as an LTI 1.3 / LTI Advantage tool (FastAPI-native; the HTTP lives in
``service/routes/lti.py``, every rule here).

``registration``: platforms registered by admins (issuer, client id, deployment ids, JWKS URL,
endpoints); ``keys``: the tool's RSA signing keys in the store, their JWKS and rotation;
``messages``: login initiation state, launch validation (signature, audience, deployment,
nonce and state), the deep-linking response; ``services``: the OAuth 2 client-credentials
token and the Assignment and Grade Services and Names and Role Provisioning Services calls;
``grades``: how mastery and progress become line items and scores (see docs/lti.md). The use
cases are :class:`engine.lti.usecases.LtiUseCases` on ``SchoolApp``.
"""
