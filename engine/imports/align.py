"""Align a CASE framework with a code-keyed graph (e.g. the Coherence Map).

CASE packages of the Common Core write codes like ``CCSS.Math.Content.6.RP.A.3a``
or ``CCSS.Math.Content.HSA-SSE.A.1a``; the Coherence Map graph uses ``6.RP.A.3.a`` /
``HSA-SSE.A.1.a``. :func:`ccss_code` converts the former to the latter and
:func:`attach_case_ids` copies each matching CFItem identifier into ``Skill.case_id``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.graph.competency import CompetencyGraph
from engine.imports.case import CaseImport

_PREFIX = re.compile(r"^(?:CCSS\.)?(?:Math\.)?(?:Content\.)?", re.IGNORECASE)
_TAIL = re.compile(r"^(?P<head>.*\.\d+)(?P<letter>[a-z])$")


_CCSS = re.compile(
    r"^(?:(?:K|[1-8])\.[A-Z]{1,3}|HS[NAFGS]-[A-Z]{1,4})(?:\.[A-Z](?:\.\d{1,2}(?:\.?[a-z])?)?)?$"
)


def ccss_code(human_code: str) -> str | None:
    """``"CCSS.Math.Content.6.RP.A.3a"`` -> ``"6.RP.A.3.a"``; None when not a CCSS math code."""
    code = _PREFIX.sub("", human_code.strip())
    if not _CCSS.match(code):
        return None
    m = _TAIL.match(code)
    return f"{m['head']}.{m['letter']}" if m else code


def attach_case_ids(graph: CompetencyGraph, case: CaseImport) -> tuple[CompetencyGraph, int]:
    """A copy of ``graph`` whose skills matching a CASE item's code get its identifier as
    ``case_id``; returns ``(graph, number of skills linked)``. Edges are unchanged."""
    by_code: dict[str, str] = {}
    for s in case.graph.skills:
        code = ccss_code(s.code)
        if code is not None:
            by_code.setdefault(code, s.case_id or s.id)
    linked = 0
    skills = []
    for s in graph.skills:
        cid = by_code.get(s.code)
        if cid is not None and s.case_id != cid:
            s = replace(s, case_id=cid)
            linked += 1
        skills.append(s)
    return CompetencyGraph(tuple(skills), graph.edges, graph.name), linked
