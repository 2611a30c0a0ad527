"""Observation validation and the outcome → score helpers (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from engine.domain.evidence import (
    Observation,
    format_timestamp,
    parse_timestamp,
    score_from_correct,
    score_from_rubric,
    score_from_rubric_label,
)
from engine.errors import ValidationError

T0 = datetime(2024, 9, 2, 14, 0, tzinfo=UTC)


def test_outcome_helpers():
    assert score_from_correct(True) == 1.0 and score_from_correct(False) == 0.0
    assert score_from_rubric(3, 1, 4) == pytest.approx(2 / 3)
    assert score_from_rubric(1, 1, 4) == 0.0 and score_from_rubric(4, 1, 4) == 1.0
    levels = ("beginning", "developing", "proficient", "advanced")
    assert score_from_rubric_label("proficient", levels) == pytest.approx(2 / 3)
    with pytest.raises(ValidationError, match="'expert'"):
        score_from_rubric_label("expert", levels)
    with pytest.raises(ValidationError, match="outside the scale"):
        score_from_rubric(5, 1, 4)
    with pytest.raises(ValidationError, match="empty"):
        score_from_rubric(1, 2, 2)
    with pytest.raises(ValidationError):
        score_from_correct(1)


def test_observation_normalises_and_validates():
    local = datetime(2024, 9, 2, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    obs = Observation("o1", "L1", "A1", ["S1", "S2"], True, local)
    assert obs.skill_ids == ("S1", "S2") and obs.score == 1.0
    assert obs.observed_at == T0 and obs.observed_at.tzinfo is UTC
    assert Observation.from_record(obs.to_record()) == obs
    assert Observation("o", "L", "A", "S1", 0.5, "2024-09-02T14:00:00Z").observed_at == T0
    bad = [
        (dict(score=1.01), "1.01"),
        (dict(score=float("nan")), "nan"),
        (dict(score=-0.1), "-0.1"),
        (dict(skill_ids=()), "no skill"),
        (dict(skill_ids=("S1", "S1")), "repeats"),
        (dict(skill_ids=("S;1",)), "';'"),
        (dict(observed_at=datetime(2024, 9, 2)), "time zone"),
        (dict(observed_at="yesterday"), "'yesterday'"),
        (dict(source="gossip"), "'gossip'"),
        (dict(learner_id=""), "learner_id"),
        (dict(learner_id=" \t"), "learner_id"),
        (dict(observation_id=7), "observation_id"),
        (dict(score=float("inf")), "inf"),
        (dict(score="0.5"), "'0.5'"),
    ]
    base = dict(observation_id="o", learner_id="L", activity_id="A", skill_ids=("S1",),
                score=1.0, observed_at=T0)
    for change, named in bad:
        with pytest.raises(ValidationError, match=named):
            Observation(**{**base, **change})
    for given in (1, np.float64(0.25), False):  # other number types become a plain float
        made = Observation(**{**base, "score": given})
        assert type(made.score) is float and made.score == float(given)
    with pytest.raises(ValidationError, match="'score'"):
        Observation.from_record({k: v for k, v in base.items() if k != "score"})


def test_timestamps_sort_as_text():
    times = [T0 + timedelta(microseconds=m) for m in (0, 1, 999_999, 10**7, 10**11)]
    texts = [format_timestamp(t) for t in times]
    assert texts == sorted(texts) and len({len(t) for t in texts}) == 1
    assert [parse_timestamp(t) for t in texts] == times
