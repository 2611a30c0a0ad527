"""Read observation logs (CSV, Parquet, pyarrow tables) into an :class:`ObservationLog`.

Two presets cover the usual public layouts; any other layout is read with an explicit
column map (``columns={"learner": ..., "skill": ..., "outcome": ..., "order": ..., "item": ...}``).

``assistments``
    ``order_id`` (order), ``user_id`` (learner), ``skill_name`` (skill), ``correct`` (outcome),
    ``problem_id`` (item; ``template_id`` when there is no ``problem_id``). When an ``original``
    column exists only rows with ``original == 1`` are kept (scaffolding removed), as pyBKT does.
``kdd``
    Cognitive Tutor / KDD Cup 2010: ``Row`` (order), ``Anon Student Id`` (learner),
    ``KC(Default)`` (skill), ``Correct First Attempt`` (outcome), ``Problem Name`` and
    ``Step Name`` (item: a row answers one step of a problem, named ``"problem / step"``;
    without a ``Step Name`` column the problem; ``columns={"item": ...}`` picks one column
    instead). A skill cell joining several skills with ``~~`` is split into one row per skill.

With ``preset=None`` and no column map the preset is detected from the header.

Multi-skill answers
    A problem tagged with several skills is one *answer* but several *observations*, one per
    skill. Both layouts are handled: ASSISTments repeats the answer once per skill on
    consecutive rows (same learner, same problem, same outcome; in ASSISTments 2009 the copies
    even carry neighbouring but different ``order_id``); KDD joins skills with ``~~`` in one
    cell (``multi_skill="split"``, the default, gives one row per skill; ``"keep"`` treats the
    joined string as one combined skill, as pyBKT does). Either way the copies share one
    ``event`` id in the log. Models follow pyBKT: every skill row is its own observation for
    its skill (so the answer counts once for each of its skills).

Outcomes must be 1, 0 or -1; -1 ("no response", pyBKT's convention) rows are dropped and the
count is noted in ``log.source``. Every format problem raises :class:`kt.errors.LogFormatError`
naming the column, the first bad row (0-based data row of the source) and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kt._presets import (
    ITEM_STEP,
    PRESETS,
    REQUIRED_ROLES,
    ROLES,
    check_present,
    delimiter,
    header,
    is_parquet,
    resolve,
)
from kt._table import MULTI_SKILL_SEPARATOR, from_table
from kt.errors import LogFormatError
from kt.log import ObservationLog

__all__ = ["MULTI_SKILL_SEPARATOR", "PRESETS", "REQUIRED_ROLES", "ROLES", "read_log"]


def read_log(
    source: str | os.PathLike[str] | Any,
    *,
    preset: str | None = None,
    columns: Mapping[str, str] | None = None,
    classes: Sequence[str] = (),
    multi_skill: str = "split",
    missing_skill: str = "error",
) -> ObservationLog:
    """Read a log file (``.csv``/``.tsv``/``.txt``, ``.parquet``/``.pq``) or a pyarrow Table.

    Args:
        source: path, or a ``pyarrow.Table`` (anything ``pyarrow.table()`` accepts, e.g. a dict
            of columns, also works).
        preset: ``"assistments"``, ``"kdd"`` or None (detect from the column names).
        columns: role -> column name, overriding the preset; roles are ``learner``, ``skill``,
            ``item``, ``outcome``, ``order`` (``item`` optional).
        classes: extra categorical columns to keep by name (e.g. ``["template_id"]`` for
            multigs / multilearn / multipair); coded to ``log.classes[name]``.
        multi_skill: ``"split"`` (``~~``-joined skill cells become one row per skill sharing
            one event) or ``"keep"`` (the joined string is one skill).
        missing_skill: ``"error"`` (default) or ``"drop"`` rows without a skill name.

    Returns:
        An :class:`ObservationLog` sorted by learner, then order.
    """
    import pyarrow as pa

    if multi_skill not in ("split", "keep"):
        raise LogFormatError(f"multi_skill={multi_skill!r}; use 'split' or 'keep'")
    if missing_skill not in ("error", "drop"):
        raise LogFormatError(f"missing_skill={missing_skill!r}; use 'error' or 'drop'")
    if preset is not None and preset not in PRESETS:
        raise LogFormatError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)} or None")

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        names = header(path)
        colmap, filter_original, label, by_item = resolve(names, preset, columns, str(path))
        wanted = sorted({*colmap.values(), *classes, *(["original"] if filter_original else [])})
        check_present(names, colmap, classes, label)
        table = _read_file(path, wanted, names, _text_candidates(colmap, classes))
        desc = str(path)
    else:
        table = source if isinstance(source, pa.Table) else pa.table(source)
        names = table.column_names
        colmap, filter_original, label, by_item = resolve(names, preset, columns, "table")
        check_present(names, colmap, classes, label)
        desc = "pyarrow table"
    log = from_table(
        table, colmap, list(classes), filter_original, multi_skill, missing_skill, desc
    )
    if by_item or "item" not in colmap:
        return log
    # KDD layout: each Row is one step (one answer); steps of one problem stay apart
    from dataclasses import replace

    from kt.log import assign_events

    return replace(log, event=assign_events(log.learner, log.skill, None, log.outcome, log.order))


def _text_candidates(colmap: Mapping[str, str], classes: Sequence[str]) -> list[str]:
    """Columns that may be read as dictionaries when they hold text (names, not numbers)."""
    roles = ("learner", "skill", "item", ITEM_STEP)
    return [colmap[r] for r in roles if r in colmap] + list(classes)


def _read_file(path: Path, wanted: list[str], names: list[str] = (),
               text: list[str] = ()) -> Any:
    """The ``wanted`` columns of a CSV/TSV (delimiter from the header; latin-1 when the file
    is not UTF-8, as pyBKT reads) or Parquet file, as a pyarrow Table. Columns of ``text``
    (names in the header ``names``) that ``kt._sniff`` finds to be text are read as dictionary
    arrays (same strings, coded while parsing)."""
    import pyarrow as pa

    if is_parquet(path):
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=wanted)
    import pyarrow.csv as pacsv

    from kt._sniff import NULL_CELLS, SNIFF_BYTES, text_columns

    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    delim = delimiter(head.split(b"\n", 1)[0].decode("utf-8", errors="replace"))
    as_dictionary = pa.dictionary(pa.int32(), pa.string())
    convert = pacsv.ConvertOptions(
        include_columns=wanted,
        null_values=list(NULL_CELLS),
        strings_can_be_null=True,
        column_types={c: as_dictionary for c in text_columns(head, delim, names, text)
                      if c in wanted},
    )
    parse = pacsv.ParseOptions(delimiter=delim)
    try:
        table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
        if any(pa.types.is_binary(f.type) for f in table.schema):
            # Not valid UTF-8 (pyarrow falls back to binary): read as latin-1, as pyBKT does.
            read = pacsv.ReadOptions(encoding="latin-1")
            table = pacsv.read_csv(
                path, read_options=read, parse_options=parse, convert_options=convert
            )
        return table
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            # pyBKT reads with latin-1; do the same when the file is not UTF-8.
            read = pacsv.ReadOptions(encoding="latin-1")
            return pacsv.read_csv(
                path, read_options=read, parse_options=parse, convert_options=convert
            )
        if "Empty CSV file" in str(exc):
            raise LogFormatError(
                f"log file {str(path)!r} is empty; it needs a header and rows"
            ) from None
        raise LogFormatError(f"cannot parse {str(path)!r}: {exc}") from None
