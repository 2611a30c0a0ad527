"""Replay cleaning keeps every answer: only exact duplicate rows go, counted by reason."""

from __future__ import annotations

import numpy as np
import pytest

from kt.log import ObservationLog
from kt.replay.data import WARN_FRACTION, clean_log, exact_duplicates, read_public_log
from tests.conftest import require_shared


def _clean(**columns):
    return clean_log(ObservationLog.from_arrays(**columns))


def test_retry_of_an_item_with_the_same_outcome_is_kept():
    cleaned, rep = _clean(learner=["u"] * 4, item=["p"] * 4, skill=["s"] * 4,
                          outcome=[0, 0, 0, 1], order=[1, 2, 3, 4])
    assert len(cleaned) == 4 and rep.events_out == 4 and rep.rows_removed == 0
    assert rep.item_reattempt_events == 3 and rep.warnings() == []


def test_two_steps_of_one_skill_with_equal_outcomes_are_kept():
    # a multi-step problem: steps 1 and 2 of problem p both practise s, both right
    cleaned, rep = _clean(learner=["u"] * 3, item=["p", "p", "q"], skill=["s", "s", "s"],
                          outcome=[1, 1, 1], order=[10, 11, 12])
    assert cleaned.order.tolist() == [10, 11, 12] and rep.events_out == 3
    assert rep.removed == {"exact duplicate rows": 0}


def test_runs_of_equal_outcomes_without_an_item_column_are_kept():
    outcome = [1, 1, 1, 0, 0, 1, 1]
    cleaned, rep = _clean(learner=["u"] * 7, skill=["s"] * 7, outcome=outcome,
                          order=list(range(7)))
    assert cleaned.outcome.tolist() == outcome and rep.rows_removed == 0


def test_exact_duplicate_row_is_dropped_and_reported():
    # row 2 repeats row 1 verbatim (learner, item, order, outcome, skill); a copy of the
    # same answer with another skill, or another learner with the same key, is not one
    log = ObservationLog.from_arrays(
        learner=["u", "u", "u", "u", "v"], item=["p", "p", "p", "p", "p"],
        skill=["s", "s", "s", "t", "s"], outcome=[1, 0, 0, 0, 0], order=[1, 2, 2, 2, 2])
    assert exact_duplicates(log).sum() == 1
    cleaned, rep = clean_log(log)
    assert len(cleaned) == 4 and rep.removed["exact duplicate rows"] == 1
    assert rep.rows_in == 5 and rep.rows_out == 4
    assert "20.0%" in rep.summary().splitlines()[0]  # > 1 %: the first line warns
    assert "removed: 1 exact duplicate rows" in rep.summary()


def test_short_learners_counted_only_when_asked():
    log = ObservationLog.from_arrays(learner=["u", "u", "v"], skill=["s"] * 3,
                                     outcome=[1, 0, 1], order=[1, 2, 3])
    _, rep = clean_log(log)
    assert "rows of learners under" not in rep.removed_text()
    cleaned, rep = clean_log(log, min_events=2)
    assert rep.removed["rows of learners under 2 answers"] == 1 and len(cleaned) == 2


def test_warning_threshold_is_one_percent():
    n = 300
    learner = np.repeat(np.arange(n // 3), 3).astype(str)
    order = np.tile([1, 2, 2], n // 3)  # every third row a verbatim copy: 33 %
    _, rep = _clean(learner=learner, skill=["s"] * n, outcome=[1] * n, order=order)
    assert rep.removed["exact duplicate rows"] == n // 3 > WARN_FRACTION * n
    assert len(rep.warnings()) == 1


def _expected_exact_duplicates(path, sep, columns) -> int:
    import pandas as pd

    frame = pd.read_csv(path, sep=sep, low_memory=False)
    frame = frame[frame[columns[-1]].notna()]  # the skill column
    if "original" in frame:
        frame = frame[frame["original"] == 1]
    return int(frame.duplicated(subset=columns).sum())


SHARED = [  # path, separator, (learner, item, order, outcome, skill) columns, preset
    ("assistments-2009/skill_builder_2009.csv", ",",
     ["user_id", "problem_id", "order_id", "correct", "skill_name"], "assistments"),
    ("assistments-2020-subset/as_subset.csv", ",",
     ["user_id", "problem_id", "order_id", "correct", "skill_name"], "assistments"),
    ("cognitive-tutor/ct.csv", ",",
     ["Anon Student Id", "Problem Name", "Row", "Correct First Attempt", "KC(Default)"], "kdd"),
    ("cognitive-tutor/ct_2020_multiskill.tsv", "\t",
     ["Anon Student Id", "Problem Name", "Row", "Correct First Attempt", "KC(Default)"], "kdd"),
    ("statics-2011/statics.csv", ",",
     ["user_id", "order_id", "correct", "skill_name"], "assistments"),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(("relative", "sep", "columns", "preset"), SHARED,
                         ids=[s[0].split("/")[-1] for s in SHARED])
def test_shared_logs_lose_only_exact_duplicates(relative, sep, columns, preset):
    path = require_shared(relative)
    raw = read_public_log(path, preset=preset)
    cleaned, rep = clean_log(raw)
    expected = _expected_exact_duplicates(path, sep, columns)
    # '~~' cells are split by the reader, pandas compares the joined cell: never fewer
    assert rep.removed["exact duplicate rows"] <= expected
    assert len(cleaned) == len(raw) - rep.removed["exact duplicate rows"]
    assert rep.events_out <= raw.n_events and rep.rows_out == len(cleaned)
