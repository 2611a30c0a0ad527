"""Reading a log for kt's ``pathwise`` commands: one layout detection, one set of flags.

``fit``, ``predict``, ``evaluate`` and ``replay`` all read LOG with :func:`read_cli_log`:
``kt.io.read_log`` with the layout detected from the header unless ``--preset`` names one,
and ``--column ROLE=NAME`` overriding single roles. The readers' errors
(``kt.errors.LogFormatError``) name the Python arguments (``columns={...}``,
``missing_skill='drop'``); :func:`cli_message` rewrites them in the command line's terms
(``--column ROLE=NAME``, ``--drop-missing-skills``, ``--preset``), keeping the column, the
row and the value they name. Only argparse-free stdlib is imported at module level.
"""

from __future__ import annotations

import re
from typing import Any

# (pattern, replacement) applied in order to a reader error shown on the command line.
# (compiled on the first error: ~0.7 ms that a run without an error does not pay)
_REWRITE_SOURCES: tuple[tuple[str, str], ...] = (
        # no column for a role (kt._presets.resolve)
        (r"pass preset='assistments' or 'kdd', or columns=\{'(\w+)': '<column name>', \.\.\.\} "
         r"\(CLI: --preset, --column \w+=NAME; columns present: (.*?)\)\.",
         r"pass --preset assistments or --preset kdd, or --column \1=NAME (columns present: "
         r"\2)."),
        # a preset's column is missing (kt._presets.check_present)
        (r"Rename it or pass columns=\{'(\w+)': '<column name>'\} \(CLI: --column \w+=NAME\)\.",
         r"Rename it or pass --column \1=NAME with the column that holds it."),
        (r"Drop it from classes= or use a column that exists\.",
         "Pass a column that exists to --multigs / --multilearn / --multipair."),
        (r"column map has unknown role\(s\) (.*?); roles are (.*?) "
         r"\(extra categorical columns go in classes=\[\.\.\.\]\)",
         r"--column: unknown role(s) \1; roles are \2 (class columns go in --multigs / "
         r"--multilearn / --multipair)"),
        (r"read it with that delimiter \(e\.g\. pyarrow\.csv\.ParseOptions\(delimiter=\.\.\.\)\) "
         r"or save it as a comma-separated file\.",
         "save it as a comma-separated (.csv) or tab-separated (.tsv) file."),
        # empty skill cells (kt._table, kt.log)
        (r"pass missing_skill='drop' \(CLI: --drop-missing-skills\)", "pass --drop-missing-skills"),
        (r"\(kt\.io\.read_log\(\.\.\., missing_skill='drop'\)\)", "(--drop-missing-skills)"),
        # outcome / order values (kt._columns)
        (r"point the 'outcome' column map at the right column\.",
         "pass --column outcome=NAME with the right column."),
        (r"map 'order' to an integer column such as order_id / Row\.",
         "pass --column order=NAME with an integer column such as order_id / Row."),
        (r"Map 'order' to an integer column \(e\.g\. order_id or Row\)",
         "Pass --column order=NAME with an integer column (e.g. order_id or Row)"),
        # repeated order key (kt.log)
        (r"\(columns=\{'order': '<column>'\}; CLI: --column order=NAME\)",
         "(--column order=NAME)"),
        # a skill or class the model was not fitted on (kt.bkt predict)
        (r"pass unknown='prior'", "pass --unknown prior"),
        # an empty cell in a mapped column (kt._table)
        (r"column '([^']*)' \(for '(\w+)'\) is empty at row (\d+) (\(0-based data row; \d+ "
         r"empty cells\))\. Fill or drop those rows\.",
         r"column '\1' (for '\2') is empty at row \3 \4. Fill or drop those rows, or pass "
         r"--column \2=NAME with a column that has no empty cells."),
)
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] | None = None


def cli_message(text: str) -> str:
    """A reader error (``LogFormatError``) in the command line's terms (module docstring)."""
    global _REWRITES
    if _REWRITES is None:
        _REWRITES = tuple((re.compile(p), r) for p, r in _REWRITE_SOURCES)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def scoring(call, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` (a model's predict / evaluate) with its ``UnknownSkillError``
    re-worded for the command line (``--unknown prior``)."""
    from kt.errors import UnknownSkillError

    try:
        return call(*args, **kwargs)
    except UnknownSkillError as exc:
        raise UnknownSkillError(cli_message(str(exc))) from None


def read_cli_log(args: Any, classes: list[str] | tuple[str, ...] = (),
                 missing_skill: str | None = None) -> Any:
    """``args.log`` read with ``args.preset`` / ``args.column`` (and ``classes``, the class
    columns a model needs); ``missing_skill`` defaults to ``--drop-missing-skills``'s choice.
    Reader errors are re-raised with :func:`cli_message`."""
    from kt.cli_args import columns_option
    from kt.errors import LogFormatError
    from kt.io import read_log

    if missing_skill is None:
        missing_skill = "drop" if getattr(args, "drop_missing_skills", False) else "error"
    try:
        return read_log(
            args.log, preset=args.preset, columns=columns_option(args.column),
            classes=[c for c in dict.fromkeys(classes) if c], missing_skill=missing_skill,
        )
    except LogFormatError as exc:
        raise LogFormatError(cli_message(str(exc))) from None
