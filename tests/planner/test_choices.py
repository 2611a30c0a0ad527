"""Choice boards: every option of every slot keeps the playlist within every hard constraint
(checked by the independent checker of tests/planner/conftest.py), serves the slot's target
skill, differs in how it is done, and the learned-preference rule moves as documented."""

from __future__ import annotations

from dataclasses import replace

import pytest

from planner.choices import (
    activity_tags,
    choice_sets,
    chosen_playlist,
    learn_preferences,
    learned_preferences,
    preference_weight,
)
from planner.model import PlaylistRequest
from planner.playlist.plan import plan_playlist
from tests.planner.conftest import check_hard


def _slots(playlist):
    return [(i.activity_id, i.target_skill) for i in playlist.items]


def _swapped(playlist, pos, new_id):
    items = list(playlist.items)
    items[pos] = replace(items[pos], activity_id=new_id)
    return replace(playlist, items=tuple(items))


@pytest.mark.parametrize("budget", [30.0, 60.0, 90.0])
def test_every_option_keeps_every_hard_constraint(school, school_learners, budget):
    graph, catalog = school
    by_id = {a.id: a for a in catalog}
    request = PlaylistRequest(budget_min=budget, modality_bounds={"online": (0, 2)})
    offered = 0
    for learner in school_learners:
        pl = plan_playlist(graph, catalog, learner, request)
        before = set(check_hard(graph, catalog, learner, request, pl))
        sets = choice_sets(graph, catalog, learner, request, _slots(pl))
        assert [cs.activity_id for cs in sets] == list(pl.activity_ids)
        for cs in sets:
            assert cs.options[0].planned and cs.options[0].activity_id == cs.activity_id
            assert 1 <= len(cs.options) <= 3
            hows = [o.how for o in cs.options]
            assert len(set(hows)) == len(hows), hows  # each option a different way
            ids = [o.activity_id for o in cs.options]
            assert len(set(ids)) == len(ids)
            for o in cs.options[1:]:
                offered += 1
                alt = by_id[o.activity_id]
                assert cs.target_skill in alt.skill_ids  # same learning target
                assert o.activity_id not in pl.activity_ids
                assert o.reason.startswith("same skill, ")
                assert o.expected_gain >= 0.5 * cs.options[0].expected_gain - 1e-9
                after = set(check_hard(graph, catalog, learner, request,
                                       _swapped(pl, cs.position, o.activity_id)))
                assert after <= before, (o.activity_id, after - before)
    assert offered > 0, "no alternative offered on the synthetic school"


def test_fractions_alternatives_with_reasons(fractions_graph, fractions_catalog,
                                             fractions_learner):
    request = PlaylistRequest(budget_min=70.0)
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, request)
    sets = {cs.activity_id: cs for cs in
            choice_sets(fractions_graph, fractions_catalog, fractions_learner, request, _slots(pl))}
    offered = {k: [(o.activity_id, o.reason) for o in cs.options[1:]] for k, cs in sets.items()}
    assert offered["common-video"] == [("common-practice", "same skill, as practice")]
    assert offered["mult-game"] == [("mult-lab", "same skill, as a video")]
    # with 5 minutes less, common-practice (5 min longer) would break the budget
    tight = PlaylistRequest(budget_min=65.0)
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, tight)
    sets = {cs.activity_id: cs for cs in
            choice_sets(fractions_graph, fractions_catalog, fractions_learner, tight, _slots(pl))}
    assert not sets["common-video"].has_choice
    assert sets["common-video"].why_fixed == "no other activity fits here"
    # a learner who needs text-to-speech is never offered an activity without it
    needs = replace(fractions_learner, accommodations=frozenset({"text-to-speech"}))
    pl = plan_playlist(fractions_graph, fractions_catalog, needs, request)
    for cs in choice_sets(fractions_graph, fractions_catalog, needs, request, _slots(pl)):
        for o in cs.options[1:]:
            assert o.activity_id == "common-video"


def test_pinned_slot_offers_no_choice(fractions_graph, fractions_catalog, fractions_learner):
    request = PlaylistRequest(budget_min=45.0, pins=("mult-group",))
    pl = plan_playlist(fractions_graph, fractions_catalog, fractions_learner, request)
    sets = choice_sets(fractions_graph, fractions_catalog, fractions_learner, request, _slots(pl))
    pinned = [cs for cs in sets if cs.activity_id == "mult-group"]
    assert pinned and not pinned[0].has_choice
    assert pinned[0].why_fixed == "your teacher chose this one"


def test_learned_preferences_rule():
    game = ("format:game", "grouping:individual")
    video = ("format:video", "grouping:individual")
    pair = ("format:reading", "grouping:pair")
    counts: dict = {}
    for _ in range(2):
        counts = learn_preferences(counts, [video, game, pair], 1)
    # two picks of the game out of sets of three: chosen 2, expected 2/3
    assert counts["format:game"] == (2.0, pytest.approx(2 / 3), 2)
    assert counts["grouping:individual"] == (2.0, pytest.approx(4 / 3), 2)
    assert learned_preferences(counts) == (frozenset(), frozenset())  # fewer than 3 events
    counts = learn_preferences(counts, [video, game, pair], 1)
    assert preference_weight(3, 1) == 2.0
    formats, groupings = learned_preferences(counts)
    assert formats == {"game"} and groupings == frozenset()  # individual: 4 / 3 = weight 1.33
    with pytest.raises(ValueError, match="chosen=3"):
        learn_preferences(counts, [video, game, pair], 3)


def test_activity_tags_name_pairs(fractions_catalog):
    by_id = {a.id: a for a in fractions_catalog}
    assert activity_tags(by_id["mult-game"]) == ("format:game", "grouping:individual")
    assert activity_tags(by_id["mult-group"]) == ("format:project", "grouping:small_group")


def test_simulated_choices_stay_feasible(school, school_learners):
    graph, catalog = school
    request = PlaylistRequest(budget_min=60.0)
    for learner in school_learners[:3]:
        pl = plan_playlist(graph, catalog, learner, request)
        acts = chosen_playlist(graph, catalog, learner, request, _slots(pl), {"game", "video"}, seed=1)
        assert len(acts) == len(pl.items)
        assert sum(a.duration_min for a in acts) <= request.budget_min + 1e-9
        assert len({a.id for a in acts}) == len(acts)


def test_choosing_policy_in_a_simulated_world():
    """The simulator hook: students choosing by their true formats never break a hard
    constraint, and the picks follow the true formats more often than the assigned plan."""
    from planner.choices import choosing_policy
    from planner.simulate.baselines import pathwise
    from planner.simulate.family import WORLDS
    from planner.simulate.world_run import engine_request, simulate_learner
    from planner.simulate.worlds import build_world

    spec = replace(next(w for w in WORLDS if w.name == "prefs-partly"), n_learners=6, sessions=2)
    world = build_world(spec, 0)
    request = engine_request(spec)
    policy = choosing_policy()
    matched = {"assigned": 0, "choosing": 0}
    for s in range(spec.n_learners):
        out = simulate_learner(world, s, policy, request)
        assert out.violations == 0 and out.items > 0
        learner = world.learners[s]
        for name, fn in (("assigned", pathwise), ("choosing", policy)):
            acts = fn(world, learner, request, 0, 7)
            matched[name] += sum(bool(set(a.format_keys) & world.true_formats[s]) for a in acts)
    assert matched["choosing"] > matched["assigned"], matched
