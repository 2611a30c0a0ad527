"""The report: a JSON-ready dict (the API) and markdown (the file), with a summary a
principal can read. Numbers are rounded to what a person reads (3 decimals, p to 3
significant digits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from engine.experiment.analysis import MetricResult, compare
from engine.experiment.design import Design
from engine.experiment.outcome import Outcome

METRIC_WORDS = {"mastery_gain": "mastery gain on the target skills (probability points, 0-1)",
                "time_on_task_min": "minutes on task", "observations": "pieces of evidence on the target skills",
                "end_mastery": "mastery of the target skills at the end (0-1)"}


def _r(x: float, nd: int = 3) -> float | None:
    return None if x != x else round(float(x), nd)  # NaN -> None


def _p(p: float) -> float:
    return float(f"{p:.3g}")


def _level(alpha: float) -> str:
    """Confidence level in percent, as a person writes it: 95, 99.4."""
    return f"{100 * (1 - alpha):.3g}"


def metric_dict(m: MetricResult) -> dict[str, Any]:
    t = m.test
    return {"metric": m.metric, "arms": list(m.arms), "n": list(m.n), "classes": list(m.clusters),
            "mean": [_r(x) for x in m.mean], "sd": [_r(x) for x in m.sd], "difference": _r(t.diff),
            "ci": [_r(t.ci_low), _r(t.ci_high)], "p_value": _p(t.p_value), "cohen_d": _r(m.cohen_d),
            "hedges_g": _r(m.hedges_g), "hedges_g_ci": [_r(m.g_ci[0]), _r(m.g_ci[1])], "icc": _r(m.icc),
            "method": m.method}


def summary(design: Design, primary: MetricResult) -> str:
    """A few plain sentences: what was compared, what was found, how sure, and the limits."""
    a, b = design.arms
    t, alpha = primary.test, design.sample.alpha
    level = _level(alpha)
    unit = "classes" if design.unit == "class" else "learners"
    size = (f"{primary.clusters[0]} and {primary.clusters[1]} classes ({primary.n[0]} and {primary.n[1]} learners)"
            if design.unit == "class" else f"{primary.n[0]} and {primary.n[1]} learners")
    what = METRIC_WORDS.get(primary.metric, primary.metric)
    direction = "higher" if t.diff > 0 else "lower"
    lines = [f"We compared {_arm_words(a)} (arm {a.name}) with {_arm_words(b)} (arm {b.name}), "
             f"{unit} assigned at random, {size} with an outcome, from {design.start} to {design.end}.",
             f"The pre-registered outcome is {what}. Arm {b.name} averaged {abs(t.diff):.3f} {direction} than "
             f"arm {a.name} ({primary.mean[1]:.3f} vs {primary.mean[0]:.3f}); the {level}% confidence interval "
             f"for the difference runs from {t.ci_low:.3f} to {t.ci_high:.3f} (Hedges' g = {primary.hedges_g:.2f})."]
    if t.p_value < alpha:
        lines.append(f"This difference is statistically significant (p = {_p(t.p_value)}, below the "
                     f"level {_p(alpha)} of this analysis): it is unlikely to be chance alone.")
    else:
        lines.append(f"This difference is not statistically significant (p = {_p(t.p_value)}, level "
                     f"{_p(alpha)} of this analysis): the data are consistent with no difference"
                     + (f", and the study was planned to detect an effect of d = {design.sample.mde} or larger."
                        if design.sample.mde else "."))
    lines.append(_size_words(primary.hedges_g))
    return " ".join(lines)


def _arm_words(arm) -> str:
    base = {"pathwise": "Pathwise's planner", "greedy": "the greedy gain-per-minute planner",
            "lowest_mastery": "lowest-mastery-first (the weakest ready skill first)",
            "teacher": "the teacher's own sequence"}[arm.planner]
    if arm.weights:
        base += " with " + ", ".join(f"{k} = {v:g}" for k, v in arm.weights.items())
    return f"{arm.label} ({base})" if arm.label else base


def _size_words(g: float) -> str:
    size = abs(g)
    word = "negligible" if size < 0.2 else "small" if size < 0.5 else "medium" if size < 0.8 else "large"
    return f"By the usual yardstick the effect is {word} (|g| {'<' if size < 0.2 else '>='} " \
           f"{0.2 if size < 0.2 else 0.8 if size >= 0.8 else 0.5 if size >= 0.5 else 0.2})."


def build(design: Design, outcomes: Sequence[Outcome], *, missing: Mapping[str, int],
          status: str, sequential: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report dict: design, counts, primary and secondary results, summary.
    ``sequential``: alpha spending (``nominal_alpha`` of this analysis, ``interim``, ``look``,
    ``fraction``, ``boundary_z``); the analysis then runs at ``nominal_alpha``."""
    registered = design
    if sequential:
        design = replace(design, sample=replace(design.sample, alpha=float(sequential["nominal_alpha"])))
    primary = compare(design, outcomes, design.primary_metric)
    secondary = []
    for m in design.secondary_metrics:
        try:
            secondary.append(metric_dict(compare(design, outcomes, m)))
        except (ValueError, ZeroDivisionError):  # too few values of this metric to compare
            continue
    text = summary(design, primary)
    if sequential and sequential.get("interim"):
        text = (f"INTERIM LOOK {sequential['look']}, at {sequential['fraction']:.0%} of the planned sample: not "
                f"the final result. To keep the registered alpha {registered.sample.alpha} over the whole "
                f"experiment (O'Brien-Fleming-type alpha spending), this look uses the level "
                f"{_p(design.sample.alpha)}. " + text)
    elif sequential:
        text += (f" After {sequential['looks']} interim look(s), the final analysis uses the level "
                 f"{_p(design.sample.alpha)} (alpha spending) so the whole experiment keeps alpha "
                 f"{registered.sample.alpha}.")
    return {"experiment": registered.to_dict(), "status": status, "missing_outcomes": dict(missing),
            "analysis_alpha": _p(design.sample.alpha), "sequential": dict(sequential) if sequential else None,
            "primary": metric_dict(primary), "secondary": secondary, "summary": text}


def markdown(report: Mapping[str, Any]) -> str:
    """The report as a markdown document."""
    d, p = report["experiment"], report["primary"]
    level = _level(report["analysis_alpha"])
    out = [f"# {d['title']}", "", d["question"] or "", "", "## Summary", "", report["summary"], "",
           "## Design (registered before the start)", "",
           f"- Arms: {', '.join(a['name'] + ' = ' + a['planner'] + (' ' + str(a['weights']) if a['weights'] else '') for a in d['arms'])}",
           f"- Randomised by {d['unit']}, stratified by {d['stratify_by']}, seed {d['seed']}",
           f"- Window: {d['start']} to {d['end']}; target skills: {', '.join(d['target_skills'])}",
           f"- Primary metric: {d['primary_metric']}; secondary: {', '.join(d['secondary_metrics']) or 'none'}",
           f"- Planned sample per arm: {d['sample']['n_per_arm']} learners"
           + (f", {d['sample']['clusters_per_arm']} classes" if d["unit"] == "class" else "")
           + (f" (MDE d = {d['sample']['mde']}, alpha {d['sample']['alpha']}, power {d['sample']['power']})"
              if d["sample"]["mde"] else " (given)"),
           f"- Learners without an outcome (no evidence on the target skills in the window): "
           f"{', '.join(f'{k}: {v}' for k, v in report['missing_outcomes'].items())}", "", "## Results", "",
           f"| metric | n ({p['arms'][0]}, {p['arms'][1]}) | mean {p['arms'][0]} | mean {p['arms'][1]} | "
           f"difference | {level}% CI | p | Hedges' g |", "|---|---|---|---|---|---|---|---|"]
    for m in [p, *report["secondary"]]:
        out.append(f"| {m['metric']}{' (primary)' if m is p else ''} | {m['n'][0]}, {m['n'][1]} | {m['mean'][0]} | "
                   f"{m['mean'][1]} | {m['difference']} | {m['ci'][0]} to {m['ci'][1]} | {m['p_value']} | "
                   f"{m['hedges_g']} |")
    out += ["", f"Method: {p['method']}. Intra-class correlation of the primary outcome: {p['icc']}.",
            "Secondary metrics are descriptive: no correction for multiple comparisons.", ""]
    return "\n".join(out)
