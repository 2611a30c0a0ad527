"""Regenerate the bundled demo school in ``data/demo_school/`` deterministically.

    python -m engine.demo.generate [--out DIR] [--seed N] [--coherence-map PATH]

The competency graph comes from the Coherence Map (``--coherence-map``, default
the shared data folder) restricted to grades 3-8, with our own short titles;
when that file is absent the committed ``graph.json`` is reused, so everything
else regenerates without ``../shared``. Same seed -> byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20260908
GRADES = ("3", "4", "5", "6", "7", "8")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / "data" / "demo_school"
TENANT_ID = "demo"
SCHOOL_NAME = "Pathwise Demo Middle School"
GRAPH_CREDIT = (
    "Codes and prerequisite/related edges: Coherence Map, Student Achievement Partners "
    "(achievethecore.org, CC0). Titles written for Pathwise; standards text not included."
)
FILES = ("graph.json", "catalog.json", "school.json", "learners.json", "bkt_params.json",
         "evidence.csv")


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build_graph(coherence_map: str | Path | None = None, fallback: Path | None = None):
    """The grades 3-8 graph from the Coherence Map, or from ``fallback`` graph.json."""
    from engine.demo.titles import TITLES
    from engine.imports.coherence_map import default_coherence_map_path, load_coherence_map

    path = Path(coherence_map) if coherence_map is not None else default_coherence_map_path()
    if path.is_file():
        graph = load_coherence_map(path, titles=TITLES, grades=GRADES)
        from dataclasses import replace
        return replace(graph, name="Common Core math grades 3-8"), f"Coherence Map {path}"
    if coherence_map is not None:
        from engine.errors import ImportFormatError
        raise ImportFormatError(f"Coherence Map file {str(path)!r} not found; check the path")
    fb = fallback or DEFAULT_DIR / "graph.json"
    if not fb.is_file():
        from engine.errors import NotFoundError
        raise NotFoundError(
            f"neither the Coherence Map ({path}) nor a committed graph ({fb}) exists; "
            "pass --coherence-map PATH or set PATHWISE_SHARED_DATA"
        )
    from engine.demo.loader import read_graph
    return read_graph(fb), f"committed {fb}"


def generate(out_dir: str | Path = DEFAULT_DIR, *, seed: int = DEFAULT_SEED,
             coherence_map: str | Path | None = None, progress: bool = False) -> dict[str, int]:
    """Write the demo school files into ``out_dir``; returns counts per kind."""
    import numpy as np
    from tqdm import tqdm

    from engine.demo.catalog import build_catalog
    from engine.demo.school import add_diagnostics, build_school
    from engine.demo.simulate import (
        CSV_COLUMNS,
        initial_knowledge,
        simulate,
        skill_params,
    )
    from engine.domain.serialize import to_record

    out = Path(out_dir)
    graph, source = build_graph(coherence_map)
    rng = [np.random.default_rng([seed, k]) for k in range(7)]
    catalog = build_catalog(graph, rng[0], rng[6])
    teachers, learners, classes, traits = build_school(graph, rng[1])
    params = skill_params(graph, rng[2])
    known = initial_knowledge(graph, learners, {k: t.ability for k, t in traits.items()}, rng[3])
    learners = add_diagnostics(graph, learners, known, rng[4])
    bar = tqdm(total=len(classes), desc="simulating evidence", unit="class", disable=not progress)
    rows = simulate(graph, catalog, learners, classes, params, known,
                    {k: t.learn_rate for k, t in traits.items()}, rng[5], bar)
    bar.close()
    n_learners = len(learners)
    p_init = {s.id: round(sum(s.id in known[lr.id] for lr in learners) / n_learners, 3)
              for s in graph.skills}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    texts = {
        "graph.json": _dump({"credit": GRAPH_CREDIT, "graph": to_record(graph)}),
        "catalog.json": _dump(to_record(catalog)),
        "school.json": _dump({"tenant_id": TENANT_ID, "name": SCHOOL_NAME,
                              "teachers": to_record(teachers), "classes": to_record(classes)}),
        "learners.json": _dump(to_record(learners)),
        "bkt_params.json": _dump({
            "note": "generating parameters of the synthetic evidence (p_init = share of "
                    "demo learners knowing the skill at the start of term)",
            "seed": seed,
            "skills": {k: {"p_init": p_init[k], "p_learn": v.p_learn, "p_guess": v.p_guess,
                           "p_slip": v.p_slip, "p_forget": v.p_forget}
                       for k, v in params.items()},
        }),
        "evidence.csv": buf.getvalue(),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    return {"skills": len(graph), "activities": len(catalog), "learners": n_learners,
            "classes": len(classes), "teachers": len(teachers), "observations": len(rows),
            "graph_source": source}  # type: ignore[dict-item]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.demo.generate",
        description="Regenerate the demo school (graph, catalog, classes, learners, evidence) "
                    "deterministically.")
    parser.add_argument("--out", default=str(DEFAULT_DIR),
                        help=f"output folder (default: {DEFAULT_DIR})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default: {DEFAULT_SEED})")
    parser.add_argument("--coherence-map", default=None,
                        help="path to the Coherence Map data.js (default: the shared data "
                             "folder; when absent the committed graph.json is reused)")
    args = parser.parse_args(argv)
    counts = generate(args.out, seed=args.seed, coherence_map=args.coherence_map, progress=True)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
