"""Fitting with a progress report, and fitted models as documents.

``fit_with_progress`` fits any estimator whose ``fit(log, progress=callback)`` reports
``callback(done, total)`` (``kt.bkt.BKT``) with a tqdm bar; ``fit_document`` fits
``BKT(**hyperparameters)`` and returns its versioned JSON document (``kt.bkt.persist``). Used by
``pathwise fit`` and ``pathwise demo``; tqdm and Numba load on the first call, not at import.
"""

from __future__ import annotations

from typing import Any


def fit_with_progress(model: Any, log: Any, *, progress: bool = True, desc: str = "fitting",
                      unit: str = "skill") -> Any:
    """Fit ``model`` on ``log`` (an ``ObservationLog``) and return it.

    With ``progress`` a tqdm bar on stderr (shown when the fit lasts over a second) advances
    as ``model.fit`` reports skills done; ``BKT.fit`` then fits in up to 20 steps, largest
    skills first, and the fitted model is the same as without a bar.
    """
    if not progress:
        return model.fit(log)
    import time

    started = time.monotonic()
    bars: list = []  # tqdm is imported (~40 ms) only once the fit has lasted a second

    def report(done: int, total: int) -> None:
        if not bars:
            if time.monotonic() - started < 1.0:
                return
            from tqdm import tqdm

            bars.append(tqdm(total=total, unit=unit, desc=desc, leave=False))
        bars[0].total = total
        bars[0].update(done - bars[0].n)

    try:
        model.fit(log, progress=report)
    finally:
        for bar in bars:
            bar.close()
    return model


def fit_document(hyperparameters: dict[str, Any], log: Any, *, progress: bool = True) -> dict:
    """Fit ``BKT(**hyperparameters)`` on ``log`` and return its saved-JSON document
    (``BKT.to_dict``: format ``pathwise-bkt``, one entry per skill)."""
    from kt.bkt import BKT

    return fit_with_progress(BKT(**hyperparameters), log, progress=progress).to_dict()
