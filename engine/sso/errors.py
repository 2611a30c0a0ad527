"""Errors of single sign-on (OpenID Connect): every refusal says why and what to do."""

from __future__ import annotations

from engine.errors import AccessDenied, ValidationError


class SignInRefused(AccessDenied):
    """A sign-in through the school's identity provider that Pathwise refuses (bad state,
    wrong issuer, bad token, or a person who is not on the roster). No account is created."""


class ProviderConfigError(ValidationError):
    """An identity-provider setting that cannot work (names the field and the fix)."""
