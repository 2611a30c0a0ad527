"""What a review protects from forgetting (issue 15 item 0): the value of practising a skill
the learner has mastered, over the coming sessions.

The planner's forgetting model (``planner.playlist._eligibility.effective_mastery``): a skill
last practised ``d`` days ago at mastery p decays half-way toward the floor f every half-life
h days, m(d) = f + (p − f) · 0.5^(d / h). A review now restores recall (m back to p) and, with
consolidation c >= 1, lengthens the half-life to c · h. Over a horizon of H days (the next
review opportunity) the review protects

    V = g · (p − f) · (0.5^(H / (c h)) − 0.5^((d + H) / h))          (0 when p <= f)

goal-weighted skill-fraction: the expected mastery at the end of the horizon with a review
now minus without it, times the learner's goal weight g of the skill. V grows with d (more
has faded) up to g (p − f) 0.5^(H / (c h)) (everything above the floor is gone), and at
d = 0 it is the consolidation alone, g (p − f) (0.5^(H / (c h)) − 0.5^(H / h)) (0 when c = 1).

The playlist enters V through ``PlanWeights.protect`` (a multiplier, 0 = off): every mastered
skill with a known last practice becomes a review candidate, and its weight w_k grows by
protect · V_k / ((1 − p_k) t_k), t_k the best learn probability of a candidate on k, so the
best single review item earns V_k on top of its learning gain, a weaker one in proportion to
its learn probability, and a second one on the same skill less (the gain's diminishing
returns). The expected-gain words of an item stay learning only (``Candidates.protect``).
"""

from __future__ import annotations

import numpy as np

from planner.errors import PlanInputError


def protection_values(p: np.ndarray, days: np.ndarray, half_life_days: np.ndarray,
                      goal: np.ndarray, *, floor: float, horizon_days: float,
                      consolidation: float) -> np.ndarray:
    """(K,) V_k of the module doc, goal-weighted skill-fraction, each in [0, g_k (1 − f)].

    ``p`` (K,) mastery at the last practice in [0, 1]; ``days`` (K,) since it, >= 0 (NaN or
    negative count as 0); ``half_life_days`` (K,) > 0; ``goal`` (K,) goal weights >= 0;
    ``floor`` f in [0, 1]; ``horizon_days`` H >= 0; ``consolidation`` c >= 1."""
    if not (0.0 <= floor <= 1.0):
        raise PlanInputError(f"review floor={floor}; it must be in [0, 1]")
    if not (horizon_days >= 0):
        raise PlanInputError(f"protect_horizon_days={horizon_days}; it must be >= 0 days")
    if not (consolidation >= 1.0):
        raise PlanInputError(f"protect_consolidation={consolidation}; it must be >= 1")
    p = np.asarray(p, dtype=np.float64)
    h = np.asarray(half_life_days, dtype=np.float64)
    if np.any(~(h > 0)):
        raise PlanInputError("every half-life must be > 0 days")
    d = np.nan_to_num(np.asarray(days, dtype=np.float64), nan=0.0)
    d = np.maximum(d, 0.0)
    kept_with = 0.5 ** (horizon_days / (consolidation * h))
    kept_without = 0.5 ** ((d + horizon_days) / h)
    above = np.maximum(p - floor, 0.0)
    return np.asarray(goal, dtype=np.float64) * above * np.maximum(kept_with - kept_without, 0.0)
