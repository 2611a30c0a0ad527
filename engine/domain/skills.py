"""Skills: the nodes of the competency graph (one standard or learning target each)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain import _checks as c
from engine.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Skill:
    """One skill of a competency graph.

    Attributes:
        id: stable identifier, unique within a graph (e.g. ``"3.OA.A.1"``).
        code: human coding scheme (e.g. the standard code ``"3.OA.A.1"``).
        title: short title (a few words; never the full standard text).
        grade: grade level as text (``"K"``, ``"3"``, ``"HS"``...), may be ``""`` when unknown.
        domain: domain or strand name (may be ``""``).
        case_id: the CASE ``CFItem.identifier`` (a UUID) when imported from CASE.
    """

    id: str
    code: str
    title: str
    grade: str = ""
    domain: str = ""
    case_id: str | None = None

    def __post_init__(self) -> None:
        c.text("Skill", "id", self.id)
        if ";" in self.id or self.id != self.id.strip():
            raise ValidationError(
                f"Skill.id={self.id!r} contains ';' or surrounding spaces; ';' separates "
                "skill ids in evidence files - use an id without it"
            )
        c.text("Skill", "code", self.code)
        c.text("Skill", "title", self.title)
        c.text("Skill", "grade", self.grade, allow_empty=True)
        c.text("Skill", "domain", self.domain, allow_empty=True)
        c.optional_text("Skill", "case_id", self.case_id)
