"""Errors of OneRoster rostering: every problem names its file, row, column and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ImportFormatError

MAX_LISTED = 25  # problems spelled out in the error message (all are in ``issues``)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem of a OneRoster set: ``file`` (``users.csv``; the REST endpoint for the REST
    consumer), ``row`` (1 = the header line, data from 2; 0 = the whole file), ``column``
    (the CSV column, '' for the row or file) and ``message`` (what is wrong and the fix)."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.message}"

    def to_record(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


class RosterFormatError(ImportFormatError):
    """A OneRoster set that breaks the 1.2 CSV binding (or the REST binding); nothing of it
    was applied. ``issues``: every problem found, in file and row order."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        shown = "; ".join(str(i) for i in self.issues[:MAX_LISTED])
        more = len(self.issues) - MAX_LISTED
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(f"OneRoster import refused, nothing was changed: {len(self.issues)} "
                         f"problem(s): {shown}{tail}")


class RosterSourceError(ImportFormatError):
    """A OneRoster source that cannot be read at all (not a folder or zip, a REST server that
    refuses the credentials or answers outside the binding)."""
