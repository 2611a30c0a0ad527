"""Per-skill warnings of a BKT fit (``BKT.warnings_``; printed by ``pathwise fit``, saved
with the model) and the check that a model's wrong answers never raise mastery.

Warning codes (one ``SkillWarning`` per skill and problem):

``all_correct`` / ``all_wrong``
    every row of the skill has the same outcome: guess and slip are not identified.
``few_learners``
    fewer than ``MIN_LEARNERS`` learners answered the skill: its parameters are noisy
    (``prior=True`` / ``--prior default`` shrinks them towards plausible values).
``at_bound``
    a free guess, slip, learn or forget ended at a bound (``kt.bkt.bounds``; p_forget at 0
    is not reported: that is the standard model's value).
``at_cap``
    EM stopped at ``max_iter`` before the log-likelihood converged.
``wrong_raises_mastery``
    p_guess + p_slip > 1 in some class: a wrong answer *raises* P(mastered) (only possible
    with bounds wider than the defaults). The engine refuses to activate such a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MIN_LEARNERS = 10
"""A skill answered by fewer learners gets a ``few_learners`` warning."""
AT_BOUND = 1e-6
"""A parameter within this distance of a bound counts as at the bound."""
CHECKED = ("p_guess", "p_slip", "p_learn", "p_forget")


@dataclass(frozen=True)
class SkillWarning:
    """One problem of one fitted skill: ``code`` (module docstring) and a sentence."""

    skill: str
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"skill": self.skill, "code": self.code, "message": self.message}


def _fixed_params(fixed, skill: str) -> set[str]:
    """Names of the parameters ``fixed`` (``BKT.fixed``'s forms) fixes for ``skill``."""
    if not isinstance(fixed, Mapping):
        return set()
    out = {k for k in fixed if str(k).startswith("p_")}
    per_skill = fixed.get(skill)
    if isinstance(per_skill, Mapping):
        out |= {str(k) for k in per_skill}
    return out


def _all(rows: int) -> str:
    return "its only answer is" if rows == 1 else f"all {rows} answers are"


def _data_warnings(skill: str, rows: int, correct: int, learners: int) -> list[SkillWarning]:
    out = []
    if rows and correct == rows:
        out.append(SkillWarning(skill, "all_correct", f"{_all(rows)} correct: guess and slip "
                                "cannot be told apart"))
    elif rows and correct == 0:
        out.append(SkillWarning(skill, "all_wrong", f"{_all(rows)} wrong: guess and slip "
                                "cannot be told apart"))
    if learners < MIN_LEARNERS:
        out.append(SkillWarning(skill, "few_learners", f"only {learners} learner(s) (under "
                                f"{MIN_LEARNERS}): parameters are noisy; a prior helps "
                                "(prior=True, CLI: --prior default)"))
    return out


def _bound_warnings(skill: str, block: dict, table: np.ndarray, fixed: set[str],
                    forgets: bool) -> list[SkillWarning]:
    from kt.bkt.bounds import PARAMS

    out = []
    for name in CHECKED:
        if name in fixed or (name == "p_forget" and not forgets):
            continue
        lo, hi = table[PARAMS.index(name)]
        values = np.asarray(block[name], dtype=np.float64)
        for side, bound, hit in (("lower", lo, values <= lo + AT_BOUND),
                                 ("upper", hi, values >= hi - AT_BOUND)):
            if name == "p_forget" and side == "lower":
                continue
            if hit.any():
                v = float(values[hit][0])
                out.append(SkillWarning(
                    skill, "at_bound", f"{name} = {v:.4g} is at its {side} bound {bound:g}"
                    + (f" ({int(hit.sum())} of {len(values)} classes)" if len(values) > 1
                       else "")))
    return out


def inverted(block: Mapping) -> tuple[float, float] | None:
    """(p_guess, p_slip) of the first class of a skill ``block`` (``ParamStore.block``) whose
    p_guess + p_slip > 1 (a wrong answer raises P(mastered)), or None."""
    guess = np.asarray(block["p_guess"], dtype=np.float64)
    slip = np.asarray(block["p_slip"], dtype=np.float64)
    bad = np.flatnonzero(guess + slip > 1.0)
    if len(bad) == 0:
        return None
    return float(guess[bad[0]]), float(slip[bad[0]])


def inverted_skills(store) -> list[tuple[str, float, float]]:
    """(skill, p_guess, p_slip) of every skill of a ``ParamStore`` with p_guess + p_slip > 1."""
    out = []
    for s, name in enumerate(store.skill_names):
        hit = inverted(store.block(s))
        if hit is not None:
            out.append((name, *hit))
    return out


def skill_warnings(model, got) -> tuple[SkillWarning, ...]:
    """The warnings of a fit: ``model`` a ``BKT`` (its hyperparameters), ``got`` the
    ``kt.bkt.em.FitResult`` (store, iterations and per-skill data counts)."""
    from kt.bkt.em import settings_bounds

    table = settings_bounds(model)
    stopping = float(model.tol) > 0 or float(model.rtol) > 0
    out: list[SkillWarning] = []
    for s, name in enumerate(got.store.skill_names):
        rows, correct, learners = got.data[name]
        out += _data_warnings(name, rows, correct, learners)
        block = got.store.block(s)
        out += _bound_warnings(name, block, table, _fixed_params(model.fixed, name),
                               bool(model.forgets))
        hit = inverted(block)
        if hit is not None:
            out.append(SkillWarning(
                name, "wrong_raises_mastery", f"p_guess {hit[0]:.3g} + p_slip {hit[1]:.3g} > 1: "
                "a wrong answer raises P(mastered); refit with the default bounds (CLI: without "
                "--bounds none)"))
        n_iter = got.iters.get(name)
        if stopping and n_iter is not None and n_iter >= int(model.max_iter):
            out.append(SkillWarning(name, "at_cap", f"EM stopped at the cap of {n_iter} "
                                    "iterations before converging; raise max_iter (CLI: "
                                    "--max-iter)"))
    return tuple(out)


def counts(warnings) -> dict[str, int]:
    """{code: number of warnings} in first-seen order."""
    out: dict[str, int] = {}
    for w in warnings:
        out[w.code] = out.get(w.code, 0) + 1
    return out
