"""Column conversion and validation for building an ``ObservationLog`` (``kt.log``, ``kt.io``).

Outcomes, scores, order keys and labels arrive as lists, numpy or pyarrow arrays of many
dtypes; these helpers turn them into the log's typed columns or raise a
:class:`~kt.errors.LogFormatError` naming the column, the (0-based data) row and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kt.errors import LogFormatError


class IdentityRows:
    """Source row numbers 0..n-1 before any row is dropped, without an (n,) array.

    Indexing like ``np.arange(n)``: an int gives that int; a boolean mask or an index array
    gives the int64 array of selected row numbers (a real array from then on).
    """

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            return int(np.arange(self.n)[key]) if key < 0 else int(key)
        key = np.asarray(key)
        if key.dtype.kind == "b":
            return np.flatnonzero(key).astype(np.int64)
        return np.arange(self.n, dtype=np.int64)[key]


def row_hint(source_row: np.ndarray, i: int) -> str:
    return f"row {int(source_row[i])} (0-based, counting data rows after the header)"


def outcome_to_int8(
    values: np.ndarray, column: str, source_row: np.ndarray | None = None
) -> np.ndarray:
    """Check outcomes are in {0, 1, -1} (integral; floats like 1.0 allowed); return int8."""
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return values.astype(np.int8)
    if values.dtype.kind not in "iuf":
        values = _as_float64(
            values, "outcome", column, source_row,
            "; outcomes must be 1 (correct), 0 (incorrect) or -1 (no response). Map the column "
            "to 0/1 first or choose the right column.")
    if values.dtype.kind in "iu" and len(values) and -1 <= values.min() and values.max() <= 1:
        return values.astype(np.int8)  # integers in [-1, 1]: valid, no per-row masks needed
    ok = (values == 0) | (values == 1) | (values == -1)
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        where = _source_index(source_row, bad)
        raise LogFormatError(
            f"outcome column {column!r} holds {_py(values[bad])!r} at row {where} (0-based data row); "
            "outcomes must be 1 (correct), 0 (incorrect) or -1 (no response, skipped). "
            "Fix or drop that row, or point the 'outcome' column map at the right column."
        )
    return values.astype(np.int8)


def score_to_float64(values: Any, column: str = "score") -> np.ndarray:
    """Scores as a float64 array; every value must be a finite number in [0, 1]."""
    try:
        out = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise LogFormatError(
            f"score column {column!r} is not numeric; scores are floats in [0, 1] "
            "(1 correct, 0 incorrect, in between partial credit)"
        ) from None
    ok = (out >= 0.0) & (out <= 1.0)  # False for NaN
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise LogFormatError(
            f"score column {column!r} holds {_py(out[bad])!r} at row {bad} (0-based); scores "
            "must be numbers in [0, 1] (1 correct, 0 incorrect, in between partial credit)"
        )
    return out


def check_score_outcome(score: np.ndarray, outcome: np.ndarray) -> None:
    """Each answered row's outcome (not -1) must be its score rounded at 0.5."""
    bad = (outcome != -1) & (outcome != (score >= 0.5))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LogFormatError(
            f"row {i} (0-based) has outcome {int(outcome[i])} but score {float(score[i])!r}; "
            "with a score column the outcome must be the score rounded at 0.5 (score >= 0.5): "
            "omit 'outcome' to derive it"
        )


def _source_index(source_row: np.ndarray | None, i: int) -> int:
    """0-based data row of the file for array position ``i`` (``i`` itself without a map)."""
    return i if source_row is None else int(source_row[i])


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for readable error messages)."""
    return value.item() if hasattr(value, "item") else value


def _as_float64(values: np.ndarray, role: str, column: str, source_row: np.ndarray | None,
                fix: str) -> np.ndarray:
    """``values`` as float64, else a LogFormatError naming the ``role`` column, the first
    non-numeric row (in the source file's numbering) and ``fix``."""
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        bad = _first_non_numeric(values)
        where = _source_index(source_row, bad)
        raise LogFormatError(
            f"{role} column {column!r} is not numeric: row {where} (0-based data row) holds "
            f"{_py(values[bad])!r}{fix}"
        ) from None


def _first_non_numeric(values: np.ndarray) -> int:
    for i, v in enumerate(values.tolist()):
        try:
            float(v)
        except (TypeError, ValueError):
            return i
    return 0


def order_to_int64(values: Any, column: str, source_row: np.ndarray | None = None) -> np.ndarray:
    """Order keys as int64: ints, integral floats or datetimes (ns); anything else raises."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind in "iub":
        return values.astype(np.int64)
    if kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    if kind == "f":
        bad_mask = ~np.isfinite(values) | (values != np.floor(values))
        if bad_mask.any():
            bad = int(np.flatnonzero(bad_mask)[0])
            where = _source_index(source_row, bad)
            raise LogFormatError(
                f"order column {column!r} holds {_py(values[bad])!r} at row {where} (0-based data "
                "row); order keys must be whole numbers (or timestamps). Fill missing keys or "
                "map 'order' to an integer column such as order_id / Row."
            )
        return values.astype(np.int64)
    out = _as_float64(
        values, "order", column, source_row,
        ". Map 'order' to an integer column (e.g. order_id or Row) or convert timestamps to "
        "numbers first.")
    return order_to_int64(out, column, source_row)


def code_labels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense int32 codes into a sorted vocabulary of str (ints sorted numerically)."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.all(values == np.floor(values)):
        values = values.astype(np.int64)  # e.g. 1.0 -> "1"
    if values.dtype.kind == "O":
        values = values.astype(str)
    vocab, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int32, copy=False).reshape(-1), vocab.astype(str)


def missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "UO":
        as_str = values.astype(str)
        return (as_str == "") | (as_str == "nan") | (as_str == "None")
    return np.zeros(len(values), dtype=bool)
