"""Experiments a school can trust: a pre-registered comparison of two planner arms (or the
planner against the teacher's own sequence), stable seeded randomisation by learner or class,
outcomes from the evidence and mastery history, and a report with effect size, confidence
interval and p-value that refuses to speak before the planned sample is reached.

* :mod:`engine.experiment.design` — arms, units, metrics, the planned sample (power analysis);
* :mod:`engine.experiment.assignment` — stratified seeded assignment, late joiners;
* :mod:`engine.experiment.outcome` — per-learner outcomes from history rows;
* :mod:`engine.experiment.analysis` — Welch t (learners or class means), Hedges' g, ICC;
* :mod:`engine.experiment.sequential` — interim looks: O'Brien-Fleming-type alpha spending;
* :mod:`engine.experiment.simulate` — a design run on simulated schools with a known effect;
* :mod:`engine.experiment.report` — the readable summary and the JSON/markdown report.

Pure functions over frozen dataclasses; the use cases are in :mod:`engine.app._experiments`.
"""
