"""Plain words on the teacher pages: the planner's sentences rewritten for people (no raw
decimals, no codes, "they" not "you"), mastery as chances and levels, pace in minutes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from service.web.teacher_words import TeacherWords, short_reason

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DECIMAL = re.compile(r"\d\.\d")


def test_planner_sentences_for_the_teacher():
    tw = TeacherWords(0.95, now=NOW)
    review = ("'Comparing fractions by size: partner game' (18 min, in a group): it is time to review "
              "'Comparing fractions by size' (last practised 21.1503 days ago) before it fades; mastery "
              "already 1.00: practice to keep it; it is a hands_on activity (a format you like).")
    out = tw.plain_reason(review)
    assert out == ("It is time to review 'Comparing fractions by size' (last practised 3 weeks ago) before it "
                   "fades; already mastered: practice keeps it fresh; it is a hands on activity (a format "
                   "they like).")
    ready = ("'Mini-lesson: Equivalent fractions' (20 min, with the teacher): you are ready for 'Equivalent "
             "fractions': you have mastered 'Unit fractions' (0.97) and 'Fractions on a line' (0.99); "
             "expected mastery 0.33 → 0.53; it works toward one of your goals.")
    out = tw.plain_reason(ready)
    assert out == ("They are ready for 'Equivalent fractions': they have mastered 'Unit fractions' and "
                   "'Fractions on a line'; chance of mastery should grow from about 2 in 5 to about 3 in 5; "
                   "it works toward one of their goals.")
    assert short_reason(out) == ("They are ready for 'Equivalent fractions': they have mastered 'Unit "
                                 "fractions' and 'Fractions on a line'; chance of mastery should grow from "
                                 "about 2 in 5 to about 3 in 5.")
    little = tw.plain_reason("'X' (5 min, online): you are ready for 'X', which has no prerequisites; "
                             "little expected gain (mastery 0.41).")
    assert "chance of mastery about 2 in 5" in little and not DECIMAL.search(little)
    same = tw.plain_reason("'X' (5 min, online): you are ready for 'X'; expected mastery 0.41 → 0.44.")
    assert "should help a little (chance of mastery about 2 in 5)" in same


def test_levels_chances_and_pace():
    tw = TeacherWords(0.95, now=NOW)
    assert tw.chance(0.999) == "nearly certain"  # never "100 %"
    assert tw.chance(0.78) == "about 4 in 5" and tw.chance(0.05) == "less than 1 in 10"
    assert [tw.level(p)[2] for p in (0.96, 0.8, 0.5, 0.2)] == ["mastered", "nearly there", "developing", "not yet"]
    assert tw.level(None, 0)[2] == "no answers yet" and tw.level(0.3, 0)[0] == "h0"
    assert len({tw.level(p)[1] for p in (None, 0.2, 0.5, 0.8, 0.99)}) == 5  # a symbol per level
    assert tw.mastery(0.8) == "nearly there (about 4 in 5)"
    assert tw.pace(1.22) == "works faster than typical: a 20-minute activity takes them about 16 minutes"
    assert tw.pace(0.5).startswith("needs more time than typical") and "about 40 minutes" in tw.pace(0.5)
    assert tw.pace(1.0) == "works at a typical pace"
    assert tw.accommodation("movement_breaks") == "movement breaks"
    assert tw.language_name("es") == "Spanish"
    assert tw.ago(NOW - timedelta(days=21)) == "3 weeks ago"


def test_who_needs_me_reasons():
    tw = TeacherWords(0.95, now=NOW)
    at = (NOW - timedelta(days=15)).isoformat()
    s = tw.need({"category": "struggling", "skill_title": "Unit fractions", "wrong": 5, "answers": 8,
                 "fell": {"from": 0.8, "to": 0.35}, "last_at": at})
    assert s == ("5 of their last 8 answers were wrong; 'Unit fractions' fell from about 4 in 5 to about 2 in 5 "
                 "(last practised 2 weeks ago).")
    s = tw.need({"category": "ready", "skill_title": "Unit fractions", "next_title": "Equivalent fractions",
                 "p": 0.99, "last_at": at})
    assert s == "Has mastered 'Unit fractions' (last practised 2 weeks ago); next: 'Equivalent fractions'."
    s = tw.need({"category": "stalled", "skill_title": "Area", "sessions": 3, "p": 0.42, "last_at": at})
    assert "no progress over their last 3 sessions" in s.lower() and "about 2 in 5" in s
    assert tw.need({"category": "not_started"}) == "No answers recorded yet."


def test_the_students_voice_in_words():
    tw = TeacherWords(0.95, now=NOW)
    assert [tw.rating(r) for r in (1, 2, 3, 4)] == ["\u201cnot yet\u201d (1 of 4)", "\u201ca little\u201d (2 of 4)",
                                                   "\u201cmostly\u201d (3 of 4)", "\u201cI've got it\u201d (4 of 4)"]
    assert tw.rating(None) == tw.rating(7) == "no rating"
    assert tw.writer("student", "Ana D.") == "the student (Ana D.)"
    assert tw.writer("parent", "Ms. Family") == "the family (Ms. Family)"
    assert tw.writer("system", "system") == "Pathwise" and tw.writer("teacher", "") == "the teacher"
    assert tw.field_name("how_i_learn") == "How I learn best" and tw.field_name("home_availability") == "Available at home"
    assert tw.field_name("some_new_field") == "Some new field"  # no code shown for a field added later
    assert tw.voice_sign(None) == "" and tw.voice_sign({}) == ""
    assert tw.voice_sign({"chose": 1, "rated": 0, "last_rating": None}) == "made a choice"
    assert tw.voice_sign({"chose": 2, "rated": 1, "last_rating": 2}) == \
        "made 2 choices · rated 1 activity, last \u201ca little\u201d"
    assert tw.voice_sign({"chose": 0, "rated": 3, "last_rating": 4}) == "rated 3 activities, last \u201cI've got it\u201d"
