"""Parameter bounds and Beta priors of BKT fitting (``BKT(bounds=..., prior=...)``).

Bounds clip every M-step's value of a parameter to [low, high]. The defaults keep the model
identifiable and its updates pointing the right way:

==========  ============  ==============================================================
parameter   default       why
==========  ============  ==============================================================
p_guess     [0, 0.5]      a learner without the skill is at most as likely right as wrong
p_slip      [0, 0.45]     a learner with the skill is mostly right; with p_guess <= 0.5,
                          p_guess + p_slip <= 0.95 < 1, so a wrong answer always *lowers*
                          P(mastered) (its odds are multiplied by p_slip / (1 - p_guess)
                          <= 0.9) and a right answer always raises it
p_learn     [0, 1]        any learning rate
p_forget    [0, 0.25]     a mastered skill is lost at most once in four opportunities
p_init      [0, 1]        any prior (not a ``--bounds`` parameter)
==========  ============  ==============================================================

``bounds="none"`` (pyBKT's behaviour) fits every parameter in [0, 1]. A parameter's bounds
can be given alone (``{"p_guess": (0, 0.3)}``: the others keep their defaults).

Priors (MAP mode, ``prior=True`` or a mapping): each M-step gives the posterior mode under a
Beta(alpha, beta) prior, i.e. adds alpha - 1 pseudo-events and beta - 1 pseudo-non-events to
the expected counts, so a skill with little data stays near the prior's mode and a skill
with much data is hardly moved. EM then maximises log-likelihood + log prior (the reported
``log_likelihood_`` includes the log prior, up to a constant). Defaults (weak: 4 to 11
pseudo-answers each):

==========  ==============  =======  ====================================================
parameter   Beta(a, b)      mode     meaning
==========  ==============  =======  ====================================================
p_guess     Beta(2, 4)      0.25     a guess is right about one time in four
p_slip      Beta(2, 6)      0.17     a master slips about one time in six
p_learn     Beta(2, 6)      0.17     about one opportunity in six teaches the skill
p_forget    Beta(1, 11)     0        forgetting is rare (only with ``forgets=True``)
p_init      Beta(2, 2)      0.5      no opinion on the prior, kept away from 0 and 1
==========  ==============  =======  ====================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from kt.errors import ParameterError

PARAMS = ("p_guess", "p_slip", "p_learn", "p_forget", "p_init")
"""Row order of the (5, 2) bound and pseudo-count tables (the EM kernels' order)."""
BOUND_PARAMS = ("p_guess", "p_slip", "p_learn", "p_forget")
"""Parameters ``--bounds`` takes (CLI names without the ``p_``)."""

DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "p_guess": (0.0, 0.5), "p_slip": (0.0, 0.45), "p_learn": (0.0, 1.0),
    "p_forget": (0.0, 0.25), "p_init": (0.0, 1.0),
}
UNBOUNDED: dict[str, tuple[float, float]] = {p: (0.0, 1.0) for p in PARAMS}
DEFAULT_PRIORS: dict[str, tuple[float, float]] = {
    "p_guess": (2.0, 4.0), "p_slip": (2.0, 6.0), "p_learn": (2.0, 6.0),
    "p_forget": (1.0, 11.0), "p_init": (2.0, 2.0),
}


def _name(key: str, allowed: Iterable[str], what: str) -> str:
    name = key if key.startswith("p_") else f"p_{key}"
    if name not in allowed:
        short = ", ".join(p.removeprefix("p_") for p in allowed)
        raise ParameterError(f"{what}: unknown parameter {key!r}; use one of {short}")
    return name


def _pair(value, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}={value!r} must be a (low, high) pair of numbers") from None
    return lo, hi


def _bound(value, what: str) -> tuple[float, float]:
    lo, hi = _pair(value, what)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ParameterError(f"{what}={value!r} must satisfy 0 <= low <= high <= 1")
    return lo, hi


def bounds_table(bounds, p_guess_bounds=None, p_slip_bounds=None) -> np.ndarray:
    """float64 (5, 2) [low, high] per parameter (rows ``PARAMS``).

    ``bounds``: "default" (``DEFAULT_BOUNDS``), "none"/None (all [0, 1]) or a mapping
    {parameter: (low, high)} over the defaults. ``p_guess_bounds`` / ``p_slip_bounds`` (the
    older arguments) override guess / slip when given. ``ParameterError`` names a bad entry.
    """
    if isinstance(bounds, str) and bounds in ("default", "none"):
        table = dict(DEFAULT_BOUNDS if bounds == "default" else UNBOUNDED)
    elif bounds is None:
        table = dict(UNBOUNDED)
    elif isinstance(bounds, Mapping):
        table = dict(DEFAULT_BOUNDS)
        for key, value in bounds.items():
            table[_name(str(key), BOUND_PARAMS, "bounds")] = _bound(value, f"bounds[{key!r}]")
    else:
        raise ParameterError(
            f"bounds={bounds!r} must be 'default', 'none' or a mapping "
            "{'p_guess': (low, high), ...}"
        )
    if p_guess_bounds is not None:
        table["p_guess"] = _bound(p_guess_bounds, "p_guess_bounds")
    if p_slip_bounds is not None:
        table["p_slip"] = _bound(p_slip_bounds, "p_slip_bounds")
    return np.array([table[p] for p in PARAMS], dtype=np.float64)


def pseudo_counts(prior) -> np.ndarray:
    """float64 (5, 2) Beta pseudo-counts (alpha - 1, beta - 1) per parameter (rows ``PARAMS``).

    ``prior``: None/False (maximum likelihood: zeros), True/"default" (``DEFAULT_PRIORS``) or a
    mapping {parameter: (alpha, beta)} (unlisted parameters get no prior). alpha, beta >= 1.
    """
    if prior is None or prior is False:
        return np.zeros((5, 2))
    if prior is True or prior == "default":
        table = dict(DEFAULT_PRIORS)
    elif isinstance(prior, Mapping):
        table = {_name(str(k), PARAMS, "prior"): _pair(v, f"prior[{k!r}]")
                 for k, v in prior.items()}
    else:
        raise ParameterError(
            f"prior={prior!r} must be None, True ('default') or a mapping "
            "{'p_guess': (alpha, beta), ...}"
        )
    out = np.zeros((5, 2))
    for name, (a, b) in table.items():
        if not (a >= 1.0 and b >= 1.0 and np.isfinite(a) and np.isfinite(b)):
            raise ParameterError(
                f"prior of {name} = Beta({a:g}, {b:g}): alpha and beta must be finite and >= 1 "
                "(Beta(1, 1) is no prior)"
            )
        out[PARAMS.index(name)] = (a - 1.0, b - 1.0)
    return out


def as_json(value):
    """``bounds`` / ``prior`` hyperparameter in JSON-ready form (tuples -> lists)."""
    if isinstance(value, Mapping):
        return {str(k): [float(x) for x in v] for k, v in value.items()}
    return value
