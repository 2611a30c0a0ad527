"""Versioned JSON documents of fitted BKT models (never pickle).

Document (format ``"pathwise-bkt"``, version 1)::

    {"format": "pathwise-bkt", "version": 1, "model": "bkt" | "bkt-f" (registry name),
     "hyperparameters": {forgets, multigs, multilearn, multiprior, multipair, num_fits, seed,
                         max_iter, tol, p_guess_bounds, p_slip_bounds, rtol, bounds, prior,
                         nested_start},
     "skills": [{"name", "p_init", "init_classes", "p_learn", "p_forget", "learn_classes",
                 "p_guess", "p_slip", "guess_slip_classes", "log_likelihood", "n_iter"}, ...],
     "n_at_cap": skills whose EM stopped at max_iter,
     "warnings": [{"skill", "code", "message"}, ...]  (``kt.bkt.diagnostics``)}

Documents written before ``rtol`` / ``bounds`` existed load with ``rtol=0`` and
``bounds="none"``, ``nested_start=False`` (how they were fitted) and no warnings.

Each ``p_*`` is a list with one value per class of its ``*_classes`` list (class labels as in
``kt.bkt.layout``).
"""

from __future__ import annotations

import numpy as np

from kt.bkt.params import PARAM_NAMES, check_probability
from kt.bkt.store import ParamStore
from kt.errors import ModelFileError

FORMAT = "pathwise-bkt"
FORMAT_VERSION = 1
HYPER = (
    "forgets", "multigs", "multilearn", "multiprior", "multipair", "num_fits", "seed",
    "max_iter", "tol", "p_guess_bounds", "p_slip_bounds", "rtol", "bounds", "prior",
    "nested_start",
)
OLD_DEFAULTS = {"rtol": 0.0, "bounds": "none", "prior": None, "nested_start": False}
"""Hyperparameters absent from older documents: the values those models were fitted with."""


def to_dict(model) -> dict:
    """The JSON-ready document of a fitted ``BKT``."""
    store = model._store()
    hyper = {k: getattr(model, k) for k in HYPER}
    for k in ("p_guess_bounds", "p_slip_bounds"):
        if hyper[k] is not None:
            hyper[k] = [float(v) for v in hyper[k]]
    for k in ("num_fits", "seed", "max_iter"):
        hyper[k] = int(hyper[k])
    hyper["tol"] = float(hyper["tol"])
    hyper["rtol"] = float(hyper["rtol"])
    from kt.bkt.bounds import as_json

    hyper["bounds"] = as_json(hyper["bounds"])
    hyper["prior"] = as_json(hyper["prior"])
    skills = []
    for s, name in enumerate(store.skill_names):
        b = store.block(s)
        ll = model.log_likelihood_.get(name)
        n_iter = model.n_iter_.get(name)
        skills.append({
            "name": name,
            "p_init": b["p_init"].tolist(), "init_classes": b["init_classes"],
            "p_learn": b["p_learn"].tolist(), "p_forget": b["p_forget"].tolist(),
            "learn_classes": b["learn_classes"],
            "p_guess": b["p_guess"].tolist(), "p_slip": b["p_slip"].tolist(),
            "guess_slip_classes": b["guess_slip_classes"],
            "log_likelihood": None if ll is None or not np.isfinite(ll) else float(ll),
            "n_iter": None if n_iter is None else int(n_iter),
        })
    return {"format": FORMAT, "version": FORMAT_VERSION, "model": model.name,
            "hyperparameters": hyper, "skills": skills,
            "n_at_cap": int(getattr(model, "n_at_cap_", 0)),
            "warnings": [w.to_dict() for w in getattr(model, "warnings_", ())]}


def from_dict(cls, doc, source: str = "model document"):
    """A fitted ``cls`` (``BKT``) from a document; ``ModelFileError`` names what is wrong."""
    _check_format(doc, source)
    try:
        model = _unfitted(cls, doc, source)
        skills = doc["skills"]
        store = _param_store(skills, source)
        lls = {sk["name"]: sk.get("log_likelihood") for sk in skills}
        iters = {sk["name"]: sk.get("n_iter") for sk in skills}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{source} is inconsistent: {exc}") from None
    model._set_fitted(store, lls, iters, {}, _warnings(doc, source))
    return model


def _check_format(doc, source: str) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"{source} is not a Pathwise BKT model (format must be {FORMAT!r}); "
            "write it with BKT.save"
        )
    if doc.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{source} has model format version {doc.get('version')!r}; this Pathwise "
            f"reads version {FORMAT_VERSION}; refit and save with this version"
        )


def _unfitted(cls, doc: dict, source: str):
    """The model of the document's hyperparameters (older documents: :data:`OLD_DEFAULTS`),
    checked against its ``model`` name."""
    model = cls(**{**OLD_DEFAULTS, **doc["hyperparameters"]})
    if doc.get("model", model.name) != model.name:
        raise ModelFileError(
            f"{source} names model {doc.get('model')!r} but its hyperparameters make a "
            f"{model.name!r} model (forgets={model.forgets!r}); fix one of them"
        )
    model._check_hyper()
    model._variant()
    return model


def _param_store(skills, source: str) -> ParamStore:
    """The flat parameter store of the document's ``skills`` entries."""
    names, blocks = [], {p: [] for p in PARAM_NAMES}
    labels = {"gs": [], "lr": [], "pr": []}
    for sk in skills:
        names.append(str(sk["name"]))
        for p in PARAM_NAMES:
            values = [check_probability(f"{sk['name']}.{p}", v) for v in sk[p]]
            blocks[p].append(np.array(values, dtype=np.float64))
        labels["gs"].append(tuple(str(x) for x in sk["guess_slip_classes"]))
        labels["lr"].append(tuple(str(x) for x in sk["learn_classes"]))
        labels["pr"].append(tuple(str(x) for x in sk["init_classes"]))
        if not (len(sk["p_guess"]) == len(sk["p_slip"]) == len(labels["gs"][-1]) >= 1
                and len(sk["p_learn"]) == len(sk["p_forget"]) == len(labels["lr"][-1]) >= 1
                and len(sk["p_init"]) == len(labels["pr"][-1]) >= 1):
            raise ModelFileError(
                f"{source}: skill {sk['name']!r}: parameter and class counts differ"
            )
    if len(set(names)) != len(names):
        raise ModelFileError(f"{source}: a skill name appears twice")

    def offsets(arrs):
        return np.concatenate([[0], np.cumsum([len(a) for a in arrs])]).astype(np.int64)

    def cat(arrs):
        return np.concatenate(arrs) if arrs else np.empty(0)

    return ParamStore(
        skill_names=tuple(names), gs_off=offsets(blocks["p_guess"]),
        lr_off=offsets(blocks["p_learn"]), pr_off=offsets(blocks["p_init"]),
        p_guess=cat(blocks["p_guess"]), p_slip=cat(blocks["p_slip"]),
        p_learn=cat(blocks["p_learn"]), p_forget=cat(blocks["p_forget"]),
        p_init=cat(blocks["p_init"]), gs_labels=tuple(labels["gs"]),
        lr_labels=tuple(labels["lr"]), pr_labels=tuple(labels["pr"]),
    )


def _warnings(doc: dict, source: str) -> tuple:
    """The document's fit warnings (``kt.bkt.diagnostics.SkillWarning``; none in older ones)."""
    from kt.bkt.diagnostics import SkillWarning

    try:
        return tuple(SkillWarning(str(w["skill"]), str(w["code"]), str(w["message"]))
                     for w in doc.get("warnings") or ())
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{source}: bad 'warnings' entry ({exc})") from None
