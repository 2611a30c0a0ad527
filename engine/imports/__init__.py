"""Importers that build a CompetencyGraph from standard formats (CASE 1.0, Coherence Map)."""

from engine.imports.case import CaseImport, default_case_schema_path, load_case_package
from engine.imports.coherence_map import load_coherence_map

__all__ = ["CaseImport", "default_case_schema_path", "load_case_package", "load_coherence_map"]
