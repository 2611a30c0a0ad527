"""Exception hierarchy of the engine package family."""


class EngineError(Exception):
    """Base class of every error raised by ``engine``."""


class ValidationError(EngineError, ValueError):
    """Input that breaks a rule of the domain (score out of range, bad field...)."""


class NotFoundError(EngineError, LookupError):
    """An id (learner, skill, activity, class, plan...) that the store does not hold."""


class ConflictError(EngineError):
    """A write that contradicts what is already stored (same id, different payload)."""


class GraphError(ValidationError):
    """A competency graph that is cyclic, has dangling references or duplicate ids."""


class ImportFormatError(ValidationError):
    """A CASE package or Coherence Map file that does not match its format."""


class AccessDenied(EngineError, PermissionError):
    """The caller's tenant or role may not read or write this data."""


class TooManyAttempts(AccessDenied):
    """Too many failed logins for a username or client address; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
