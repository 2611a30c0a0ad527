"""Forgets fits that never end below their nested standard fit (``BKT(nested_start=True)``).

``kt.bkt.em.fit`` fits the nested model (``nested_model``: forgets off) first, starts one extra
restart of the forgets fit at its parameters and keeps, per skill, the better of the two
(``keep_better``); ``halves`` splits one progress callback over the two fits.
"""

from __future__ import annotations

from dataclasses import replace


def nested_model(model):
    """A copy of ``model`` with ``forgets=False`` (the nested standard model)."""
    import copy

    nested = copy.copy(model)
    nested.forgets = False
    return nested


def keep_better(res, nested, offsets: dict):
    """``res`` (a ``kt.bkt.em.FitResult`` of the forgets fit) with, per skill, the nested
    fit's parameters, LL, iterations and trace where the nested LL is higher; ``offsets``:
    per kind ("gs", "lr", "pr") the skills' class offsets into the flat parameters."""
    from kt.bkt.em import KINDS

    names = list(res.store.skill_names)
    worse = [s for s, n in enumerate(names) if not res.lls[n] >= nested.lls[n]]
    if not worse:
        return res
    flat = {}
    for p, kind in KINDS.items():
        arr = getattr(res.store, p).copy()
        off = offsets[kind]
        for s in worse:
            arr[off[s]:off[s + 1]] = getattr(nested.store, p)[off[s]:off[s + 1]]
        flat[p] = arr
    lls, iters, traces = dict(res.lls), dict(res.iters), dict(res.traces)
    for s in worse:
        n = names[s]
        lls[n], iters[n], traces[n] = nested.lls[n], nested.iters[n], nested.traces[n]
    return replace(res, store=replace(res.store, **flat), lls=lls, iters=iters, traces=traces)


def halves(progress, second: bool):
    """``progress`` for one of two consecutive fits of the same skills (None stays None)."""
    if progress is None:
        return None

    last = [-1]

    def report(done: int, total: int) -> None:
        now = (total * second + done) // 2
        if now > last[0]:  # each report shows more skills done
            last[0] = now
            progress(now, total)

    return report
