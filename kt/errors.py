"""Exception hierarchy of the kt package family.

Every error names the bad value and says how to fix it. Only ``service/`` maps
these to HTTP status codes.
"""


class KTError(Exception):
    """Base class of every error raised by ``kt``."""


class LogFormatError(KTError, ValueError):
    """An observation log is malformed (missing column, bad outcome, bad order...)."""


class ParameterError(KTError, ValueError):
    """A model parameter or hyperparameter is out of its valid range."""


class NotFittedError(KTError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``."""


class UnknownSkillError(KTError, KeyError):
    """A skill (or item class) was not seen when the model was fitted."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ModelFileError(KTError, ValueError):
    """A saved model file is unreadable, of an unknown version, or inconsistent."""
