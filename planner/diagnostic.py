"""Short diagnostic checks that earn their place by the value of the information (issue 15
item 1; the design notes' exploration term).

A learner's belief ``p`` = P(skill k mastered) decides the next plan: below the mastery
threshold the plan keeps teaching k and its successors wait; at or above it the plan moves
on. When ``p`` is uncertain, a check on k — a short assessment-kind activity whose answer
is evidence on k — may be worth more than the minutes it takes: its answer changes what the
next plan does. Value of information, in the planner's units (goal-weighted skills gained):

* one answer: correct with c = p (1 − slip) + (1 − p) guess; the belief then becomes
  p⁺ = p (1 − slip) / c, else p⁻ = p slip / (1 − c) (BKT's update without learning);
* the decision it informs, for the next item's minutes: **teach k**, worth
  A(p) = w_k (1 − p) t (t: the best learn probability of a candidate on k), or **move on** to
  k's most valuable successor j not yet mastered, worth B(p) = w_j (1 − p_j) t (p + (1 − p) r)
  (learning on j survives at rate ``r`` = ``chain_residual`` while k is unknown);
* VoI = c V(p⁺) + (1 − c) V(p⁻) − V(p) with V = max(A, B) ≥ 0 (V is convex: knowing never
  hurts in expectation). It is 0 when nothing depends on k (no successor to move on to) and
  small when p is near 0 or 1.

:func:`check_values` gives VoI per skill; ``planner.playlist.candidates`` adds
``PlanWeights.diagnostic`` x VoI to every assessment-kind candidate on that skill as extra
learn probability (VoI / (w_k (1 − p_k))), so the solver weighs a check's information
against what its minutes would otherwise buy, under every hard constraint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from planner.errors import PlanInputError

#: BKT guess and slip a check's answer is read with (the engine's documented defaults).
CHECK_GUESS = 0.2
CHECK_SLIP = 0.1
#: Activity kind that marks a check (the catalog's short "unit check" assessments).
CHECK_KIND = "assessment"


def posteriors(p: float, guess: float = CHECK_GUESS, slip: float = CHECK_SLIP
               ) -> tuple[float, float, float]:
    """``(c, p_correct_after, p_wrong_after)``: P(correct answer) and the belief after a
    correct and after a wrong answer, for belief ``p`` in [0, 1]."""
    if not (0.0 <= p <= 1.0 and 0.0 < guess < 1.0 and 0.0 < slip < 1.0):
        raise PlanInputError(f"p={p}, guess={guess}, slip={slip}: p must be in [0, 1] and "
                             "guess, slip in (0, 1)")
    c = p * (1.0 - slip) + (1.0 - p) * guess
    return c, p * (1.0 - slip) / c, p * slip / (1.0 - c)


def value_of_check(p: float, teach: float, move_on: float, residual: float, *,
                   guess: float = CHECK_GUESS, slip: float = CHECK_SLIP) -> float:
    """VoI (>= 0) of one answer on a skill with belief ``p``: ``teach`` = w_k t (value of
    teaching it to a learner who does not know it), ``move_on`` = w_j (1 − p_j) t (value of
    the best successor's next item if the skill is known), ``residual`` in [0, 1] (module
    docstring)."""
    if teach < 0 or move_on < 0 or not 0.0 <= residual <= 1.0:
        raise PlanInputError(f"teach={teach}, move_on={move_on}, residual={residual}: values "
                             "must be >= 0 and residual in [0, 1]")

    def v(q: float) -> float:
        return max(teach * (1.0 - q), move_on * (q + (1.0 - q) * residual))

    c, up, down = posteriors(p, guess, slip)
    return max(0.0, c * v(up) + (1.0 - c) * v(down) - v(p))


def check_values(skills: Sequence[str], p: np.ndarray, w: np.ndarray, learn: np.ndarray,
                 successors: Mapping[str, Sequence[tuple[float, float]]], residual: float
                 ) -> np.ndarray:
    """(K,) VoI of a check on each skill: ``p``, ``w``, ``learn`` (K,) belief, weight and
    best learn probability of a candidate on it; ``successors[k]`` the (weight, belief) of
    k's successors not yet mastered."""
    out = np.zeros(len(skills))
    for n, k in enumerate(skills):
        succ = successors.get(k, ())
        if not succ or learn[n] <= 0:
            continue
        t = float(learn[n])
        move_on = max(wj * (1.0 - pj) * t for wj, pj in succ)
        out[n] = value_of_check(float(p[n]), float(w[n]) * t, move_on, residual)
    return out
