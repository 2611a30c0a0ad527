"""Deterministic synthetic BKT logs (seeded), for demos and tests.

Each learner answers a random number of questions per skill; the hidden mastery state
follows the skill's BKT chain (p_init, p_learn, p_forget) and outcomes are drawn with its
p_guess / p_slip. Skills are interleaved in time per learner. Same arguments and seed ->
the same log, row for row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kt.bkt.params import SkillParams
from kt.errors import ParameterError
from kt.log import ObservationLog

DEFAULT_PARAMS: dict[str, SkillParams] = {
    "fractions": SkillParams(p_init=0.20, p_learn=0.15, p_forget=0.0, p_guess=0.20, p_slip=0.10),
    "decimals": SkillParams(p_init=0.35, p_learn=0.10, p_forget=0.0, p_guess=0.25, p_slip=0.08),
    "ratios": SkillParams(p_init=0.10, p_learn=0.20, p_forget=0.0, p_guess=0.15, p_slip=0.12),
    "equations": SkillParams(p_init=0.05, p_learn=0.12, p_forget=0.0, p_guess=0.10, p_slip=0.05),
    "geometry": SkillParams(p_init=0.50, p_learn=0.08, p_forget=0.0, p_guess=0.30, p_slip=0.15),
}


def _simulate_learner(rng, params, names, min_answers, max_answers):
    """Yield one learner's answers as (skill index, mastered before, correct, item code).

    Item code = skill index * (max_answers + 1) + k for the learner's k-th answer on that skill.
    Draws from ``rng`` in the same order as the original single loop (seed-stable logs).
    """
    counts = rng.integers(min_answers, max_answers + 1, size=len(names))
    sequence = np.repeat(np.arange(len(names)), counts)
    rng.shuffle(sequence)
    state = np.array([rng.random() < params[n].p_init for n in names])
    seen = np.zeros(len(names), dtype=np.int64)
    for k in sequence:
        p = params[names[k]]
        mastered = bool(state[k])
        correct = rng.random() < ((1.0 - p.p_slip) if mastered else p.p_guess)
        yield k, mastered, correct, k * (max_answers + 1) + int(seen[k])
        seen[k] += 1
        if mastered:
            state[k] = not (rng.random() < p.p_forget)
        else:
            state[k] = rng.random() < p.p_learn


def _template_classes(rng, n: int, n_templates: int) -> tuple[dict, dict]:
    """(classes, class_vocab) for ``ObservationLog``: a uniform ``"template_id"`` per row
    (int32 (n,), values ``"T0"``...) when ``n_templates`` > 0, else two empty dicts."""
    classes: dict[str, np.ndarray] = {}
    class_vocab: dict[str, np.ndarray] = {}
    if n_templates > 0:
        classes["template_id"] = rng.integers(0, n_templates, size=n).astype(np.int32)
        class_vocab["template_id"] = np.array([f"T{k}" for k in range(n_templates)], dtype=str)
    return classes, class_vocab


def _check_arguments(n_learners: int, params: Mapping, min_answers: int, max_answers: int) -> None:
    if n_learners < 1 or not params:
        raise ParameterError("n_learners must be >= 1 and params must name at least one skill")
    if not (1 <= min_answers <= max_answers):
        raise ParameterError(
            f"min_answers={min_answers}, max_answers={max_answers}: need 1 <= min <= max"
        )


def _simulate_learners(rng, n_learners: int, params: Mapping[str, SkillParams], names: list[str],
                       min_answers: int, max_answers: int) -> tuple[list, list, list, list, list]:
    """Rows of every learner in turn: (learner, skill code, outcome 0/1, mastered before the
    row 0/1, item code) as five parallel lists."""
    learners, skills, outcomes, states, items = [], [], [], [], []
    for u in range(n_learners):
        for k, mastered, correct, item in _simulate_learner(rng, params, names, min_answers, max_answers):
            learners.append(u)
            skills.append(k)
            outcomes.append(int(correct))
            states.append(int(mastered))
            items.append(item)
    return learners, skills, outcomes, states, items


def generate(
    n_learners: int = 200,
    params: Mapping[str, SkillParams] | None = None,
    min_answers: int = 5,
    max_answers: int = 20,
    seed: int = 0,
    n_templates: int = 0,
) -> tuple[ObservationLog, np.ndarray]:
    """Simulate a log.

    Args:
        n_learners: learners (ids ``"L0000"``...).
        params: skill name -> true ``SkillParams`` (default ``DEFAULT_PARAMS``, 5 skills).
        min_answers, max_answers: answers per learner and skill, uniform in that range.
        seed: random seed.
        n_templates: when > 0, add a class column ``"template_id"`` (values ``"T0"``...): each
            row's template drawn uniformly (it does not change the simulated outcome).

    Returns:
        (log, mastered): the ``ObservationLog`` (one item per answer, item id
        ``"<skill>-q<k>"``, order = time step) and int8 (n,) the hidden state *before* each row.
    """
    params = dict(DEFAULT_PARAMS if params is None else params)
    _check_arguments(n_learners, params, min_answers, max_answers)
    rng = np.random.default_rng(seed)
    names = list(params)
    learners, skills, outcomes, states, items = _simulate_learners(
        rng, n_learners, params, names, min_answers, max_answers)
    n = len(outcomes)
    classes, class_vocab = _template_classes(rng, n, n_templates)
    item_codes = np.array(items, dtype=np.int64)
    uniq, inverse = np.unique(item_codes, return_inverse=True)
    item_ids = np.array(
        [f"{names[c // (max_answers + 1)]}-q{c % (max_answers + 1)}" for c in uniq], dtype=str
    )
    log = ObservationLog(
        learner=np.array(learners, dtype=np.int32),
        skill=np.array(skills, dtype=np.int32),
        item=inverse.astype(np.int32),
        outcome=np.array(outcomes, dtype=np.int8),
        order=np.arange(n, dtype=np.int64),
        event=np.arange(n, dtype=np.int64),
        learner_ids=np.array([f"L{u:04d}" for u in range(n_learners)], dtype=str),
        skill_names=np.array(names, dtype=str),
        item_ids=item_ids,
        classes=classes,
        class_vocab=class_vocab,
        source=f"kt.synthetic.generate(n_learners={n_learners}, seed={seed})",
    )
    return log, np.array(states, dtype=np.int8)


def to_csv(log: ObservationLog, path) -> None:
    """Write a log as ASSISTments-style CSV: order_id,user_id,skill_name,problem_id,correct
    plus one column per class column (e.g. template_id)."""
    import csv

    names = list(log.classes)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "user_id", "skill_name", "problem_id", "correct", *names])
        for i in range(len(log)):
            writer.writerow([
                int(log.order[i]),
                log.learner_ids[log.learner[i]],
                log.skill_names[log.skill[i]],
                log.item_ids[log.item[i]],
                int(log.outcome[i]),
                *(log.class_vocab[c][log.classes[c][i]] for c in names),
            ])


def large_columns(
    n_learners: int = 20_000,
    n_skills: int = 1_000,
    skills_per_learner: int = 50,
    answers: tuple[int, int] = (5, 15),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """A big synthetic log as columns (vectorised; ~10 M rows with the defaults, KDD Cup 2010
    size), for scale benchmarks. Each learner practises ``skills_per_learner`` random skills,
    ``answers`` (inclusive range) times each; per skill random true parameters
    (p_init 0.1-0.5, p_learn 0.05-0.3, p_guess 0.1-0.3, p_slip 0.05-0.2, no forgetting);
    a learner's answers to different skills are interleaved in a random order.

    Returns ASSISTments-layout columns: ``order_id`` int64 (n,) 0..n-1 in (learner, time)
    order, ``user_id`` int64, ``skill_name`` str (``"skill0001"``...), ``problem_id`` int64
    (skill x 100 + attempt), ``correct`` int8.
    """
    if n_learners < 1 or not (1 <= skills_per_learner <= n_skills):
        raise ParameterError("need n_learners >= 1 and 1 <= skills_per_learner <= n_skills")
    if not (1 <= answers[0] <= answers[1]):
        raise ParameterError(f"answers={answers}: need 1 <= low <= high")
    rng = np.random.default_rng(seed)
    p_init, p_learn = rng.uniform(0.1, 0.5, n_skills), rng.uniform(0.05, 0.3, n_skills)
    p_guess, p_slip = rng.uniform(0.1, 0.3, n_skills), rng.uniform(0.05, 0.2, n_skills)
    seq_learner = np.repeat(np.arange(n_learners), skills_per_learner)
    seq_skill = np.argsort(rng.random((n_learners, n_skills)), axis=1)[
        :, :skills_per_learner].reshape(-1)
    seq_len = rng.integers(answers[0], answers[1] + 1, size=len(seq_skill))
    start = np.concatenate([[0], np.cumsum(seq_len)[:-1]])
    n = int(seq_len.sum())
    correct = np.empty(n, dtype=np.int8)
    attempt = np.empty(n, dtype=np.int64)
    mastered = rng.random(len(seq_skill)) < p_init[seq_skill]
    for t in range(answers[1]):
        live = np.flatnonzero(seq_len > t)
        s = seq_skill[live]
        draw = rng.random(len(live))
        ok = np.where(mastered[live], draw >= p_slip[s], draw < p_guess[s])
        correct[start[live] + t] = ok
        attempt[start[live] + t] = t
        mastered[live] |= rng.random(len(live)) < p_learn[s]
    row_seq = np.repeat(np.arange(len(seq_skill)), seq_len)
    # interleave a learner's skills: sort each learner's rows by a random time, keeping the
    # answers of one skill in attempt order (the time of attempt t grows with t)
    time = attempt + rng.random(n)
    perm = np.lexsort((time, seq_learner[row_seq]))
    names = np.array([f"skill{k:04d}" for k in range(n_skills)])
    return {
        "order_id": np.arange(n, dtype=np.int64),
        "user_id": seq_learner[row_seq][perm].astype(np.int64),
        "skill_name": names[seq_skill[row_seq][perm]],
        "problem_id": (seq_skill[row_seq] * 100 + attempt)[perm],
        "correct": correct[perm],
    }
