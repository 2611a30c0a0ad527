"""Competency graph: skills with prerequisite, related and parent/child edges."""

from engine.graph.competency import CompetencyGraph, Edge, EdgeKind, Gap

__all__ = ["CompetencyGraph", "Edge", "EdgeKind", "Gap"]
