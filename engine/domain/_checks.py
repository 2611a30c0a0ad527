"""Small validators shared by the domain dataclasses.

Each raises :class:`engine.errors.ValidationError` naming the owner, the field,
the bad value and how to fix it. Coercers return the normalised value (for
example a list of strings becomes a ``frozenset``) so ``__post_init__`` can store it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from engine.errors import ValidationError

E = TypeVar("E", bound=StrEnum)


def text(owner: str, name: str, value: object, *, allow_empty: bool = False) -> str:
    """A string (non-blank unless ``allow_empty``)."""
    if not isinstance(value, str):
        raise ValidationError(
            f"{owner}.{name} must be a string, got {type(value).__name__} {value!r}"
        )
    if not allow_empty and not value.strip():
        raise ValidationError(f"{owner}.{name} must not be empty; give a non-blank string")
    return value


def optional_text(owner: str, name: str, value: object) -> str | None:
    return None if value is None else text(owner, name, value)


def integer(owner: str, name: str, value: object, *, lo: int | None = None,
            hi: int | None = None) -> int:
    """An ``int`` (not bool) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{owner}.{name} must be an integer, got {type(value).__name__} {value!r}"
        )
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValidationError(
            f"{owner}.{name}={value} is out of range; use an integer in "
            f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        )
    return value


def number(owner: str, name: str, value: object, *, lo: float, hi: float,
           lo_open: bool = False) -> float:
    """A finite real number in ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"{owner}.{name} must be a number, got {type(value).__name__} {value!r}"
        )
    v = float(value)
    bad_lo = v <= lo if lo_open else v < lo
    if math.isnan(v) or bad_lo or v > hi:
        bracket = "(" if lo_open else "["
        raise ValidationError(
            f"{owner}.{name}={value!r} is out of range; use a number in {bracket}{lo}, {hi}]"
        )
    return v


def enum(owner: str, name: str, value: object, cls: type[E]) -> E:
    """A member of the ``StrEnum`` ``cls`` (its string value is accepted)."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ValidationError(
            f"{owner}.{name}={value!r} is not a valid {cls.__name__}; use one of: {allowed}"
        ) from None


def _iterable(owner: str, name: str, value: object) -> Iterable[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{owner}.{name} must be a list/set of values, got {type(value).__name__} "
            f"{value!r}; wrap a single value in a list"
        )
    return value


def text_set(owner: str, name: str, value: object) -> frozenset[str]:
    return frozenset(text(owner, name, v) for v in _iterable(owner, name, value))


def text_tuple(owner: str, name: str, value: object) -> tuple[str, ...]:
    return tuple(text(owner, name, v) for v in _iterable(owner, name, value))


def enum_set(owner: str, name: str, value: object, cls: type[E]) -> frozenset[E]:
    return frozenset(enum(owner, name, v, cls) for v in _iterable(owner, name, value))


def unique_tuple(owner: str, name: str, value: object) -> tuple[str, ...]:
    """A tuple of strings with no repeats (order kept)."""
    items = text_tuple(owner, name, value)
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ValidationError(
                f"{owner}.{name} lists {item!r} twice; each id may appear once"
            )
        seen.add(item)
    return items


def aware_datetime(owner: str, name: str, value: object) -> datetime:
    """A timezone-aware ``datetime`` (ISO 8601 strings are parsed)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{owner}.{name}={value!r} is not an ISO 8601 timestamp; "
                "use e.g. '2026-01-05T14:30:00Z'"
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError(
            f"{owner}.{name} must be a datetime, got {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{owner}.{name}={value.isoformat()} has no time zone; "
            "give an aware datetime such as datetime(..., tzinfo=UTC)"
        )
    return value
