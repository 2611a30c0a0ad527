"""Read and validate a OneRoster 1.2 CSV set (a folder or a zip) into a :class:`RosterSet`.

Every cell is checked against :mod:`engine.roster.binding`; all problems are collected and
raised together as one :class:`~engine.roster.errors.RosterFormatError` (file, row, column,
fix), so a district fixes its export in one round.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from engine.roster import binding as b
from engine.roster.errors import Issue, RosterFormatError, RosterSourceError

MAX_FILE_BYTES = 50 * 1024 * 1024  # per CSV inside a set
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_USERID = re.compile(r"^\{([^:{}]+):([^{}]+)\}$")


@dataclass(frozen=True)
class RosterSet:
    """A validated OneRoster set.

    ``modes``: file -> ``bulk`` / ``delta`` (absent files are not listed); ``records``: file ->
    sourcedId -> parsed row (``dict`` column -> value: ``str``, ``list[str]``, ``bool``,
    ``list[dict]`` for userIds, or ``None`` when blank); ``rows``: file -> sourcedId -> CSV
    line number (for messages); ``ignored_files``: files of the binding Pathwise does not use.
    """

    modes: dict[str, str]
    records: dict[str, dict[str, dict]]
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_files: tuple[str, ...] = ()
    source: str = "csv"


def read_set(source: str | Path | bytes) -> RosterSet:
    """Read a OneRoster set from a folder path, a ``.zip`` path or zip bytes."""
    return read_files(_load_files(source))


def read_files(files: dict[str, bytes], source: str = "csv") -> RosterSet:
    """Validate a set given as ``{file name: CSV bytes}`` (``manifest.csv`` included)."""
    issues: list[Issue] = []
    modes = _manifest(files, issues)
    records: dict[str, dict[str, dict]] = {}
    rows: dict[str, dict[str, int]] = {}
    for name, mode in modes.items():
        if name in b.FILES:
            records[name], rows[name] = _read_file(name, files[f"{name}.csv"], mode, issues)
    if issues:
        raise RosterFormatError(issues)
    ignored = tuple(sorted(n for n, m in modes.items() if n in b.OTHER_FILES))
    return RosterSet({k: v for k, v in modes.items() if k in b.FILES}, records, rows, ignored, source)


def _load_files(source: str | Path | bytes) -> dict[str, bytes]:
    """``{file name: bytes}`` of the CSVs at the top of the folder or zip (or in one folder)."""
    if isinstance(source, bytes):
        return _unzip(source, "the uploaded zip")
    path = Path(source)
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.glob("*.csv"))
                if p.stat().st_size <= MAX_FILE_BYTES or _too_big(p.name)}
    if path.is_file():
        return _unzip(path.read_bytes(), str(path))
    raise RosterSourceError(f"{source}: no such folder or zip file; give the folder holding "
                            "manifest.csv or a zip of it")


def _too_big(name: str) -> bool:
    raise RosterSourceError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB; split the set")


def _unzip(data: bytes, what: str) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RosterSourceError(f"{what} is not a zip file; zip the OneRoster CSV files "
                                "(manifest.csv at the top)") from None
    out = {}
    with zf:
        for info in zf.infolist():
            name = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not name.endswith(".csv") or name.startswith("."):
                continue
            if info.file_size > MAX_FILE_BYTES:
                _too_big(name)
            out[name] = zf.read(info)
    return out


def _rows(name: str, data: bytes, issues: list[Issue]) -> list[list[str]] | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.append(Issue(name, 0, "", f"is not UTF-8 (byte {exc.start}); save it as UTF-8"))
        return None
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        issues.append(Issue(name, 0, "", f"is not valid CSV ({exc}); quote fields holding commas"))
        return None


def _manifest(files: dict[str, bytes], issues: list[Issue]) -> dict[str, str]:
    """``{file: mode}`` of the non-absent files; checks versions and that listed files exist."""
    if "manifest.csv" not in files:
        raise RosterFormatError([Issue("manifest.csv", 0, "", "is missing; a OneRoster 1.2 set "
                                       "starts with manifest.csv (propertyName,value)")])
    rows = _rows("manifest.csv", files["manifest.csv"], issues) or []
    if rows and [c.strip() for c in rows[0][:2]] != ["propertyName", "value"]:
        issues.append(Issue("manifest.csv", 1, "", f"header is {rows[0]}; use propertyName,value"))
    props: dict[str, tuple[str, int]] = {}
    for i, row in enumerate(rows[1:], start=2):
        if len(row) < 2 or not row[0].strip():
            continue
        props[row[0].strip()] = (row[1].strip(), i)
    for key, want in (("manifest.version", b.MANIFEST_VERSION), ("oneroster.version", b.ONEROSTER_VERSION)):
        got, line = props.get(key, ("", 0))
        if got != want:
            issues.append(Issue("manifest.csv", line, "value",
                                f"{key} is {got!r}; this importer reads OneRoster {b.ONEROSTER_VERSION} "
                                f"CSV ({key} = {want})"))
    modes: dict[str, str] = {}
    for name in (*b.FILES, *b.OTHER_FILES):
        mode, line = props.get(f"file.{name}", ("absent", 0))
        if mode not in b.MODES:
            issues.append(Issue("manifest.csv", line, "value",
                                f"file.{name} is {mode!r}; use one of {', '.join(b.MODES)}"))
            continue
        present = f"{name}.csv" in files
        if mode != "absent" and not present:
            issues.append(Issue(f"{name}.csv", 0, "", f"is missing but manifest.csv lists "
                                f"file.{name} as {mode}; add the file or set it to absent"))
        elif mode == "absent" and present:
            issues.append(Issue("manifest.csv", line, "value",
                                f"{name}.csv is in the set but file.{name} is absent; set it to "
                                "bulk or delta, or remove the file"))
        elif mode != "absent":
            modes[name] = mode
    return modes


def _read_file(name: str, data: bytes, mode: str, issues: list[Issue]) -> tuple[dict, dict]:
    fname = f"{name}.csv"
    rows = _rows(fname, data, issues)
    if not rows:
        if rows is not None:
            issues.append(Issue(fname, 1, "", f"has no header; start it with {','.join(b.columns(name))}"))
        return {}, {}
    want = b.columns(name)
    header = [h.strip() for h in rows[0]]
    extra = header[len(want):]
    if header[: len(want)] != list(want) or any(not h.startswith("metadata.") for h in extra):
        issues.append(Issue(fname, 1, "", f"header is {','.join(header)}; the 1.2 binding needs "
                            f"{','.join(want)} in this order (extension columns after them, "
                            "named metadata.<name>)"))
        return {}, {}
    specs = b.HEAD + b.FILES[name]
    records: dict[str, dict] = {}
    lines: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            issues.append(Issue(fname, line, "", f"has {len(row)} fields, the header {len(header)}; "
                                "quote fields that hold commas"))
            continue
        rec = {}
        for (col, kind, required), raw in zip(specs, row, strict=False):
            rec[col] = _cell(fname, line, col, kind, required, raw.strip(), mode, issues)
        sid = rec["sourcedId"]
        if sid in records:
            issues.append(Issue(fname, line, "sourcedId", f"{sid!r} repeats row {lines[sid]}; "
                                "give each record one row"))
            continue
        if sid:
            records[sid], lines[sid] = rec, line
    return records, lines


def _parses(parse, raw: str) -> bool:
    try:
        parse(raw)
    except ValueError:
        return False
    return True


def _cell(fname: str, line: int, col: str, kind: str, required: bool, raw: str, mode: str,
          issues: list[Issue]):
    """The parsed value of one cell (None when blank); appends an :class:`Issue` when bad."""
    def bad(msg: str):
        issues.append(Issue(fname, line, col, msg))

    if col in ("status", "dateLastModified"):
        if mode == "delta" and not raw:
            return bad(f"is blank; a delta file needs {col} on every row "
                       f"({'active or tobedeleted' if col == 'status' else 'e.g. 2026-09-01T00:00:00.000Z'})")
        if mode == "bulk" and col == "status" and raw and raw != "active":
            return bad(f"is {raw!r} in a bulk file; leave status blank in bulk files (a bulk file "
                       "lists only live records) or mark the file delta")
    if not raw:
        if required:
            bad("is blank; it is required by the OneRoster 1.2 CSV binding")
        return [] if kind in ("ids", "texts", "grades", "userids") else None
    if kind.startswith("enum:"):
        allowed = b.ENUMS[kind[5:]]
        if raw not in allowed and not raw.startswith("ext:"):
            return bad(f"{raw!r} is not allowed; use one of {', '.join(allowed)} (or ext:<name>)")
        return raw
    if kind == "date" and not (_DATE.match(raw) and _parses(date.fromisoformat, raw)):
        return bad(f"{raw!r} is not a date; use YYYY-MM-DD")
    if kind == "datetime" and not (_DATETIME.match(raw) and _parses(datetime.fromisoformat, raw[:19])):
        return bad(f"{raw!r} is not a UTC date-time; use YYYY-MM-DDTHH:MM:SS.sssZ")
    if kind == "year" and not (raw.isdigit() and len(raw) == 4):
        return bad(f"{raw!r} is not a year; use YYYY")
    if kind == "bool":
        if raw not in ("true", "false"):
            return bad(f"{raw!r} is not a boolean; use true or false")
        return raw == "true"
    if kind in ("ids", "texts", "grades"):
        items = [p.strip() for p in raw.split(",") if p.strip()]
        if kind == "grades":
            wrong = [g for g in items if g not in b.GRADES and not g.startswith("ext:")]
            if wrong:
                return bad(f"grade(s) {wrong} are not CEDS grade codes; use {', '.join(b.GRADES)}")
        return items
    if kind == "userids":
        out = []
        for part in re.findall(r"\{[^{}]*\}|[^,{}\s][^,]*", raw):
            m = _USERID.match(part.strip())
            if not m:
                return bad(f"{part!r} is not a user id; write each as {{type:identifier}}, "
                           "comma-separated")
            out.append({"type": m.group(1).strip(), "identifier": m.group(2).strip()})
        return out
    return raw
