"""The replay report's figures: ROC, calibration, learning curves, per-skill AUC and mastery
trajectories (PNG files written by :func:`write_figures`; matplotlib loads on call)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kt.replay.protocol import ReplayResult


def _finish(fig, ax, out: Path, name: str, plt, *, diagonal: bool = False, legend: bool = True,
            **labels) -> str:
    """Labels, legend (and the y = x line when ``diagonal``), then ``out/name`` written."""
    if diagonal:
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(**labels)
    if legend:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _plot_roc(result: ReplayResult, metrics: dict, out: Path, plt) -> str:
    y = result.events["outcome"].astype(np.float64)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in result.predictions.items():
        order = np.argsort(-p, kind="stable")
        ys = y[order]
        tpr = np.r_[0, np.cumsum(ys) / max(ys.sum(), 1)]
        fpr = np.r_[0, np.cumsum(1 - ys) / max((1 - ys).sum(), 1)]
        step = max(1, len(tpr) // 2000)
        ax.plot(fpr[::step], tpr[::step], label=f"{name} ({metrics[name]['auc']:.3f})")
    return _finish(fig, ax, out, "roc.png", plt, diagonal=True, xlabel="false positive rate",
                   ylabel="true positive rate", title="ROC (pooled)")


def _plot_calibration(result: ReplayResult, metrics: dict, out: Path, plt) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name in result.predictions:
        c = metrics[name]["calibration"]
        mp = [v for v in c["mean_p"] if v is not None]
        ob = [o for v, o in zip(c["mean_p"], c["observed"], strict=True) if v is not None]
        ax.plot(mp, ob, marker="o", ms=3, label=f"{name} (ECE {c['ece']:.3f})")
    return _finish(fig, ax, out, "calibration.png", plt, diagonal=True,
                   xlabel="predicted P(correct)", ylabel="observed rate", title="Calibration")


def _plot_learning_curves(result: ReplayResult, metrics: dict, out: Path, plt) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, name in enumerate(result.predictions):
        lc = metrics[name]["learning_curve"]
        if i == 0:
            ax.plot(lc["opportunity"], lc["observed_error"], "k-", lw=2, label="observed")
        ax.plot(lc["opportunity"], lc["predicted_error"], "--", label=name)
    return _finish(fig, ax, out, "learning_curves.png", plt,
                   xlabel="opportunity on the skill (capped at 20)", ylabel="error rate",
                   title="Learning curves")


def _plot_skill_auc(result: ReplayResult, metrics: dict, out: Path, plt) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    data = [list(metrics[n]["per_skill_auc"]["by_skill"].values()) for n in result.predictions]
    ax.boxplot(data, tick_labels=list(result.predictions), showmeans=True)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    return _finish(fig, ax, out, "skill_auc.png", plt, legend=False, ylabel="AUC per skill",
                   title="Per-skill AUC distribution")


def write_figures(result: ReplayResult, metrics: dict, out: Path) -> list[str]:
    """Write the report's PNG figures into ``out``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [plot(result, metrics, out, plt) for plot in (
        _plot_roc, _plot_calibration, _plot_learning_curves, _plot_skill_auc)]
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
