"""Single sign-on with the school's OpenID Connect identity provider.

``config``: the per-tenant provider settings (:class:`IdentityProvider`); ``tokens``: discovery
and ID-token validation (PyJWT over the provider's published keys, httpx for fetching);
``identities``: how a verified claim (``email`` or ``sub``) names a rostered person. The use
cases (set the provider, link identities, sign a person in) are
:class:`engine.app._sso.SsoUseCases` on ``SchoolApp``.
"""
