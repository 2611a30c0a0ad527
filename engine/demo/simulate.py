"""Synthetic evidence from BKT dynamics that respect the prerequisite graph.

Model (per learner ``l``, skill ``k``): a hidden known/unknown state. Start of term:
skills below the learner's grade are known with probability rising with ability,
on-grade skills rarely, above-grade almost never; then, in topological order, a
skill whose prerequisite is unknown stays known only with probability 0.3.
Each observation: P(correct) = 1 - p_slip if known else p_guess (averaged over the
activity's skills by weight); afterwards an unknown skill becomes known with
probability ``p_learn * learn_rate(l) * kind factor * weight`` (x 0.2 while a
prerequisite is still unknown). No forgetting (standard BKT).

Scores by source: ``lms`` = 0/1 (or the fraction of 5 items for assessments);
``teacher_observation`` = a 4-level rubric mapped to {0, 1/3, 2/3, 1};
``self_report`` = an optimistic estimate on a quarter grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from engine.domain.catalog import Activity, ActivityCatalog
from engine.domain.classes import (
    ALaCarte,
    Class,
    EnrichedVirtual,
    Flex,
    Flipped,
    IndividualRotation,
    LabRotation,
    StationRotation,
)
from engine.domain.learners import Learner
from engine.graph.competency import CompetencyGraph

FIRST_DAY = date(2026, 9, 8)
LAST_DAY = date(2026, 11, 20)
HOLIDAYS = (date(2026, 10, 12), date(2026, 11, 11))
KIND_FACTOR = {"lesson": 1.1, "practice": 1.0, "project": 0.9, "small_group": 1.4,
               "online_module": 1.0, "assessment": 0.3}
CSV_COLUMNS = ("observation_id", "learner_id", "activity_id", "skill_ids", "score",
               "observed_at", "source")


@dataclass(frozen=True, slots=True)
class TrueParams:
    """Generating BKT parameters of one skill."""

    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float = 0.0


def skill_params(graph: CompetencyGraph, rng: np.random.Generator) -> dict[str, TrueParams]:
    return {
        s.id: TrueParams(round(float(rng.uniform(0.15, 0.40)), 3),
                         round(float(rng.uniform(0.10, 0.25)), 3),
                         round(float(rng.uniform(0.05, 0.12)), 3))
        for s in graph.skills
    }


def initial_knowledge(graph: CompetencyGraph, learners: tuple[Learner, ...],
                      ability: dict[str, float], rng: np.random.Generator) -> dict[str, set[str]]:
    """Skills each learner knows at the start of term (prerequisite-consistent)."""
    topo = graph.topological_order()
    out: dict[str, set[str]] = {}
    for lr in learners:
        g = int(lr.grade)
        a = ability[lr.id]
        known: set[str] = set()
        for sid in topo:
            sg = int(graph.skill(sid).grade)
            if sg < g:
                p = 0.72 + 0.12 * a + 0.08 * (g - sg - 1)
            elif sg == g:
                p = 0.10 + 0.05 * a
            else:
                p = 0.01
            p = float(np.clip(p, 0.01, 0.97))
            if rng.random() < p:
                if any(q not in known for q in graph.prerequisites(sid)) and rng.random() > 0.3:
                    continue
                known.add(sid)
        out[lr.id] = known
    return out


def school_days() -> list[date]:
    days, d = [], FIRST_DAY
    while d <= LAST_DAY:
        if d.weekday() < 5 and d not in HOLIDAYS:
            days.append(d)
        d += timedelta(days=1)
    return days


_WEEKDAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _modalities(cls: Class, at_home: bool, rng: np.random.Generator) -> tuple[str, ...]:
    m = cls.model
    if at_home:
        return ("online",)
    if isinstance(m, StationRotation | IndividualRotation):
        st = m.stations[int(rng.integers(len(m.stations)))]
        return (("online",) if st.online else ("teacher_led",) if st.teacher_led
                else ("collaborative",) if st.collaborative else ("independent_offline",))
    if isinstance(m, LabRotation):
        return ("online",) if rng.random() < 0.5 else ("teacher_led", "independent_offline")
    if isinstance(m, Flipped):
        return ("collaborative", "independent_offline", "teacher_led")
    if isinstance(m, Flex):
        return ("teacher_led",) if rng.random() < 0.15 else ("online", "independent_offline")
    if isinstance(m, ALaCarte):
        return ("online",)
    if isinstance(m, EnrichedVirtual):
        return ("teacher_led", "collaborative", "independent_offline")
    return ("online", "teacher_led", "collaborative", "independent_offline")


class _Sim:
    def __init__(self, graph: CompetencyGraph, catalog: ActivityCatalog,
                 params: dict[str, TrueParams], known: dict[str, set[str]],
                 learn_rate: dict[str, float], rng: np.random.Generator) -> None:
        self.g, self.cat, self.params, self.rng = graph, catalog, params, rng
        self.known = {k: set(v) for k, v in known.items()}
        self.learn_rate = learn_rate
        topo = graph.topological_order()
        self.grade_topo = {gr: [s for s in topo if graph.skill(s).grade == gr]
                           for gr in {s.grade for s in graph.skills}}
        self.rows: list[tuple[str, str, str, float, datetime, str]] = []

    def prereqs_known(self, lid: str, sid: str) -> bool:
        return all(p in self.known[lid] for p in self.g.prerequisites(sid))

    def target(self, lid: str, grade: str, progress: float) -> str:
        rng, known = self.rng, self.known[lid]
        seq = self.grade_topo[grade]
        ptr = int(progress * 0.75 * len(seq))
        window = seq[max(0, ptr - 3): ptr + 3]
        r = rng.random()
        if r < 0.55:
            ready = [s for s in seq if s not in known and self.prereqs_known(lid, s)][:3]
            if ready:
                return ready[int(rng.integers(len(ready)))]
        elif r >= 0.80:
            focus = window[int(rng.integers(len(window)))]
            gaps = [s for s in self.g.ancestors(focus) if s not in known]
            if gaps:
                return gaps[0] if rng.random() < 0.6 else gaps[int(rng.integers(len(gaps)))]
            anc = self.g.ancestors(focus)
            if anc:
                return anc[int(rng.integers(len(anc)))]
        return window[int(rng.integers(len(window)))]

    def activity(self, sid: str, modalities: tuple[str, ...], at_home: bool) -> Activity:
        pool = self.cat.for_skill(sid)
        fit = [a for a in pool if a.modality in modalities
               and (not at_home or a.place != "community")]
        choice = fit or list(pool)
        return choice[int(self.rng.integers(len(choice)))]

    def observe(self, lid: str, act: Activity, when: datetime) -> None:
        rng, known = self.rng, self.known[lid]
        p = sum(w * ((1 - self.params[s].p_slip) if s in known else self.params[s].p_guess)
                for s, w in act.skills) / sum(w for _, w in act.skills)
        if act.modality == "online":
            source = "lms"
        elif act.modality == "teacher_led" or act.kind == "assessment":
            source = "teacher_observation"
        elif act.modality == "collaborative":
            source = "teacher_observation" if rng.random() < 0.7 else "self_report"
        else:
            source = "lms" if rng.random() < 0.6 else "self_report"
        if source == "lms":
            score = (rng.binomial(5, p) / 5 if act.kind == "assessment"
                     else float(rng.random() < p))
        elif source == "teacher_observation":
            score = rng.binomial(3, p) / 3
        else:
            score = round(float(np.clip(p + 0.1 + rng.normal(0, 0.15), 0, 1)) * 4) / 4
        self.rows.append((lid, act.id, ";".join(act.skill_ids), round(float(score), 4), when,
                          source))
        for s, w in act.skills:
            if s in known:
                continue
            rate = self.params[s].p_learn * self.learn_rate[lid] * KIND_FACTOR[act.kind] * w
            if not self.prereqs_known(lid, s):
                rate *= 0.2
            if rng.random() < min(rate, 0.9):
                known.add(s)


def simulate(graph: CompetencyGraph, catalog: ActivityCatalog, learners: tuple[Learner, ...],
             classes: tuple[Class, ...], params: dict[str, TrueParams],
             known: dict[str, set[str]], learn_rate: dict[str, float],
             rng: np.random.Generator, progress: object = None) -> list[list[str]]:
    """Evidence rows (``CSV_COLUMNS`` order, as text), sorted by time then learner."""
    sim = _Sim(graph, catalog, params, known, learn_rate, rng)
    grade_of = {lr.id: lr.grade for lr in learners}
    days = school_days()
    for cls in classes:
        by_day = {slot.day.value: slot for slot in cls.schedule}
        for di, day in enumerate(days):
            frac = di / max(1, len(days) - 1)
            wd = _WEEKDAY[day.weekday()]
            slot = by_day.get(wd)
            for lid in cls.roster:
                if slot is not None and rng.random() < 0.93:
                    hh, mm = (int(x) for x in slot.start.split(":"))
                    t = datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)
                    sid = sim.target(lid, grade_of[lid], frac)
                    for k in range(int(rng.integers(3, 6))):
                        t += timedelta(minutes=int(rng.integers(4, 14)))
                        if k == 3:  # a second focus late in the session
                            sid = sim.target(lid, grade_of[lid], frac)
                        act = sim.activity(sid, _modalities(cls, False, rng), False)
                        sim.observe(lid, act, t)
                home = 0
                if isinstance(cls.model, Flipped) and slot is not None and rng.random() < 0.7:
                    home = 1
                elif isinstance(cls.model, EnrichedVirtual) and slot is None:
                    home = int(rng.integers(2, 4))
                if home:
                    t = datetime(day.year, day.month, day.day, 23, int(rng.integers(0, 40)),
                                 tzinfo=UTC)
                    sid = sim.target(lid, grade_of[lid], frac)
                    for _ in range(home):
                        t += timedelta(minutes=int(rng.integers(5, 15)))
                        sim.observe(lid, sim.activity(sid, ("online",), True), t)
        if progress is not None:
            progress.update(1)  # type: ignore[attr-defined]
    order = sorted(range(len(sim.rows)), key=lambda i: (sim.rows[i][4], sim.rows[i][0], i))
    out = []
    for n, i in enumerate(order, start=1):
        lid, aid, skills, score, when, source = sim.rows[i]
        out.append([f"E{n:06d}", lid, aid, skills, f"{score:g}",
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"), source])
    return out
