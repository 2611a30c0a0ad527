"""Driver run *inside the pyBKT 1.4.2 peer environment* (``.peer/pybkt/bin/python``).

Never imported by the project (pyBKT lives only in its own venv). The project calls it as a
subprocess: ``python _pybkt_driver.py SPEC.json OUT.json``. SPEC keys:

``mode``
    ``"em"``: per skill, build pyBKT's own per-skill data from the CSV (its ``convert_data``),
    start from the given initial parameters and run exactly ``maxiter`` EM iterations
    (``tol`` < 0 disables pyBKT's stopping test) or pyBKT's default stopping (``tol`` null)
    and report parameters, iterations and predictions (one E-step + pyBKT's one-step predictor).
    ``"bench"``: time ``Model(parallel=False).fit`` on an in-memory DataFrame and on the file,
    recording each EM run's skill, initial parameters and iteration count (``fixed_iters``
    forces exactly k iterations per run).
``csv``, ``skills`` (list of names or null = all), ``variant`` (``forgets``, ``multigs``,
``multilearn``, ``multipair``: column or null, ``multiprior``: bool), ``init``
(``{skill: {"prior": p, "learns": {class: v}, "forgets": {...}, "guesses": {...},
"slips": {...}}}``; class keys as strings, ``"default"`` for the single class), ``maxiter``,
``tol``, ``predict`` (bool), ``num_fits``, ``seed``, ``repeat``.

Iteration count: pyBKT's loop runs an E-step per pass and stops *before* the M-step of the
pass whose log-likelihood change is below ``tol`` (from the third pass on). ``n_mstep`` is the
number of M-steps applied, i.e. EM iterations that changed the parameters.
"""

from __future__ import annotations

import json
import re
import sys
import time

import numpy as np


def _variant_kwargs(variant: dict) -> dict:
    kw = {}
    if variant.get("forgets"):
        kw["forgets"] = True
    for key in ("multigs", "multilearn", "multipair"):
        if variant.get(key):
            kw[key] = variant[key]
    if variant.get("multiprior"):
        kw["multiprior"] = True
    return kw


def _model_type(variant: dict) -> tuple[list[bool], dict]:
    defaults = {}
    flags = []
    for key in ("multilearn", "multiprior", "multipair", "multigs"):
        value = variant.get(key)
        flags.append(bool(value))
        if isinstance(value, str):
            defaults[key] = value
    return flags, defaults


def _init_model(spec: dict, data: dict) -> dict:
    gs_names = {str(k): v for k, v in data["gs_names"].items()}
    res_names = {str(k): v for k, v in data["resource_names"].items()}
    n_gs = len(gs_names)
    n_res = len(res_names)
    gs_offset = 0 if min(data["gs_names"].values()) == 0 else 1
    res_offset = 1

    def vec(name: str, names: dict, n: int, offset: int) -> np.ndarray:
        out = np.zeros(n)
        given = spec.get(name, {})
        for key, index in names.items():
            if key not in given:
                raise KeyError(f"initial {name} for class {key!r} missing")
            out[index - offset] = given[key]
        return out

    learns = vec("learns", res_names, n_res, res_offset)
    forgets = vec("forgets", res_names, n_res, res_offset)
    guesses = vec("guesses", gs_names, n_gs, gs_offset)
    slips = vec("slips", gs_names, n_gs, gs_offset)
    prior = float(spec["prior"])
    As = np.zeros((n_res, 2, 2))
    As[:, 0, 0] = 1 - learns
    As[:, 1, 0] = learns
    As[:, 0, 1] = forgets
    As[:, 1, 1] = 1 - forgets
    emissions = np.zeros((n_gs, 2, 2))
    emissions[:, 0, 0] = 1 - guesses
    emissions[:, 0, 1] = guesses
    emissions[:, 1, 0] = slips
    emissions[:, 1, 1] = 1 - slips
    return {
        "prior": prior,
        "learns": learns,
        "forgets": forgets,
        "guesses": guesses,
        "slips": slips,
        "As": As,
        "emissions": emissions,
        "pi_0": np.array([[1 - prior], [prior]]),
    }


def _named(values: np.ndarray, names: dict, offset: int) -> dict:
    return {str(k): float(values[v - offset]) for k, v in names.items()}


def run_em(spec: dict) -> dict:
    from pyBKT.fit import EM_fit, predict_onestep
    from pyBKT.util import data_helper

    variant = spec.get("variant", {})
    flags, defaults = _model_type(variant)
    skills = spec.get("skills")
    pattern = "|".join(re.escape(s) for s in skills) if skills else ".*"
    t0 = time.perf_counter()
    datas, df = data_helper.convert_data(
        spec["csv"], pattern, defaults=defaults, model_type=flags, return_df=True
    )
    t_convert = time.perf_counter() - t0
    tol = spec.get("tol")
    maxiter = int(spec.get("maxiter", 100))
    out = {"skills": {}, "convert_seconds": t_convert}
    user_col = "user_id" if "user_id" in df.columns else "Anon Student Id"
    order_col = "order_id" if "order_id" in df.columns else "Row"
    for skill, data in datas.items():
        model = _init_model(spec["init"][skill], data)
        t0 = time.perf_counter()
        model, lls = EM_fit.EM_fit(model, data, tol=tol, maxiter=maxiter, parallel=False, fixed={})
        t_fit = time.perf_counter() - t0
        n_estep = len(lls)
        broke = n_estep < maxiter or (
            tol is not None and n_estep > 2 and abs(lls[-1][0] - lls[-2][0]) < tol
        )
        n_mstep = n_estep - 1 if broke else n_estep
        model["learns"] = model["As"][:, 1, 0]
        model["forgets"] = model["As"][:, 0, 1]
        model["prior"] = model["pi_0"][1][0]
        gs_off = 0 if min(data["gs_names"].values()) == 0 else 1
        entry = {
            "prior": float(model["prior"]),
            "learns": _named(model["learns"], data["resource_names"], 1),
            "forgets": _named(model["forgets"], data["resource_names"], 1),
            "guesses": _named(model["guesses"], data["gs_names"], gs_off),
            "slips": _named(model["slips"], data["gs_names"], gs_off),
            "loglikes": [float(x[0]) for x in lls],
            "n_estep": n_estep,
            "n_mstep": n_mstep,
            "fit_seconds": t_fit,
        }
        if spec.get("predict"):
            correct, states = predict_onestep.run(model, data, parallel=False)
            states = states[1]
            if data["multiprior_index"] is not None:
                correct = np.delete(correct, data["multiprior_index"])
                states = np.delete(states, data["multiprior_index"])
            rows = df.loc[data["index"]]
            entry["user"] = [str(u) for u in rows[user_col].tolist()]
            entry["order"] = [int(o) for o in rows[order_col].tolist()]
            entry["p_correct"] = [float(x) for x in correct]
            entry["p_mastered"] = [float(x) for x in states]
        out["skills"][skill] = entry
    return out


def _snapshot(model: dict, data: dict) -> dict:
    """Parameters of a pyBKT model dict, per class name (str), like ``run_em``'s output."""
    gs_off = 0 if min(data["gs_names"].values()) == 0 else 1
    learns = np.asarray(model["learns"]).ravel()
    forgets = np.asarray(model["forgets"]).ravel()
    return {
        "prior": float(np.asarray(model["prior"]).ravel()[0]),
        "learns": _named(learns, data["resource_names"], 1),
        "forgets": _named(forgets, data["resource_names"], 1),
        "guesses": _named(np.asarray(model["guesses"]).ravel(), data["gs_names"], gs_off),
        "slips": _named(np.asarray(model["slips"]).ravel(), data["gs_names"], gs_off),
    }


def run_bench(spec: dict) -> dict:
    """Time ``Model(parallel=False).fit``; record every EM run (skill, init, iterations).

    ``fixed_iters`` (int or null): force every EM run to exactly that many iterations
    (pyBKT's ``EM_fit`` called with ``maxiter=k``, ``tol=-1``) for equal-iteration rows.
    """
    import pandas as pd
    from pyBKT.fit import EM_fit
    from pyBKT.models import Model

    runs: list[dict] = []
    current = {"skill": None}
    original_em = EM_fit.EM_fit
    original_fit = Model._fit
    fixed_iters = spec.get("fixed_iters")

    def counting(model, data, **kwargs):
        init = _snapshot(model, data)
        if fixed_iters:
            kwargs["maxiter"] = int(fixed_iters)
            kwargs["tol"] = -1.0
        model, lls = original_em(model, data, **kwargs)
        runs.append(
            {
                "skill": current["skill"],
                "init": init,
                "n_estep": len(lls),
                "ll_last": float(lls[-1][0]),
                "final": _snapshot(
                    {
                        **model,
                        "learns": model["As"][:, 1, 0],
                        "forgets": model["As"][:, 0, 1],
                        "prior": model["pi_0"][1][0],
                    },
                    data,
                ),
                "n_answers": int(data["data"].shape[1]),
            }
        )
        return model, lls

    def fit_named(self, data, skill, forgets, preload=False):
        current["skill"] = skill
        return original_fit(self, data, skill, forgets, preload=preload)

    EM_fit.EM_fit = counting
    Model._fit = fit_named
    variant = _variant_kwargs(spec.get("variant", {}))
    results = {}
    t0 = time.perf_counter()
    df = pd.read_csv(spec["csv"], low_memory=False, encoding="latin")
    results["read_seconds"] = time.perf_counter() - t0
    sources = [("memory", {"data": df})]
    if spec.get("file", True):
        sources.append(("file", {"data_path": spec["csv"]}))
    model = None
    for label, source in sources:
        best = None
        for _ in range(int(spec.get("repeat", 1))):
            runs.clear()
            model = Model(
                seed=int(spec.get("seed", 42)), num_fits=int(spec["num_fits"]), parallel=False
            )
            kwargs = dict(source)
            if "data" in kwargs:
                kwargs["data"] = kwargs["data"].copy()
            t0 = time.perf_counter()
            model.fit(**kwargs, **variant)
            elapsed = time.perf_counter() - t0
            if best is None or elapsed < best["seconds"]:
                best = {"seconds": elapsed, "runs": list(runs)}
        results[label] = best
    results["params"] = {str(k): _snapshot(m, m) for k, m in model.fit_model.items()}
    t0 = time.perf_counter()
    preds = model.predict(data=df.copy())
    results["predict_seconds"] = time.perf_counter() - t0
    y = preds["correct"].to_numpy()
    p = preds["correct_predictions"].to_numpy()
    keep = (y == 0) | (y == 1)
    y, p = y[keep], p[keep]
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    results["loglike"] = float(np.sum(np.where(y == 1, np.log(pc), np.log(1 - pc))))
    results["auc"] = float(model.evaluate(data=df.copy(), metric="auc"))
    results["n_rows"] = int(len(y))
    return results


def run_fit(spec: dict) -> dict:
    """The whole job a user runs: ``Model(...).fit(data_path=csv)`` and ``save`` (mode "fit";
    the caller times the process)."""
    from pyBKT.models import Model

    model = Model(num_fits=int(spec["num_fits"]), seed=int(spec.get("seed", 42)),
                  parallel=bool(spec.get("parallel", False)))
    model.fit(data_path=spec["csv"])
    model.save(spec["model_out"])
    return {"skills": len(model.fit_model)}


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    modes = {"em": run_em, "bench": run_bench, "fit": run_fit}
    result = modes[spec["mode"]](spec)
    with open(sys.argv[2], "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
