"""kt.io.read_log and ObservationLog.from_arrays: presets, multi-skill answers, bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kt.errors import LogFormatError
from kt.io import read_log
from kt.log import ObservationLog
from tests.conftest import require_shared

AS09 = "assistments-2009/skill_builder_2009.csv"
AS20 = "assistments-2020-subset/as_subset.csv"

ASSIST_HEADER = "order_id,user_id,skill_name,correct,problem_id\n"


def write(tmp_path, text: str, name: str = "log.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(autouse=True, params=["overlap", "sequential"])
def skill_thread(request, monkeypatch):
    """Run every test with the skill strings coded in a second thread (at any size) and
    without it, so results and error messages are checked on both paths."""
    import kt._table

    monkeypatch.setattr(kt._table, "_OVERLAP_ROWS", 1 if request.param == "overlap" else 10**12)
    return request.param


def check_invariants(log: ObservationLog) -> None:
    """Sorted by learner then order; events contiguous, increasing, within one learner."""
    assert np.all(np.diff(log.learner) >= 0)
    same = log.learner[1:] == log.learner[:-1]
    step = np.diff(log.order)
    new_event = np.diff(log.event) != 0
    assert np.all(step[same] >= 0)
    # a new event under the same key is only an exact duplicate row (same item and outcome)
    tie = same & new_event & (step == 0)
    assert np.all(log.item[1:][tie] == log.item[:-1][tie])
    assert np.all(log.outcome[1:][tie] == log.outcome[:-1][tie])
    assert np.all(np.diff(log.event) >= 0)
    assert log.event[0] == 0
    assert np.all(np.diff(log.event) <= 1)
    # Rows of one event share learner, item and outcome, with distinct skills.
    cont = ~new_event
    assert np.all(log.learner[1:][cont] == log.learner[:-1][cont])
    assert np.all(log.item[1:][cont] == log.item[:-1][cont])
    assert np.all(log.outcome[1:][cont] == log.outcome[:-1][cont])
    pairs = log.event.astype(np.int64) * (log.n_skills + 1) + log.skill
    assert len(np.unique(pairs)) == len(log)
    assert set(np.unique(log.outcome).tolist()) <= {0, 1}


# --- shared files --------------------------------------------------------------------------

# every log file of ../shared/data: (path, read_log kwargs, pandas read_csv kwargs, preset)
SHARED_LOGS = [
    (AS09, {}, {}, "assistments"),
    (AS20, {}, {}, "assistments"),
    ("cognitive-tutor/ct.csv", {}, {}, "kdd"),
    ("cognitive-tutor/ct_2020_multiskill.tsv", {"missing_skill": "drop"}, {"sep": "\t"}, "kdd"),
    ("statics-2011/statics.csv", {}, {}, "assistments"),
]


def _valid_rows(path, read_csv_kwargs, preset) -> tuple[int, int]:
    """(observations, answers) a loader must keep, counted independently with pandas:
    rows with a skill (``~~`` cells split into one row per skill), outcome not -1, and
    ``original == 1`` where that column exists (pyBKT's rule)."""
    import pandas as pd

    frame = pd.read_csv(path, low_memory=False, **read_csv_kwargs)
    skill = "skill_name" if preset == "assistments" else "KC(Default)"
    outcome = "correct" if preset == "assistments" else "Correct First Attempt"
    if "original" in frame:
        frame = frame[frame["original"] == 1]
    frame = frame[frame[skill].notna() & (frame[outcome] != -1)]
    parts = frame[skill].astype(str).str.split("~~")
    return int(parts.str.len().sum()), len(frame)


@pytest.mark.shared_data
@pytest.mark.parametrize("skill_thread", ["overlap"], indirect=True)  # one path is enough
@pytest.mark.parametrize(("relative", "kwargs", "csv_kwargs", "preset"), SHARED_LOGS,
                         ids=[r[0].split("/")[-1] for r in SHARED_LOGS])
def test_every_valid_row_of_every_shared_log_loads(relative, kwargs, csv_kwargs, preset,
                                                   skill_thread):
    path = require_shared(relative)
    log = read_log(path, **kwargs)  # layout detected from the header, no renaming
    check_invariants(log)
    rows, answers = _valid_rows(path, csv_kwargs, preset)
    assert len(log) == rows
    if preset == "kdd":  # one answer per Row (step): steps of one problem are not merged
        assert log.n_events == answers
    else:  # ASSISTments copies of one answer share an event; never more events than rows
        assert log.n_events <= answers


@pytest.mark.shared_data
@pytest.mark.parametrize("skill_thread", ["overlap"], indirect=True)
def test_shared_ct_exact_duplicate_row_is_kept_as_its_own_answer(skill_thread):
    log = read_log(require_shared("cognitive-tutor/ct.csv"))
    rows = np.flatnonzero((log.order == 1978) & (log.learner_ids[log.learner] == "745Yh"))
    assert len(rows) == 2 and log.event[rows[0]] != log.event[rows[1]]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["cognitive-tutor/ct.csv", "cognitive-tutor/ct_2020_multiskill.tsv"])
def test_shared_kdd_logs_item_each_row_by_its_problem_step(name):
    """Checked against Python's csv module: one item per distinct (Problem Name, Step Name)
    pair among the rows kept, and each row's item names its own problem and step."""
    import csv

    path = require_shared(name)
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t" if name.endswith(".tsv") else ","))
    log = read_log(path, missing_skill="drop")
    kept = [r for r in rows if (r["KC(Default)"] or "").strip()]
    expected = {f"{r['Problem Name']} / {r['Step Name']}" if r["Step Name"] else r["Problem Name"]
                for r in kept}
    assert set(log.item_ids[np.unique(log.item)].tolist()) == expected
    first = kept[0]
    at = np.flatnonzero((log.order == int(first["Row"]))
                        & (log.learner_ids[log.learner] == first["Anon Student Id"]))
    assert log.item_ids[log.item[at[0]]] == f"{first['Problem Name']} / {first['Step Name']}"


@pytest.mark.shared_data
def test_assistments_2009_loads_without_renaming():
    path = require_shared(AS09)
    log = read_log(path)  # preset detected from the header
    assert len(log) == 325_589
    assert log.n_learners == 4_150
    assert log.n_skills == 110
    assert log.n_items == 16_891
    check_invariants(log)
    # Skill copies: the file's first two rows are one answer of learner 78276 to problem
    # 84805, tagged with two skills, under neighbouring order ids 1 and 2.
    rows = np.flatnonzero(np.isin(log.order, [1, 2]))
    assert len(rows) == 2
    assert log.event[rows[0]] == log.event[rows[1]]
    assert {str(log.skill_names[s]) for s in log.skill[rows]} == {
        "Addition Whole Numbers",
        "Absolute Value",
    }
    assert str(log.learner_ids[log.learner[rows[0]]]) == "78276"
    assert log.n_events < len(log)  # multi-skill answers exist and are grouped
    same_preset = read_log(path, preset="assistments")
    np.testing.assert_array_equal(same_preset.event, log.event)


@pytest.mark.shared_data
def test_assistments_2020_subset_with_template_classes():
    path = require_shared(AS20)
    log = read_log(path, preset="assistments", classes=["template_id"])
    assert len(log) == 10_791
    assert log.n_learners == 902
    assert set(log.skill_names.tolist()) == {"Box and Whisker", "Table"}
    assert len(log.class_vocab["template_id"]) == 22
    assert log.classes["template_id"].dtype == np.int32
    assert "original == 1" in log.source
    check_invariants(log)


# --- formats and presets -------------------------------------------------------------------


def test_parquet_and_table_sources_match_csv(tmp_path):
    text = ASSIST_HEADER + "3,u1,a,1,p1\n1,u1,a,0,p2\n2,u2,b,1,p3\n5,u2,a,1,p3\n"
    csv_log = read_log(write(tmp_path, text))
    table = pa.table(
        {
            "order_id": [3, 1, 2, 5],
            "user_id": ["u1", "u1", "u2", "u2"],
            "skill_name": ["a", "a", "b", "a"],
            "correct": [1, 0, 1, 1],
            "problem_id": ["p1", "p2", "p3", "p3"],
        }
    )
    pq.write_table(table, tmp_path / "log.parquet")
    for other in (read_log(tmp_path / "log.parquet"), read_log(table)):
        for name in ("learner", "skill", "item", "outcome", "order", "event"):
            np.testing.assert_array_equal(getattr(other, name), getattr(csv_log, name))
    # sorted by learner then order
    assert csv_log.order.tolist() == [1, 3, 2, 5]
    assert csv_log.outcome.tolist() == [0, 1, 1, 1]


def test_kdd_preset_tab_separated_splits_joined_skills(tmp_path):
    text = (
        "Row\tAnon Student Id\tProblem Name\tKC(Default)\tCorrect First Attempt\n"
        "1\ts1\tP1\tadd~~sub\t1\n"
        "2\ts1\tP2\tadd\t0\n"
        "3\ts2\tP1\tsub ~~ add\t0\n"
    )
    log = read_log(write(tmp_path, text, "kdd.txt"))
    assert len(log) == 5
    assert log.skill_names.tolist() == ["add", "sub"]
    # the two skill rows of Row 1 share an event and the order key
    assert log.order.tolist() == [1, 1, 2, 3, 3]
    assert log.event.tolist() == [0, 0, 1, 2, 2]
    check_invariants(log)
    kept = read_log(write(tmp_path, text, "kdd.txt"), preset="kdd", multi_skill="keep")
    assert len(kept) == 3
    assert "add~~sub" in kept.skill_names.tolist()


def test_explicit_column_map_and_classes(tmp_path):
    text = "t,student,kc,ok,q,tmpl\n10,A,x,1,q1,T1\n11,A,x,0,q2,T2\n12,B,y,1,q1,T1\n"
    log = read_log(
        write(tmp_path, text),
        columns={"order": "t", "learner": "student", "skill": "kc", "outcome": "ok", "item": "q"},
        classes=["tmpl"],
    )
    assert log.learner_ids.tolist() == ["A", "B"]
    assert log.class_vocab["tmpl"].tolist() == ["T1", "T2"]
    assert log.classes["tmpl"].tolist() == [0, 1, 0]


def test_item_optional_copies_by_equal_order(tmp_path):
    text = "order_id,user_id,skill_name,correct\n1,u,a,1\n1,u,b,1\n2,u,a,0\n"
    log = read_log(write(tmp_path, text))
    assert log.event.tolist() == [0, 0, 1]
    assert log.item_ids.tolist() == [""]


def test_kdd_steps_of_one_problem_are_separate_answers(tmp_path):
    # ct_2020_multiskill: a '~~' step after a step of the same problem, skill and outcome
    text = (
        "Row\tAnon Student Id\tProblem Name\tKC(Default)\tCorrect First Attempt\n"
        "1\ts1\tP1\tsub\t1\n"
        "2\ts1\tP1\tadd~~sub\t1\n"
        "3\ts1\tP1\tmul\t1\n"
        "4\ts1\tP1\tmul\t1\n"
    )
    log = read_log(write(tmp_path, text, "kdd.tsv"))
    assert log.order.tolist() == [1, 2, 2, 3, 4]
    assert log.event.tolist() == [0, 1, 1, 2, 3]
    check_invariants(log)


def test_kdd_item_is_the_step_of_a_problem(tmp_path):
    """A KDD row answers one step: the item is (Problem Name, Step Name), so two steps of one
    problem are two items and a second attempt at a step is the same item; a row without a step
    name keeps the problem; ``columns={"item": ...}`` picks one column instead."""
    text = (
        "Row\tAnon Student Id\tProblem Name\tStep Name\tKC(Default)\tCorrect First Attempt\n"
        "1\ts1\tP1\tx=1\tadd\t1\n"
        "2\ts1\tP1\ty=2\tadd\t0\n"
        "3\ts1\tP2\tx=1\tadd\t1\n"
        "4\ts2\tP1\ty=2\tadd\t1\n"
        "5\ts2\tP2\t\tadd\t0\n"
    )
    path = write(tmp_path, text, "kdd.tsv")
    log = read_log(path)
    assert log.item_ids.tolist() == ["P1 / x=1", "P1 / y=2", "P2", "P2 / x=1"]
    assert log.item_ids[log.item].tolist() == ["P1 / x=1", "P1 / y=2", "P2 / x=1", "P1 / y=2",
                                               "P2"]
    check_invariants(log)
    by_problem = read_log(path, columns={"item": "Problem Name"})
    assert by_problem.item_ids[by_problem.item].tolist() == ["P1", "P1", "P2", "P1", "P2"]


def test_assistments_multi_skill_copy_after_a_copy_of_its_skill(tmp_path):
    # the bug of ct_2020 in an item-grouped layout: key 2 holds skills a and b, b is open
    text = ASSIST_HEADER + "1,u,b,1,p\n2,u,a,1,p\n2,u,b,1,p\n"
    log = read_log(write(tmp_path, text))
    assert log.event.tolist() == [0, 1, 1]


def test_exact_duplicate_row_loads(tmp_path):
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,a,0,p\n2,u,a,0,p\n"
    log = read_log(write(tmp_path, text))
    assert len(log) == 3 and log.event.tolist() == [0, 1, 2]


def test_missing_correct_column_is_named(tmp_path):
    path = write(tmp_path, "order_id,user_id,skill_name,problem_id\n1,u,a,p\n")
    err = expect_error("'correct'", path)
    assert "missing" in str(err) and "--column outcome=NAME" in str(err)
    assert "no column for 'learner'" not in str(err)


def test_semicolon_file_loads_and_a_wrongly_split_header_gets_a_hint(tmp_path):
    text = "order_id;user_id;skill_name;correct\n1;u;a;1\n2;u;a;0\n"
    assert read_log(write(tmp_path, text)).outcome.tolist() == [1, 0]
    # a table read with the wrong delimiter: one column named after the whole header
    import pyarrow.csv as pacsv

    for sep, label in ((";", "';'"), ("\t", "tabs")):
        wrong = pacsv.read_csv(write(tmp_path, text.replace(";", sep), "x.txt"),
                               parse_options=pacsv.ParseOptions(delimiter="|"))
        err = expect_error("no column for", wrong)
        assert f"holds {label}" in str(err) and "delimiter" in str(err)


def test_same_problem_answered_twice_is_two_events(tmp_path):
    # skills a,b of problem p, then the same problem again: A B A B -> two events
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,b,1,p\n3,u,a,1,p\n4,u,b,1,p\n5,u,b,0,p\n"
    log = read_log(write(tmp_path, text))
    assert log.event.tolist() == [0, 0, 1, 1, 2]


def test_original_filter_and_no_response_skipped(tmp_path):
    text = (
        "order_id,user_id,skill_name,correct,problem_id,original\n"
        "1,u,a,1,p1,1\n2,u,a,0,p2,0\n3,u,a,-1,p3,1\n4,u,a,0,p4,1\n"
    )
    log = read_log(write(tmp_path, text))
    assert log.order.tolist() == [1, 4]
    assert "original == 1" in log.source
    assert "1 no-response rows" in log.source


def test_latin1_file_is_read(tmp_path):
    text = ASSIST_HEADER + "1,u,Gr\xe4phs,1,p\n"
    log = read_log(write(tmp_path, text, encoding="latin-1"))
    assert log.skill_names.tolist() == ["Gr\xe4phs"]


def test_float_outcomes_accepted(tmp_path):
    log = read_log(write(tmp_path, ASSIST_HEADER + "1,u,a,1.0,p\n2,u,a,0.0,p\n"))
    assert log.outcome.tolist() == [1, 0]


# --- bad input -----------------------------------------------------------------------------


def expect_error(match: str, *args, **kwargs) -> LogFormatError:
    with pytest.raises(LogFormatError, match=match) as info:
        read_log(*args, **kwargs)
    return info.value


def test_missing_column_names_it_and_the_fix(tmp_path):
    path = write(tmp_path, "order_id,user_id,correct\n1,u,1\n")
    err = expect_error("skill", path, preset="assistments")
    assert "'skill_name'" in str(err) and "columns=" in str(err)
    err = expect_error(
        "template_id", write(tmp_path, ASSIST_HEADER + "1,u,a,1,p\n"), classes=["template_id"]
    )
    assert "missing" in str(err)


def test_header_matching_no_preset(tmp_path):
    err = expect_error("no column for", write(tmp_path, "a,b\n1,2\n"))
    assert "preset=" in str(err)


def test_outcome_outside_range_names_row_and_value(tmp_path):
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,a,0,p\n3,u,a,2,p\n4,u,a,7,p\n"
    err = expect_error("'correct'", write(tmp_path, text))
    assert "holds 2 at row 2" in str(err)
    assert "-1" in str(err)


def test_non_numeric_outcome(tmp_path):
    err = expect_error("not numeric", write(tmp_path, ASSIST_HEADER + "1,u,a,yes,p\n"))
    assert "'yes'" in str(err) and "row 0" in str(err)


def test_empty_file_and_header_only(tmp_path):
    expect_error("empty", write(tmp_path, ""))
    expect_error("no data rows", write(tmp_path, ASSIST_HEADER))
    expect_error("no observations", write(tmp_path, ASSIST_HEADER + "1,u,a,-1,p\n"))
    expect_error("does not exist", tmp_path / "nope.csv")


def test_missing_skill_names_error_or_drop(tmp_path):
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,,0,p\n3,u,  ,1,p\n4,u,b,1,p\n"
    err = expect_error("'skill_name'", write(tmp_path, text))
    assert "row 1" in str(err) and "2 rows" in str(err) and "missing_skill='drop'" in str(err)
    log = read_log(write(tmp_path, text), missing_skill="drop")
    assert log.order.tolist() == [1, 4]
    assert "dropped 2 rows" in log.source


def test_first_problem_in_reading_order_is_reported(tmp_path):
    # a missing skill (row 1) is reported before a bad outcome (row 3), and a bad outcome on
    # a row whose skill is dropped does not matter
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,,0,p\n3,u,b,7,p\n"
    err = expect_error("'skill_name'", write(tmp_path, text))
    assert "row 1" in str(err)
    expect_error("'correct'", write(tmp_path, text), missing_skill="drop")
    text = ASSIST_HEADER + "1,u,a,1,p\n2,u,,7,p\n3,u,b,1,p\n"
    assert read_log(write(tmp_path, text), missing_skill="drop").order.tolist() == [1, 3]


def test_duplicate_order_within_learner(tmp_path):
    text = ASSIST_HEADER + "1,u,a,1,p1\n2,u,a,0,p2\n2,u,a,1,p3\n"
    err = expect_error("repeats key 2", write(tmp_path, text))
    assert "'order_id'" in str(err) and "learner 'u'" in str(err) and "row 2" in str(err)
    # says what differs, and does not offer the order column already in use as the fix
    assert "'problem_id' 'p2' vs 'p3'" in str(err) and "outcome 0 vs 1" in str(err)
    assert "--column order=NAME" in str(err) and "e.g. order_id" not in str(err)
    # the same key for different learners is fine; a skill copy is fine
    ok = ASSIST_HEADER + "1,u,a,1,p1\n1,v,a,0,p2\n1,v,b,0,p2\n2,v,a,0,p3\n"
    assert len(read_log(write(tmp_path, ok))) == 4


def test_non_numeric_and_fractional_order(tmp_path):
    err = expect_error("not numeric", write(tmp_path, ASSIST_HEADER + "1,u,a,1,p\nx,u,a,1,p\n"))
    assert "'x'" in str(err) and "row 1" in str(err)
    err = expect_error("whole numbers", write(tmp_path, ASSIST_HEADER + "1.5,u,a,1,p\n"))
    assert "row 0" in str(err)


def test_empty_cells_in_used_columns(tmp_path):
    err = expect_error("'user_id'", write(tmp_path, ASSIST_HEADER + "1,u,a,1,p\n2,,a,1,p\n"))
    assert "row 1" in str(err)
    err = expect_error("'correct'", write(tmp_path, ASSIST_HEADER + "1,u,a,,p\n"))
    assert "row 0" in str(err)


def test_bad_arguments(tmp_path):
    path = write(tmp_path, ASSIST_HEADER + "1,u,a,1,p\n")
    expect_error("unknown preset", path, preset="edx")
    expect_error("unknown role", path, columns={"student": "user_id"})
    expect_error("multi_skill", path, multi_skill="explode")


# --- from_arrays ---------------------------------------------------------------------------


def test_from_arrays_codes_sorts_and_groups():
    log = ObservationLog.from_arrays(
        learner=[20, 3, 3, 3, 20],
        skill=["s2", "s1", "s2", "s1", "s1"],
        item=[7, 9, 9, 8, 6],
        outcome=[1, 0, 0, 1, 1],
        order=[1, 5, 6, 7, 2],
        classes={"tmpl": ["t", "u", "u", "t", "t"]},
    )
    assert log.learner_ids.tolist() == ["3", "20"]  # ints sorted numerically
    assert log.order.tolist() == [5, 6, 7, 1, 2]
    assert log.skill.tolist() == [0, 1, 0, 1, 0]
    assert log.event.tolist() == [0, 0, 1, 2, 3]
    assert log.classes["tmpl"].tolist() == [1, 1, 0, 0, 0]
    check_invariants(log)


def test_from_arrays_stable_without_order_and_validates():
    log = ObservationLog.from_arrays(
        learner=["b", "a", "b"], skill=["k", "k", "k"], outcome=np.array([1, 0, 0])
    )
    assert log.learner.tolist() == [0, 1, 1]
    assert log.order.tolist() == [1, 0, 2]
    with pytest.raises(LogFormatError, match="equal length"):
        ObservationLog.from_arrays(learner=[1], skill=["k", "k"], outcome=[1, 1])
    with pytest.raises(LogFormatError, match="holds 3 at row 1"):
        ObservationLog.from_arrays(learner=[1, 1], skill=["k", "k"], outcome=[1, 3])
    with pytest.raises(LogFormatError, match="skill"):
        ObservationLog.from_arrays(learner=[1, 1], skill=["k", ""], outcome=[1, 0])
    with pytest.raises(LogFormatError, match="repeats key"):
        ObservationLog.from_arrays(
            learner=[1, 1], skill=["k", "k"], outcome=[1, 0], order=[4, 4], item=[1, 2]
        )


def test_empty_part_of_joined_skills(tmp_path):
    text = (
        "Row\tAnon Student Id\tProblem Name\tKC(Default)\tCorrect First Attempt\n"
        "1\ts1\tP1\tadd~~\t1\n"
        "2\ts1\tP2\tadd\t0\n"
    )
    err = expect_error("between '~~'", write(tmp_path, text, "kdd.txt"))
    assert "row 0" in str(err)
    log = read_log(write(tmp_path, text, "kdd.txt"), missing_skill="drop")
    assert log.order.tolist() == [1, 2]


@pytest.mark.parametrize("ids", [[5, -3, 5, 1000], [10**12, 7, 10**12, -(10**12)]])
def test_integer_ids_sorted_numerically_dense_or_sparse(ids):
    table = pa.table(
        {
            "order_id": [1, 2, 3, 4],
            "user_id": ids,
            "skill_name": ["a", "a", "a", "a"],
            "correct": [1, 0, 1, 1],
            "problem_id": ids,
        }
    )
    log = read_log(table)
    want = sorted(set(ids))
    assert log.learner_ids.tolist() == [str(v) for v in want]
    assert log.item_ids.tolist() == [str(v) for v in want]
    # each row keeps its own learner and item
    got = sorted(zip(log.order.tolist(), log.learner_ids[log.learner].tolist(), strict=True))
    assert got == [(i + 1, str(v)) for i, v in enumerate(ids)]
    np.testing.assert_array_equal(log.learner_ids[log.learner], log.item_ids[log.item])


def test_utf8_bom_and_crlf(tmp_path):
    text = "\ufeff" + ASSIST_HEADER.replace("\n", "\r\n") + "1,u,a,1,p\r\n2,u,a,0,q\r\n"
    log = read_log(write(tmp_path, text))
    assert log.outcome.tolist() == [1, 0]
    assert log.item_ids.tolist() == ["p", "q"]


def test_quoted_header_names(tmp_path):
    text = '"t","student, id","kc","ok"\n1,a,k,1\n2,a,k,0\n'
    log = read_log(
        write(tmp_path, text),
        columns={"order": "t", "learner": "student, id", "skill": "kc", "outcome": "ok"},
    )
    assert log.learner_ids.tolist() == ["a"]


def _rows_in(path: str) -> int:
    return len(read_log(path))


@pytest.mark.parametrize("skill_thread", ["overlap"], indirect=True)  # the thread's path only
def test_read_log_works_in_a_forked_child(tmp_path, skill_thread):
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("this platform cannot fork; the helper thread is only at risk across fork")
    path = write(tmp_path, ASSIST_HEADER + "1,u,a,1,p\n2,u,b,0,q\n3,v,a,1,p\n")
    assert len(read_log(path)) == 3  # the parent's helper thread now exists
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_rows_in, (str(path),)).get(timeout=60) == 3
