"""The pyKT-style replay protocol (issue 11 item 6): expanded skill rows, each predicted from
the state before its question, late fusion; checked by hand on a constructed multi-skill log."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from kt.log import ObservationLog
from kt.models import make_model
from kt.replay import protocol, pykt
from tests.kt.test_models_data import synthetic_log
from tests.kt.test_replay import local_and_dask

# learner u: q1 = A right; q2 = A+B wrong (two skill copies, one answer); q3 = B right;
# q4 = A+B right.  Learner v: q1 = B wrong.
SMALL = dict(learner=["u", "u", "u", "u", "u", "u", "v"],
             item=["p1", "p2", "p2", "p3", "p4", "p4", "p3"],
             skill=["A", "A", "B", "B", "A", "B", "B"],
             outcome=[1, 0, 0, 1, 1, 1, 0],
             order=[1, 2, 2, 3, 4, 4, 1])


@pytest.fixture()
def small() -> ObservationLog:
    return ObservationLog.from_arrays(**SMALL)


@dataclass(frozen=True)
class CountingModel:
    """A transparent learner-level model for hand checks: P(correct) = (1 + right rows seen)
    / (2 + rows seen), over every skill; a state is (right, seen)."""

    name: str = "counting"

    def init_state(self):
        return (0, 0)

    def update_many(self, state, skills, scores, items=None, events=None):
        right, seen = state
        ev = np.arange(len(skills)) if events is None else np.asarray(events)
        starts = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1]])
        bounds = np.r_[starts, len(ev)]
        p = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            p.append((1 + right) / (2 + seen))
            right, seen = right + int(np.sum(scores[a:b])), seen + (b - a)
        return (right, seen), np.array(p)


def test_expansion_makes_one_single_skill_row_per_skill_copy(small):
    assert small.n_events == 5  # q2 and q4 are one answer each, two skill copies
    x = pykt.expand(small)
    assert x.n_events == len(x) == len(small) == 7
    for column in ("learner", "skill", "item", "outcome", "order"):
        np.testing.assert_array_equal(getattr(x, column), getattr(small, column))


def test_rows_predicted_before_their_question_and_fused_by_mean(small):
    p_rows = pykt.replay_skill_rows(CountingModel(), small)
    # u: q1 A: 1/2; q2 A and B both from (1 right, 1 seen): 2/3 each (B does not see A's
    # wrong answer, which would give 2/4); q3 B from (1, 3): 2/5; q4 A, B from (2, 4): 3/6.
    # v: q1 B: 1/2.  Rows are in learner-then-order order: v first.
    rows = {(str(small.learner_ids[lr]), int(o), str(small.skill_names[s])): p for lr, o, s, p
            in zip(small.learner, small.order, small.skill, p_rows, strict=True)}
    assert rows == pytest.approx({("u", 1, "A"): 1 / 2, ("u", 2, "A"): 2 / 3, ("u", 2, "B"): 2 / 3,
                                  ("u", 3, "B"): 2 / 5, ("u", 4, "A"): 1 / 2, ("u", 4, "B"): 1 / 2,
                                  ("v", 1, "B"): 1 / 2})
    ev_ptr = np.r_[np.flatnonzero(np.r_[True, small.event[1:] != small.event[:-1]]), len(small)]
    fused = pykt.fuse(np.array([0.2, 0.4, 0.9, 0.5, 0.1]), np.array([0, 1, 3, 4, 5]))
    np.testing.assert_allclose(fused, [0.2, 0.65, 0.5, 0.1])
    assert len(pykt.fuse(p_rows, ev_ptr)) == small.n_events


def test_real_bkt_rows_match_a_hand_computed_filter(small):
    train = pykt.expand(synthetic_log(n_learners=30, n_skills=2, seed=3))
    model = make_model("bkt").fit(train)
    prm = {k: model.skill_params(f"s{i}") for i, k in enumerate("AB")}
    log = ObservationLog.from_arrays(**{**SMALL, "skill": ["s0" if s == "A" else "s1"
                                                           for s in SMALL["skill"]]})
    p_rows = pykt.replay_skill_rows(model, log)

    def step(m, q, y):  # P(correct) before, P(mastered) after
        p = m * (1 - q.p_slip) + (1 - m) * q.p_guess
        post = m * (1 - q.p_slip) / p if y else m * q.p_slip / (1 - p)
        return p, post * (1 - q.p_forget) + (1 - post) * q.p_learn

    m = {k: prm[k].p_init for k in "AB"}
    expected = []
    for skill, y in (("A", 1), ("A", 0), ("B", 0), ("B", 1), ("A", 1), ("B", 1)):  # learner u
        p, m[skill] = step(m[skill], prm[skill], y)
        expected.append(p)
    expected.append(step(prm["B"].p_init, prm["B"], 0)[0])  # learner v
    u_first = int(log.learner_ids[log.learner[0]] != "u")  # v's row sorts first when "u" > "v"
    got = np.r_[p_rows[u_first:u_first + 6], p_rows[0 if u_first else 6]]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_a_questions_own_answer_never_reaches_its_skill_rows():
    log = synthetic_log(n_learners=30, per_learner=20, seed=7)
    model = make_model("r-best-lr-elo").fit(pykt.expand(log))
    p = pykt.replay_skill_rows(model, log)
    sizes = np.diff(np.r_[np.flatnonzero(np.r_[True, log.event[1:] != log.event[:-1]]), len(log)])
    q = int(np.flatnonzero(sizes > 1)[5])  # a multi-skill question
    rows = np.flatnonzero(log.event == log.event[np.r_[0, np.cumsum(sizes)][q]])
    flipped = log.outcome.copy()
    flipped[rows] = 1 - flipped[rows]
    other = ObservationLog(**{**log.__dict__, "outcome": flipped})
    p2 = pykt.replay_skill_rows(model, other)
    np.testing.assert_array_equal(p[: rows[-1] + 1], p2[: rows[-1] + 1])
    nxt = rows[-1] + 1
    assert log.learner[nxt] == log.learner[rows[0]] and p[nxt] != p2[nxt]  # later rows see it


def test_both_protocols_agree_on_a_log_without_multi_skill_questions():
    log = synthetic_log(n_learners=24, per_learner=20, multi_frac=0.0, seed=2)
    config = protocol.ReplayConfig(models=("bkt", "elo", "best-lr"), folds=3, n_boot=0,
                                   protocol="both")
    result = protocol.run(log, config)
    for name in config.models:
        np.testing.assert_allclose(result.predictions[pykt.key(name)], result.predictions[name],
                                   rtol=1e-10)


def test_pykt_run_fuses_row_predictions_per_scored_question():
    log = synthetic_log(n_learners=24, per_learner=20, seed=4)
    config = protocol.ReplayConfig(models=("elo",), folds=3, n_boot=0, protocol="pykt")
    result = protocol.run(log, config)
    assert set(result.predictions) == {"elo [pykt]"}
    ev = result.skill_rows["event"]
    rows = result.row_predictions["elo [pykt]"]
    assert len(rows) == len(log) > len(result.events["outcome"]) == log.n_events
    mean = np.bincount(ev, weights=rows) / np.bincount(ev)
    np.testing.assert_allclose(result.predictions["elo [pykt]"], mean, rtol=1e-12)


def test_bad_protocol_is_refused_before_work(small):
    with pytest.raises(Exception, match="protocol='pyKT'; choose from every-answer, pykt, both"):
        protocol.validate(small, protocol.ReplayConfig(models=("elo",), folds=2,
                                                       protocol="pyKT"))


@pytest.mark.slow
def test_cli_reports_both_protocols_mean_and_std_over_folds(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from service.cli import main

    log = synthetic_log(n_learners=30, per_learner=20, seed=9)
    path = tmp_path / "log.csv"
    pacsv.write_csv(pa.table({
        "order_id": log.order, "user_id": log.learner_ids[log.learner],
        "problem_id": log.item_ids[log.item], "skill_name": log.skill_names[log.skill],
        "correct": log.outcome.astype(np.int64)}), path)
    out = tmp_path / "rep"
    assert main(["replay", str(path), "--models", "bkt,elo", "--folds", "3", "--report",
                 str(out), "--bootstrap", "10", "--protocol", "both"]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["protocol"]["protocols"] == ["every-answer", "pykt"]
    rows = doc["models"]["elo [pykt]"]["skill_rows"]
    assert rows["n"] == len(log) and rows["fold_mean_std"]["auc"]["std"] > 0
    text = (out / "report.md").read_text()
    assert "## Protocols (mean ± std over folds)" in text and "| elo [pykt] |" in text
    with pytest.raises(SystemExit):
        main(["replay", str(path), "--report", str(out), "--protocol", "late"])
    assert "--protocol: invalid choice: 'late'" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_fits_give_the_local_pykt_numbers():
    log = synthetic_log(n_learners=30, per_learner=20, seed=5)
    config = protocol.ReplayConfig(models=("bkt", "best-lr"), folds=3, seed=2, n_boot=0,
                                   protocol="pykt")
    local_and_dask(log, config)
