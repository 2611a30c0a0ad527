"""Shared SQL helpers of the store: constants, row converters and the tenant base class."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from engine.domain.evidence import (
    Observation,
    format_timestamp,
    parse_timestamp,
)
from engine.errors import ValidationError
from engine.store.base import ApiKey, Document
from engine.store.driver import Driver

_CHUNK = 500
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_OBS_COLUMNS = (
    "tenant_id", "observation_id", "learner_id", "activity_id", "item_id", "skill_ids", "score",
    "observed_at", "source", "ingested_at",
)
_HISTORY_COLUMNS = (
    "tenant_id", "learner_id", "skill_id", "observation_id", "p_before", "p_after", "p_correct",
    "at",
)
PARAM_NAMES = ("p_init", "p_learn", "p_forget", "p_guess", "p_slip")

# kind -> (table, id column, domain class path)
_ENTITIES: dict[str, tuple[str, str, str]] = {
    "skill": ("skills", "skill_id", "engine.domain.skills:Skill"),
    "activity": ("activities", "activity_id", "engine.domain.catalog:Activity"),
    "learner": ("learners", "learner_id", "engine.domain.learners:Learner"),
    "class": ("classes", "class_id", "engine.domain.classes:Class"),
    "teacher": ("teachers", "teacher_id", "engine.domain.classes:Teacher"),
    "guardian": ("guardians", "guardian_id", "engine.domain.classes:Guardian"),
}


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON-serialisable ({exc}); send plain JSON") from None


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _domain_class(path: str) -> type:
    module_name, _, name = path.partition(":")
    module = __import__(module_name, fromlist=[name])
    return getattr(module, name)


def _learner_lock_key(tenant_id: str, learner_id: str) -> int:
    digest = hashlib.blake2b(f"{tenant_id}\x1f{learner_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        key_hash=row[0],
        tenant_id=row[1],
        role=row[2],
        subject=row[3],
        label=row[4],
        created_at=parse_timestamp(row[5]),
        revoked_at=parse_timestamp(row[6]) if row[6] else None,
    )


def _observation(row: Sequence[Any]) -> Observation:
    return Observation(
        observation_id=row[0],
        learner_id=row[1],
        activity_id=row[2],
        item_id=row[3],
        skill_ids=tuple(row[4].split(";")),
        score=float(row[5]),
        observed_at=parse_timestamp(row[6]),
        source=row[7],
    )


def _document(row: Sequence[Any]) -> Document:
    return Document(
        kind=row[0],
        doc_id=row[1],
        version=int(row[2]),
        payload=json.loads(row[3]),
        created_at=parse_timestamp(row[4]),
        updated_at=parse_timestamp(row[5]),
    )


class TenantBase:
    """Connection, tenant id and the small query helpers every tenant-store part uses."""

    def __init__(self, driver: Driver, tenant_id: str, url: str = "") -> None:
        self._driver = driver
        self.tenant_id = tenant_id
        self.url = url  # the store's URL: another process can open it (``engine.store.shared_url``)

    @property
    def dialect(self) -> str:
        return self._driver.dialect

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """All-or-nothing block: commits at the end, rolls back on any exception."""
        with self._driver.transaction():
            yield self

    @contextmanager
    def _read(self) -> Iterator[Driver]:
        """A block of reads that see one state (``Driver.reading`` with a snapshot); inside
        this thread's transaction, the transaction's own connection."""
        with self._driver.reading(snapshot=True) as driver:
            yield driver

    def _read_through(self, wanted: Sequence[Any], cache_keys: Sequence[Any], load: Any) -> dict:
        """Rows of ``wanted`` keys, from the driver's write-through cache where it applies.

        On SQLite inside a transaction, committed rows come from
        :class:`engine.store.driver.MasteryCache` (the entry of ``wanted[i]`` is keyed
        ``cache_keys[i]``; dropped
        when another connection has committed since); ``load(keys) -> {key: row}`` reads the
        misses from the database, and what it found (or its absence) is cached after commit.
        Elsewhere every key goes to ``load``. Keys without a row are absent from the result.
        """
        driver = self._driver
        cache = driver.mastery_cache
        if cache is None or not driver.in_transaction or cache.bypass:
            return load(wanted)
        if not cache.validated:  # no other connection commits while we hold the write lock
            cache.validate(driver.data_version())
        values, out, misses, miss_keys = cache.values, {}, [], []
        get = values.get
        for key, ck in zip(wanted, cache_keys, strict=True):
            hit = get(ck, values)
            if hit is values:
                misses.append(key)
                miss_keys.append(ck)
            elif hit is not None:
                out[key] = hit
        if not misses:
            return out
        found = load(misses)
        out.update(found)
        staged = {ck: found.get(key) for key, ck in zip(misses, miss_keys, strict=True)}
        if staged:
            driver.after_commit(lambda: cache.store(staged))
        return out

    def _q(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        """One statement's rows: in this thread's transaction through its connection, else
        through ``Driver.reading`` (a write outside a transaction goes to the connection)."""
        driver = self._driver
        if text.lstrip()[:6].upper() != "SELECT":
            with driver.lock:
                return driver.execute(text, params)
        with driver.reading() as reader:  # this thread's transaction, if open, reads itself
            return reader.execute(text, params)
