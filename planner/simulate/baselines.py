"""Fair baselines for the world family: the same catalog, the same beliefs (observed evidence
only), the same hard filters (``planner.playlist._eligibility.hard_filter``), the same
minute budget, item count and modality limits of the request as Pathwise.

* ``random_ready``: random activities all of whose skills are mastered or ready (every
  declared prerequisite believed mastered);
* ``lowest_mastery_first``: the ready skill with the lowest belief, its activity with the
  highest catalog learn probability per minute; repeat (belief advanced by the catalog rate);
* ``greedy``: the ready activity with the highest expected gain per minute,
  Σ_k w_k (1 − p_k) T_ak / d_a (goal weights as the planner's), then update p; repeat;
* ``one_size_fits_all``: the class follows one fixed curriculum sequence (declared-graph
  order, two activities per skill, skipping skills whose median pre-test belief among the
  learners observed on them is mastered); a learner who cannot do an item gets an accommodated substitute on the same
  skill (or skips it), never a violation;
* ``pathwise``: ``planner.playlist.plan.plan_playlist`` — the entry point the engine calls.
"""

from __future__ import annotations

import numpy as np

from planner.model import PlanActivity, PlanLearner, PlaylistRequest
from planner.playlist._eligibility import hard_filter


def _allowed(a: PlanActivity, learner: PlanLearner, request: PlaylistRequest) -> bool:
    hi = request.modality_bounds.get(a.modality, (0, 10**9))[1]
    return hi > 0 and hard_filter(a, learner, request) is None


class _Session:
    """Budget, length and modality bookkeeping of one session being filled."""

    def __init__(self, request: PlaylistRequest) -> None:
        self.r = request
        self.left = request.budget_min
        self.out: list[PlanActivity] = []
        self.mods: dict[str, int] = {}

    def fits(self, a: PlanActivity) -> bool:
        hi = self.r.modality_bounds.get(a.modality, (0, 10**9))[1]
        return (a.duration_min <= self.left + 1e-9 and len(self.out) < self.r.length_max
                and self.mods.get(a.modality, 0) < hi and a not in self.out)

    def add(self, a: PlanActivity) -> None:
        self.out.append(a)
        self.left -= a.duration_min
        self.mods[a.modality] = self.mods.get(a.modality, 0) + 1


def _beliefs(world, learner: PlanLearner) -> dict[str, float]:
    return {k: learner.mastery_of(k) for k in world.graph.ids}


def _ready(world, belief: dict[str, float], theta: float) -> set[str]:
    g = world.graph
    return {k for k in g.ids if belief[k] < theta
            and all(belief[j] >= theta for j in g.prerequisites_of(k))}


def _ok_skills(a: PlanActivity, belief, ready, theta) -> bool:
    return all(k in ready or belief[k] >= theta for k in a.skill_ids) and any(
        k in ready for k in a.skill_ids)


def random_ready(world, learner, request, session, seed) -> list[PlanActivity]:
    theta = request.mastered_threshold
    belief = _beliefs(world, learner)
    ready = _ready(world, belief, theta)
    rng = np.random.default_rng(seed)
    ses = _Session(request)
    for i in rng.permutation(len(world.catalog)):
        a = world.catalog[int(i)]
        if _ok_skills(a, belief, ready, theta) and _allowed(a, learner, request) and ses.fits(a):
            ses.add(a)
    return ses.out


def _advance(belief: dict[str, float], a: PlanActivity) -> None:
    for k in a.skill_ids:
        belief[k] += (1.0 - belief[k]) * a.learn_probability(k)


def lowest_mastery_first(world, learner, request, session, seed) -> list[PlanActivity]:
    theta = request.mastered_threshold
    belief = _beliefs(world, learner)
    ready = _ready(world, belief, theta)
    by_skill = world.cache.get("by_skill")
    if by_skill is None:
        by_skill = {}
        for a in world.catalog:
            by_skill.setdefault(a.skill_ids[0], []).append(a)
        for k in by_skill:
            by_skill[k].sort(key=lambda a: -a.learn_probability(a.skill_ids[0]) / a.duration_min)
        world.cache["by_skill"] = by_skill
    ses = _Session(request)
    while True:
        pick = None
        for k in sorted(ready, key=lambda k: (belief[k], k)):
            for a in by_skill.get(k, ()):
                if _ok_skills(a, belief, ready, theta) and _allowed(a, learner, request) \
                        and ses.fits(a):
                    pick = a
                    break
            if pick is not None:
                break
        if pick is None:
            return ses.out
        ses.add(pick)
        _advance(belief, pick)


def greedy_gain(world, learner, request, session, seed) -> list[PlanActivity]:
    theta = request.mastered_threshold
    belief = _beliefs(world, learner)
    ready = _ready(world, belief, theta)
    w0 = request.weights.default_goal_weight
    pool = [a for a in world.catalog
            if _ok_skills(a, belief, ready, theta) and _allowed(a, learner, request)]
    ses = _Session(request)
    while True:
        best, best_v = None, 0.0
        for a in pool:
            if not ses.fits(a):
                continue
            v = sum(float(learner.goals.get(k, w0)) * (1.0 - belief[k]) * a.learn_probability(k)
                    for k in a.skill_ids if belief[k] < theta) / a.duration_min
            if v > best_v:
                best, best_v = a, v
        if best is None:
            return ses.out
        ses.add(best)
        _advance(belief, best)


def osfa_sequence(world, request) -> list[PlanActivity]:
    """The class's fixed sequence (see module doc), cached on the world."""
    key = ("osfa", request.budget_min)
    seq = world.cache.get(key)
    if seq is None:
        g, theta = world.graph, request.mastered_threshold
        # the median over the learners who showed evidence on the skill (a teacher paces
        # to what the class has shown; never-observed skills count as not mastered)
        obs = ~np.isnan(world.pre_belief)
        med = np.array([np.median(world.pre_belief[obs[:, i], i]) if obs[:, i].any() else 0.0
                        for i in range(len(g))])
        seq = []
        for k in sorted(g.ids, key=lambda k: (g.rank_of(k), k)):
            if med[g.index[k]] >= theta:
                continue
            acts = [a for a in world.catalog if a.skill_ids[0] == k
                    and request.modality_bounds.get(a.modality, (0, 1))[1] > 0]
            acts.sort(key=lambda a: (-a.learn_probability(k), a.id))
            seq.extend(acts[:2])
        world.cache[key] = seq
    return seq


def _osfa_session(world, request, session) -> list[PlanActivity]:
    """The class's items of ``session`` (the sequence filled session by session)."""
    key = ("osfa_sessions", request.budget_min)
    sessions = world.cache.get(key)
    if sessions is None:
        seq, pos, sessions = osfa_sequence(world, request), 0, []
        for _ in range(world.spec.sessions):
            ses = _Session(request)
            while pos < len(seq) and ses.fits(seq[pos]):
                ses.add(seq[pos])
                pos += 1
            sessions.append(ses.out)
        world.cache[key] = sessions
    return sessions[session]


def one_size_fits_all(world, learner, request, session, seed) -> list[PlanActivity]:
    ses = _Session(request)
    for a in _osfa_session(world, request, session):
        if _allowed(a, learner, request) and ses.fits(a):
            ses.add(a)
            continue
        subs = [b for b in world.catalog if b.skill_ids[0] == a.skill_ids[0]
                and _allowed(b, learner, request) and ses.fits(b)]
        if subs:
            ses.add(min(subs, key=lambda b: (abs(b.duration_min - a.duration_min), b.id)))
    return ses.out


def pathwise(world, learner, request, session, seed) -> list[PlanActivity]:
    return _planned(world, world.catalog, learner, request)


def _planned(world, catalog, learner, request) -> list[PlanActivity]:
    """Pathwise's playlist over ``catalog`` (the world's, or it with other learn
    probabilities), as the world's own activities: the simulator applies their true quality."""
    from planner.playlist.plan import plan_playlist

    by_id = world.cache.setdefault("by_id", {a.id: a for a in world.catalog})
    return [by_id[i.activity_id] for i in plan_playlist(world.graph, catalog, learner, request).items]


def pathwise_with(**weights):
    """Pathwise with some ``PlanWeights`` changed (ablations: e.g. ``unlock=0``)."""
    from dataclasses import replace

    def policy(world, learner, request, session, seed):
        req = replace(request, weights=replace(request.weights, **weights))
        return pathwise(world, learner, req, session, seed)
    return policy


def oracle_quality(world, learner, request, session, seed) -> list[PlanActivity]:
    """Pathwise told each activity's true quality (``world.quality``, the catalog's p_learn
    times it): the most any learned activity effectiveness could give in this world (an
    upper reference for ``LearningPathwise``, not a policy a school could run)."""
    from planner._rescale import rescaled

    adjusted = world.cache.get("oracle_catalog")
    if adjusted is None:
        mult = {a.id: float(q) for a, q in zip(world.catalog, world.quality, strict=True)}
        adjusted = world.cache["oracle_catalog"] = rescaled(world.catalog, mult, relative=False)
    return _planned(world, adjusted, learner, request)


class LearningPathwise:
    """Pathwise planning with the school's ``planner.effectiveness.EffectivenessModel``:
    each plan uses a Thompson draw of every activity's multiplier (and the learner's format
    multipliers); every exit ticket updates the model. One model per drawn world (a school),
    learning across its learners in turn."""

    def __init__(self, thompson: bool = True, relative: bool = False, formats: bool = True,
                 per_skill: bool = False, gate: bool = False) -> None:
        self.thompson = thompson
        self.relative = relative
        self.per_skill = per_skill
        self.formats = formats  # False: activity multipliers only, no learner-format ones
        self.gate = gate  # plan as plain pathwise until the school's activities are shown to differ
        self.models: dict = {}
        self._tested = (-1, False)  # (tickets when last tested, differs)

    def differs(self, world) -> bool:
        """The school's activities-differ test (``EffectivenessModel.differ_test``), redone
        once the tickets grew by a tenth since the last one (as the engine refits)."""
        model = self._model(world)
        n = self._tested[0]
        if n < 0 or len(model._rows) >= 1.1 * n + 10:
            self._tested = (len(model._rows), model.differ_test()["differs"])
        return self._tested[1]

    def _model(self, world):
        from planner.effectiveness import EffectivenessModel

        key = (world.spec.name, world.seed, id(world))
        if key not in self.models:
            self.models = {key: EffectivenessModel(relative=self.relative,
                                                   per_skill=self.per_skill)}  # one world at a time
            self._tested = (-1, False)
        return self.models[key]

    def observe(self, world, s, activity, skill, p_before, score, **_kw) -> None:
        lr = world.learners[s]
        self._model(world).observe(activity, skill, p_before, score, learner_id=lr.id,
                                   preferred_formats=lr.preferred_formats)

    def __call__(self, world, learner, request, session, seed) -> list[PlanActivity]:
        if self.gate and not self.differs(world):
            return pathwise(world, learner, request, session, seed)
        rng = np.random.default_rng(seed) if self.thompson else None
        adjusted = self._model(world).adjusted(
            world.catalog, rng=rng, learner_id=learner.id if self.formats else None,
            preferred_formats=learner.preferred_formats)
        return _planned(world, adjusted, learner, request)


class SpacingPathwise:
    """Pathwise planning with review scheduled from the school's
    ``planner.forgetting.ForgettingModel``: a ticket on a skill believed mastered (belief >= θ)
    some days after its previous observation is a retention check, one in the same session
    measures the learner's slip; each plan passes the
    learner's fitted half-lives (``PlanLearner.half_life_days``). With ``gate`` it plans as
    plain ``pathwise`` until the school's checks show forgetting (``ForgettingModel.forgets``),
    then with the weights (and, with ``fitted``, half-lives centred on the school's own; with
    ``school_half_life``, the school's one fitted half-life on every practised skill in place
    of the request's fixed ``review_half_life_days``: ``planner.forgetting.with_half_life``,
    as the engine does)."""

    def __init__(self, threshold: float = 0.95, *, gate: bool = False, fitted: bool = True,
                 school_half_life: bool = False, **weights) -> None:
        self.threshold = threshold
        self.gate = gate  # plan as plain pathwise until the school's checks show forgetting
        self.fitted = fitted  # False: keep the request's fixed half-life (the gate only)
        self.school_half_life = school_half_life
        self.weights = weights  # PlanWeights overrides (e.g. protect=1)
        self.models: dict = {}

    def _model(self, world):
        from planner.forgetting import ForgettingModel

        key = (world.spec.name, world.seed, id(world))
        if key not in self.models:
            self.models = {key: ForgettingModel(school_prior=self.gate)}
        return self.models[key]

    def forgets(self, world) -> bool:
        """Whether this school's checks so far show forgetting (``ForgettingModel.forgets``)."""
        return self._model(world).forgets()

    def observe(self, world, s, activity, skill, p_before, score, days=float("nan")) -> None:
        if p_before < self.threshold:  # NaN days (first observation) fail both tests below
            return
        if days > 0:
            self._model(world).observe(world.learners[s].id, skill, days, score)
        elif days == 0:  # same session as the previous practice: an error is a slip
            self._model(world).observe_same_day(world.learners[s].id, score)

    def adjusted(self, world, learner, request) -> tuple[PlanLearner, PlaylistRequest]:
        """(learner, request) as this policy plans them: unchanged while ``gate`` and the
        school's checks show no forgetting."""
        from dataclasses import replace

        from planner.forgetting import with_half_life

        if self.gate and not self.forgets(world):
            return learner, request
        if self.fitted:
            learner = replace(learner, half_life_days=self._model(world).half_lives(
                learner.id, learner.days_since_practice))
        if self.school_half_life:
            learner = with_half_life(learner, self._model(world).school_half_life())
        if self.weights:
            request = replace(request, weights=replace(request.weights, **self.weights))
        return learner, request

    def __call__(self, world, learner, request, session, seed) -> list[PlanActivity]:
        learner, request = self.adjusted(world, learner, request)
        return pathwise(world, learner, request, session, seed)


class EngineDefault:
    """Pathwise as the engine plans by default: what review protects (``protect`` 1, decaying
    with the school's fitted half-life) once the school's retention checks show forgetting
    (``PlanningPolicy.protect_from_forgetting`` ``"when_shown"``), and the learned activity
    effectiveness (posterior mean, ranked per skill) once the school's tickets show that
    activities teaching the same skill differ (``learn_effectiveness`` ``"when_shown"``).
    A fresh instance per drawn world's run: it learns across that school's learners."""

    def __init__(self) -> None:
        self.forgetting = SpacingPathwise(gate=True, fitted=False, school_half_life=True, protect=1.0)
        self.learning = LearningPathwise(thompson=False, relative=True, per_skill=True, gate=True)

    def forgets(self, world) -> bool:
        return self.forgetting.forgets(world)

    def observe(self, *args, **kwargs) -> None:
        self.forgetting.observe(*args, **kwargs)
        self.learning.observe(*args, **kwargs)

    def __call__(self, world, learner, request, session, seed) -> list[PlanActivity]:
        learner, request = self.forgetting.adjusted(world, learner, request)
        return self.learning(world, learner, request, session, seed)


def engine_default() -> EngineDefault:
    """Pathwise as the engine plans by default (:class:`EngineDefault`)."""
    return EngineDefault()


ABLATIONS = {
    "pathwise": {},
    "no-unlock": {"unlock": 0.0},
    "no-chain-risk": {"chain_residual": 1.0},
    "one-step (old)": {"unlock": 0.0, "chain_residual": 1.0},
    "+diagnostic": {"diagnostic": 1.0},
    "+lookahead d=2": {"lookahead_depth": 2},
    "+lookahead d=3": {"lookahead_depth": 3},
    "+protect": {"protect": 1.0},
}
"""Objective terms switched off one at a time (``python -m benchmarks.planner_sim
--ablation``)."""


BASELINES = {
    "random_ready": random_ready,
    "lowest_mastery_first": lowest_mastery_first,
    "greedy": greedy_gain,
    "one_size_fits_all": one_size_fits_all,
}
POLICIES = {**BASELINES, "pathwise": pathwise}
