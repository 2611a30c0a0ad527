"""Fit a knowledge-tracing model on a tenant's stored evidence.

:func:`evidence_log` turns the store's observations into a ``kt.log.ObservationLog`` with the
same evidence model the online update uses:

* one row per (observation, skill): a multi-skill observation gives skill copies that share
  one event (the model predicts it once, then applies every copy);
* the item is the observation's ``item_id``, else its ``activity_id`` (as in
  :func:`engine.runtime.item_of`);
* the score is kept as a float in [0, 1]: partial credit is soft evidence in EM, never
  rounded (``outcome`` is the score rounded at 0.5, for models and metrics that need 0/1);
* rows are in each learner's fold order (``observed_at``, ties in arrival order).

:func:`fit_from_store` fits ``kt.bkt.BKT`` (``model="bkt"``) or any ``kt.models`` model on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.domain.evidence import Observation
from engine.errors import ValidationError
from engine.runtime import item_of
from engine.store.sqlstore import TenantStore

Progress = Callable[[float, str], None]


def evidence_log(observations: Sequence[Observation], skills: Sequence[str] | None = None) -> Any:
    """An ``ObservationLog`` of ``observations`` (already in fold order, e.g.
    ``store.list_observations()``), optionally restricted to ``skills``."""
    from kt.log import ObservationLog

    wanted = set(skills) if skills is not None else None
    learner: list[str] = []
    skill: list[str] = []
    item: list[str] = []
    score: list[float] = []
    order: list[int] = []
    for rank, obs in enumerate(observations):
        for s in obs.skill_ids:
            if wanted is not None and s not in wanted:
                continue
            learner.append(obs.learner_id)
            skill.append(s)
            item.append(item_of(obs))
            score.append(obs.score)
            order.append(rank)
    if not score:
        raise ValidationError(
            "no stored evidence to fit (for these skills); ingest observations first"
        )
    scores = np.asarray(score, dtype=np.float64)
    return ObservationLog.from_arrays(
        learner=np.asarray(learner), skill=np.asarray(skill), item=np.asarray(item),
        outcome=(scores >= 0.5).astype(np.int8), score=scores,
        order=np.asarray(order, dtype=np.int64), source="pathwise store",
    )


def make_estimator(model: str, hyperparameters: dict[str, Any]) -> Any:
    """An unfitted estimator: ``kt.bkt.BKT(**hyperparameters)`` for ``"bkt"``, else the
    ``kt.models`` model of that name. Unknown names or hyperparameters raise
    :class:`ValidationError` naming them."""
    from kt.errors import ParameterError

    try:
        if model == "bkt":
            from kt.bkt import BKT

            return BKT(**hyperparameters)
        from kt.models import model_class

        return model_class(model)(**hyperparameters)
    except ParameterError as exc:
        raise ValidationError(f"model {model!r}: {exc}") from None
    except TypeError as exc:
        raise ValidationError(
            f"model {model!r} does not take these hyperparameters ({exc}); "
            f"check the names in {sorted(hyperparameters)}"
        ) from None


def fit_from_store(
    store: TenantStore,
    model: str = "bkt",
    *,
    skills: Sequence[str] | None = None,
    progress: Progress | None = None,
    **hyperparameters: Any,
) -> tuple[Any, dict[str, Any]]:
    """Fit ``model`` on the tenant's stored evidence. Returns ``(fitted model, info)`` where
    ``info`` (JSON-ready) records the method, row/observation counts and seconds (a BKT also
    the skills that stopped at the EM cap and its warnings counted by code).
    ``progress(fraction, message)`` reports 0.0 at the start, after reading the evidence and
    1.0 when fitted (a BKT fit also reports skills done, in up to 20 steps)."""
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    report(0.0, "reading stored evidence")
    observations = store.list_observations()
    log = evidence_log(observations, skills)
    report(0.1, f"{len(log)} rows from {len(observations)} observations")
    estimator = make_estimator(model, dict(hyperparameters))
    fitted = _fit(estimator, log, report)
    seconds = round(time.perf_counter() - started, 3)
    report(1.0, f"fitted {model} in {seconds} s")
    info = {
        "method": f"{model} fit on stored evidence", "model": model, "rows": len(log),
        "observations": len(observations), "skills": int(log.n_skills),
        "hyperparameters": {k: v for k, v in hyperparameters.items() if _jsonable(v)},
        "seconds": seconds,
    }
    if hasattr(fitted, "n_at_cap_"):  # a BKT: converged? plausible? (kt.bkt.diagnostics)
        from kt.bkt.diagnostics import counts

        info["skills_at_cap"] = int(fitted.n_at_cap_)
        info["warnings"] = counts(fitted.warnings_)
    return fitted, info


def _fit(estimator: Any, log: Any, report: Progress) -> Any:
    from kt.bkt import BKT

    if isinstance(estimator, BKT):
        def skills_done(done: int, total: int) -> None:
            report(0.1 + 0.85 * done / max(total, 1), f"fitted {done} of {total} skills")

        return estimator.fit(log, progress=skills_done)
    return estimator.fit(log)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str | list | tuple | dict)


def inverted_skills(model: Any) -> list[tuple[str, float, float]]:
    """(skill, p_guess, p_slip) of every skill of a fitted kt model whose p_guess + p_slip > 1
    (a wrong answer raises P(mastered)): every item class of a ``kt.bkt.BKT``, else the
    per-skill BKT calibration of the model (``engine.runtime.calibration``)."""
    from kt.bkt.diagnostics import inverted_skills as bkt_inverted

    store = getattr(model, "store_", None)
    if store is not None:
        return bkt_inverted(store)
    from engine.runtime import calibration, model_skills

    out = []
    for skill in model_skills(model):
        p = calibration(model, skill)
        if p is not None and p.p_guess + p.p_slip > 1.0:
            out.append((str(skill), float(p.p_guess), float(p.p_slip)))
    return out


def check_activatable(model: Any) -> None:
    """Refuse (``ValidationError``) a model with a skill whose wrong answers raise mastery:
    the planner would move a learner forward on wrong answers."""
    bad = inverted_skills(model)
    if not bad:
        return
    skill, guess, slip = bad[0]
    more = f" ({len(bad)} skills like this: {', '.join(repr(b[0]) for b in bad[:5])}" + (
        ", ...)" if len(bad) > 5 else ")")
    raise ValidationError(
        f"model not activated: skill {skill!r} has p_guess {guess:.3g} + p_slip {slip:.3g} "
        f"> 1, so a wrong answer would raise its mastery{more if len(bad) > 1 else ''}. "
        "Refit with the default bounds (p_guess <= 0.5, p_slip <= 0.45: kt.bkt.BKT() / "
        "'pathwise fit' without '--bounds none') or fix that skill's p_guess and p_slip."
    )
