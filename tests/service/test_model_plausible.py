"""Issue 11 item 4 through the HTTP API: a fit job on a school's stored evidence activates a
model whose wrong answers never raise mastery (p_guess + p_slip < 1 for every skill: the
default bounds). The HTTP API can neither widen the bounds nor activate a stored version, so
the engine's refusal of an inverted model is tested in tests/engine/test_fitting.py."""

from __future__ import annotations

import time

from tests.service.conftest import ADMIN, roster


def _wait(c, job: dict) -> dict:
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = c.get(f"/v1/models/jobs/{job['job_id']}", headers=ADMIN).json()
    return job


def test_fit_job_activates_only_models_whose_wrong_answers_lower_mastery(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    skills = [s["skill_id"] for s in c.get(f"/v1/learners/{learner}/mastery",
                                           headers=ADMIN).json()["skills"]]
    job = _wait(c, c.post("/v1/models/fit", headers=ADMIN, json={"max_iter": 200}).json())
    assert job["status"] == "done", job
    version = job["result"]["version"]
    assert isinstance(job["result"]["skills_at_cap"], int)  # converged? told, not hidden
    assert isinstance(job["result"]["warnings"], dict)
    params = c.get(f"/v1/models/{version}", headers=ADMIN).json()["params"]
    assert set(skills) <= set(params)
    for skill, p in params.items():
        assert p["p_guess"] + p["p_slip"] < 1.0, (skill, p)
        assert p["p_guess"] <= 0.5 and p["p_slip"] <= 0.45, (skill, p)
    assert c.get("/v1/models", headers=ADMIN).json()[-1]["version"] == version
