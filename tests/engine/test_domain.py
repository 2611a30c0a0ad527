"""Domain dataclasses: validation, catalog lookups, provenance, classes, serialization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.domain import (
    Activity,
    ActivityCatalog,
    Actor,
    ALaCarte,
    Availability,
    Class,
    EnrichedVirtual,
    Flex,
    Flipped,
    IndividualRotation,
    LabRotation,
    Learner,
    LearnerProfile,
    Provenanced,
    SessionSlot,
    Skill,
    Station,
    StationRotation,
    Teacher,
    from_record,
    to_record,
)
from engine.errors import NotFoundError, ValidationError
from engine.graph import CompetencyGraph, Edge

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def act(aid="a1", skills=(("s1", 1.0),), **kw):
    base = dict(kind="practice", modality="online", place="school", duration_min=15,
                difficulty=0.4)
    base.update(kw)
    return Activity(aid, f"title {aid}", skills, **base)


def stations():
    return (
        Station("teacher", "small_group", 20, 5, teacher_led=True),
        Station("online", "online_module", 20, 8, online=True),
        Station("collab", "project", 20, 6, collaborative=True),
    )


# ---------------------------------------------------------------- skills & activities
def test_skill_requires_id_code_title():
    with pytest.raises(ValidationError, match="Skill.id must not be empty"):
        Skill("", "c", "t")
    with pytest.raises(ValidationError, match="Skill.title must be a string"):
        Skill("a", "c", None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Skill.id='a;b' contains ';'"):
        Skill("a;b", "c", "t")


@pytest.mark.parametrize("kw, msg", [
    (dict(kind="lecture"), "kind='lecture' is not a valid ActivityKind; use one of: lesson"),
    (dict(modality="tv"), "modality='tv'"),
    (dict(place="moon"), "place='moon'"),
    (dict(duration_min=0), r"duration_min=0 is out of range"),
    (dict(duration_min=1.5), "duration_min must be an integer"),
    (dict(difficulty=1.2), r"difficulty=1.2 is out of range; use a number in \[0.0, 1.0\]"),
    (dict(group_min=4, group_max=2), "group_min=4 exceeds group_max=2"),
    (dict(formats=["podcast"]), "formats='podcast'"),
    (dict(formats="video"), "wrap a single value in a list"),
    (dict(accommodations=["magic"]), "accommodations='magic'"),
    (dict(skills=()), "skills is empty"),
    (dict(skills=(("s1", 0.0),)), r"weight=0.0 is out of range"),
    (dict(skills=(("s1", 1.0), ("s1", 0.5))), "lists skill 's1' twice"),
    (dict(skills=("s1",)), "has no weight"),
])
def test_activity_rejects_bad_fields_with_named_value(kw, msg):
    with pytest.raises(ValidationError, match=msg):
        act(**kw)


def test_activity_coerces_strings_and_dicts():
    a = act(skills={"s1": 0.7, "s2": 0.3}, formats=["video", "game"], interests=["space"])
    assert a.skill_ids == ("s1", "s2")
    assert a.weight("s2") == 0.3 and a.weight("zz") == 0.0
    assert a.kind == "practice" and a.formats == frozenset({"video", "game"})


def test_catalog_lookups_and_filters():
    cat = ActivityCatalog((
        act("a1", modality="online", device="laptop", formats=["video"],
            accommodations=["text_to_speech", "extended_time"], interests=["space"]),
        act("a2", skills=(("s1", 0.5), ("s2", 0.5)), kind="project", modality="collaborative",
            group_min=2, group_max=4, duration_min=40, formats=["hands_on"]),
        act("a3", skills=(("s3", 1.0),), modality="independent_offline", place="home",
            language="es"),
    ))
    assert len(cat) == 3 and "a2" in cat and cat.get("a3").language == "es"
    assert [a.id for a in cat.for_skill("s1")] == ["a1", "a2"]
    assert cat.for_skill("nope") == ()
    assert cat.skill_ids() == {"s1", "s2", "s3"}
    assert [a.id for a in cat.filter(max_duration_min=20)] == ["a1", "a3"]
    assert [a.id for a in cat.filter(devices_available=[])] == ["a2", "a3"]
    assert [a.id for a in cat.filter(devices_available=["laptop"])] == ["a1", "a2", "a3"]
    assert [a.id for a in cat.filter(accommodations_needed=["text_to_speech"])] == ["a1"]
    assert [a.id for a in cat.filter(group_size=3)] == ["a2"]
    assert [a.id for a in cat.filter(skill_ids=["s2", "s3"], places=["home"])] == ["a3"]
    assert [a.id for a in cat.filter(kinds=["project"], formats=["hands_on"])] == ["a2"]
    assert [a.id for a in cat.filter(interests=["space"], language="en")] == ["a1"]
    with pytest.raises(ValidationError, match="modalities='radio'"):
        cat.filter(modalities=["radio"])
    with pytest.raises(NotFoundError, match="unknown activity 'zz'"):
        cat.get("zz")
    with pytest.raises(NotFoundError, match="a3->s3"):
        cat.check_skills(["s1", "s2"])
    cat.check_skills(["s1", "s2", "s3"])


def test_catalog_rejects_duplicate_ids():
    with pytest.raises(ValidationError, match="duplicate activity id 'a1'"):
        ActivityCatalog((act("a1"), act("a1")))


# ---------------------------------------------------------------- learner profiles
def test_profile_records_who_and_when_and_keeps_history():
    p = LearnerProfile.create(at=T0)
    assert p.interests == Provenanced(frozenset(), Actor.SYSTEM, T0)
    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    p1 = p.with_field("interests", ["space"], "student", t1)
    p2 = p1.with_field("interests", ["space", "music"], Actor.TEACHER, t2)
    p3 = p2.with_field("accommodations", ["extended_time"], Actor.PARENT, t2)
    # immutability: the older versions are unchanged
    assert p.interests.value == frozenset() and p1.interests.value == {"space"}
    assert p3.interests == Provenanced(frozenset({"space", "music"}), Actor.TEACHER, t2)
    assert p3.accommodations.set_by == "parent"
    trail = p3.audit("interests")
    assert [(c.previous.set_by, c.previous.set_at) for c in trail] == [
        (Actor.SYSTEM, T0), (Actor.STUDENT, t1), (Actor.TEACHER, t2)]
    assert [c.previous.value for c in trail][1] == frozenset({"space"})
    assert len(p3.history) == 3
    assert p3.value("pace") == 1.0 and p3.values()["interests"] == {"space", "music"}


@pytest.mark.parametrize("name, value, msg", [
    ("mood", "happy", "unknown LearnerProfile field 'mood'"),
    ("pace", 9.0, r"pace=9.0 is out of range"),
    ("accommodations", ["cape"], "accommodations='cape' is not a valid Accommodation"),
    ("preferred_groupings", ["crowd"], "preferred_groupings='crowd'"),
    ("choices", [("topic",)], "must be \\(key, value\\) string pairs"),
])
def test_profile_rejects_bad_updates(name, value, msg):
    p = LearnerProfile.create(at=T0)
    with pytest.raises(ValidationError, match=msg):
        p.with_field(name, value, "teacher", T0 + timedelta(days=1))


def test_profile_update_needs_actor_aware_time_and_order():
    p = LearnerProfile.create(at=T0)
    with pytest.raises(ValidationError, match="set_by='robot' is not a valid Actor"):
        p.with_field("interests", ["x"], "robot", T0)
    with pytest.raises(ValidationError, match="has no time zone"):
        p.with_field("interests", ["x"], "student", datetime(2026, 9, 2))
    with pytest.raises(ValidationError, match="earlier than the current value"):
        p.with_field("interests", ["x"], "student", T0 - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="unknown LearnerProfile field"):
        LearnerProfile.create(hobbies=["x"])


def test_learner_with_profile_field():
    lr = Learner("L1", "Ana", "3")
    lr2 = lr.with_profile_field("interests", ["art"], "student", T0)
    assert lr.profile.interests.value == frozenset() and lr2.profile.interests.value == {"art"}
    with pytest.raises(ValidationError, match="Learner\\['L1'\\].grade must not be empty"):
        Learner("L1", "Ana", "")


# ---------------------------------------------------------------- classes
def make_class(**kw):
    base = dict(id="c1", name="3A", grade="3", teachers=("t1",),
                roster=tuple(f"L{i}" for i in range(15)), model=StationRotation(stations()),
                schedule=(SessionSlot("mon", "09:00", 60),))
    base.update(kw)
    return Class(**base)


def test_class_caps_validated():
    make_class()
    with pytest.raises(ValidationError, match="size_cap=45 is out of range"):
        make_class(size_cap=45)
    with pytest.raises(ValidationError, match="has 21 learners, above its size cap 20"):
        make_class(size_cap=20, roster=tuple(f"L{i}" for i in range(21)))
    with pytest.raises(ValidationError, match="stations seat 19 learners per rotation"):
        make_class(roster=tuple(f"L{i}" for i in range(20)))
    with pytest.raises(ValidationError, match="lists 'L1' twice"):
        make_class(roster=("L1", "L1"))
    with pytest.raises(ValidationError, match="teachers is empty"):
        make_class(teachers=())
    with pytest.raises(ValidationError, match="model small_group_cap 6 exceeds"):
        make_class(small_group_cap=4)
    with pytest.raises(ValidationError, match="pullout_max_group 8 exceeds"):
        make_class(model=Flex(2, 15, 8))
    with pytest.raises(ValidationError, match="model must be one of station_rotation"):
        make_class(model="station")


def test_station_rules():
    with pytest.raises(ValidationError, match="capacity 8 above the small-group cap 6"):
        StationRotation((Station("t", "small_group", 20, 8, teacher_led=True),))
    with pytest.raises(ValidationError, match="both online and teacher_led"):
        Station("x", "lesson", 20, 5, online=True, teacher_led=True)
    with pytest.raises(ValidationError, match="duplicate station names \\['a'\\]"):
        StationRotation((Station("a", "lesson", 10, 5), Station("a", "practice", 10, 5)))
    with pytest.raises(ValidationError, match="max_stations_per_learner=4 is out of range"):
        IndividualRotation(stations(), max_stations_per_learner=4)
    with pytest.raises(ValidationError, match="start='9am' is not a 24 h time"):
        SessionSlot("mon", "9am", 30)
    with pytest.raises(ValidationError, match="in_person_days is empty"):
        EnrichedVirtual(frozenset(), 60, 120)
    assert StationRotation(stations()).minutes == 60


# ---------------------------------------------------------------- serialization
ALL_MODELS = [
    StationRotation(stations()),
    LabRotation(45, 30, 24),
    IndividualRotation(stations(), 2),
    Flipped(20, 50),
    Flex(3, 15, 5),
    ALaCarte(150, "Algebra online"),
    EnrichedVirtual(frozenset({"tue", "thu"}), 60, 120),
]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.tag)
def test_class_round_trip_every_blended_model(model):
    c = make_class(model=model)
    rec = to_record(c)
    assert rec["model"]["type"] == model.tag
    assert from_record(Class, rec) == c


def test_round_trips_of_every_domain_type():
    import json

    prof = (LearnerProfile.create(at=T0)
            .with_field("availability", Availability(frozenset({"mon"}), frozenset({"home"}),
                                                     frozenset({"tablet"}), 90), "parent", T0)
            .with_field("choices", {"project_topic": "space"}, "student", T0)
            .with_field("aspirations", ["become a vet"], "student", T0))
    objs = [
        (Skill, Skill("s1", "3.OA.A.1", "Meaning of multiplication", "3", "OA", "uuid-1")),
        (Activity, act(formats=["video"], interests=["art"], accommodations=["large_print"])),
        (ActivityCatalog, ActivityCatalog((act("a1"), act("a2")))),
        (Learner, Learner("L1", "Ana", "3", prof, "es")),
        (LearnerProfile, prof),
        (Teacher, Teacher("t1", "Ms. T")),
        (CompetencyGraph, CompetencyGraph(
            (Skill("a", "a", "A"), Skill("b", "b", "B"), Skill("c", "c", "C")),
            (Edge("a", "b"), Edge("b", "c", "related"), Edge("a", "c", "parent")), "g")),
    ]
    for cls, obj in objs:
        rec = to_record(obj)
        rec = json.loads(json.dumps(rec))  # really JSON-ready
        back = from_record(cls, rec)
        assert back == obj and to_record(back) == rec


def test_from_record_names_bad_keys_and_values():
    rec = to_record(make_class())
    with pytest.raises(ValidationError, match=r"unknown key\(s\) \['bogus'\]"):
        from_record(Class, {**rec, "bogus": 1})
    with pytest.raises(ValidationError, match="missing required key 'roster'"):
        from_record(Class, {k: v for k, v in rec.items() if k != "roster"})
    with pytest.raises(ValidationError, match="type='hybrid' is not one of"):
        from_record(Class, {**rec, "model": {**rec["model"], "type": "hybrid"}})
    with pytest.raises(ValidationError, match="size_cap must be int, got str"):
        from_record(Class, {**rec, "size_cap": "20"})
    lrec = to_record(Learner("L1", "Ana", "3"))
    lrec["profile"]["interests"]["set_at"] = "yesterday"
    with pytest.raises(ValidationError, match="'yesterday' is not an ISO 8601 timestamp"):
        from_record(Learner, lrec)
