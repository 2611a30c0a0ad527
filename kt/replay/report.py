"""Metrics, plots and files of a replay: ``report.md``, ``metrics.json``, PNGs, predictions.

Files written to the report directory:
``metrics.json`` (everything numeric), ``report.md`` (tables + protocol), ``predictions.parquet``
(learner, question, time, fold, model, p_correct, outcome; one row per scored question and
model), ``roc.png``, ``calibration.png``, ``learning_curves.png``, ``skill_auc.png``,
``mastery_trajectories.png``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from kt.replay import metrics as RM
from kt.replay.protocol import ReplayResult


def compute_metrics(result: ReplayResult) -> dict:
    ev = result.events
    y = ev["outcome"].astype(np.float64)
    out: dict = {}
    sk_ev, sk_sk = result.skill_rows["event"], result.skill_rows["skill"]
    folds = np.unique(ev["fold"])
    for name, p in result.predictions.items():
        m = RM.basic(y, p)
        per_fold = {str(int(f)): RM.basic(y[ev["fold"] == f], p[ev["fold"] == f]) for f in folds}
        m["folds"] = per_fold
        m["fold_mean_std"] = {k: RM.mean_std([pf[k] for pf in per_fold.values()])
                              for k in ("auc", "rmse", "log_loss", "accuracy")}
        m["auc_ci95"] = RM.bootstrap_auc(ev["learner"], y, p, n_boot=result.config.n_boot,
                                         seed=result.config.seed)
        skill_auc = RM.grouped_auc(sk_sk, y[sk_ev], p[sk_ev])
        sizes = np.bincount(sk_sk, minlength=result.log.n_skills)
        vals = np.array(list(skill_auc.values()))
        wts = np.array([sizes[k] for k in skill_auc])
        m["per_skill_auc"] = {
            "mean": float(vals.mean()) if len(vals) else None,
            "row_weighted_mean": float((vals * wts).sum() / wts.sum()) if len(vals) else None,
            "n_skills": len(vals),
            "by_skill": {str(result.log.skill_names[k]): v for k, v in skill_auc.items()},
        }
        # pyBKT-compatible: per skill, metric per fold, averaged over folds; then mean over skills
        fold_of_row = ev["fold"][sk_ev]
        per_skill_fold: dict[int, list[float]] = {}
        per_skill_rmse: dict[int, list[float]] = {}
        for f in folds:
            sel = fold_of_row == f
            for k, v in RM.grouped_auc(sk_sk[sel], y[sk_ev[sel]], p[sk_ev[sel]]).items():
                per_skill_fold.setdefault(k, []).append(v)
            ks, ys_, ps_ = sk_sk[sel], y[sk_ev[sel]], p[sk_ev[sel]]
            cnt = np.bincount(ks, minlength=result.log.n_skills)
            se = np.bincount(ks, weights=(ys_ - ps_) ** 2, minlength=result.log.n_skills)
            for k in np.flatnonzero(cnt):
                per_skill_rmse.setdefault(int(k), []).append(float(np.sqrt(se[k] / cnt[k])))
        pb = {str(result.log.skill_names[k]): float(np.mean(v)) for k, v in per_skill_fold.items()}
        m["pybkt_per_skill_auc"] = {"mean": float(np.mean(list(pb.values()))) if pb else None,
                                   "by_skill": pb}
        pr = {str(result.log.skill_names[k]): float(np.mean(v)) for k, v in per_skill_rmse.items()}
        m["pybkt_per_skill_rmse"] = {"mean": float(np.mean(list(pr.values()))) if pr else None,
                                    "by_skill": pr}
        first = ev["first_on_skill"]
        m["first_attempt"] = RM.basic(y[first], p[first])
        m["later_attempts"] = RM.basic(y[~first], p[~first])
        m["calibration"] = RM.calibration(y, p)
        m["learning_curve"] = RM.learning_curve(ev["opportunity"], y, p)
        m["fit_seconds"] = result.fit_seconds.get(name)
        m["replay_seconds"] = result.replay_seconds.get(name)
        out[name] = m
    # paired learner-bootstrap AUC differences against the baselines present
    ev_l = ev["learner"]
    for name in out:
        comp = {}
        for ref in ("best-lr", "elo", "bkt", "pybkt"):
            if ref in out and ref != name:
                comp[ref] = RM.paired_bootstrap_delta(
                    ev_l, y, result.predictions[name], result.predictions[ref],
                    n_boot=min(result.config.n_boot, 100), seed=result.config.seed)
        out[name]["auc_delta_vs"] = comp
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


def _plots(result: ReplayResult, metrics: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = result.events["outcome"].astype(np.float64)
    files = []
    # ROC
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in result.predictions.items():
        order = np.argsort(-p, kind="stable")
        ys = y[order]
        tpr = np.r_[0, np.cumsum(ys) / max(ys.sum(), 1)]
        fpr = np.r_[0, np.cumsum(1 - ys) / max((1 - ys).sum(), 1)]
        step = max(1, len(tpr) // 2000)
        ax.plot(fpr[::step], tpr[::step], label=f"{name} ({metrics[name]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (pooled)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=110)
    plt.close(fig)
    files.append("roc.png")
    # calibration
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name in result.predictions:
        c = metrics[name]["calibration"]
        mp = [v for v in c["mean_p"] if v is not None]
        ob = [o for v, o in zip(c["mean_p"], c["observed"], strict=True) if v is not None]
        ax.plot(mp, ob, marker="o", ms=3, label=f"{name} (ECE {c['ece']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="predicted P(correct)", ylabel="observed rate", title="Calibration")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)
    files.append("calibration.png")
    # learning curves
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    first = True
    for name in result.predictions:
        lc = metrics[name]["learning_curve"]
        if first:
            ax.plot(lc["opportunity"], lc["observed_error"], "k-", lw=2, label="observed")
            first = False
        ax.plot(lc["opportunity"], lc["predicted_error"], "--", label=name)
    ax.set(xlabel="opportunity on the skill (capped at 20)", ylabel="error rate",
           title="Learning curves")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=110)
    plt.close(fig)
    files.append("learning_curves.png")
    # per-skill AUC distribution
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    data = [list(metrics[n]["per_skill_auc"]["by_skill"].values()) for n in result.predictions]
    ax.boxplot(data, tick_labels=list(result.predictions), showmeans=True)
    ax.set(ylabel="AUC per skill", title="Per-skill AUC distribution")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "skill_auc.png", dpi=110)
    plt.close(fig)
    files.append("skill_auc.png")
    # mastery trajectories
    f = _trajectories(result, out, plt)
    if f:
        files.append(f)
    return files


def _trajectories(result: ReplayResult, out: Path, plt) -> str | None:
    """P(mastered) per skill over a few test learners' answers (BKT-family model), else P(correct)."""
    ev = result.events
    counts = np.bincount(ev["learner"])
    cand = np.flatnonzero((counts >= 20) & (counts <= 80))[:3]
    if len(cand) == 0:
        cand = np.argsort(-counts)[:3]
    model = next((result.fitted[n] for n in ("bkt-f", "bkt", "bkt-item") if n in result.fitted), None)
    fig, axes = plt.subplots(len(cand), 1, figsize=(7, 2.4 * len(cand)), squeeze=False)
    log = result.log
    for ax, lrn in zip(axes[:, 0], cand, strict=True):
        rows = np.flatnonzero(log.learner == lrn)
        sub = log.take(rows)
        if model is not None:
            bkt = getattr(model, "bkt_", model)  # bkt-item: its BKT part
            mast = bkt.predict(sub, unknown="prior").p_mastered_after
            for k in np.unique(sub.skill)[:6]:
                sel = np.flatnonzero(sub.skill == k)
                ax.plot(sel, mast[sel], marker=".", label=str(log.skill_names[k])[:28])
            ax.set_ylabel("P(mastered)")
        else:
            name = next(iter(result.predictions))
            sel = ev["learner"] == lrn
            ax.plot(result.predictions[name][sel], marker=".", label=f"{name} P(correct)")
        ok = np.flatnonzero(sub.outcome == 1)
        ax.plot(ok, np.full(len(ok), 1.02), "g|", ms=5)
        ax.set_title(f"learner {log.learner_ids[lrn]}", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=6, loc="lower right")
    axes[-1, 0].set_xlabel("answer (row) index; green ticks = correct")
    fig.tight_layout()
    fig.savefig(out / "mastery_trajectories.png", dpi=110)
    plt.close(fig)
    return "mastery_trajectories.png"


def _fmt(v, nd=4) -> str:
    return "–" if v is None else f"{v:.{nd}f}"


def write_report(result: ReplayResult, out_dir: str | Path, *, data_desc: dict) -> dict:
    """Write every report file into ``out_dir``; returns the metrics dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(result)
    cfg = result.config
    doc = {
        "data": data_desc,
        "protocol": {
            "mode": "temporal" if cfg.temporal is not None else "k-fold by learner",
            "folds": cfg.folds if cfg.temporal is None else 1,
            "temporal_fraction": cfg.temporal,
            "seed": cfg.seed,
            "unit": "one prediction per question (skill copies combined once)",
            "bootstrap": f"{cfg.n_boot} learner-cluster resamples",
        },
        "versions": _versions(with_pybkt="pybkt" in result.predictions),
        "notes": result.notes,
        "models": metrics,
    }
    (out / "metrics.json").write_text(json.dumps(doc, indent=1, default=float))
    write_predictions(result, out / "predictions.parquet")
    figures = _plots(result, metrics, out)
    lines = ["# Pathwise replay report", ""]
    # rows removed above 1 % for any reason: said before anything else
    lines += [f"> **{w}**" for w in data_desc.get("warnings", [])]
    lines += [""] if data_desc.get("warnings") else []
    lines += ["## Data and preprocessing", ""]
    for k, v in data_desc.items():
        if k != "warnings":
            lines.append(f"- **{k}**: {v}")
    lines += ["", "## Protocol", ""]
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
        "- per-skill AUC: each question counts for each of its skills; pyBKT-style per-skill "
        "metrics (like pyBKT `crossvalidate`): per skill, the metric on each fold, averaged over "
        "folds, then the mean over skills (per-skill tables in metrics.json); "
        "first attempt = the learner had not practised at least one of the question's skills.",
        f"- 95 % intervals: {cfg.n_boot} bootstrap resamples of learners.",
        "",
        "## Results (pooled over folds)",
        "",
        "| model | AUC | 95 % CI | AUC fold mean ± std | RMSE | log-loss | accuracy | per-skill AUC "
        "(mean / row-wtd) | pyBKT-style per-skill AUC | first / later AUC | ECE | fit s/fold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in sorted(metrics.items(), key=lambda kv: -(kv[1]["auc"] or 0)):
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
    n = len(result.events["outcome"])
    lines += ["", f"Scored questions: {n}.", ""]
    lines += ["## Paired differences (learner bootstrap, same resamples for both models)", "",
              "| model | vs | AUC difference | 95 % CI |", "|---|---|---|---|"]
    for name, m in sorted(metrics.items(), key=lambda kv: -(kv[1]["auc"] or 0)):
        for ref, d in m["auc_delta_vs"].items():
            if d["delta"] is not None:
                lines.append(f"| {name} | {ref} | {d['delta']:+.4f} | {d['low']:+.4f} – {d['high']:+.4f} |")
    lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {x}" for x in result.notes] + [""]
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in doc["versions"].items()]
    lines += ["", "Predictions: `predictions.parquet` (learner, question, time, fold, model, "
              "p_correct, outcome)."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return doc
