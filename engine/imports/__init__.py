"""Importers that build a CompetencyGraph from standard formats (CASE 1.0, Coherence Map)."""

from engine.imports.align import attach_case_ids, ccss_code
from engine.imports.case import (
    CaseImport,
    default_case_schema_path,
    load_case_folder,
    load_case_package,
)
from engine.imports.coherence_map import load_coherence_map

__all__ = [
    "CaseImport", "attach_case_ids", "ccss_code", "default_case_schema_path",
    "load_case_folder", "load_case_package", "load_coherence_map",
]
