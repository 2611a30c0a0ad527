"""JSON-ready records for every domain type: ``to_record`` and ``from_record``.

Rules: dataclasses become dicts of their init fields; ``StrEnum`` -> its value;
``frozenset`` -> sorted list; ``tuple`` -> list; ``datetime`` -> ISO 8601 UTC
string ending in ``Z``; a tagged-union member (a dataclass with a ``tag``
class attribute, e.g. the blended models) carries ``"type": tag``.
``from_record(cls, record)`` rebuilds the object from the annotations of ``cls``;
unknown or missing keys raise :class:`ValidationError` naming them.
``from_record(cls, to_record(obj)) == obj`` for every domain object.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin

from engine.errors import ValidationError

T = TypeVar("T")
TAG_KEY = "type"


def to_record(obj: Any) -> Any:
    """A JSON-ready representation of ``obj`` (dict for dataclasses)."""
    if obj is None or isinstance(obj, bool | int | float | str) and not isinstance(obj, Enum):
        return obj
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return _iso(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        tag = getattr(type(obj), "tag", None)
        if isinstance(tag, str):
            out[TAG_KEY] = tag
        for f in dataclasses.fields(obj):
            if f.init:
                out[f.name] = to_record(getattr(obj, f.name))
        return out
    if isinstance(obj, frozenset | set):
        items = [to_record(v) for v in obj]
        return sorted(items, key=lambda v: (str(type(v)), v if not isinstance(v, list | dict)
                                            else str(v)))
    if isinstance(obj, tuple | list):
        return [to_record(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_record(v) for k, v in obj.items()}
    raise ValidationError(f"cannot serialise {type(obj).__name__} {obj!r}")


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValidationError(f"datetime {dt.isoformat()} has no time zone; use an aware one")
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_record(cls: type[T], record: Any) -> T:
    """Rebuild an instance of ``cls`` (a domain dataclass) from ``to_record`` output."""
    return _build(cls, record, cls.__name__)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    module = sys.modules[cls.__module__]
    return typing.get_type_hints(cls, globalns=vars(module))


def _build(tp: Any, value: Any, where: str) -> Any:
    """``value`` (decoded JSON) converted to type ``tp``; ``where`` names it in errors."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        return _build_union(tp, value, where)
    if origin in (frozenset, set):
        (arg,) = get_args(tp)
        _need_list(value, where)
        return frozenset(_build(arg, v, f"{where}[]") for v in value)
    if origin is tuple:
        return _build_tuple(tp, value, where)
    if origin in (dict, typing.Mapping):
        _, varg = get_args(tp)
        if not isinstance(value, dict):
            raise ValidationError(f"{where} must be an object, got {value!r}")
        return {k: _build(varg, v, f"{where}.{k}") for k, v in value.items()}
    if origin is not None and dataclasses.is_dataclass(origin):
        return _dataclass(origin, value, where, get_args(tp))
    if isinstance(tp, type):
        return _build_class(tp, value, where)
    if isinstance(tp, TypeVar):
        return value
    raise ValidationError(f"{where}: unsupported type {tp!r}")


def _build_union(tp: Any, value: Any, where: str) -> Any:
    """Optional[X] / tagged union of dataclasses / first member type that accepts ``value``."""
    args = [a for a in get_args(tp) if a is not type(None)]
    if value is None:
        if len(args) < len(get_args(tp)):
            return None
        raise ValidationError(f"{where} must not be null")
    if len(args) == 1:
        return _build(args[0], value, where)
    tagged = {getattr(a, "tag", None): a for a in args if dataclasses.is_dataclass(a)}
    if isinstance(value, dict) and TAG_KEY in value and value[TAG_KEY] in tagged:
        return _build(tagged[value[TAG_KEY]], value, where)
    if isinstance(value, dict):
        raise ValidationError(
            f"{where}: {TAG_KEY}={value.get(TAG_KEY)!r} is not one of "
            f"{sorted(k for k in tagged if k)}; set {TAG_KEY!r} to one of them"
        )
    for a in args:
        try:
            return _build(a, value, where)
        except ValidationError:
            continue
    raise ValidationError(f"{where}: {value!r} matches none of {tp}")


def _build_tuple(tp: Any, value: Any, where: str) -> tuple:
    """``tuple[X, ...]`` or fixed ``tuple[X, Y]`` from a JSON list."""
    args = get_args(tp)
    _need_list(value, where)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ValidationError(f"{where} must have {len(args)} entries, got {value!r}")
    return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value,
                                                                              strict=True)))


def _build_class(tp: type, value: Any, where: str) -> Any:
    """A plain class: dataclass, enum / datetime (checked by the owner), or a JSON scalar."""
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, value, where, ())
    if issubclass(tp, Enum):
        return value  # the dataclass validates and converts enums with a clear error
    if tp is datetime:
        return value  # parsed and checked by the owning dataclass
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValidationError(
                f"{where} must be {tp.__name__}, got {type(value).__name__} {value!r}"
            )
        return value
    raise ValidationError(f"{where}: unsupported type {tp!r}")


def _need_list(value: Any, where: str) -> None:
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(f"{where} must be a list, got {type(value).__name__} {value!r}")


def _dataclass(cls: type, value: Any, where: str, type_args: tuple[Any, ...]) -> Any:
    if not isinstance(value, dict):
        raise ValidationError(f"{where} must be an object, got {type(value).__name__} {value!r}")
    hints = _hints(cls)
    params = getattr(cls, "__parameters__", ())
    subst = dict(zip(params, type_args, strict=False))
    init_fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    extra = sorted(set(value) - set(init_fields) - {TAG_KEY})
    if extra:
        raise ValidationError(
            f"{where}: unknown key(s) {extra} for {cls.__name__}; allowed: {sorted(init_fields)}"
        )
    tag = getattr(cls, "tag", None)
    if isinstance(tag, str) and value.get(TAG_KEY, tag) != tag:
        raise ValidationError(f"{where}: {TAG_KEY}={value[TAG_KEY]!r} but expected {tag!r}")
    kwargs: dict[str, Any] = {}
    for name, f in init_fields.items():
        if name not in value:
            if (f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING):
                raise ValidationError(f"{where}: missing required key {name!r}")
            continue
        ftype = hints[name]
        if isinstance(ftype, TypeVar):
            ftype = subst.get(ftype, Any)
        kwargs[name] = _build(ftype, value[name], f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValidationError(f"{where}: {exc}") from None
