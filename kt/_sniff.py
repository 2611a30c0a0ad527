"""Which text columns of a CSV can be read straight into dictionary arrays (``kt.io``).

Coding a text column (learner, skill or item names) needs its distinct values: pyarrow's
``dictionary_encode`` after the read, which loads ``pyarrow._compute`` (~4.4 ms) and hashes
every cell again. Declared as ``dictionary<int32, string>`` up front, the CSV reader builds
the dictionaries while it parses (in its own threads) and nothing is loaded. The values stay
the same strings, so this is only done for a column pyarrow would read as strings anyway: one
whose first rows (``SNIFF_BYTES``) hold a cell that is no number, boolean, date or time (pyarrow
then infers a string column). Anything in doubt (not UTF-8, a quoted newline cut off, numeric
or date-like cells only) is left to pyarrow's inference, as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SNIFF_BYTES = 16 * 1024  # ~400 rows of a shared log; parsing them costs ~0.5 ms (64 KiB: 2.5 ms)
NULL_CELLS = ("", "NA", "NaN", "nan", "NULL", "null")
"""Cells read as missing (``kt.io``'s ``null_values``)."""

# cells pyarrow may convert to a non-string type: numbers, booleans, dates, times, timestamps
_NOT_SURELY_TEXT = re.compile(
    r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|nan)"
    r"|true|false"
    r"|\d{4}-\d{2}-\d{2}.*"
    r"|\d{1,2}:\d{2}.*",
    re.IGNORECASE,
)


def text_columns(head: bytes, delim: str, names: Sequence[str],
                 candidates: Sequence[str]) -> list[str]:
    """The ``candidates`` (column names in ``names``, the header) that are surely text in the
    file's first bytes ``head`` (header line included); see the module docstring."""
    import csv
    import io

    lines = head.split(b"\n")[1:-1]  # no header; the last line may be cut off
    if not lines or not candidates:
        return []
    try:
        rows = list(csv.reader(io.StringIO(b"\n".join(lines).decode("utf-8")),
                               delimiter=delim))
    except (UnicodeDecodeError, csv.Error):
        return []
    if len(head) >= SNIFF_BYTES:
        rows = rows[:-1]  # a quoted cell holding a newline may still be cut off
    found = []
    for name in dict.fromkeys(candidates):
        if name not in names:
            continue
        col = list(names).index(name)
        for row in rows:
            cell = row[col].rstrip("\r") if col < len(row) else ""
            if cell not in NULL_CELLS and not _NOT_SURELY_TEXT.fullmatch(cell):
                found.append(name)
                break
    return found
