"""Building an :class:`~kt.log.ObservationLog` from columns: validate, code, sort, events.

``build_log`` is shared by ``ObservationLog.from_arrays`` and ``kt.io.read_log``; the sort and
the event ids are one compiled pass (``kt._kernels.sort_events``, through ``kt._aot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from kt._columns import code_labels, missing_mask, row_hint
from kt.errors import LogFormatError

if TYPE_CHECKING:  # pragma: no cover
    from kt.log import ObservationLog


def build_log(
    *,
    learner: np.ndarray,
    skill: np.ndarray,
    item: np.ndarray | None,
    outcome: np.ndarray,
    order: np.ndarray,
    classes: Mapping[str, np.ndarray],
    source_row: np.ndarray,
    names: Mapping[str, str],
    source: str,
    coded: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    owned: bool = False,
    score: np.ndarray | None = None,
) -> ObservationLog:
    """Validate, code, sort and assign events. ``outcome`` is int8 in {0, 1, -1}; ``score``
    (optional) float64 (n,) in [0, 1], rows aligned with ``outcome``.

    ``coded`` may carry already coded columns (``name -> (codes, vocab)``) for speed; the
    raw array for such a column is then ignored. ``owned=True`` hands ``outcome``, ``order``
    and the coded arrays over: they are reordered in place and end up in the log (saves
    copying; pass only arrays nobody else holds).
    """
    coded = dict(coded or {})
    if "skill" not in coded:
        _check_skill_names(skill, names, source_row)
    raw = {"learner": learner, "skill": skill, "item": item,
           **{f"class:{k}": v for k, v in classes.items()}}
    keep = outcome != -1
    n_skipped = int(len(outcome) - keep.sum())
    if n_skipped:
        raw = {k: (v if (v is None or k in coded) else v[keep]) for k, v in raw.items()}
        coded = {k: (c[keep], v) for k, (c, v) in coded.items()}
        outcome, order, source_row = outcome[keep], order[keep], source_row[keep]
        score = None if score is None else score[keep]
        source = f"{source}; {n_skipped} no-response rows (outcome -1) skipped"
    if len(outcome) == 0:
        raise LogFormatError(
            "the log has no observations (no rows, or every outcome was -1); "
            "pass a log with at least one answered row"
        )
    has_item = raw["item"] is not None or "item" in coded
    if not has_item:
        coded["item"] = (np.zeros(len(outcome), dtype=np.int32), np.array([""]))
    cols = {k: coded[k] if k in coded else code_labels(v) for k, v in raw.items()}
    return _sorted_log(cols, outcome, order, score, source_row, names, source, owned, has_item)


def _check_skill_names(skill: np.ndarray, names: Mapping[str, str], source_row) -> None:
    miss = missing_mask(skill)
    if miss.any():
        bad = int(np.flatnonzero(miss)[0])
        raise LogFormatError(
            f"skill column {names['skill']!r} is empty at {row_hint(source_row, bad)} "
            f"({int(miss.sum())} rows without a skill name); give every row a skill, or drop "
            "those rows (kt.io.read_log(..., missing_skill='drop'))."
        )


def _sorted_log(cols: dict, outcome, order, score, source_row, names, source: str,
                owned: bool, has_item: bool) -> ObservationLog:
    """Stable sort by learner, then order; event ids; the repeated-key check (one compiled
    pass); ``cols``: name -> (codes, vocab) for learner, skill, item and ``class:NAME``."""
    from kt._aot import kernels
    from kt.log import ObservationLog

    (learner_c, learner_ids), (skill_c, skill_names) = cols["learner"], cols["skill"]
    item_c, item_ids = cols["item"]
    # The kernel reorders its arguments in place: copy them unless the caller handed them over.
    learner_c = _writable(learner_c, np.int32, owned)
    skill_c = _writable(skill_c, np.int32, owned)
    item_c = _writable(item_c, np.int32, owned)
    outcome = _writable(outcome, np.int8, owned)
    order = _writable(order, np.int64, owned)
    perm, event, bad = kernels("kt._kernels").sort_events(
        learner_c, order, skill_c, item_c, outcome, len(learner_ids), len(skill_names), has_item
    )
    classes = {k[6:]: v for k, v in cols.items() if k.startswith("class:")}
    score = None if score is None else np.ascontiguousarray(score[perm], dtype=np.float64)
    # Two different answers of one learner may not share an order key.
    if bad >= 0:
        _raise_repeated_key(int(bad), perm, learner_c, learner_ids, item_c, item_ids, outcome,
                            order, source_row, names, has_item)
    return ObservationLog(
        learner=np.ascontiguousarray(learner_c, dtype=np.int32),
        skill=np.ascontiguousarray(skill_c, dtype=np.int32),
        item=np.ascontiguousarray(item_c, dtype=np.int32),
        outcome=outcome,
        order=order,
        event=event,
        learner_ids=learner_ids,
        skill_names=skill_names,
        item_ids=item_ids,
        classes={k: np.ascontiguousarray(c[perm]) for k, (c, _) in classes.items()},
        class_vocab={k: v for k, (_, v) in classes.items()},
        source=source,
        score=score,
    )


def _raise_repeated_key(i, perm, learner, learner_ids, item, item_ids, outcome, order,
                        source_row, names, has_item) -> None:
    """Sorted rows ``i - 1`` and ``i`` share learner and order key but differ in item or outcome."""
    what = []
    if has_item and item[i] != item[i - 1]:
        what.append(f"{names['item']!r} {str(item_ids[item[i - 1]])!r} vs "
                    f"{str(item_ids[item[i]])!r}")
    if outcome[i] != outcome[i - 1]:
        what.append(f"outcome {int(outcome[i - 1])} vs {int(outcome[i])}")
    raise LogFormatError(
        f"order column {names['order']!r} repeats key {int(order[i])} for learner "
        f"{str(learner_ids[learner[i]])!r}: row {int(source_row[perm[i - 1]])} and "
        f"{row_hint(source_row, int(perm[i]))} are different answers under one key "
        f"({'; '.join(what)}). Give each answer its own order key (fix or drop one of the "
        f"rows), or use an order column that is unique per answer instead of "
        f"{names['order']!r} (columns={{'order': '<column>'}}; CLI: --column order=NAME)."
    )


def _writable(values: np.ndarray, dtype, owned: bool) -> np.ndarray:
    """``values`` as a contiguous ``dtype`` array this module may reorder in place (a copy
    unless ``owned`` says the caller handed it over, and it is writeable)."""
    out = np.ascontiguousarray(values, dtype=dtype)
    if out is values and (not owned or not out.flags.writeable):
        out = out.copy()
    return out


def assign_events(
    learner: np.ndarray,
    skill: np.ndarray,
    item: np.ndarray | None,
    outcome: np.ndarray,
    order: np.ndarray,
) -> np.ndarray:
    """Event ids (int64 (n,), 0..) for rows sorted by learner then order.

    Rows of one learner with one order key are one answer; a repeated skill among them is
    an exact duplicate row and gets its own event. With ``item`` (not None) consecutive order
    keys of one learner, item and outcome with distinct skills are one answer too (skill
    copies under neighbouring keys, as in ASSISTments 2009). One Numba pass
    (``kt._kernels.sorted_events``); different answers under one key are not checked here.
    """
    from kt._aot import kernels

    n = len(learner)
    event = np.empty(n, dtype=np.int64)
    if n == 0:
        return event
    skill = np.ascontiguousarray(skill, dtype=np.int32)
    items = np.zeros(n, np.int32) if item is None else np.ascontiguousarray(item, np.int32)
    kernels("kt._kernels").sorted_events(
        np.ascontiguousarray(learner, dtype=np.int32), np.ascontiguousarray(order, np.int64),
        skill, items, np.ascontiguousarray(outcome, np.int8), int(skill.max()) + 1,
        item is not None, event,
    )
    return event
