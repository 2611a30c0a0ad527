"""Column layouts of observation logs: presets, header reading and role -> column resolution.

Used by :func:`kt.io.read_log`. ``PRESETS`` holds the two public layouts (see ``kt.io``);
``resolve`` picks a preset from a header (or takes the caller's column map) and
``check_present`` names a missing column and the flag or argument that fixes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kt.errors import LogFormatError

ROLES = ("learner", "skill", "item", "outcome", "order")
ITEM_STEP = "item_step"
"""Not a role of its own: in the KDD layout the item is the step of a problem, coded from the
problem column (role ``item``) and this one together (``Step Name``). A ``columns`` entry for
``item`` replaces both."""
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
        "item_step": "Step Name",
        "filter_original": False,
        "copies_by_item": False,
    },
}



def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def header(path: Path) -> list[str]:
    if not path.exists():
        raise LogFormatError(f"log file {str(path)!r} does not exist; check the path")
    if is_parquet(path):
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
    delim = delimiter(text)
    import csv

    return [c.strip() for c in next(csv.reader([text], delimiter=delim))]


def delimiter(header_line: str) -> str:
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


def resolve(
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
        step = spec.get("item_step")
        if "item" in colmap and step in present:  # KDD layout: the item answered is a step
            colmap[ITEM_STEP] = step
    filter_original = bool(spec.get("filter_original")) and "original" in present
    return colmap, filter_original, label, bool(spec.get("copies_by_item", True))


def check_present(
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
