"""Errors of the LTI 1.3 tool: each refusal names the failed check and what fixes it."""

from __future__ import annotations

from engine.errors import AccessDenied, EngineError, ValidationError


class LaunchRefused(AccessDenied):
    """An LTI message (login initiation or launch) that Pathwise refuses: unknown platform or
    deployment, bad signature, wrong audience, replayed nonce, unknown state, expired token."""


class PlatformConfigError(ValidationError):
    """A platform registration field that cannot work (names the field and the fix)."""


class LmsServiceError(EngineError, ConnectionError):
    """A call to the platform's services (token, grades, memberships) failed; names the URL
    and the platform's answer (a ``ConnectionError``: the command line prints it plainly)."""
