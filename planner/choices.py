"""Choice boards: for each slot of a learner's playlist, two or three ways to work on the same
learning target, every one of them allowed by every hard constraint.

A *slot* is one planned item: its activity and its target skill (the skill the planner chose
it for). Its :class:`ChoiceSet` holds the planned activity first and up to ``max_options - 1``
alternatives. An alternative ``b`` for the slot of ``a`` must

* be a candidate of the learner's problem (``planner.playlist.candidates``: the hard filters
  on accommodations, devices, places, language, seats and budget, and readiness), not be in
  the playlist already, and when it is chained on a prerequisite, have that prerequisite
  taught by an item earlier in the playlist;
* serve the same learning target: ``b`` works on the slot's target skill with at least
  ``min_gain_ratio`` (0.5) of the planned activity's expected gain on it;
* keep the whole playlist feasible when it replaces ``a``: the swapped selection violates no
  hard row (``planner.playlist.rows.hard_violations``: budget, modality maximum, format cap,
  skill cap, length, prerequisite chaining) that the planned selection did not;
* be a different *way* of learning: its :func:`how` (format, then grouping, then modality)
  differs from the planned activity's and from every other option's.

Among the allowed alternatives of each way, the one with the best playlist objective after
the swap is offered; ways are offered best objective first. Teacher-pinned or -locked slots
and items that are not candidates (teacher mini-lessons) offer no choice.

Learned preferences (:func:`learn_preferences`, the rule the engine applies to the profile
after each pick): every option carries the tags ``format:<f>`` of its formats and
``grouping:<g>`` of its grouping. For each tag the counts keep ``chosen`` (picks of an option
with the tag), ``expected`` (the picks a random choice would have given it: the share of the
set's options carrying the tag, summed over choice events) and ``events`` (sets offering it). The tag's weight is
``(chosen + 1) / (expected + 1)`` (1 = chosen as often as chance); a tag offered in at least
``MIN_EVENTS`` (3) sets and weight >= ``LIKE`` (1.5) is a learned preference, which the
planner then treats as a preferred format or grouping (its small preference term).

The simulator compares learning with students choosing by their true preferences against the
assigned playlist through :func:`choose_by_preference` / :func:`chosen_playlist`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from planner.model import PlanActivity, PlanLearner, PlaylistRequest, SkillGraph
from planner.playlist.candidates import objective_value
from planner.playlist.plan import prepare
from planner.playlist.rows import hard_limits, hard_violations

MIN_EVENTS = 3
LIKE = 1.5

HOW_WORDS = {
    "format:game": "as a game", "format:video": "as a video", "format:reading": "as a reading",
    "format:hands_on": "hands-on", "format:hands-on": "hands-on",
    "format:discussion": "as a discussion", "format:practice": "as practice",
    "format:project": "as a project", "format:worksheet": "on a worksheet",
    "format:lesson": "as a lesson",
    "grouping:pair": "with a partner", "grouping:small_group": "in a small group",
    "grouping:whole_class": "with the whole class", "grouping:individual": "on your own",
    "modality:online": "online", "modality:teacher_led": "with your teacher",
    "modality:collaborative": "with classmates", "modality:independent_offline": "offline, on your own",
}


@dataclass(frozen=True)
class ChoiceOption:
    """One way to work on a slot's target. ``how``: the tag that sets it apart (e.g.
    ``"format:game"``); ``reason``: one plain sentence ("same skill, as a game");
    ``expected_gain``: mastery gain on the target skill in [0, 1]; ``planned``: the
    planner's own pick for the slot."""

    activity_id: str
    title: str
    how: str
    reason: str
    duration_min: float
    modality: str
    expected_gain: float
    planned: bool = False


@dataclass(frozen=True)
class ChoiceSet:
    """The options of one slot (``position``: 0-based in the playlist), planned option
    first. ``options`` has one entry when the slot offers no choice (``why_fixed`` says why)."""

    position: int
    activity_id: str
    target_skill: str
    target_title: str
    options: tuple[ChoiceOption, ...]
    why_fixed: str = ""

    @property
    def has_choice(self) -> bool:
        return len(self.options) > 1


def activity_tags(a: PlanActivity) -> tuple[str, ...]:
    """Preference tags of ``a``: ``format:<f>`` for each format key and ``grouping:<g>``."""
    return tuple(f"format:{f}" for f in a.format_keys) + (f"grouping:{_grouping(a)}",)


def _grouping(a: PlanActivity) -> str:
    if a.group_max == 2:
        return "pair"
    return a.grouping


def how(a: PlanActivity, versus: PlanActivity | None = None) -> str:
    """The tag that says how ``a`` is done, preferring one that differs from ``versus``:
    its first format, else its grouping, else its modality."""
    options = [f"format:{f}" for f in a.format_keys] + [f"grouping:{_grouping(a)}",
                                                         f"modality:{a.modality}"]
    if versus is None:
        return options[0]
    theirs = set(activity_tags(versus)) | {f"modality:{versus.modality}"}
    for tag in options:
        if tag not in theirs:
            return tag
    return "same"


def how_words(tag: str) -> str:
    """Plain words of a ``how`` tag ("as a game"); unknown tags read "another way"."""
    if tag in HOW_WORDS:
        return HOW_WORDS[tag]
    kind, _, value = tag.partition(":")
    return f"as {value.replace('_', ' ')}" if kind == "format" and value else "another way"


def choice_sets(graph: SkillGraph, catalog: Sequence[PlanActivity], learner: PlanLearner,
                request: PlaylistRequest, slots: Sequence[tuple[str, str]], *,
                max_options: int = 3, min_gain_ratio: float = 0.5) -> tuple[ChoiceSet, ...]:
    """Choice sets for a playlist given as ``slots``: (activity id, target skill id) in order.

    ``max_options``: 2 or 3 options per slot at most (the planned one included).
    Raises ``PlanInputError`` for malformed input (see ``planner.playlist.plan.prepare``)."""
    if not 2 <= max_options <= 5:
        raise ValueError(f"max_options={max_options}; use 2 to 5")
    c = prepare(graph, catalog, learner, request)
    lim = hard_limits(c)
    x = np.zeros(c.n)
    for aid, _k in slots:
        if aid in c.index:
            x[c.index[aid]] = 1.0
    base = set(hard_violations(c, x, lim))
    fixed = set(request.pins) | set(request.locks)
    out = []
    for pos, (aid, skill) in enumerate(slots):
        title = graph.title_of(skill) if skill in graph else skill
        act = c.catalog.get(aid)
        planned = _option(act, aid, skill, c, planned=True, versus=None)
        why = ("your teacher chose this one" if aid in fixed else
               "" if aid in c.index and skill in c.skill_index else "no other activity fits here")
        options: tuple[ChoiceOption, ...] = (planned,)
        if not why:
            earlier = {c.index[a] for a, _k in slots[:pos] if a in c.index}
            options += _alternatives(c, lim, x, base, c.index[aid], skill, max_options - 1,
                                     min_gain_ratio, earlier)
            if len(options) == 1:
                why = "no other activity fits here"
        out.append(ChoiceSet(pos, aid, skill, title, options, why))
    return tuple(out)


def _gain(c, ai: int, ki: int) -> float:
    return float((1.0 - c.p[ki]) * c.T[ai, ki])


def _option(act: PlanActivity | None, aid: str, skill: str, c, *, planned: bool,
            versus: PlanActivity | None) -> ChoiceOption:
    ai, ki = c.index.get(aid), c.skill_index.get(skill)
    gain = _gain(c, ai, ki) if ai is not None and ki is not None else 0.0
    if act is None:
        return ChoiceOption(aid, aid, "same", "planned for you", 0.0, "", gain, planned)
    tag = how(act, versus)
    reason = "planned for you" if planned else f"same skill, {how_words(tag)}"
    return ChoiceOption(act.id, act.title, tag, reason, float(act.duration_min), act.modality,
                        round(gain, 4), planned)


def _chain_met(c, b: int, earlier: set[int]) -> bool:
    """A chained candidate ``b`` may take the slot only when each of its unmet prerequisites
    is taught by an item earlier in the playlist."""
    return all(any(t in earlier for t in teachers) for a, teachers in c.chain_rows if a == b)


def _alternatives(c, lim, x: np.ndarray, base: set[str], ai: int, skill: str, k: int,
                  min_gain_ratio: float, earlier: set[int]) -> tuple[ChoiceOption, ...]:
    ki = c.skill_index[skill]
    need = min_gain_ratio * _gain(c, ai, ki)
    planned = c.activities[ai]
    best: dict[str, tuple[float, int]] = {}
    for b in np.nonzero((c.T[:, ki] > 0) & (x < 0.5))[0].tolist():
        if _gain(c, b, ki) + 1e-12 < need or (c.chained[b] and not _chain_met(c, b, earlier)):
            continue
        tag = how(c.activities[b], planned)
        if tag == "same":
            continue
        x2 = x.copy()
        x2[ai], x2[b] = 0.0, 1.0
        if not set(hard_violations(c, x2, lim)) <= base:
            continue
        value = objective_value(c, x2)
        if tag not in best or value > best[tag][0]:
            best[tag] = (value, b)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
    return tuple(_option(c.activities[b], c.activities[b].id, skill, c, planned=False,
                         versus=planned) for _tag, (_v, b) in ranked)


# ------------------------------------------------------------------------ learned preferences


def learn_preferences(counts: Mapping[str, Sequence[float]], offered: Sequence[Iterable[str]],
                      chosen: int) -> dict[str, tuple[float, float, int]]:
    """Counts after one pick (see module doc). ``counts``: tag -> (chosen, expected, events);
    ``offered``: the tags of each option of the set; ``chosen``: index of the picked option.
    Returns a new dict (``counts`` is not changed)."""
    if not 0 <= chosen < len(offered):
        raise ValueError(f"chosen={chosen} is not an option index (0..{len(offered) - 1})")
    out = {t: (float(v[0]), float(v[1]), int(v[2])) for t, v in counts.items()}
    tags = [set(t) for t in offered]
    for tag in set().union(*tags):
        c, e, n = out.get(tag, (0.0, 0.0, 0))
        share = sum(tag in t for t in tags) / len(tags)
        out[tag] = (c + (1.0 if tag in tags[chosen] else 0.0), e + share, n + 1)
    return out


def preference_weight(chosen: float, expected: float) -> float:
    """``(chosen + 1) / (expected + 1)``: 1 = as often as chance, above 1 = preferred."""
    return (chosen + 1.0) / (expected + 1.0)


def learned_preferences(counts: Mapping[str, Sequence[float]]) -> tuple[frozenset[str], frozenset[str]]:
    """(formats, groupings) the counts show as preferred: tags offered in at least
    ``MIN_EVENTS`` choice sets with weight >= ``LIKE``."""
    formats, groupings = set(), set()
    for tag, (c, e, n) in counts.items():
        if n < MIN_EVENTS or preference_weight(c, e) < LIKE:
            continue
        kind, _, value = tag.partition(":")
        if kind == "format":
            formats.add(value)
        elif kind == "grouping":
            groupings.add(value)
    return frozenset(formats), frozenset(groupings)


# ------------------------------------------------------------------------ simulation


def choose_by_preference(cs: ChoiceSet, catalog_by_id: Mapping[str, PlanActivity],
                         true_formats: Iterable[str], u: float, *, temperature: float = 0.5) -> str:
    """A simulated student's pick: softmax over utility 1 for an option with one of the
    student's true formats, 0 otherwise (``temperature`` > 0; ``u`` uniform in [0, 1))."""
    true = set(true_formats)
    util = [1.0 if set(catalog_by_id[o.activity_id].format_keys) & true else 0.0
            if o.activity_id in catalog_by_id else 0.0 for o in cs.options]
    w = [math.exp(v / temperature) for v in util]
    acc, total = 0.0, sum(w)
    for o, wi in zip(cs.options, w, strict=True):
        acc += wi / total
        if u < acc:
            return o.activity_id
    return cs.options[-1].activity_id


def chosen_playlist(graph: SkillGraph, catalog: Sequence[PlanActivity], learner: PlanLearner,
                    request: PlaylistRequest, planned: Sequence[tuple[str, str]],
                    true_formats: Iterable[str], seed: int, *,
                    min_gain_ratio: float = 0.5) -> list[PlanActivity]:
    """The playlist a simulated student ends up with when choosing on every slot (one pick
    per slot in order, each validated against the picks already made). ``planned``:
    (activity id, target skill) of the assigned playlist; ``min_gain_ratio``: as in
    :func:`choice_sets`."""
    rng = np.random.default_rng(seed)
    by_id = {a.id: a for a in catalog}
    slots = list(planned)
    for pos in range(len(slots)):
        cs = choice_sets(graph, catalog, learner, request, slots, min_gain_ratio=min_gain_ratio)[pos]
        if cs.has_choice:
            pick = choose_by_preference(cs, by_id, true_formats, float(rng.random()))
            slots[pos] = (pick, slots[pos][1])
    return [by_id[aid] for aid, _k in slots if aid in by_id]


def choosing_policy(min_gain_ratio: float = 0.5):
    """A simulator policy (``planner.simulate.world_run.Policy``): Pathwise's playlist, then
    the simulated student picks on every slot by their true preferred formats
    (:func:`chosen_playlist`). ``world`` needs ``graph``, ``catalog``, ``learners`` and
    ``true_formats`` (as ``planner.simulate.worlds.World``)."""
    from planner.playlist.plan import plan_playlist

    def policy(world, learner, request, session, seed):
        index = world.cache.setdefault("learner_index", {lr.id: n for n, lr in enumerate(world.learners)})
        pl = plan_playlist(world.graph, world.catalog, learner, request)
        slots = [(i.activity_id, i.target_skill) for i in pl.items]
        return chosen_playlist(world.graph, world.catalog, learner, request, slots,
                               world.true_formats[index[learner.id]], seed, min_gain_ratio=min_gain_ratio)
    return policy
