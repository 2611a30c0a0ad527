"""Online knowledge-tracing models behind one interface (:class:`kt.models.base.OnlineModel`).

``make_model(name)`` builds one by its registry name; ``MODEL_NAMES`` lists them:

* ``bkt`` / ``bkt-f``: :class:`kt.bkt.BKT` itself, without / with forgetting;
* ``bkt-item``: BKT+F with an item-difficulty offset (stacked logistic regression);
* ``elo``: Elo with global + per-skill learner ability, item difficulty, K(n) = alpha / (1 + beta n);
* ``pfa``: Performance Factors Analysis;
* ``best-lr``: Best-LR counters (items, skills, log attempts/wins per skill, item, total);
* ``r-best-lr``: Best-LR + recency-decayed win/fail counters;
* ``r-best-lr-elo``: R-Best-LR + online Elo abilities as features;
* ``r-best-lr-elo-transfer``: R-Best-LR-Elo + evidence from related skills (learned skill
  vectors; the most accurate here).

Importing this package does not compile anything; kernels compile (or load from cache)
on first use.
"""

from __future__ import annotations

from pathlib import Path

MODEL_NAMES = ("bkt", "bkt-f", "bkt-item", "elo", "pfa", "best-lr", "r-best-lr", "r-best-lr-elo",
               "r-best-lr-elo-transfer")


def model_class(name: str):
    """The class registered under ``name`` (``kt.bkt.BKT`` for "bkt" and "bkt-f": build those
    with :func:`make_model`, which sets ``forgets``); ``ParameterError`` naming the valid
    names otherwise."""
    from kt.bkt import BKT
    from kt.models.bkt import BKTItem
    from kt.models.counters import PFA, BestLR, RBestLR, RBestLRElo
    from kt.models.elo import Elo
    from kt.models.transfer import RBestLREloTransfer

    registry = {"bkt": BKT, "bkt-f": BKT}
    registry.update({c.name: c for c in (BKTItem, Elo, PFA, BestLR, RBestLR, RBestLRElo,
                                         RBestLREloTransfer)})
    if name not in registry:
        from kt.errors import ParameterError

        raise ParameterError(
            f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}"
        )
    return registry[name]


def make_model(name: str, seed: int = 0, **hyperparameters):
    """A fresh (unfitted) model by registry name; ``seed`` goes to models that use one;
    ``hyperparameters`` to the constructor ("bkt-f" is ``BKT(forgets=True)``)."""
    cls = model_class(name)
    if name in ("bkt", "bkt-f"):
        hyperparameters.setdefault("forgets", name == "bkt-f")
    if name.startswith("bkt"):
        return cls(seed=seed, **hyperparameters)
    return cls(**hyperparameters)


def model_from_dict(doc: dict):
    """Any registered fitted model from its ``to_dict`` document: a ``kt.bkt.BKT`` document
    (format "pathwise-bkt", model "bkt" / "bkt-f") or a "pathwise-kt-model" document of any
    other registry entry. ``ModelFileError`` names what is wrong with a bad one."""
    from kt.errors import ModelFileError

    if not isinstance(doc, dict):
        raise ModelFileError(f"a model document must be a JSON object, got {type(doc).__name__}")
    if doc.get("format") == "pathwise-bkt":
        from kt.bkt import BKT

        return BKT.from_dict(doc)
    if doc.get("format") != "pathwise-kt-model":
        raise ModelFileError(
            f"not a Pathwise model document (format={doc.get('format')!r}); write it with "
            "model.to_dict()"
        )
    if doc.get("model") not in MODEL_NAMES:
        raise ModelFileError(
            f"document holds unknown model {doc.get('model')!r}; choose from "
            f"{', '.join(MODEL_NAMES)}"
        )
    return model_class(str(doc["model"])).from_dict(doc)


def load_model(path: str | Path):
    """Load any model saved with ``model.save(path)`` (``model_from_dict`` of the file)."""
    import json

    from kt.errors import ModelFileError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc}") from exc
    try:
        return model_from_dict(data)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
