"""Personalization continuum report: where a plan or a class over a period sits between
one-size-fits-all and personalized, on the five variables of learning.

Each variable is scored Low (1) / Medium (2) / High (3) from what the plans *actually gave*
each learner, with the evidence behind the score:

* **how** — formats/modalities: mean distinct formats per learner and how different the
  learners' format mixes are (mean pairwise Jaccard distance);
* **what** — content: mean pairwise Jaccard distance between learners' skill sets and the
  number of distinct skills across the class;
* **when** — time and pace: share of distinct timelines (when each kind of work happens) among
  learners and the spread of their planned minutes;
* **where** — places: distinct places used and whether learners' place patterns differ;
* **with whom** — grouping: distinct grouping modes (alone, small group, whole class) per
  learner, and whether small groups were formed by shared need and changed across slots.

Thresholds (documented in each ``DimensionScore.rule``) are deliberately simple so a school can
read them; they are applied to a ``ClassPlan`` or a sequence of them (a period).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from planner.classplan.types import ClassPlan
from planner.errors import PlanInputError
from planner.model import PlanActivity, Playlist

LEVELS = {1: "Low", 2: "Medium", 3: "High"}
VARIABLES = ("how", "what", "when", "where", "with_whom")


@dataclass(frozen=True)
class DimensionScore:
    """One variable's score: ``score`` 1-3, ``level`` "Low"/"Medium"/"High", ``evidence``
    (named figures), ``rule`` (the thresholds applied) and one plain ``sentence``."""

    variable: str
    score: int
    level: str
    evidence: Mapping[str, float]
    rule: str
    sentence: str


@dataclass(frozen=True)
class ContinuumReport:
    """Scores of the five variables for ``n_learners`` over ``n_plans`` plans."""

    scores: tuple[DimensionScore, ...]
    n_learners: int
    n_plans: int

    def score(self, variable: str) -> DimensionScore:
        for s in self.scores:
            if s.variable == variable:
                return s
        raise PlanInputError(f"unknown variable {variable!r}; use one of {VARIABLES}")

    @property
    def mean_score(self) -> float:
        return float(np.mean([s.score for s in self.scores]))

    def as_dict(self) -> dict:
        return {s.variable: {"score": s.score, "level": s.level, "evidence": dict(s.evidence),
                             "sentence": s.sentence} for s in self.scores}


def _jaccard_distance(sets: Sequence[frozenset]) -> float:
    """Mean pairwise Jaccard distance (0 = everyone identical, 1 = nothing shared)."""
    if len(sets) < 2:
        return 0.0
    d = []
    for a, b in combinations(sets, 2):
        u = len(a | b)
        d.append(0.0 if u == 0 else 1.0 - len(a & b) / u)
    return float(np.mean(d))


def _grouping(size: int, class_size: int) -> str:
    if size <= 1:
        return "alone"
    return "whole_class" if size >= max(2, class_size) or size > 12 else "small_group"


def continuum_report(plans: ClassPlan | Sequence[ClassPlan],
                     catalog: Sequence[PlanActivity] | Mapping[str, PlanActivity] | None = None
                     ) -> ContinuumReport:
    """Score how, what, when, where and with whom over ``plans`` (one plan or a period).

    ``catalog`` (optional) gives each activity's formats; without it the modality stands in
    for the format. Learners are matched by id across plans."""
    plans = [plans] if isinstance(plans, ClassPlan) else list(plans)
    if not plans:
        raise PlanInputError("continuum_report needs at least one ClassPlan")
    if catalog is None:
        acts: Mapping[str, PlanActivity] = {}
    elif isinstance(catalog, Mapping):
        acts = catalog
    else:
        acts = {a.id: a for a in catalog}
    learners = sorted({s.learner_id for p in plans for s in p.schedules})
    n = len(learners)
    formats = {lid: set() for lid in learners}
    skills = {lid: set() for lid in learners}
    places = {lid: set() for lid in learners}
    timelines = {lid: [] for lid in learners}
    minutes = {lid: 0.0 for lid in learners}
    groupings = {lid: set() for lid in learners}
    memberships = {lid: set() for lid in learners}
    need_groups = 0
    n_groups = 0
    for pi, p in enumerate(plans):
        size_of = {g.id: len(g.learner_ids) for g in p.groups}
        for g in p.groups:
            n_groups += 1
            need_groups += int(g.reason.need_count > 0)
        class_size = len(p.schedules)
        for sched in p.schedules:
            lid = sched.learner_id
            for it in sched.items:
                places[lid].add(it.place)
                timelines[lid].append((pi, round(it.start_min, 3), it.kind))
                if it.item is None:
                    continue
                minutes[lid] += it.item.duration_min
                a = acts.get(it.item.activity_id)
                fm = a.format_keys if a is not None else (it.item.modality,)
                formats[lid].update(fm)
                if it.item.target_skill:
                    skills[lid].add(it.item.target_skill)
                if it.group_id is not None:
                    size = size_of.get(it.group_id, 2)
                    groupings[lid].add(_grouping(size, class_size))
                    memberships[lid].add((pi, it.group_id))
                elif a is not None and a.group_max > 1 and a.grouping == "whole_class":
                    groupings[lid].add("whole_class")
                else:
                    groupings[lid].add("alone")
    scores = [
        _how(formats, learners), _what(skills, learners), _when(timelines, minutes, learners),
        _where(places, learners), _with_whom(groupings, memberships, need_groups, n_groups,
                                             learners),
    ]
    return ContinuumReport(tuple(scores), n, len(plans))


def playlists_as_plan(playlists: Sequence[Playlist], catalog: Sequence[PlanActivity] | None = None,
                      *, model: str = "playlists") -> ClassPlan:
    """Wrap per-learner playlists as a ``ClassPlan`` (items back to back from minute 0, each at
    its activity's place; group work counts as a group of the activity's size) so the
    continuum report can score them. ``model`` is only a label."""
    from planner.classplan.types import LearnerSchedule, ScheduledItem

    acts = {a.id: a for a in (catalog or ())}
    schedules = []
    for pl in playlists:
        t = 0.0
        items = []
        for n, it in enumerate(pl.items):
            a = acts.get(it.activity_id)
            place = a.place if a is not None else "classroom"
            items.append(ScheduledItem(pl.learner_id, n, t, it.duration_min, "playlist",
                                       it.modality, place, it, None))
            t += it.duration_min
        schedules.append(LearnerSchedule(pl.learner_id, tuple(items)))
    return ClassPlan(model, (), tuple(schedules), (), "feasible", 0.0, 0)


def _make(variable: str, score: int, evidence: dict, rule: str, what: str) -> DimensionScore:
    level = LEVELS[score]
    return DimensionScore(variable, score, level, evidence, rule,
                          f"{variable.replace('_', ' ')}: {level} ({score}) — {what}.")


def _how(formats, learners) -> DimensionScore:
    sets = [frozenset(formats[lid]) for lid in learners]
    mean_distinct = float(np.mean([len(s) for s in sets])) if sets else 0.0
    spread = _jaccard_distance(sets)
    all_formats = len(set().union(*sets)) if sets else 0
    if mean_distinct >= 3 and spread >= 0.3:
        score = 3
    elif mean_distinct >= 2 or spread >= 0.15:
        score = 2
    else:
        score = 1
    return _make("how", score, {"mean_formats_per_learner": round(mean_distinct, 3),
                                "distinct_formats": all_formats,
                                "format_mix_difference": round(spread, 3)},
                 "High: >= 3 formats per learner and mixes differ (Jaccard >= 0.3); Medium: >= 2 "
                 "formats or mixes differ (>= 0.15); else Low",
                 f"{mean_distinct:.1f} formats per learner on average, {all_formats} in all, "
                 f"mixes differ by {spread:.2f}")


def _what(skills, learners) -> DimensionScore:
    sets = [frozenset(skills[lid]) for lid in learners]
    spread = _jaccard_distance(sets)
    distinct = len(set().union(*sets)) if sets else 0
    if spread >= 0.5:
        score = 3
    elif spread >= 0.15:
        score = 2
    else:
        score = 1
    return _make("what", score, {"skill_set_difference": round(spread, 3),
                                 "distinct_skills": distinct},
                 "High: learners' skill sets differ by >= 0.5 (mean pairwise Jaccard distance); "
                 "Medium: >= 0.15; else Low",
                 f"learners' skills differ by {spread:.2f}; {distinct} distinct skills across "
                 "the class")


def _when(timelines, minutes, learners) -> DimensionScore:
    n = len(learners)
    distinct = len({tuple(timelines[lid]) for lid in learners})
    ratio = distinct / n if n else 0.0
    mins = np.array([minutes[lid] for lid in learners], dtype=float)
    cv = float(mins.std() / mins.mean()) if n and mins.mean() > 0 else 0.0
    # class clock: start times at which *every* learner starts something (bells, rotations)
    starts = [{(pi, t) for pi, t, _k in timelines[lid]} for lid in learners]
    common = set.intersection(*starts) if starts else set()
    total = sum(len(timelines[lid]) for lid in learners)
    on_clock = sum(1 for lid in learners for pi, t, _k in timelines[lid] if (pi, t) in common)
    clock = on_clock / total if total else 1.0
    if n <= 1:
        score = 1
    elif clock < 0.5 and ratio >= 0.3:
        score = 3
    elif distinct > 1 or cv >= 0.1:
        score = 2
    else:
        score = 1
    return _make("when", score, {"distinct_timelines": distinct,
                                 "distinct_timeline_share": round(ratio, 3),
                                 "class_clock_share": round(clock, 3),
                                 "planned_minutes_cv": round(cv, 3)},
                 "High: under 50 % of items start on the class clock (times when every learner "
                 "switches) and >= 30 % of learners have their own timeline; Medium: more than "
                 "one timeline or planned minutes vary >= 10 %; else Low",
                 f"{distinct} distinct timelines for {n} learners; {100 * clock:.0f} % of items "
                 f"start on the class clock; planned minutes vary by {100 * cv:.0f} %")


def _where(places, learners) -> DimensionScore:
    sets = [frozenset(places[lid]) for lid in learners]
    distinct = len(set().union(*sets)) if sets else 0
    patterns = len(set(sets))
    if distinct >= 3 or (distinct >= 2 and patterns >= 2):
        score = 3
    elif distinct >= 2:
        score = 2
    else:
        score = 1
    return _make("where", score, {"distinct_places": distinct, "place_patterns": patterns},
                 "High: >= 3 places, or >= 2 places with learners' place patterns differing; "
                 "Medium: >= 2 places, the same for everyone; else Low",
                 f"{distinct} place(s) in use, {patterns} distinct place pattern(s)")


def _with_whom(groupings, memberships, need_groups, n_groups, learners) -> DimensionScore:
    modes = [len(groupings[lid]) for lid in learners]
    mean_modes = float(np.mean(modes)) if modes else 0.0
    all_modes = len(set().union(*[groupings[lid] for lid in learners])) if learners else 0
    mean_groups = float(np.mean([len(memberships[lid]) for lid in learners])) if learners else 0.0
    need_share = need_groups / n_groups if n_groups else 0.0
    if mean_modes >= 2 and need_share >= 0.5 and mean_groups >= 1:
        score = 3
    elif mean_modes >= 1.5 or all_modes >= 2 or n_groups > 0:
        score = 2
    else:
        score = 1
    return _make("with_whom", score, {"mean_grouping_modes": round(mean_modes, 3),
                                      "grouping_modes": all_modes,
                                      "groups_per_learner": round(mean_groups, 3),
                                      "need_based_group_share": round(need_share, 3)},
                 "High: >= 2 grouping modes per learner and >= 50 % of groups formed by shared "
                 "need; Medium: learners work in more than one way or in groups; else Low",
                 f"{mean_modes:.1f} grouping modes per learner, {mean_groups:.1f} groups each, "
                 f"{100 * need_share:.0f} % of groups formed by shared need")
