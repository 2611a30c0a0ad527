"""A family of simulated worlds that differ from the planner's assumptions (issue 15 item 4).

A ``WorldSpec`` is a set of knobs, one per kind of misspecification; ``build_world(spec,
seed)`` draws one ``World`` from it. The planner (and every baseline) sees only the *view*:
the declared prerequisite graph, the catalog with its catalog learn probabilities, the
declared learner profiles and beliefs filtered from observed evidence. The truth differs:

* ``missing_edges`` / ``extra_edges``: share of true prerequisite edges the declared graph
  lacks, and spurious declared edges (as a share of the true edge count);
* ``gate``: the true learn probability is multiplied by it while a *true* prerequisite is
  not truly mastered;
* ``rate_sigma``: per-learner learn-rate multiplier, lognormal with this sd (of the log);
  ``guess``/``slip``: per-learner ranges of the true guess and slip of an exit ticket;
* ``quality_sigma``: per-activity true quality multiplier the catalog does not know;
* ``pref_accuracy``: chance each declared preferred format is a true one; true preferred
  formats multiply learning by ``pref_boost``, others by ``pref_mismatch``;
* ``half_life_days``: median days until a mastered skill is forgotten with probability 1/2
  (per learner and skill, lognormal spread ``half_life_sigma``; inf = no forgetting); each
  session a mastered skill is practised multiplies its half-life by ``consolidation``;
* ``fatigue``: learning on the n-th repetition of a skill within one session is multiplied
  by ``fatigue**n``;
* ``p_rubric`` / ``p_absent``: share of observations that are only a rubric score (soft,
  noisy in [0, 1]) or missing entirely;
* ``accommodation_share``: learners needing an accommodation; ``support``: chance an
  activity supports a given accommodation;
* ``pretest_share`` / ``pretest_items``: the evidence before the first session (items on a
  share of the skills, with the learner's true guess and slip);
* ``checks``: the catalog also has a 5-minute unit check per skill (kind "assessment",
  learn probability 0.02): evidence that costs little time (``planner.diagnostic``);
* ``n_skills``, ``n_layers`` (depth), ``max_prereqs``: graph shape; ``session_minutes``,
  ``sessions``, ``gap_days``: the horizon; ``class_model``: "none" or "a_la_carte"
  (online-only, as the engine's class model sets it).

Common random numbers: every draw is indexed by (learner, skill, attempt) or (learner,
session, skill), so two policies making the same attempt see the same outcome.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from planner.model import MODALITIES, PlanActivity, PlanLearner, PlanSkill, SkillGraph

FORMATS_BY_MODALITY = {
    "online": ("video", "practice", "game"),
    "teacher_led": ("discussion", "lesson"),
    "collaborative": ("project", "discussion", "hands-on"),
    "independent_offline": ("reading", "worksheet", "hands-on"),
}
ALL_FORMATS = tuple(sorted({f for fs in FORMATS_BY_MODALITY.values() for f in fs}))
ACCOMMODATIONS = ("text-to-speech", "large-print", "extended-time")
MAX_ATTEMPTS = 96


@dataclass(frozen=True)
class WorldSpec:
    """Knobs of one world (see module doc for each)."""

    name: str
    n_skills: int = 40
    n_layers: int = 5
    max_prereqs: int = 2
    n_activities: int = 160
    missing_edges: float = 0.0
    extra_edges: float = 0.0
    gate: float = 0.25
    rate_sigma: float = 0.0
    guess: tuple[float, float] = (0.2, 0.2)
    slip: tuple[float, float] = (0.1, 0.1)
    quality_sigma: float = 0.0
    pref_accuracy: float = 1.0
    pref_boost: float = 1.25
    pref_mismatch: float = 0.9
    half_life_days: float = math.inf
    half_life_sigma: float = 0.5
    consolidation: float = 1.6
    fatigue: float = 1.0
    p_rubric: float = 0.0
    p_absent: float = 0.0
    accommodation_share: float = 0.15
    support: float = 0.6
    session_minutes: float = 60.0
    sessions: int = 6
    gap_days: float = 3.5
    class_model: str = "none"
    n_learners: int = 40
    pretest_share: float = 0.6
    pretest_items: int = 3
    checks: bool = False
    description: str = ""


@dataclass(frozen=True, eq=False)
class World:
    """One drawn world. Shapes: S learners, K skills, A activities.

    ``true_prereqs[k]``: true prerequisite indices of skill k; ``graph``: the declared
    graph the planner sees (same ids). ``quality`` (A,), ``rate``/``guess``/``slip`` (S,),
    ``half_life`` (S, K) days, ``true_formats[s]``: true preferred formats, ``true0`` (S, K)
    bool. Beliefs start from a pre-test: ``pre_obs`` (S, K) observations already counted,
    ``pre_belief`` (S, K) BKT mastery (NaN = never observed), ``pre_days`` (S, K) days since.
    ``u_learn``, ``u_obs``, ``u_mode``, ``u_noise`` (S, K, MAX_ATTEMPTS); ``u_forget``
    (S, sessions, K); ``u_policy`` (S, sessions) integer seeds."""

    spec: WorldSpec
    seed: int
    graph: SkillGraph
    true_prereqs: tuple[tuple[int, ...], ...]
    catalog: tuple[PlanActivity, ...]
    quality: np.ndarray
    learners: tuple[PlanLearner, ...]
    true_formats: tuple[frozenset[str], ...]
    rate: np.ndarray
    guess: np.ndarray
    slip: np.ndarray
    half_life: np.ndarray
    true0: np.ndarray
    pre_obs: np.ndarray
    pre_belief: np.ndarray
    pre_days: np.ndarray
    u_learn: np.ndarray
    u_obs: np.ndarray
    u_mode: np.ndarray
    u_noise: np.ndarray
    u_forget: np.ndarray
    u_policy: np.ndarray
    cache: dict = field(default_factory=dict, repr=False)


def _true_graph(spec: WorldSpec, rng) -> list[list[int]]:
    per = max(1, math.ceil(spec.n_skills / spec.n_layers))
    prereqs: list[list[int]] = []
    for i in range(spec.n_skills):
        layer = i // per
        if layer == 0:
            prereqs.append([])
            continue
        above = list(range((layer - 1) * per, min(layer * per, spec.n_skills)))
        k = int(rng.integers(1, min(spec.max_prereqs, len(above)) + 1))
        prereqs.append(sorted(rng.choice(above, size=k, replace=False).tolist()))
    return prereqs


def _declared_graph(spec: WorldSpec, true: list[list[int]], rng) -> list[list[int]]:
    """Drop ``missing_edges`` of the true edges, add ``extra_edges`` spurious ones (from an
    earlier layer, so the declared graph stays acyclic)."""
    per = max(1, math.ceil(spec.n_skills / spec.n_layers))
    decl = [[p for p in ps if rng.random() >= spec.missing_edges] for ps in true]
    n_edges = sum(len(p) for p in true)
    n_extra = int(round(spec.extra_edges * n_edges))
    tries = 0
    while n_extra > 0 and tries < 50 * (n_extra + 1):
        tries += 1
        k = int(rng.integers(per, spec.n_skills)) if spec.n_skills > per else 0
        layer = k // per
        if layer == 0:
            continue
        j = int(rng.integers(0, layer * per))
        if j not in decl[k] and j not in true[k]:
            decl[k] = sorted([*decl[k], j])
            n_extra -= 1
    return decl


def _catalog(spec: WorldSpec, true: list[list[int]], rng) -> list[PlanActivity]:
    ids = [f"k{i:02d}" for i in range(spec.n_skills)]
    mod_p = np.array([0.45, 0.15, 0.2, 0.2])
    if spec.class_model == "a_la_carte":
        mod_p = np.array([0.6, 0.1, 0.15, 0.15])
    out = []
    for i in range(spec.n_activities):
        k = i % spec.n_skills if i < 2 * spec.n_skills else int(rng.integers(spec.n_skills))
        skills = [(ids[k], 1.0)]
        near = true[k] + [j for j in range(spec.n_skills) if k in true[j]]
        if near and rng.random() < 0.25:
            skills.append((ids[int(rng.choice(near))], 0.5))
        m = MODALITIES[int(rng.choice(4, p=mod_p))]
        fmt = str(rng.choice(FORMATS_BY_MODALITY[m]))
        gmax = {"online": 1, "teacher_led": 8, "collaborative": 4, "independent_offline": 1}[m]
        out.append(PlanActivity(
            id=f"w{i:03d}", title=f"{fmt} on skill {k} #{i}", skills=tuple(skills), kind=fmt,
            modality=m, duration_min=float(rng.choice([10, 15, 20, 25, 30])),
            group_min=1 if gmax == 1 else 2, group_max=gmax, formats=(fmt,),
            accommodations=frozenset(a for a in ACCOMMODATIONS if rng.random() < spec.support),
            p_learn=float(rng.uniform(0.08, 0.35))))
    if spec.checks:  # a 5-minute unit check per skill: evidence, barely any learning
        out += [PlanActivity(id=f"c{k:02d}", title=f"unit check on skill {k}", skills=((ids[k], 1.0),),
                             kind="assessment", modality="online", duration_min=5.0,
                             formats=("check",), accommodations=frozenset(ACCOMMODATIONS),
                             p_learn=0.02) for k in range(spec.n_skills)]
    return out


def _learners(spec: WorldSpec, graph: SkillGraph, rng) -> tuple[list[PlanLearner], list[frozenset]]:
    learners, true_formats = [], []
    for s in range(spec.n_learners):
        true_f = frozenset(rng.choice(ALL_FORMATS, size=2, replace=False).tolist())
        declared = {f if rng.random() < spec.pref_accuracy else str(rng.choice(ALL_FORMATS))
                    for f in sorted(true_f)}
        needs = frozenset()
        if rng.random() < spec.accommodation_share:
            needs = frozenset([str(rng.choice(ACCOMMODATIONS))])
        goals = {str(k): 2.0 for k in rng.choice(graph.ids, size=4, replace=False)}
        learners.append(PlanLearner(
            id=f"{spec.name}-{s:03d}", mastery={}, goals=goals,
            preferred_formats=frozenset(declared), accommodations=needs,
            languages=frozenset({"en"})))
        true_formats.append(true_f)
    return learners, true_formats


def build_world(spec: WorldSpec, seed: int) -> World:
    """Draw one world of ``spec`` (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    true = _true_graph(spec, rng)
    decl = _declared_graph(spec, true, rng)
    ids = [f"k{i:02d}" for i in range(spec.n_skills)]
    graph = SkillGraph.from_skills(
        PlanSkill(ids[i], tuple(ids[j] for j in decl[i]), title=f"skill {i}")
        for i in range(spec.n_skills))
    catalog = _catalog(spec, true, rng)
    learners, true_formats = _learners(spec, graph, rng)
    S, K, A = spec.n_learners, spec.n_skills, len(catalog)
    quality = np.exp(rng.normal(-spec.quality_sigma ** 2 / 2, spec.quality_sigma, A))
    rate = np.exp(rng.normal(-spec.rate_sigma ** 2 / 2, spec.rate_sigma, S))
    guess = rng.uniform(*spec.guess, S)
    slip = rng.uniform(*spec.slip, S)
    half = spec.half_life_days * np.exp(rng.normal(0, spec.half_life_sigma, (S, K)))
    true0 = _initial_mastery(graph, true, rng, S)
    pre_obs, pre_belief, pre_days = _pretest(spec, true0, guess, slip, rng)
    shape = (S, K, MAX_ATTEMPTS)
    return World(
        spec=spec, seed=seed, graph=graph, true_prereqs=tuple(tuple(p) for p in true),
        catalog=tuple(catalog), quality=quality, learners=tuple(learners),
        true_formats=tuple(true_formats), rate=rate, guess=guess, slip=slip,
        half_life=half, true0=true0, pre_obs=pre_obs, pre_belief=pre_belief,
        pre_days=pre_days, u_learn=rng.random(shape), u_obs=rng.random(shape),
        u_mode=rng.random(shape), u_noise=rng.random(shape),
        u_forget=rng.random((S, spec.sessions, K)),
        u_policy=rng.integers(0, 2**31 - 1, size=(S, spec.sessions)))


def _initial_mastery(graph: SkillGraph, true: list[list[int]], rng, S: int) -> np.ndarray:
    """True mastery at the start: a learner's front sits in the first ~40 % of the layers;
    a skill is known only when its true prerequisites are (with a few exceptions)."""
    K = len(graph)
    depth = np.zeros(K)
    for i in range(K):
        depth[i] = 1 + max((depth[j] for j in true[i]), default=-1)
    top = max(depth.max(), 1.0)
    out = np.zeros((S, K), dtype=bool)
    for s in range(S):
        front = rng.uniform(0.0, 0.45) * (top + 1)
        for i in np.argsort(depth, kind="stable"):
            ok = all(out[s, j] for j in true[i]) or rng.random() < 0.1
            out[s, i] = ok and depth[i] + rng.normal(0, 0.7) < front
    return out


def _pretest(spec: WorldSpec, true0: np.ndarray, guess: np.ndarray, slip: np.ndarray, rng):
    """``pretest_items`` diagnostic items on a ``pretest_share`` of the skills, 14 days
    before the first session,
    filtered with the engine's default BKT (see ``planner.simulate.world_run.bkt_step``)."""
    from planner.simulate.world_run import BELIEF_PARAMS, bkt_step

    S, K = true0.shape
    obs = np.zeros((S, K), dtype=np.int64)
    belief = np.full((S, K), np.nan)
    days = np.full((S, K), np.nan)
    seen = rng.random((S, K)) < spec.pretest_share
    for s, k in zip(*np.nonzero(seen), strict=True):
        p = BELIEF_PARAMS.p_init
        for _ in range(spec.pretest_items):
            pc = 1 - slip[s] if true0[s, k] else guess[s]
            p = bkt_step(p, 1.0 if rng.random() < pc else 0.0)
        belief[s, k], obs[s, k], days[s, k] = p, spec.pretest_items, 14.0
    return obs, belief, days


def with_learners(spec: WorldSpec, n: int) -> WorldSpec:
    """``spec`` with ``n`` learners (benchmark flag)."""
    return replace(spec, n_learners=int(n))
