"""The tenant's planning policy: one mastery threshold, the goal weights, the struggling rule and
the switches of the learned models (activity effectiveness: on once the tenant's own tickets
show activities differ; fitted forgetting: off by default) and of the forgetting-protection term
(on once the tenant's own evidence shows forgetting).

Stored per tenant (``engine.app``: an admin reads and sets it) and passed to every place that
decides "mastered": the planner's settings (``PlaylistRequest.mastered_threshold``,
``ModelSettings.mastered_threshold``), ready-to-learn and gaps on the competency graph, and the
teacher page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from engine.errors import ValidationError

SWITCH_MODES = ("off", "when_shown", "on")
"""Values of the policy switches that can wait for a school test: ``protect_from_forgetting``
and ``learn_effectiveness``."""


@dataclass(frozen=True)
class PlanningPolicy:
    """How one tenant plans.

    mastered_threshold: mastery in (0, 1] at or above which a skill counts as mastered
        (ready-to-learn, gaps, the planner's readiness rule and reasons); default 0.95.
    goal_weight / growth_weight: planner objective weight (>= 1) of a skill the learner's
        profile names as a goal skill (2.0) or growth area (1.5); other skills weigh 1.0.
    struggling_mastery / struggling_min_observations: a learner struggles with a skill when
        they have at least ``struggling_min_observations`` (3) observations of it and mastery
        below ``struggling_mastery`` (0.4); the planner then favours support activities.
    learn_effectiveness: plan with each activity's learn probability scaled by the multiplier
        learned from the tenant's exit tickets (``planner.effectiveness``, posterior mean, so
        a plan is reproducible, ranked against the other activities on the same skill;
        :mod:`engine.planning._learned`): ``"off"``; ``"on"``; or ``"when_shown"``, on only
        while the tenant's own tickets show that activities teaching the same skill differ
        (``EffectivenessModel.differ_test``, a permutation test at the 5 % level).
        ``true``/``false`` are read as ``"on"``/``"off"``. Default ``"when_shown"``.
    fitted_forgetting: schedule review from half-lives fitted on the tenant's retention checks
        (``planner.forgetting``) instead of the planner's fixed half-life; off by default.
    protect_from_forgetting: whether playlists and why-not value what a review protects from
        forgetting over the next week (``planner.protection``: weight ``PlanWeights.protect``
        1; class plans keep the default weights): ``"off"``; ``"on"``; or ``"when_shown"``,
        on only while the tenant's own retention checks show that its learners forget
        (``planner.forgetting.ForgettingModel.forgets``, a likelihood-ratio test at the 5 %
        level). ``true``/``false`` are read as ``"on"``/``"off"``. Default ``"when_shown"``:
        over 13 simulated worlds (6 seeds) it met the rule written before the run (pays on
        average, 0.998x, and no world loses more than 2 %), where always-on cost up to 3 % in
        worlds whose learners forget nothing (planner/README.md).
    """

    mastered_threshold: float = 0.95
    goal_weight: float = 2.0
    growth_weight: float = 1.5
    struggling_mastery: float = 0.4
    struggling_min_observations: int = 3
    learn_effectiveness: str = "when_shown"
    fitted_forgetting: bool = False
    protect_from_forgetting: str = "when_shown"

    def __post_init__(self) -> None:
        checks = (
            ("mastered_threshold", 0.0 < self.mastered_threshold <= 1.0, "in (0, 1]"),
            ("goal_weight", 1.0 <= self.goal_weight <= 10.0, "in [1, 10]"),
            ("growth_weight", 1.0 <= self.growth_weight <= 10.0, "in [1, 10]"),
            ("struggling_mastery", 0.0 <= self.struggling_mastery < self.mastered_threshold,
             "in [0, mastered_threshold)"),
            ("struggling_min_observations", 1 <= self.struggling_min_observations <= 1000,
             "an integer in [1, 1000]"),
        )
        for name, ok, rule in checks:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not ok:
                raise ValidationError(f"{name}={value!r}; it must be {rule}")
        for name in ("protect_from_forgetting", "learn_effectiveness"):
            mode = getattr(self, name)
            if isinstance(mode, bool):
                object.__setattr__(self, name, "on" if mode else "off")
            elif mode not in SWITCH_MODES:
                raise ValidationError(f"{name}={mode!r}; it must be one of "
                                      f"{', '.join(map(repr, SWITCH_MODES))} (true/false mean 'on'/'off')")
        if not isinstance(self.fitted_forgetting, bool):
            raise ValidationError(f"fitted_forgetting={self.fitted_forgetting!r}; it must be true or false")
        if not isinstance(self.struggling_min_observations, int):
            raise ValidationError(
                f"struggling_min_observations={self.struggling_min_observations!r}; "
                "it must be an integer in [1, 1000]")

    def protects(self, forgets: bool) -> bool:
        """Whether playlists and class plans value what a review protects from forgetting: ``"on"``, or
        ``"when_shown"`` and the tenant's forgetting test fires (``forgets``)."""
        return _switched(self.protect_from_forgetting, forgets)

    def learns(self, differs: bool) -> bool:
        """Whether playlists plan with learned activity effectiveness: ``"on"``, or
        ``"when_shown"`` and the tenant's activities-differ test fires (``differs``)."""
        return _switched(self.learn_effectiveness, differs)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PlanningPolicy:
        """A policy from a (possibly partial) record; unknown keys are a ValidationError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise ValidationError(f"unknown planning policy field(s) {unknown}; use {sorted(known)}")
        return cls(**dict(record))

    def with_changes(self, changes: Mapping[str, Any]) -> PlanningPolicy:
        """This policy with ``changes`` applied (validated)."""
        return PlanningPolicy.from_record({**self.to_record(), **dict(changes)})


def _switched(mode: str, shown: bool) -> bool:
    """A switch of ``SWITCH_MODES``: ``"on"``, or ``"when_shown"`` and its school test fired."""
    return mode == "on" or (mode == "when_shown" and bool(shown))


DEFAULT_POLICY = PlanningPolicy()
