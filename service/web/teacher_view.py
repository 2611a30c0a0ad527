"""What the teacher templates need beyond a use case's result: plain words
(:class:`~service.web.teacher_words.TeacherWords` as ``tw``), heatmap cells as compact tuples,
"who needs me" reasons in words and growth lines as inline SVG points (the student page's
:func:`service.web.student.sparkline`)."""

from __future__ import annotations

from typing import Any

from service.web.student import sparkline
from service.web.teacher_words import LEVELS, TeacherWords

__all__ = ["TeacherWords", "class_extras", "install", "learner_extras"]

NEED_TITLES = {
    "struggling": ("Struggling", "Recent wrong answers or mastery falling."),
    "stalled": ("Stalled", "No progress over their last sessions."),
    "ready": ("Ready to move on", "Mastered the skill they were working on."),
    "not_started": ("Not started", "No answers yet."),
}


def install(env) -> None:
    """Template globals of the teacher pages; block tags leave no blank lines (page weight)."""
    env.globals.update(LEVELS=LEVELS, NEED_TITLES=NEED_TITLES)
    env.trim_blocks = True
    env.lstrip_blocks = True


def class_extras(data: dict[str, Any]) -> dict[str, Any]:
    """``tw``; ``heat``: per learner (id, name, [(css, symbol, words)], mastered count, when
    last practised, growth line points and words);
    ``needs``: per category the entries with ``words``; ``group_skill``: per category the skill
    most of its learners share (the group form's default)."""
    heat = data["heatmap"]
    tw = TeacherWords(heat["threshold"])
    rows = []
    for r in heat["rows"]:
        cells = []
        mastered = 0
        last = max((c["at"] for c in r["cells"] if c["at"]), default=None)
        for c in r["cells"]:
            css, sym, _words = tw.level(c["p"], c["n"])
            mastered += css == "h4"
            cells.append((css, sym, tw.cell(c["p"], c["n"], c["at"])))
        line = r["growth"]
        rows.append({"id": r["learner_id"], "name": r["name"], "cells": cells, "mastered": mastered,
                     "last": f"last practised {tw.ago(last)}" if last else "not started",
                     "svg": _points(line, 96, 24) if len(line) > 1 else None,
                     "growth": _growth_words(tw, line)})
    needs = {k: [dict(x, words=tw.need(x)) for x in v] for k, v in data["needs"].items()}
    group_skill = {}
    for k, v in needs.items():
        ids = [x.get("next_skill_id") if k == "ready" else x.get("skill_id") for x in v]
        ids = [i for i in ids if i]
        group_skill[k] = max(set(ids), key=ids.count) if ids else None
    return {"tw": tw, "heat": rows, "needs": needs, "group_skill": group_skill}


def learner_extras(data: dict[str, Any]) -> dict[str, Any]:
    """``tw``, ``growth`` (per skill: title, first/last in words, svg) and ``profile_rows``:
    (field, {value, set_by, set_at}) of the profile fields not shown as the student's and
    family's words, without the learned pick counts."""
    tw = TeacherWords(data["threshold"])
    growth = [{"title": g["title"], "code": g["code"], "svg": sparkline(g["points"], width=120, height=32),
               "words": f"from {tw.chance(g['first'])} to {tw.chance(g['last'])}, last {tw.ago(g['last_at'])}"}
              for g in data.get("growth", [])]
    shown = {f["field"] for f in data.get("voice", {}).get("story", [])}
    rows = []
    for name, f in data["profile"]["fields"].items():
        if name in shown:  # under "What they and their family wrote", with who and when
            continue
        if name == "choices":  # the learned pick counts ("pick:<tag>") are the engine's, not words
            f = {**f, "value": [v for v in f["value"] if not str(v[0] if isinstance(v, list | tuple) else v)
                                .startswith("pick:")]}
        rows.append((name, f))
    return {"tw": tw, "growth": growth, "profile_rows": rows}


def _growth_words(tw: TeacherWords, line: list[dict]) -> str:
    if not line:
        return "no answers yet"
    if len(line) == 1:
        return f"one session so far: {tw.chance(line[0]['p'])} of the grade's skills"
    a, b = line[0]["p"], line[-1]["p"]
    return (f"average mastery of the grade's skills from {tw.chance(a)} to {tw.chance(b)} "
            f"over their last {len(line)} sessions")


def _points(line: list[dict], width: int, height: int) -> str:
    """SVG polyline points (whole pixels: the class page carries one per learner) of a
    growth line ``[{at, p}]`` spaced by index, p in [0, 1] upward."""
    n, pad = len(line), 2
    return " ".join(f"{pad + (width - 2 * pad) * i // max(1, n - 1)},"
                    f"{round(pad + (height - 2 * pad) * (1 - max(0.0, min(1.0, float(x['p'])))))}"
                    for i, x in enumerate(line))
