"""Argument types and shared options of kt's ``pathwise`` sub-commands (argparse only).

A bad value fails in argparse with the flag's name and what to give instead, e.g.
``argument --folds: 1 is not an integer >= 2``.
"""

from __future__ import annotations

import argparse

LOG_HELP = (
    "observation log: .csv/.tsv/.txt (comma or tab separated) or .parquet. Columns are "
    "detected for the ASSISTments layout (order_id, user_id, skill_name, correct, problem_id; "
    "rows with original != 1 dropped) and the Cognitive Tutor / KDD Cup layout (Row, Anon "
    "Student Id, KC(Default), Correct First Attempt, Problem Name + Step Name as the item, or "
    "--column item=NAME for one column; '~~'-joined skills split)"
)


def int_at_least(low: int):
    """An argparse ``type``: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is not an integer >= {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


positive_int = int_at_least(1)
"""An argparse ``type``: an integer >= 1."""


def fraction(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not a fraction in (0, 1), e.g. 0.8")
    return value


BOUND_NAMES = ("guess", "slip", "learn", "forget")
PRIOR_NAMES = ("guess", "slip", "learn", "forget", "init")


def _named_pair(text: str, names: tuple[str, ...], what: str) -> tuple[str, float, float]:
    """``NAME=A:B`` -> (NAME, A, B); ``ArgumentTypeError`` saying what to write instead."""
    name, sep, pair = text.partition("=")
    low, colon, high = pair.partition(":")
    if not sep or not colon or name.strip() not in names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write PARAM={what}, PARAM one of {', '.join(names)}, e.g. "
            f"{names[0]}={'0:0.3' if what == 'LOW:HIGH' else '2:4'}")
    try:
        a, b = float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {low!r} or {high!r} is not a number") from None
    return name.strip(), a, b


def bounds_spec(text: str):
    """An argparse ``type`` for ``--bounds``: ``none``, ``default`` or ``PARAM=LOW:HIGH``
    with 0 <= LOW <= HIGH <= 1."""
    if text in ("none", "default"):
        return text
    name, lo, hi = _named_pair(text, BOUND_NAMES, "LOW:HIGH")
    if not 0.0 <= lo <= hi <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: bounds need 0 <= LOW <= HIGH <= 1")
    return name, lo, hi


def prior_spec(text: str):
    """An argparse ``type`` for ``--prior``: ``default`` or ``PARAM=ALPHA:BETA`` (>= 1)."""
    if text == "default":
        return text
    name, a, b = _named_pair(text, PRIOR_NAMES, "ALPHA:BETA")
    if not (a >= 1.0 and b >= 1.0 and a < float("inf") and b < float("inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: Beta(ALPHA, BETA) needs finite ALPHA, BETA >= 1")
    return name, a, b


def bounds_value(specs: list):
    """``--bounds`` values as ``BKT(bounds=...)``: "default" when none are given."""
    if not specs:
        return "default"
    words = [s for s in specs if isinstance(s, str)]
    pairs = {f"p_{n}": (lo, hi) for n, lo, hi in (s for s in specs if not isinstance(s, str))}
    if len(set(words)) > 1 or (words and pairs and words[-1] == "none"):
        raise ValueError("--bounds: give 'none', 'default' or PARAM=LOW:HIGH entries, not "
                         "'none' together with others")
    return pairs or words[-1]


def prior_value(specs: list):
    """``--prior`` values as ``BKT(prior=...)``: None without the flag, True for ``default``;
    PARAM=ALPHA:BETA entries replace those parameters' default priors."""
    if not specs:
        return None
    pairs = {f"p_{n}": (a, b) for n, a, b in (s for s in specs if not isinstance(s, str))}
    if not pairs:
        return True
    from kt.bkt.bounds import DEFAULT_PRIORS

    return {**DEFAULT_PRIORS, **pairs}


def add_log_options(p: argparse.ArgumentParser, drop_option: bool = True) -> None:
    """LOG and the options that say how to read it (``kt.cli_log.read_cli_log``)."""
    p.add_argument("log", metavar="LOG", help=LOG_HELP)
    p.add_argument(
        "--preset", choices=("assistments", "kdd"), default=None,
        help="column layout of LOG (default: detected from the header)",
    )
    p.add_argument(
        "--column", action="append", default=[], metavar="ROLE=NAME",
        help="map a role (learner, skill, item, outcome, order) to a column name; repeatable, "
        "overrides the preset, e.g. --column learner=student --column order=timestamp",
    )
    if drop_option:
        p.add_argument(
            "--drop-missing-skills", action="store_true",
            help="skip rows with an empty skill cell instead of failing",
        )


def add_unknown_option(p: argparse.ArgumentParser) -> None:
    """``--unknown``: what to do with a skill or class the model was not fitted on."""
    p.add_argument(
        "--unknown", choices=("error", "prior"), default="error",
        help="a skill or item class the model was not fitted on: 'error' (default) stops "
        "with its name; 'prior' uses population-average parameters for an unknown skill and "
        "the skill's class average for an unknown class",
    )


def columns_option(specs: list[str]) -> dict[str, str] | None:
    """``--column ROLE=NAME`` values as {role: column name} (None when there are none)."""
    out = {}
    for spec in specs:
        role, sep, name = spec.partition("=")
        if not sep or not role.strip() or not name:
            raise ValueError(f"--column {spec!r} must look like ROLE=NAME, e.g. learner=student")
        out[role.strip()] = name
    return out or None
