"""Read observation logs (CSV, Parquet, pyarrow tables) into an :class:`ObservationLog`.

Two presets cover the usual public layouts; any other layout is read with an explicit
column map (``columns={"learner": ..., "skill": ..., "outcome": ..., "order": ..., "item": ...}``).

``assistments``
    ``order_id`` (order), ``user_id`` (learner), ``skill_name`` (skill), ``correct`` (outcome),
    ``problem_id`` (item; ``template_id`` when there is no ``problem_id``). When an ``original``
    column exists only rows with ``original == 1`` are kept (scaffolding removed), as pyBKT does.
``kdd``
    Cognitive Tutor / KDD Cup 2010: ``Row`` (order), ``Anon Student Id`` (learner),
    ``KC(Default)`` (skill), ``Correct First Attempt`` (outcome), ``Problem Name`` (item).
    A skill cell joining several skills with ``~~`` is split into one row per skill.

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
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kt.errors import LogFormatError
from kt.log import IdentityRows, ObservationLog, build_log, order_to_int64, outcome_to_int8

ROLES = ("learner", "skill", "item", "outcome", "order")
REQUIRED_ROLES = ("learner", "skill", "outcome", "order")

PRESETS: dict[str, dict[str, Any]] = {
    "assistments": {
        "learner": "user_id",
        "skill": "skill_name",
        "outcome": "correct",
        "order": "order_id",
        "item": ("problem_id", "template_id"),
        "filter_original": True,
        "copies_by_item": True,
    },
    "kdd": {
        "learner": "Anon Student Id",
        "skill": "KC(Default)",
        "outcome": "Correct First Attempt",
        "order": "Row",
        "item": ("Problem Name",),
        "filter_original": False,
        "copies_by_item": False,
    },
}
MULTI_SKILL_SEPARATOR = "~~"


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
        names = _header(path)
        colmap, filter_original, label, by_item = _resolve(names, preset, columns, str(path))
        wanted = sorted({*colmap.values(), *classes, *(["original"] if filter_original else [])})
        _check_present(names, colmap, classes, label)
        table = _read_file(path, wanted)
        desc = str(path)
    else:
        table = source if isinstance(source, pa.Table) else pa.table(source)
        names = table.column_names
        colmap, filter_original, label, by_item = _resolve(names, preset, columns, "table")
        _check_present(names, colmap, classes, label)
        desc = "pyarrow table"
    log = _from_table(
        table, colmap, list(classes), filter_original, multi_skill, missing_skill, desc
    )
    if by_item or "item" not in colmap:
        return log
    # KDD layout: each Row is one step (one answer); steps of one problem stay apart
    from dataclasses import replace

    from kt.log import assign_events

    return replace(log, event=assign_events(log.learner, log.skill, None, log.outcome, log.order))


# --- header / preset resolution ------------------------------------------------------------


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _header(path: Path) -> list[str]:
    if not path.exists():
        raise LogFormatError(f"log file {str(path)!r} does not exist; check the path")
    if _is_parquet(path):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, "rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise LogFormatError(
            f"log file {str(path)!r} is empty (no header row); pass a CSV with a header line "
            "and at least one data row"
        )
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
    delim = _delimiter(text)
    import csv

    return [c.strip() for c in next(csv.reader([text], delimiter=delim))]


def _delimiter(header_line: str) -> str:
    """The most frequent of tab, ``;`` and ``,`` in the header line (``,`` on a tie)."""
    counts = {d: header_line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _delimiter_hint(names: Sequence[str]) -> str:
    """A hint when column names still hold a separator (the file was split on the wrong one)."""
    for name in names:
        for sep, label in (("\t", "tabs"), (";", "';'"), (",", "','")):
            if sep in name:
                return (f" The column name {name[:60]!r} holds {label}: the data looks "
                        f"separated by {label} but was split on another delimiter; read it with "
                        f"that delimiter (e.g. pyarrow.csv.ParseOptions(delimiter=...)) or save "
                        f"it as a comma-separated file.")
    return ""


def _resolve(
    names: Sequence[str], preset: str | None, columns: Mapping[str, str] | None, label: str
) -> tuple[dict[str, str], bool, str, bool]:
    """(role -> column, filter ``original``, label, skill copies grouped by item).

    Without ``preset`` the preset with the most required columns present is used (at least
    two), so a file that lacks one column is reported as missing that column."""
    columns = dict(columns or {})
    unknown = set(columns) - set(ROLES)
    if unknown:
        raise LogFormatError(
            f"column map has unknown role(s) {sorted(unknown)}; roles are {list(ROLES)} "
            "(extra categorical columns go in classes=[...])"
        )
    present = set(names)
    if preset is None:
        hits = {
            candidate: sum(spec[r] in present or r in columns for r in REQUIRED_ROLES)
            for candidate, spec in PRESETS.items()
        }
        best = max(hits, key=lambda c: hits[c])  # first preset on a tie
        if hits[best] >= 2:
            preset = best
    spec = PRESETS.get(preset or "", {})
    colmap: dict[str, str] = {}
    for role in REQUIRED_ROLES:
        if role in columns:
            colmap[role] = columns[role]
        elif role in spec:
            colmap[role] = spec[role]
        else:
            raise LogFormatError(
                f"{label}: no column for {role!r} and the header matches no preset; pass "
                f"preset='assistments' or 'kdd', or columns={{'{role}': '<column name>', ...}} "
                f"(CLI: --preset, --column {role}=NAME; columns present: {list(names)[:20]})."
                + _delimiter_hint(names)
            )
    if "item" in columns:
        colmap["item"] = columns["item"]
    else:
        for cand in spec.get("item", ()):
            if cand in present:
                colmap["item"] = cand
                break
    filter_original = bool(spec.get("filter_original")) and "original" in present
    return colmap, filter_original, label, bool(spec.get("copies_by_item", True))


def _check_present(
    names: Sequence[str], colmap: Mapping[str, str], classes: Sequence[str], label: str
) -> None:
    present = set(names)
    for role, col in colmap.items():
        if col not in present:
            raise LogFormatError(
                f"{label}: column {col!r} (for {role!r}) is missing; columns present: "
                f"{list(names)[:30]}. Rename it or pass columns={{'{role}': '<column name>'}} "
                f"(CLI: --column {role}=NAME)." + _delimiter_hint(names)
            )
    for col in classes:
        if col not in present:
            raise LogFormatError(
                f"{label}: class column {col!r} is missing; columns present: "
                f"{list(names)[:30]}. Drop it from classes= or use a column that exists."
            )


def _read_file(path: Path, wanted: list[str]) -> Any:
    import pyarrow as pa

    if _is_parquet(path):
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=wanted)
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        delim = _delimiter(fh.readline().decode("utf-8", errors="replace"))
    convert = pacsv.ConvertOptions(
        include_columns=wanted,
        null_values=["", "NA", "NaN", "nan", "NULL", "null"],
        strings_can_be_null=True,
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


# --- table -> log ---------------------------------------------------------------------------


def _column_values(table: Any, name: str) -> Any:
    """A column as a single pyarrow Array (chunks combined)."""
    return table.column(name).combine_chunks()


def _first_null(arr: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.index(pc.is_null(arr), True).as_py())


def _encode(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """int32 codes into a sorted str vocabulary (numeric types sorted numerically).

    Hash-based (pyarrow ``dictionary_encode``); only the small dictionary is sorted.
    ``arr`` must have no nulls.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_integer(t) and len(arr):
        values = arr.to_numpy(zero_copy_only=False)
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= max(4 * len(values), 1 << 20) and -(2**62) < lo and hi < 2**62:
            # dense id range: a lookup table beats hashing or sorting
            from kt import _kernels

            codes, distinct = _kernels.dense_codes(
                np.ascontiguousarray(values, dtype=np.int64), lo, hi - lo + 1
            )
            width = max(len(str(lo)), len(str(hi)))
            text = _kernels.int_labels(distinct, width).view(f"<U{width}").reshape(-1)
            return codes, text
    if pa.types.is_floating(t):
        values = arr.to_numpy(zero_copy_only=False)
        if np.all(values == np.floor(values)):
            arr = pa.array(values.astype(np.int64))
            t = arr.type
    if not (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_dictionary(t)
    ):
        arr = pc.cast(arr, pa.string())
    enc = arr if pa.types.is_dictionary(arr.type) else arr.dictionary_encode()
    if pa.types.is_integer(enc.dictionary.type) or pa.types.is_floating(enc.dictionary.type):
        dictionary = enc.dictionary.to_numpy(zero_copy_only=False)
    else:
        dictionary = np.asarray(enc.dictionary.to_pylist(), dtype=str)
    indices = enc.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(dictionary, kind="stable")
    remap = np.empty(len(order), dtype=np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    return remap[indices], dictionary[order].astype(str)


# tables with at least this many rows code the skill strings in a second thread
_OVERLAP_ROWS = 50_000
_WORKER: Any = None
_WORKER_PID = -1
_WORKER_LOCK = threading.Lock()


def _worker() -> Any:
    """The one helper thread of ``read_log`` (a 1-worker pool, started on first use in each
    process: a forked child does not inherit the parent's thread)."""
    global _WORKER, _WORKER_PID
    with _WORKER_LOCK:
        if _WORKER is None or _WORKER_PID != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kt-read-log")
            _WORKER_PID = os.getpid()
        return _WORKER


def _numeric_columns(table: Any, colmap: Mapping[str, str], source_row: np.ndarray):
    """(outcome int8, order int64, learner (codes, vocab), item (codes, vocab) or None)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    outcome = outcome_to_int8(
        _column_values(table, colmap["outcome"]).to_numpy(zero_copy_only=False),
        colmap["outcome"],
        source_row,
    )
    order_arr = _column_values(table, colmap["order"])
    if pa.types.is_timestamp(order_arr.type):
        order_arr = pc.cast(order_arr, pa.int64())
    order = order_to_int64(order_arr.to_numpy(zero_copy_only=False), colmap["order"], source_row)
    learner = _encode(_column_values(table, colmap["learner"]))
    item = _encode(_column_values(table, colmap["item"])) if "item" in colmap else None
    return outcome, order, learner, item


def _from_table(
    table: Any,
    colmap: Mapping[str, str],
    classes: list[str],
    filter_original: bool,
    multi_skill: str,
    missing_skill: str,
    desc: str,
) -> ObservationLog:
    import pyarrow as pa
    import pyarrow.compute as pc

    n_file = table.num_rows
    if n_file == 0:
        raise LogFormatError(
            f"{desc} has a header but no data rows; pass a log with at least one row"
        )
    source_row: Any = IdentityRows(n_file)  # a real array once rows are dropped
    notes = [desc]
    if filter_original:
        mask = pc.equal(_column_values(table, "original"), 1).fill_null(False)
        table = table.filter(mask)
        source_row = source_row[mask.to_numpy(zero_copy_only=False)]
        notes.append(f"kept {table.num_rows} of {n_file} rows with original == 1")

    skill_col = table.column(colmap["skill"])
    if not (pa.types.is_string(skill_col.type) or pa.types.is_large_string(skill_col.type)):
        skill_col = pc.cast(skill_col, pa.string())
    # Checks run on the (small) dictionary of distinct skill cells, not on every row.
    # Encoding the chunks (one shared dictionary) saves copying the strings into one array.
    # On big tables the skill strings are hashed in a second thread (pyarrow releases the
    # GIL) while this one codes the numeric columns; that work is kept only if the skill
    # checks below leave the table unchanged, and any error it raised is raised again in
    # the usual order by coding them once more.
    numeric_table, numeric = table, None
    if table.num_rows >= _OVERLAP_ROWS:
        future = _worker().submit(lambda: skill_col.dictionary_encode().combine_chunks())
        try:
            numeric = _numeric_columns(table, colmap, source_row)
        except Exception:
            numeric = None
        skill_enc = future.result()  # waits; re-raises an error of the encoding here
    else:
        skill_enc = skill_col.dictionary_encode().combine_chunks()
    distinct = skill_enc.dictionary.to_pylist()
    blank = np.array([v is None or not v.strip() for v in distinct] + [True], dtype=bool)
    indices = skill_enc.indices
    n_empty = 0
    if indices.null_count or blank[:-1].any():
        if indices.null_count:
            indices = indices.fill_null(pa.scalar(len(distinct), type=indices.type))
        empty = blank[indices.to_numpy(zero_copy_only=False)]
        n_empty = int(empty.sum())
    has_multi = multi_skill == "split" and any(
        v is not None and MULTI_SKILL_SEPARATOR in v for v in distinct
    )
    # the plain strings are needed only to drop rows or split '~~' cells
    skill_arr = skill_col.combine_chunks() if (n_empty or has_multi) else None
    if n_empty:
        if missing_skill == "error":
            first = int(source_row[int(np.flatnonzero(empty)[0])])
            raise LogFormatError(
                f"skill column {colmap['skill']!r} is empty at row {first} (0-based data row; "
                f"{n_empty} rows have no skill name). Give every row a skill, or pass "
                "missing_skill='drop' (CLI: --drop-missing-skills) to skip those rows."
            )
        keep = ~empty
        if not keep.any():
            raise LogFormatError(f"{desc}: no row has a skill name in {colmap['skill']!r}")
        keep_pa = pa.array(keep)
        table = table.filter(keep_pa)
        skill_arr = skill_arr.filter(keep_pa)
        skill_enc = skill_enc.filter(keep_pa)
        source_row = source_row[keep]
        notes.append(f"dropped {n_empty} rows without a skill name")

    # Null checks on every other used column.
    for role in ("learner", "outcome", "order", "item"):
        if role in colmap:
            arr = table.column(colmap[role])
            if arr.null_count:
                first = int(source_row[_first_null(arr)])
                raise LogFormatError(
                    f"column {colmap[role]!r} (for {role!r}) is empty at row {first} (0-based "
                    f"data row; {arr.null_count} empty cells). Fill or drop those rows."
                )

    if has_multi:
        parts = pc.split_pattern(skill_arr, MULTI_SKILL_SEPARATOR)
        lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
        rows = np.repeat(np.arange(table.num_rows), lengths)
        table = table.take(pa.array(rows))
        skill_arr = pc.utf8_trim_whitespace(parts.flatten())
        source_row = source_row[rows]
        blank_part = pc.equal(skill_arr, "").to_numpy(zero_copy_only=False)
        if blank_part.any():
            if missing_skill == "error":
                first = int(source_row[int(np.flatnonzero(blank_part)[0])])
                raise LogFormatError(
                    f"skill column {colmap['skill']!r} has an empty skill between '~~' "
                    f"separators at row {first} (0-based data row); fix the cell, or pass "
                    "missing_skill='drop' (CLI: --drop-missing-skills) to skip empty parts."
                )
            keep_pa = pa.array(~blank_part)
            table = table.filter(keep_pa)
            skill_arr = skill_arr.filter(keep_pa)
            source_row = source_row[~blank_part]
            notes.append(f"dropped {int(blank_part.sum())} empty '~~' parts")
        skill_enc = skill_arr.dictionary_encode()
        notes.append(f"split '~~'-joined skills into {len(rows)} rows")

    if numeric is None or table is not numeric_table:
        numeric = _numeric_columns(table, colmap, source_row)
    outcome, order, learner_coded, item_coded = numeric
    coded = {"learner": learner_coded, "skill": _encode(skill_enc)}
    if item_coded is not None:
        coded["item"] = item_coded
    class_raw: dict[str, np.ndarray] = {}
    for name in classes:
        arr = _column_values(table, name)
        if arr.null_count:
            first = int(source_row[_first_null(arr)])
            raise LogFormatError(
                f"class column {name!r} is empty at row {first} (0-based data row; "
                f"{arr.null_count} empty cells). Fill or drop those rows."
            )
        coded[f"class:{name}"] = _encode(arr)
        class_raw[name] = np.zeros(0)  # placeholder; coded values are used
    return build_log(
        learner=np.zeros(0),
        skill=np.zeros(0),
        item=None,
        outcome=outcome,
        order=order,
        classes=class_raw,
        source_row=source_row,
        names={
            "learner": colmap["learner"],
            "skill": colmap["skill"],
            "item": colmap.get("item", ""),
            "order": colmap["order"],
        },
        source="; ".join(notes),
        coded=coded,
        owned=True,  # every array here was made by this call
    )
