"""Per-observation prediction tables and their CSV / Parquet writer.

``prediction_table(log, prediction)`` lays a model's predictions beside the rows of the
``ObservationLog`` they were made for (sorted by learner, then order): ``learner``, ``skill``,
``item``, ``order``, ``event`` (rows of one multi-skill answer share it), ``outcome`` (0/1), the
log's class columns, ``p_correct`` (P(correct) before the answer, in [0, 1]) and, when the model
gives them, ``p_mastered`` (P(mastered) before the answer) and ``p_mastered_after`` (after the
answer and the learn/forget step). ``write_table`` writes it by file extension. pyarrow loads
inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TABLE_SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""File extensions ``write_table`` understands (lower case) and the format each means."""


def table_format(path: str | Path) -> str:
    """"csv" or "parquet" from ``path``'s extension; ``ValueError`` naming the path otherwise."""
    fmt = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{str(path)!r}: use a .csv or .parquet file name for a prediction table")
    return fmt


def prediction_table(log: Any, prediction: Any) -> Any:
    """A ``pyarrow.Table`` with one row per row of ``log`` (see the module docstring).

    ``prediction``: an object with ``p_correct`` (n,) and optionally ``p_mastered`` and
    ``p_mastered_after`` (n,) arrays in ``log``'s row order (``kt.bkt.Prediction``).
    """
    import numpy as np
    import pyarrow as pa

    columns = {
        "learner": pa.array(log.learner_ids[log.learner]),
        "skill": pa.array(log.skill_names[log.skill]),
        "item": pa.array(log.item_ids[log.item]),
        "order": pa.array(log.order),
        "event": pa.array(log.event),
        "outcome": pa.array(log.outcome),
    }
    for name, codes in log.classes.items():
        columns[name] = pa.array(log.class_vocab[name][codes])
    for name in ("p_correct", "p_mastered", "p_mastered_after"):
        values = getattr(prediction, name, None)
        if values is not None:
            values = np.asarray(values, dtype=np.float64)
            if values.shape != (len(log),):
                raise ValueError(f"prediction.{name} has shape {values.shape}; the log has "
                                 f"{len(log)} rows, predict on this log")
            columns[name] = pa.array(values)
    return pa.table(columns)


def write_table(table: Any, path: str | Path) -> None:
    """Write ``table`` as CSV or Parquet, chosen by ``path``'s extension (``table_format``)."""
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, str(path))
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, str(path))
