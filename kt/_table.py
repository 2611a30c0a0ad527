"""A pyarrow Table of one log's columns -> :class:`~kt.log.ObservationLog` (``kt.io.read_log``).

Steps, each dropping or multiplying rows while ``source_row`` keeps every row's 0-based data
row of the source (for error messages): keep ``original == 1`` rows (ASSISTments), code the
skill cells (checks run on the small dictionary of distinct cells), drop or refuse rows
without a skill, refuse empty cells of the other roles, split ``~~``-joined skills into one
row per skill, code the numeric, learner, item and class columns, then ``kt.log.build_log``.
No pass converts the table through pandas (``kt._arrow``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kt import _arrow
from kt._presets import ITEM_STEP
from kt.errors import LogFormatError
from kt.log import IdentityRows, ObservationLog, build_log, order_to_int64, outcome_to_int8

MULTI_SKILL_SEPARATOR = "~~"

# tables with at least this many rows code the skill strings in a second thread
_OVERLAP_ROWS = 50_000


class _Rows:
    """The table being reduced, with each row's source row and the notes for ``log.source``
    (working state of one ``from_table`` call, never returned)."""

    def __init__(self, table: Any, desc: str) -> None:
        self.table = table
        self.source_row: Any = IdentityRows(table.num_rows)  # an array once rows are dropped
        self.notes = [desc]

    def keep(self, mask: np.ndarray, *columns: Any) -> list:
        """Keep the rows where ``mask``; returns ``columns`` (pyarrow arrays) filtered alike."""
        arrow_mask = _arrow.bool_array(mask)
        self.table = _arrow.call("filter", self.table, arrow_mask)
        self.source_row = self.source_row[mask]
        return [_arrow.call("filter", c, arrow_mask) for c in columns]


def from_table(
    table: Any,
    colmap: Mapping[str, str],
    classes: list[str],
    filter_original: bool,
    multi_skill: str,
    missing_skill: str,
    desc: str,
) -> ObservationLog:
    """The log of ``table`` (columns named by ``colmap`` role -> column, and ``classes``)."""
    if table.num_rows == 0:
        raise LogFormatError(
            f"{desc} has a header but no data rows; pass a log with at least one row"
        )
    rows = _Rows(table, desc)
    if filter_original:
        _keep_original(rows)
    numeric_table = rows.table
    skill_col, skill_enc, numeric = _skill_dictionary(rows, colmap)
    skill_arr = _drop_blank_skills(rows, colmap, skill_col, skill_enc, missing_skill)
    if skill_arr is not None and len(skill_arr) != len(skill_col):
        skill_enc = _arrow.call("dictionary_encode", skill_arr)
    _check_no_empty_cells(rows, colmap)
    if multi_skill == "split" and skill_arr is not None and _has_multi(skill_enc):
        skill_enc = _split_multi_skills(rows, colmap, skill_arr, missing_skill)
    if numeric is None or rows.table is not numeric_table:
        numeric = _numeric_columns(rows.table, colmap, rows.source_row)
    outcome, order, learner_coded, item_coded = numeric
    coded = {"learner": learner_coded, "skill": _arrow.encode(skill_enc)}
    if item_coded is not None:
        coded["item"] = item_coded
    coded.update(_class_codes(rows, classes))
    return build_log(
        learner=np.zeros(0),
        skill=np.zeros(0),
        item=None,
        outcome=outcome,
        order=order,
        classes={name: np.zeros(0) for name in classes},  # coded values are used
        source_row=rows.source_row,
        names={"learner": colmap["learner"], "skill": colmap["skill"],
               "item": colmap.get("item", ""), "order": colmap["order"]},
        source="; ".join(rows.notes),
        coded=coded,
        owned=True,  # every array here was made by this call
    )


def _keep_original(rows: _Rows) -> None:
    """ASSISTments: keep rows with ``original == 1`` (scaffolding removed), as pyBKT does."""
    column = _arrow.combined(rows.table.column("original"))
    n_file = rows.table.num_rows
    flags = _arrow.values(column)
    if flags.dtype.kind in "iufb":
        mask = (flags == 1) & _arrow.valid(column)
    else:  # text: compare as pyarrow does
        import pyarrow.compute as pc

        mask = _arrow.values(pc.equal(column, 1).fill_null(False))
    rows.keep(mask)
    rows.notes.append(f"kept {rows.table.num_rows} of {n_file} rows with original == 1")


def _skill_dictionary(rows: _Rows, colmap: Mapping[str, str]) -> tuple[Any, Any, Any]:
    """(skill column as strings, its dictionary encoding, the numeric columns or None).

    On big tables the skill strings are hashed in a second thread (pyarrow releases the GIL)
    while this one codes the numeric columns; that work is kept only if the skill checks leave
    the table unchanged, and an error it raised is raised again in the usual order by coding
    them once more (``numeric`` is then None)."""
    import pyarrow as pa

    table = rows.table
    skill_col = table.column(colmap["skill"])
    if pa.types.is_dictionary(skill_col.type):  # coded while parsing (kt._sniff)
        return skill_col, _arrow.combined(skill_col), None
    if not (pa.types.is_string(skill_col.type) or pa.types.is_large_string(skill_col.type)):
        skill_col = _arrow.cast_to_string(skill_col)

    def encode():
        return _arrow.combined(_arrow.call("dictionary_encode", skill_col))

    if table.num_rows < _OVERLAP_ROWS:
        return skill_col, encode(), None
    from kt._threads import Call

    future = Call(encode, name="kt-read-log")
    try:
        numeric = _numeric_columns(table, colmap, rows.source_row)
    except Exception:
        numeric = None
    return skill_col, future.result(), numeric  # result() re-raises an encoding error


def _drop_blank_skills(rows: _Rows, colmap, skill_col, skill_enc, missing_skill: str):
    """Refuse (``missing_skill="error"``) or drop rows without a skill name. Returns the skill
    strings of the kept rows when they are needed later (rows dropped or ``~~`` cells), else
    None."""
    distinct = skill_enc.dictionary.to_pylist()
    blank = np.array([v is None or not v.strip() for v in distinct] + [True], dtype=bool)
    indices = skill_enc.indices
    has_multi = any(v is not None and MULTI_SKILL_SEPARATOR in v for v in distinct)
    if not (indices.null_count or blank[:-1].any()):
        return _strings(skill_col) if has_multi else None
    codes = np.where(_arrow.valid(indices), _arrow.values(indices), len(distinct))
    empty = blank[codes]
    n_empty = int(empty.sum())
    if not n_empty:
        return _strings(skill_col) if has_multi else None
    if missing_skill == "error":
        first = int(rows.source_row[int(np.flatnonzero(empty)[0])])
        raise LogFormatError(
            f"skill column {colmap['skill']!r} is empty at row {first} (0-based data row; "
            f"{n_empty} rows have no skill name). Give every row a skill, or pass "
            "missing_skill='drop' (CLI: --drop-missing-skills) to skip those rows."
        )
    if n_empty == len(empty):
        raise LogFormatError(f"{rows.notes[0]}: no row has a skill name in {colmap['skill']!r}")
    (skill_arr,) = rows.keep(~empty, _strings(skill_col))
    rows.notes.append(f"dropped {n_empty} rows without a skill name")
    return skill_arr


def _strings(column: Any) -> Any:
    """A string column (chunked, or read as a dictionary) as one pyarrow string Array."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = _arrow.cast_to_string(column)
    return _arrow.combined(column)


def _has_multi(skill_enc: Any) -> bool:
    return any(v is not None and MULTI_SKILL_SEPARATOR in v
               for v in skill_enc.dictionary.to_pylist())


def _check_no_empty_cells(rows: _Rows, colmap: Mapping[str, str]) -> None:
    """Refuse an empty cell in the learner, outcome, order or item column."""
    for role in ("learner", "outcome", "order", "item"):
        if role in colmap:
            arr = rows.table.column(colmap[role])
            if arr.null_count:
                first = int(rows.source_row[_arrow.first_null(arr)])
                raise LogFormatError(
                    f"column {colmap[role]!r} (for {role!r}) is empty at row {first} (0-based "
                    f"data row; {arr.null_count} empty cells). Fill or drop those rows."
                )


def _split_multi_skills(rows: _Rows, colmap, skill_arr, missing_skill: str) -> Any:
    """One row per skill of each ``~~``-joined cell; returns the new skill dictionary."""
    try:
        from pyarrow._compute import SplitPatternOptions
    except ImportError:  # pragma: no cover - pyarrow moved its private module
        from pyarrow.compute import SplitPatternOptions

    parts = _arrow.call("split_pattern", skill_arr,
                        options=SplitPatternOptions(MULTI_SKILL_SEPARATOR))
    lengths = _arrow.values(_arrow.call("list_value_length", parts))
    repeat = np.repeat(np.arange(rows.table.num_rows), lengths)
    rows.table = _arrow.call("take", rows.table, _arrow.int64_array(repeat))
    rows.source_row = rows.source_row[repeat]
    skill_arr = _arrow.call("utf8_trim_whitespace", _arrow.call("list_flatten", parts))
    blank_part = _arrow.values(_arrow.call("utf8_length", skill_arr)) == 0
    if blank_part.any():
        if missing_skill == "error":
            first = int(rows.source_row[int(np.flatnonzero(blank_part)[0])])
            raise LogFormatError(
                f"skill column {colmap['skill']!r} has an empty skill between '~~' "
                f"separators at row {first} (0-based data row); fix the cell, or pass "
                "missing_skill='drop' (CLI: --drop-missing-skills) to skip empty parts."
            )
        (skill_arr,) = rows.keep(~blank_part, skill_arr)
        rows.notes.append(f"dropped {int(blank_part.sum())} empty '~~' parts")
    rows.notes.append(f"split '~~'-joined skills into {len(repeat)} rows")
    return _arrow.call("dictionary_encode", skill_arr)


def _numeric_columns(table: Any, colmap: Mapping[str, str], source_row: Any):
    """(outcome int8, order int64, learner (codes, vocab), item (codes, vocab) or None)."""
    outcome = outcome_to_int8(
        _arrow.values(table.column(colmap["outcome"])), colmap["outcome"], source_row
    )
    order = order_to_int64(
        _arrow.values(table.column(colmap["order"])), colmap["order"], source_row
    )
    learner = _arrow.encode(_arrow.combined(table.column(colmap["learner"])))
    item = (_arrow.encode(_arrow.combined(table.column(colmap["item"])))
            if "item" in colmap else None)
    if item is not None and ITEM_STEP in colmap:
        item = _with_steps(item, table.column(colmap[ITEM_STEP]))
    return outcome, order, learner, item


def _with_steps(problem: tuple[np.ndarray, np.ndarray], step_column: Any
                ) -> tuple[np.ndarray, np.ndarray]:
    """Item codes and names of (problem, step) pairs, ``"problem / step"`` (a row without a
    step name keeps the problem alone): the KDD layout's answered unit is a step, and steps of
    one problem differ in difficulty. Codes in a sorted vocabulary, as ``_arrow.encode``."""
    codes, names = problem
    column = _arrow.combined(step_column)
    if column.null_count:  # rare: empty step cells, read as nulls
        import pyarrow as pa

        column = pa.array(["" if v is None else str(v) for v in column.to_pylist()],
                          type=pa.string())
    step_codes, step_names = _arrow.encode(column)
    key = codes.astype(np.int64) * (len(step_names) + 1) + step_codes + 1
    blank = np.flatnonzero(step_names == "")
    if len(blank):
        no_step = step_codes == blank[0]
        key[no_step] = codes[no_step].astype(np.int64) * (len(step_names) + 1)
    pairs, inverse = np.unique(key, return_inverse=True)
    width = len(step_names) + 1
    labels = [names[k // width] if k % width == 0 else f"{names[k // width]} / "
              f"{step_names[k % width - 1]}" for k in pairs.tolist()]
    return _arrow.sorted_codes(inverse.reshape(-1), np.asarray(labels, dtype=str))


def _class_codes(rows: _Rows, classes: list[str]) -> dict:
    """{"class:NAME": (codes, vocab)} of each class column; refuses an empty cell."""
    coded = {}
    for name in classes:
        arr = _arrow.combined(rows.table.column(name))
        if arr.null_count:
            first = int(rows.source_row[_arrow.first_null(arr)])
            raise LogFormatError(
                f"class column {name!r} is empty at row {first} (0-based data row; "
                f"{arr.null_count} empty cells). Fill or drop those rows."
            )
        coded[f"class:{name}"] = _arrow.encode(arr)
    return coded
