"""The online (one observation at a time) BKT update.

``step`` is the scalar, dependency-free update the engine calls per evidence
event; ``BKT.update_one`` / ``BKT.update_many`` use the same formulas inside a
Numba kernel (``_kernels.replay``), so replaying a log gives exactly the batch
``BKT.predict`` numbers.
"""

from __future__ import annotations

from kt.bkt.params import SkillParams
from kt.errors import ParameterError


def step(p_mastered: float, score: float, params: SkillParams) -> tuple[float, float]:
    """One BKT filtering step with soft (virtual) evidence.

    Args:
        p_mastered: P(mastered) before this observation, in [0, 1].
        score: observed score in [0, 1]; 1 = correct, 0 = incorrect, in between = partial
            credit treated as likelihood-weighted evidence:
            P(obs | mastered) = score (1 - p_slip) + (1 - score) p_slip,
            P(obs | not mastered) = score p_guess + (1 - score) (1 - p_guess).
            At score 0 or 1 this is exactly standard BKT.
        params: the skill's (item class's) parameters.

    Returns:
        (p_correct, p_mastered_next): P(correct) predicted before seeing this observation,
        and P(mastered) after it, including the learn/forget transition (i.e. the prior of
        the next observation).
    """
    if not (0.0 <= p_mastered <= 1.0):
        raise ParameterError(f"p_mastered={p_mastered!r} is outside [0, 1]; pass a probability")
    if not (0.0 <= score <= 1.0):
        raise ParameterError(f"score={score!r} is outside [0, 1]; pass 0, 1 or a partial score")
    return soft_step(
        p_mastered, score, params.p_guess, params.p_slip, params.p_learn, params.p_forget
    )


def soft_step(
    p: float, score: float, guess: float, slip: float, learn: float, forget: float
) -> tuple[float, float]:
    """The arithmetic of :func:`step` on plain floats, without validation (callers check).

    Returns (P(correct) before the observation, P(mastered) after it and the transition).
    """
    p_correct = guess * (1.0 - p) + (1.0 - slip) * p
    like_m = score * (1.0 - slip) + (1.0 - score) * slip
    like_n = score * guess + (1.0 - score) * (1.0 - guess)
    num = p * like_m
    den = num + (1.0 - p) * like_n
    post = num / den if den > 0.0 else p
    return p_correct, post * (1.0 - forget) + (1.0 - post) * learn
