"""Check a design before registering it: run it many times on simulated schools where the
true effect is known, with the harness's own assignment and analysis.

Outcome model (standardised, SD 1): ``y = sqrt(icc) * u_class + sqrt(1 - icc) * e_learner +
effect * [second arm]``, ``u, e ~ N(0, 1)``, so ``effect`` is Cohen's d and ``icc`` the true
intra-class correlation. The school has exactly the planned sample: ``2 * clusters_per_arm``
classes of ``class_size`` (class randomisation), else enough classes of ``class_size`` for
``2 * n_per_arm`` learners. Replication ``r`` uses design seed ``r``: fresh randomisation each
time. Deterministic in ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.experiment.analysis import compare
from engine.experiment.assignment import Unit, assign
from engine.experiment.design import Design
from engine.experiment.outcome import Outcome


@dataclass(frozen=True)
class SimulationResult:
    """``rejections`` of ``reps`` simulated experiments at the design's alpha; ``rate`` and a
    Wilson 95 % interval for it; ``learners`` and ``classes`` per simulated school."""

    effect: float
    icc: float
    reps: int
    rejections: int
    learners: int
    classes: int

    @property
    def rate(self) -> float:
        return self.rejections / self.reps

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        n, p = self.reps, self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def school(design: Design) -> list[Unit]:
    """The simulated school of exactly the planned sample (see the module docstring); classes
    take grades 3, 4, 5 in turn (for grade strata)."""
    size = max(1, int(round(design.sample.class_size)))
    if design.unit == "class":
        n_classes = 2 * design.sample.clusters_per_arm
    else:
        n_classes = -(-2 * design.sample.n_per_arm // size)
    return [Unit(f"c{c}-l{i}", f"c{c}", str(3 + c % 3)) for c in range(n_classes) for i in range(size)]


def p_value(design: Design, units: list[Unit], arms: dict[str, str], y: np.ndarray) -> float:
    """The harness's analysis of one simulated experiment (the primary metric)."""
    outcomes = [Outcome(u.learner_id, u.class_id, arms[u.learner_id], {design.primary_metric: float(v)})
                for u, v in zip(units, y, strict=True)]
    return compare(design, outcomes, design.primary_metric).test.p_value


def rejection_rate(design: Design, effect: float, icc: float, *, reps: int = 200, seed: int = 0,
                   analyse: Callable[[Design, list, dict, np.ndarray], float] = p_value) -> SimulationResult:
    """Share of ``reps`` simulated experiments whose p-value is below the design's alpha when
    the true effect is ``effect`` (Cohen's d) and the true ICC ``icc`` in [0, 1).
    ``analyse``: the analysis (default the harness's own; tests pass alternatives)."""
    if not (0.0 <= icc < 1.0):
        raise ValueError(f"icc={icc}; the true intra-class correlation must be in [0, 1)")
    if reps < 1:
        raise ValueError(f"reps={reps}; simulate at least one experiment")
    units = school(design)
    cls_idx = np.array([int(u.class_id[1:]) for u in units])
    n_classes = int(cls_idx.max()) + 1
    second = design.arms[1].name
    rng = np.random.default_rng(seed)
    rejections = 0
    for r in range(reps):
        d = replace(design, seed=r)
        arms = assign(d, units)
        treated = np.array([arms[u.learner_id] == second for u in units])
        y = (math.sqrt(icc) * rng.standard_normal(n_classes)[cls_idx]
             + math.sqrt(1.0 - icc) * rng.standard_normal(len(units)) + effect * treated)
        rejections += analyse(d, units, arms, y) < design.sample.alpha
    return SimulationResult(effect, icc, reps, rejections, len(units), n_classes)


def sequential_rejection_rate(design: Design, effect: float, fractions: Sequence[float], *, reps: int = 200,
                              seed: int = 0, spend: bool = True) -> SimulationResult:
    """Share of ``reps`` simulated learner-randomised experiments that reject at any of the
    looks at information ``fractions`` (the last should be 1.0): learners arrive in a random
    order and each look analyses those arrived so far. ``spend``: compare each look's |z| with
    its alpha-spending boundary (:mod:`engine.experiment.sequential`); False = the plain
    p < alpha at every look (what peeking does)."""
    from engine.experiment.sequential import boundaries, z_from_p

    units = school(design)
    second = design.arms[1].name
    crit = boundaries(fractions, design.sample.alpha) if spend else None
    rng = np.random.default_rng(seed)
    rejections = 0
    for r in range(reps):
        d = replace(design, seed=r)
        arms = assign(d, units)
        treated = np.array([arms[u.learner_id] == second for u in units])
        y = rng.standard_normal(len(units)) + effect * treated
        order = rng.permutation(len(units))
        for k, t in enumerate(fractions):
            keep = order[: int(round(t * len(units)))]
            p = p_value(d, [units[i] for i in keep], arms, y[keep])
            if (z_from_p(p) >= crit[k]) if crit else (p < design.sample.alpha):
                rejections += 1
                break
    return SimulationResult(effect, 0.0, reps, rejections, len(units), len({u.class_id for u in units}))
