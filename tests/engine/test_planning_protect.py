"""The tenant's switch for the forgetting-protection term (``PlanningPolicy.
protect_from_forgetting``, issue 15 item 0): off by default, stored, it reaches the planner's
request as ``PlanWeights.protect``, an experiment arm's weight overrides it, and with it a
mastered skill practised long ago becomes a review candidate (why-not stops answering
"mastered")."""

from __future__ import annotations

import pytest

from engine.errors import ValidationError
from tests.engine.test_planning_learned import ADMIN, _fast_forgetter, school  # noqa: F401 (fixture)


def test_the_switch_reaches_the_request_and_an_arm_overrides_it():
    from engine.domain.policy import PlanningPolicy
    from engine.planning import playlist_request

    assert PlanningPolicy().protect_from_forgetting is False
    assert playlist_request().weights.protect == 0.0
    assert playlist_request(policy=PlanningPolicy(protect_from_forgetting=True)).weights.protect == 1.0
    with pytest.raises(ValidationError, match="protect_from_forgetting"):
        PlanningPolicy(protect_from_forgetting="yes")  # type: ignore[arg-type]


def test_with_the_switch_a_long_unpractised_mastered_skill_is_a_review_candidate(school):  # noqa: F811
    from engine.app._view import load_policy

    lid, _k, y = _fast_forgetter(school)  # mastered, last practised 13 days ago
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": True})
    assert load_policy(school.store).protect_from_forgetting is True  # stored
    answer = school.why_not(ADMIN, lid, y.id)
    # no longer ruled out as mastered: a candidate the solver weighs (here it loses on the
    # session's minutes, at a finite cost in the objective)
    assert "mastered" not in answer["excluded_by"], answer
    assert answer["objective_cost"] is not None, answer
    school.set_planning_policy(ADMIN, {"protect_from_forgetting": False})
    assert school.why_not(ADMIN, lid, y.id)["excluded_by"] == ["mastered"]
