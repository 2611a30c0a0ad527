"""Property test: random valid activities and profiles survive to_record -> JSON -> from_record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain import (
    Accommodation,
    Activity,
    ActivityKind,
    Actor,
    Availability,
    Format,
    Grouping,
    Learner,
    LearnerProfile,
    Modality,
    Place,
    Weekday,
    from_record,
    to_record,
)

ids = st.text("abcxyz0123.-_", min_size=1, max_size=8)
unit = st.floats(0.01, 1.0, allow_nan=False)


@st.composite
def activities(draw):
    skills = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    gmin = draw(st.integers(1, 5))
    return Activity(
        draw(ids), draw(st.text(min_size=1, max_size=20).filter(str.strip)),
        tuple((s, draw(unit)) for s in skills),
        draw(st.sampled_from(list(ActivityKind))), draw(st.sampled_from(list(Modality))),
        draw(st.sampled_from(list(Place))), draw(st.integers(1, 600)),
        draw(st.floats(0, 1, allow_nan=False)), gmin, draw(st.integers(gmin, 40)),
        draw(st.none() | st.sampled_from(["laptop", "tablet"])),
        draw(st.frozensets(st.sampled_from(list(Format)))),
        draw(st.frozensets(ids, max_size=3)), draw(st.sampled_from(["en", "es"])),
        draw(st.frozensets(st.sampled_from(list(Accommodation)))),
    )


@st.composite
def profiles(draw):
    t = datetime(2026, 9, 1, tzinfo=UTC)
    p = LearnerProfile.create(at=t)
    updates = [
        ("interests", st.frozensets(ids, max_size=4)),
        ("aspirations", st.lists(st.text(min_size=1, max_size=15).filter(str.strip), max_size=2)),
        ("preferred_formats", st.frozensets(st.sampled_from(list(Format)))),
        ("preferred_groupings", st.frozensets(st.sampled_from(list(Grouping)))),
        ("accommodations", st.frozensets(st.sampled_from(list(Accommodation)))),
        ("pace", st.floats(0.25, 4.0, allow_nan=False)),
        ("availability", st.builds(Availability, st.frozensets(st.sampled_from(list(Weekday))),
                                   st.frozensets(st.sampled_from(list(Place))),
                                   st.frozensets(ids, max_size=2), st.integers(0, 3000))),
        ("choices", st.dictionaries(ids, ids, max_size=3)),
    ]
    for name, strat in draw(st.lists(st.sampled_from(updates), max_size=6)):
        t = t + timedelta(minutes=draw(st.integers(0, 10_000)))
        p = p.with_field(name, draw(strat), draw(st.sampled_from(list(Actor))), t)
    return p


@settings(max_examples=40, deadline=None)
@given(activities())
def test_activity_round_trip(a):
    assert from_record(Activity, json.loads(json.dumps(to_record(a)))) == a


@settings(max_examples=40, deadline=None)
@given(profiles())
def test_learner_round_trip_keeps_history(p):
    lr = Learner("L1", "Ana", "5", p)
    back = from_record(Learner, json.loads(json.dumps(to_record(lr))))
    assert back == lr
    assert len(back.profile.audit()) == len(p.history) + len(LearnerProfile.FIELDS)
