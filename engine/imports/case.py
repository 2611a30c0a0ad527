"""Import 1EdTech CASE 1.0 packages (CFPackage JSON) into a CompetencyGraph.

Mapping: each ``CFItem`` becomes a :class:`Skill` (``id`` and ``case_id`` = the
item's ``identifier``; ``code`` = ``humanCodingScheme``; ``title`` =
``abbreviatedStatement`` or the ``fullStatement`` cut to 80 characters; ``grade`` =
``educationalLevel``; ``domain`` = ``CFItemType``). Associations:
``A isChildOf B`` -> parent edge B->A; ``A precedes B`` -> prerequisite edge A->B;
``isRelatedTo`` -> related edge. Other association types (exactMatchOf,
exemplar...) are kept out of the graph, and associations whose other end is not
an item of this package (the CFDocument root, or a node in another framework)
are skipped and listed in ``CaseImport.skipped`` (``strict=True`` raises instead).

Validation: the package is checked against the official CASE 1.0 CFPackage JSON
schema when it is available (``schema=`` a path or dict; by default
``$PATHWISE_CASE_SCHEMA`` or ``<shared data>/case/case-v1p0-cfpackage-schema.json``).
When it is not, only the structural checks of this module run and
``CaseImport.schema_validated`` is False with a warning saying so. Two common
export quirks are normalised first and reported in ``warnings``: ``null`` for an
optional property (dropped) and a numeric string ``sequenceNumber`` (made an int).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.domain.skills import Skill
from engine.errors import GraphError, ImportFormatError
from engine.graph.competency import CompetencyGraph, Edge, EdgeKind
from engine.imports._paths import shared_data_dir

SCHEMA_NAME = "case-v1p0-cfpackage-schema.json"
_EDGE_TYPES = {"isChildOf": EdgeKind.PARENT, "precedes": EdgeKind.PREREQUISITE,
               "isRelatedTo": EdgeKind.RELATED}
_DEFINITION_OF = {"CFDocument": "CFPackageDocument", "CFItems": "CFPackageItem",
                  "CFAssociations": "CFPackageAssociation", "CFDefinitions": "CFDefinition",
                  "CFRubrics": "CFRubric"}


@dataclass(frozen=True, slots=True)
class CaseImport:
    """Result of importing one CASE package.

    Attributes:
        graph: the competency graph (one skill per CFItem).
        document_id, title: the CFDocument's identifier and title.
        schema_validated: True when the official JSON schema was applied.
        warnings: normalisations applied and notes (e.g. schema not available).
        skipped: associations left out of the graph, with the reason.
    """

    graph: CompetencyGraph
    document_id: str
    title: str
    schema_validated: bool
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


def default_case_schema_path() -> Path:
    """``$PATHWISE_CASE_SCHEMA`` or the schema in the shared data folder (may not exist)."""
    env = os.environ.get("PATHWISE_CASE_SCHEMA")
    return Path(env) if env else shared_data_dir() / "case" / SCHEMA_NAME


def load_case_package(source: str | Path | dict[str, Any], *,
                      schema: str | Path | dict[str, Any] | None | bool = None,
                      strict: bool = False) -> CaseImport:
    """Import a CASE 1.0 package (a path to the JSON file or the parsed dict).

    ``schema``: None = use the default schema path when the file exists (else
    structural checks only, with a warning); a path or dict = must validate
    against it (a missing path raises); False = skip schema validation.
    ``strict``: raise on associations naming nodes outside the package instead
    of skipping them. Raises :class:`ImportFormatError` naming the entry and the fix.
    """
    name, package = _read(source)
    warnings: list[str] = []
    package = _normalise(name, package, warnings)
    _check_structure(name, package)
    validated = _validate_schema(name, package, schema, warnings)
    return _build(name, package, strict, validated, warnings)


def load_case_folder(folder: str | Path, *,
                     schema: str | Path | dict[str, Any] | None | bool = None,
                     strict: bool = False) -> dict[str, CaseImport]:
    """Import every ``*.json`` CASE package in ``folder`` (the schema file itself, named
    ``*schema*.json``, is skipped); ``{file name: CaseImport}`` in name order.
    Any malformed package raises ImportFormatError naming it."""
    root = Path(folder)
    if not root.is_dir():
        raise ImportFormatError(f"CASE folder {str(root)!r} does not exist; check the path")
    if schema is None and (root / SCHEMA_NAME).is_file():
        schema = root / SCHEMA_NAME
    return {p.name: load_case_package(p, schema=schema, strict=strict)
            for p in sorted(root.glob("*.json")) if "schema" not in p.name.lower()}


def _read(source: str | Path | dict[str, Any]) -> tuple[str, Any]:
    if isinstance(source, dict):
        return "<package>", source
    path = Path(source)
    if not path.is_file():
        raise ImportFormatError(f"CASE package {str(path)!r} does not exist; check the path")
    try:
        return path.name, json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"CASE package {path.name!r} is not UTF-8 ({exc}); save it as UTF-8 JSON"
        ) from None
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"CASE package {path.name!r} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}; fix the JSON syntax there"
        ) from None


def _normalise(name: str, package: Any, warnings: list[str]) -> Any:
    if not isinstance(package, dict):
        raise ImportFormatError(
            f"CASE package {name!r} must be a JSON object with CFDocument, CFItems and "
            f"CFAssociations, got {type(package).__name__}"
        )
    package = copy.deepcopy(package)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                where = f"{path}.{key}" if path else key
                if value is None:
                    del node[key]
                    warnings.append(f"{where}: null treated as absent")
                elif key == "sequenceNumber" and isinstance(value, str) and value.isdigit():
                    node[key] = int(value)
                    warnings.append(f"{where}: string {value!r} read as integer")
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(package, "")
    return package


def _fail(name: str, where: str, problem: str, fix: str) -> ImportFormatError:
    return ImportFormatError(f"CASE package {name!r}: {where}: {problem}; {fix}")


def _check_structure(name: str, pkg: dict[str, Any]) -> None:
    doc = pkg.get("CFDocument")
    if not isinstance(doc, dict):
        raise _fail(name, "CFDocument", "missing or not an object",
                    "add the CFDocument object (identifier, uri, creator, title, ...)")
    if not isinstance(doc.get("identifier"), str) or not doc["identifier"]:
        raise _fail(name, "CFDocument.identifier", "missing", "give the document a UUID")
    for key in ("CFItems", "CFAssociations"):
        if not isinstance(pkg.get(key, []), list):
            raise _fail(name, key, "is not a list", f"make {key} a JSON array")
    seen: set[str] = set()
    for i, item in enumerate(pkg.get("CFItems", [])):
        where = f"CFItems[{i}]"
        if not isinstance(item, dict):
            raise _fail(name, where, "is not an object", "each CFItem must be a JSON object")
        ident = item.get("identifier")
        if not isinstance(ident, str) or not ident:
            raise _fail(name, f"{where}.identifier", "missing", "give every CFItem a UUID")
        if ident in seen:
            raise _fail(name, f"{where}.identifier", f"duplicate identifier {ident!r}",
                        "give every CFItem a unique identifier")
        seen.add(ident)
        if not isinstance(item.get("fullStatement"), str):
            raise _fail(name, f"{where}.fullStatement", f"missing for item {ident!r}",
                        "CASE requires a fullStatement string on every CFItem")
    for i, assoc in enumerate(pkg.get("CFAssociations", [])):
        where = f"CFAssociations[{i}]"
        if not isinstance(assoc, dict):
            raise _fail(name, where, "is not an object", "each association must be an object")
        if not isinstance(assoc.get("associationType"), str):
            raise _fail(name, f"{where}.associationType", "missing",
                        "set it to isChildOf, precedes, isRelatedTo, ...")
        for end in ("originNodeURI", "destinationNodeURI"):
            node = assoc.get(end)
            if not isinstance(node, dict) or not isinstance(node.get("identifier"), str):
                raise _fail(name, f"{where}.{end}", "missing or has no identifier",
                            "give a LinkURI object {title, identifier, uri}")


def _validate_schema(name: str, pkg: dict[str, Any],
                     schema: str | Path | dict[str, Any] | None | bool,
                     warnings: list[str]) -> bool:
    if schema is False:
        warnings.append("CASE JSON schema validation skipped (schema=False)")
        return False
    if schema is None or schema is True:
        path = default_case_schema_path()
        if not path.is_file():
            if schema is True:
                raise ImportFormatError(
                    f"the CASE 1.0 JSON schema is not at {path}; set PATHWISE_CASE_SCHEMA or "
                    f"PATHWISE_SHARED_DATA, or pass schema=<path to {SCHEMA_NAME}>"
                )
            warnings.append(
                f"CASE JSON schema not found at {path}: only structural checks were applied "
                f"(set PATHWISE_CASE_SCHEMA to {SCHEMA_NAME} for full validation)"
            )
            return False
        schema = path
    if isinstance(schema, str | Path):
        spath = Path(schema)
        if not spath.is_file():
            raise ImportFormatError(
                f"CASE JSON schema {str(spath)!r} does not exist; pass the path of {SCHEMA_NAME}"
            )
        schema = _load_schema(str(spath.resolve()))
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(pkg), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = []
        for err in errors[:5]:
            leaf = min(err.context, key=lambda e: len(e.absolute_path)) if err.context else err
            path = _path(leaf.absolute_path) or "<package>"
            definition = _DEFINITION_OF.get(str(err.absolute_path[0]) if err.absolute_path
                                            else "", "the package root")
            lines.append(f"{path}: {leaf.message[:200]} (see schema definition {definition})")
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ImportFormatError(
            f"CASE package {name!r} does not match the CASE 1.0 CFPackage schema{more}: "
            + "; ".join(lines) + " - fix these entries to match the schema"
        )
    return True


_SCHEMAS: dict[str, Any] = {}


def _load_schema(path: str) -> Any:
    if path not in _SCHEMAS:
        try:
            _SCHEMAS[path] = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"CASE JSON schema {path!r} is not valid JSON: {exc}") from None
    return _SCHEMAS[path]


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _title(item: dict[str, Any]) -> str:
    short = item.get("abbreviatedStatement")
    if isinstance(short, str) and short.strip():
        return short.strip()
    full = " ".join(str(item.get("fullStatement", "")).split())
    if not full:
        return item.get("humanCodingScheme") or item["identifier"]
    return full if len(full) <= 80 else full[:77].rstrip() + "..."


def _grade(item: dict[str, Any]) -> str:
    level = item.get("educationalLevel")
    if isinstance(level, list):
        return ",".join(str(x) for x in level)
    return str(level) if level else ""


def _build(name: str, pkg: dict[str, Any], strict: bool, validated: bool,
           warnings: list[str]) -> CaseImport:
    doc = pkg["CFDocument"]
    skills = tuple(
        Skill(
            id=item["identifier"],
            code=item.get("humanCodingScheme") or item["identifier"],
            title=_title(item),
            grade=_grade(item),
            domain=str(item.get("CFItemType") or ""),
            case_id=item["identifier"],
        )
        for item in pkg.get("CFItems", [])
    )
    ids = {s.id for s in skills}
    edges: list[Edge] = []
    skipped: list[str] = []
    for i, assoc in enumerate(pkg.get("CFAssociations", [])):
        kind = _EDGE_TYPES.get(assoc["associationType"])
        if kind is None:
            continue
        origin = assoc["originNodeURI"]["identifier"]
        dest = assoc["destinationNodeURI"]["identifier"]
        outside = [x for x in (origin, dest) if x not in ids]
        if outside:
            if kind == EdgeKind.PARENT and outside == [dest] and dest == doc["identifier"]:
                continue  # a top-level item: its parent is the document itself
            note = (f"CFAssociations[{i}] {assoc['associationType']} {origin} -> {dest}: "
                    f"{', '.join(outside)} not an item of this package")
            if strict:
                raise _fail(name, f"CFAssociations[{i}]", f"dangling reference to {outside}",
                            "add the CFItem(s) to the package or remove the association")
            skipped.append(note)
            continue
        if origin == dest:
            raise _fail(name, f"CFAssociations[{i}]", f"{origin!r} is associated with itself",
                        "remove the self-association")
        if kind == EdgeKind.PARENT:
            edges.append(Edge(dest, origin, kind))
        else:
            edges.append(Edge(origin, dest, kind))
    try:
        graph = CompetencyGraph(skills, tuple(edges), name=str(doc.get("title", "")))
    except GraphError as exc:
        raise ImportFormatError(f"CASE package {name!r}: {exc}") from None
    return CaseImport(graph, doc["identifier"], str(doc.get("title", "")), validated,
                      tuple(warnings), tuple(skipped))
