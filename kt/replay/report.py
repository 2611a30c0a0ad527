"""Metrics, plots and files of a replay: ``report.md``, ``metrics.json``, PNGs, predictions.

Files written to the report directory:
``metrics.json`` (everything numeric), ``report.md`` (tables + protocol), ``predictions.parquet``
(learner, question, time, fold, model, p_correct, outcome; one row per scored question and
model), ``roc.png``, ``calibration.png``, ``learning_curves.png``, ``skill_auc.png``,
``mastery_trajectories.png`` (the figures: ``kt.replay.plots``).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from kt.replay import metrics as RM
from kt.replay import plots, pykt
from kt.replay.protocol import ReplayResult


def _per_skill_auc(result: ReplayResult, y: np.ndarray, p: np.ndarray) -> dict:
    """AUC per skill over every skill copy of the scored questions: plain and row-weighted
    mean over skills, and the per-skill table."""
    sk_ev, sk_sk = result.skill_rows["event"], result.skill_rows["skill"]
    skill_auc = RM.grouped_auc(sk_sk, y[sk_ev], p[sk_ev])
    sizes = np.bincount(sk_sk, minlength=result.log.n_skills)
    vals = np.array(list(skill_auc.values()))
    wts = np.array([sizes[k] for k in skill_auc])
    return {
        "mean": float(vals.mean()) if len(vals) else None,
        "row_weighted_mean": float((vals * wts).sum() / wts.sum()) if len(vals) else None,
        "n_skills": len(vals),
        "by_skill": {str(result.log.skill_names[k]): v for k, v in skill_auc.items()},
    }


def _pybkt_style_per_skill(result: ReplayResult, y: np.ndarray, p: np.ndarray) -> tuple[dict, dict]:
    """pyBKT ``crossvalidate``-compatible per-skill AUC and RMSE: per skill, the metric on
    each fold, averaged over folds; then the mean over skills."""
    sk_ev, sk_sk = result.skill_rows["event"], result.skill_rows["skill"]
    n_skills = result.log.n_skills
    fold_of_row = result.events["fold"][sk_ev]
    auc_folds: dict[int, list[float]] = {}
    rmse_folds: dict[int, list[float]] = {}
    for f in np.unique(result.events["fold"]):
        sel = fold_of_row == f
        ks, ys, ps = sk_sk[sel], y[sk_ev[sel]], p[sk_ev[sel]]
        for k, v in RM.grouped_auc(ks, ys, ps).items():
            auc_folds.setdefault(k, []).append(v)
        cnt = np.bincount(ks, minlength=n_skills)
        se = np.bincount(ks, weights=(ys - ps) ** 2, minlength=n_skills)
        for k in np.flatnonzero(cnt):
            rmse_folds.setdefault(int(k), []).append(float(np.sqrt(se[k] / cnt[k])))

    def summary(per_skill: dict[int, list[float]]) -> dict:
        by = {str(result.log.skill_names[k]): float(np.mean(v)) for k, v in per_skill.items()}
        return {"mean": float(np.mean(list(by.values()))) if by else None, "by_skill": by}

    return summary(auc_folds), summary(rmse_folds)


def _model_metrics(result: ReplayResult, name: str, p: np.ndarray) -> dict:
    """Every metric of one model's per-question predictions ``p`` (see ``kt.replay.metrics``)."""
    ev = result.events
    y = ev["outcome"].astype(np.float64)
    m = RM.basic(y, p)
    per_fold = {str(int(f)): RM.basic(y[ev["fold"] == f], p[ev["fold"] == f])
                for f in np.unique(ev["fold"])}
    m["folds"] = per_fold
    m["fold_mean_std"] = {k: RM.mean_std([pf[k] for pf in per_fold.values()])
                          for k in ("auc", "rmse", "log_loss", "accuracy")}
    m["auc_ci95"] = RM.bootstrap_auc(ev["learner"], y, p, n_boot=result.config.n_boot,
                                     seed=result.config.seed)
    m["per_skill_auc"] = _per_skill_auc(result, y, p)
    m["pybkt_per_skill_auc"], m["pybkt_per_skill_rmse"] = _pybkt_style_per_skill(result, y, p)
    first = ev["first_on_skill"]
    m["first_attempt"] = RM.basic(y[first], p[first])
    m["later_attempts"] = RM.basic(y[~first], p[~first])
    m["calibration"] = RM.calibration(y, p)
    m["learning_curve"] = RM.learning_curve(ev["opportunity"], y, p)
    m["fit_seconds"] = result.fit_seconds.get(name)
    m["replay_seconds"] = result.replay_seconds.get(name)
    if name in result.row_predictions:
        m["skill_rows"] = pykt.row_metrics(result, name)
    return m


def _paired_deltas(result: ReplayResult, name: str, names) -> dict:
    """Paired learner-bootstrap AUC differences of ``name`` against the baselines present
    (under the same protocol: a pyKT-style key is compared with pyKT-style baselines)."""
    ev = result.events
    y = ev["outcome"].astype(np.float64)
    out = {}
    for base in ("best-lr", "elo", "bkt", "pybkt"):
        ref = pykt.key(base) if pykt.is_key(name) else base
        if ref in names and ref != name:
            out[ref] = RM.paired_bootstrap_delta(
                ev["learner"], y, result.predictions[name], result.predictions[ref],
                n_boot=min(result.config.n_boot, 100), seed=result.config.seed)
    return out


def compute_metrics(result: ReplayResult) -> dict:
    """``{model: metrics}`` for every prediction set of ``result``."""
    out = {name: _model_metrics(result, name, p) for name, p in result.predictions.items()}
    for name in out:
        out[name]["auc_delta_vs"] = _paired_deltas(result, name, out)
    return out


def _pybkt_version() -> str:
    import subprocess

    from kt.replay.pybkt_peer import pybkt_python

    try:
        proc = subprocess.run(
            [str(pybkt_python()), "-c",
             "import importlib.metadata as m; print(m.version('pyBKT'))"],
            capture_output=True, text=True, timeout=60,
        )
    except OSError as exc:
        return f"unavailable ({exc})"
    return proc.stdout.strip() or "unavailable"


def _versions(with_pybkt: bool = False) -> dict:
    import numba
    import scipy

    from kt.replay.pybkt_peer import pybkt_python

    v = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
         "numba": numba.__version__}
    try:
        from importlib.metadata import version

        v["pathwise"] = version("pathwise")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        v["pathwise"] = "source tree"
    v["pybkt_python"] = str(pybkt_python())
    if with_pybkt:
        v["pybkt"] = _pybkt_version()
    return v


def write_predictions(result: ReplayResult, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ev = result.events
    log = result.log
    tables = []
    for name, p in result.predictions.items():
        tables.append(pa.table({
            "learner": pa.array(log.learner_ids[ev["learner"]].astype(str)),
            "question": pa.array(log.item_ids[ev["item"]].astype(str)),
            "time": ev["time"],
            "fold": ev["fold"],
            "model": pa.array([name] * len(p)),
            "p_correct": p,
            "outcome": ev["outcome"].astype(np.int8),
        }))
    pq.write_table(pa.concat_tables(tables), path)


def _fmt(v, nd=4) -> str:
    return "–" if v is None else f"{v:.{nd}f}"


_UNITS = {
    "every-answer": "one prediction per question (skill copies combined once)",
    "pykt": "pyKT-style: expanded skill rows, each predicted from the state before its "
            "question, late fusion (mean) per question",
}


def _metrics_doc(result: ReplayResult, metrics: dict, data_desc: dict) -> dict:
    """The content of ``metrics.json``."""
    cfg = result.config
    protocols = ("every-answer", "pykt") if cfg.protocol == "both" else (cfg.protocol,)
    return {
        "data": data_desc,
        "protocol": {
            "mode": "temporal" if cfg.temporal is not None else "k-fold by learner",
            "folds": cfg.folds if cfg.temporal is None else 1,
            "temporal_fraction": cfg.temporal,
            "seed": cfg.seed,
            "unit": "; ".join(_UNITS[p] for p in protocols),
            "protocols": list(protocols),
            "bootstrap": f"{cfg.n_boot} learner-cluster resamples",
        },
        "versions": _versions(with_pybkt="pybkt" in result.predictions),
        "notes": result.notes,
        "models": metrics,
    }


def _data_lines(data_desc: dict) -> list[str]:
    """Title, the removal warnings (above 1 % for any reason: before anything else), data."""
    lines = ["# Pathwise replay report", ""]
    lines += [f"> **{w}**" for w in data_desc.get("warnings", [])]
    lines += [""] if data_desc.get("warnings") else []
    lines += ["## Data and preprocessing", ""]
    lines += [f"- **{k}**: {v}" for k, v in data_desc.items() if k != "warnings"]
    return lines


def _protocol_lines(cfg) -> list[str]:
    lines = ["", "## Protocol", ""]
    if cfg.temporal is None:
        lines.append(f"- {cfg.folds}-fold split **by learner** (seeded permutation, seed {cfg.seed}); "
                     "every model is fitted on the other folds only.")
    else:
        lines.append(f"- temporal hold-out: fitted on the first {cfg.temporal:.0%} of events (order key); "
                     "later events scored, learners warmed up by their earlier events.")
    lines += [
        "- each held-out learner is replayed in time order through `model.update_many` (the online "
        "path the service uses): predict, then update; no hyperparameter is tuned on test data.",
        "- **one prediction per question**: skill copies share an event and are combined once "
        "(BKT: mean of per-skill P(correct); Elo: mean skill ability; logistic models: summed "
        "Q-matrix features; pyBKT: mean of its per-row predictions).",
    ]
    if cfg.protocol in ("pykt", "both"):
        lines.append(
            "- **pyKT-style** (models named `… [pykt]`): a question with k skills becomes k "
            "single-skill rows; models are fitted on the expanded training rows; each skill row "
            "is predicted from the learner's state before the question (its sibling rows unseen), "
            "then the rows are applied; the question's prediction is the mean of its rows' "
            "(late fusion). Skill-row metrics score every row.")
    lines += [
        "- per-skill AUC: each question counts for each of its skills; pyBKT-style per-skill "
        "metrics (like pyBKT `crossvalidate`): per skill, the metric on each fold, averaged over "
        "folds, then the mean over skills (per-skill tables in metrics.json); "
        "first attempt = the learner had not practised at least one of the question's skills.",
        f"- 95 % intervals: {cfg.n_boot} bootstrap resamples of learners.",
    ]
    return lines


def _by_auc(metrics: dict) -> list[tuple[str, dict]]:
    return sorted(metrics.items(), key=lambda kv: -(kv[1]["auc"] or 0))


def _results_lines(metrics: dict, n_scored: int) -> list[str]:
    lines = [
        "", "## Results (pooled over folds)", "",
        "| model | AUC | 95 % CI | AUC fold mean ± std | RMSE | log-loss | accuracy | per-skill AUC "
        "(mean / row-wtd) | pyBKT-style per-skill AUC | first / later AUC | ECE | fit s/fold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in _by_auc(metrics):
        fm = m["fold_mean_std"]["auc"]
        ci = m["auc_ci95"]
        fit = np.mean(m["fit_seconds"]) if m["fit_seconds"] else None
        lines.append(
            f"| {name} | {_fmt(m['auc'])} | {_fmt(ci['low'])}–{_fmt(ci['high'])} | "
            f"{_fmt(fm['mean'])} ± {_fmt(fm['std'])} | {_fmt(m['rmse'])} | {_fmt(m['log_loss'])} | "
            f"{_fmt(m['accuracy'])} | {_fmt(m['per_skill_auc']['mean'])} / "
            f"{_fmt(m['per_skill_auc']['row_weighted_mean'])} | {_fmt(m['pybkt_per_skill_auc']['mean'])} | "
            f"{_fmt(m['first_attempt']['auc'])} / {_fmt(m['later_attempts']['auc'])} | "
            f"{_fmt(m['calibration']['ece'])} | {_fmt(fit, 2)} |"
        )
    return lines + ["", f"Scored questions: {n_scored}.", ""]


def _mean_std(d: dict) -> str:
    return f"{_fmt(d['mean'])} ± {_fmt(d['std'])}"


def _protocols_lines(metrics: dict) -> list[str]:
    """Both protocols side by side, mean ± std over folds (only when pyKT-style ran)."""
    names = [n for n, _ in _by_auc(metrics) if not pykt.is_key(n)]
    names += [n.removesuffix(pykt.SUFFIX) for n, _ in _by_auc(metrics)
              if pykt.is_key(n) and n.removesuffix(pykt.SUFFIX) not in names]
    if not any(pykt.is_key(n) for n in metrics):
        return []
    lines = ["## Protocols (mean ± std over folds)", "",
             "| model | every answer: AUC | RMSE | pyKT-style late fusion: AUC | RMSE | "
             "pyKT skill rows: AUC | RMSE |", "|---|---|---|---|---|---|---|"]
    blank = {"auc": {"mean": None, "std": None}, "rmse": {"mean": None, "std": None}}
    for name in names:
        every = metrics.get(name, {}).get("fold_mean_std", blank)
        fused = metrics.get(pykt.key(name), {}).get("fold_mean_std", blank)
        rows = metrics.get(pykt.key(name), {}).get("skill_rows", {}).get("fold_mean_std", blank)
        lines.append(f"| {name} | " + " | ".join(
            _mean_std(d[k]) for d in (every, fused, rows) for k in ("auc", "rmse")) + " |")
    return lines + [""]


def _delta_lines(metrics: dict) -> list[str]:
    lines = ["## Paired differences (learner bootstrap, same resamples for both models)", "",
             "| model | vs | AUC difference | 95 % CI |", "|---|---|---|---|"]
    for name, m in _by_auc(metrics):
        for ref, d in m["auc_delta_vs"].items():
            if d["delta"] is not None:
                lines.append(f"| {name} | {ref} | {d['delta']:+.4f} | {d['low']:+.4f} – {d['high']:+.4f} |")
    return lines + [""]


def _tail_lines(result: ReplayResult, figures: list[str], versions: dict) -> list[str]:
    lines = ["## Notes", ""] + [f"- {x}" for x in result.notes] + [""] if result.notes else []
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in versions.items()]
    return lines + ["", "Predictions: `predictions.parquet` (learner, question, time, fold, model, "
                    "p_correct, outcome)."]


def write_report(result: ReplayResult, out_dir: str | Path, *, data_desc: dict) -> dict:
    """Write every report file into ``out_dir``; returns the metrics document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(result)
    doc = _metrics_doc(result, metrics, data_desc)
    (out / "metrics.json").write_text(json.dumps(doc, indent=1, default=float))
    write_predictions(result, out / "predictions.parquet")
    figures = plots.write_figures(result, metrics, out)
    lines = (_data_lines(data_desc) + _protocol_lines(result.config)
             + _results_lines(metrics, len(result.events["outcome"]))
             + _protocols_lines(metrics) + _delta_lines(metrics)
             + _tail_lines(result, figures, doc["versions"]))
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return doc
