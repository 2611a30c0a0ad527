"""Versioned schema migrations.

Files live in ``engine/store/migrations/`` and are named ``NNNN_name.sql`` (portable SQL, run
on every dialect) or ``NNNN_name.sqlite.sql`` / ``NNNN_name.postgresql.sql`` (one per dialect;
a version given per dialect must exist for both). Versions 1-99 belong to the engine store,
100 and up to the service. Each migration runs in its own transaction together with the row it
adds to ``schema_version(version, name, applied_at)``, so a failed migration leaves the schema
at the previous version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from engine.errors import EngineError

DIALECTS = ("sqlite", "postgresql")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgresql))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``version`` (1..9999), ``name`` and the SQL text for one dialect."""

    version: int
    name: str
    sql: str


def discover(dialect: str, package: str = "engine.store.migrations") -> list[Migration]:
    """Return the migrations for ``dialect`` sorted by version.

    Raises :class:`EngineError` when two files claim one version with different names, or a
    per-dialect migration lacks the file of ``dialect``.
    """
    if dialect not in DIALECTS:
        raise EngineError(f"unknown SQL dialect {dialect!r}; use one of {list(DIALECTS)}")
    found: dict[int, dict[str | None, tuple[str, str]]] = {}
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version, name, file_dialect = int(match.group(1)), match.group(2), match.group(3)
        variants = found.setdefault(version, {})
        for other_name, _ in variants.values():
            if other_name != name:
                raise EngineError(
                    f"migration version {version:04d} is claimed by {other_name!r} and "
                    f"{name!r}; renumber one of them"
                )
        variants[file_dialect] = (name, entry.read_text(encoding="utf-8"))
    migrations = []
    for version in sorted(found):
        variants = found[version]
        if dialect in variants:
            name, sql = variants[dialect]
        elif None in variants:
            name, sql = variants[None]
        else:
            name = next(iter(variants.values()))[0]
            raise EngineError(
                f"migration {version:04d}_{name} has no {dialect} file; add "
                f"{version:04d}_{name}.{dialect}.sql or a portable {version:04d}_{name}.sql"
            )
        migrations.append(Migration(version, name, sql))
    return migrations
