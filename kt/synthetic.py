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
    if n_learners < 1 or not params:
        raise ParameterError("n_learners must be >= 1 and params must name at least one skill")
    if not (1 <= min_answers <= max_answers):
        raise ParameterError(
            f"min_answers={min_answers}, max_answers={max_answers}: need 1 <= min <= max"
        )
    rng = np.random.default_rng(seed)
    names = list(params)
    learners, skills, outcomes, states, items = [], [], [], [], []
    for u in range(n_learners):
        for k, mastered, correct, item in _simulate_learner(rng, params, names, min_answers, max_answers):
            learners.append(u)
            skills.append(k)
            outcomes.append(int(correct))
            states.append(int(mastered))
            items.append(item)
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
