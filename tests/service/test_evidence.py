"""Native evidence ingest: batches, idempotency, conflicts, all-or-nothing."""

from __future__ import annotations

from tests.service.conftest import ADMIN, LMS, roster


def _obs(i, learner, **kw):
    base = {"id": f"ev-{i}", "learner_id": learner, "activity_id": "A0001",
            "observed_at": "2026-10-01T10:00:00Z", "score": 1.0}
    base.update(kw)
    return base


def _n_history(client, learner):
    return len(client.get(f"/v1/learners/{learner}/mastery/history", headers=ADMIN).json()["points"])


def test_ingest_updates_mastery_and_is_idempotent(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    before = _n_history(c, learner)
    batch = {"observations": [_obs(1, learner), _obs(2, learner, correct=False, score=None),
                              _obs(3, learner, score=None, rubric_level=3, rubric_min=1, rubric_max=4)]}
    r = c.post("/v1/evidence", headers=LMS, json=batch)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["duplicates"] == 0
    assert r.json()["mastery_updates"] >= 3
    after = _n_history(c, learner)
    assert after == before + r.json()["mastery_updates"]
    # the same batch again counts once
    r = c.post("/v1/evidence", headers=LMS, json=batch)
    assert r.json() == {"accepted": 0, "duplicates": 3, "mastery_updates": 0}
    assert _n_history(c, learner) == after


def test_same_id_different_payload_is_409(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    assert c.post("/v1/evidence", headers=LMS, json={"observations": [_obs(9, learner)]}).status_code == 200
    r = c.post("/v1/evidence", headers=LMS, json={"observations": [_obs(9, learner, score=0.2)]})
    assert r.status_code == 409
    assert "ev-9" in r.json()["error"]["message"]


def test_failed_batch_writes_nothing(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    before = _n_history(c, learner)
    batch = {"observations": [_obs(20, learner), _obs(21, "NO-SUCH-LEARNER")]}
    r = c.post("/v1/evidence", headers=LMS, json=batch)
    assert r.status_code == 404
    assert "NO-SUCH-LEARNER" in r.json()["error"]["message"]
    assert _n_history(c, learner) == before
    # the good observation alone is then accepted as new (nothing was half-written)
    r = c.post("/v1/evidence", headers=LMS, json={"observations": [_obs(20, learner)]})
    assert r.json()["accepted"] == 1


def test_outcome_rules(client):
    learner = roster(client, "c-3-station")[0]
    two = _obs(30, learner, correct=True)
    r = client.post("/v1/evidence", headers=LMS, json={"observations": [two]})
    assert r.status_code == 422 and "exactly one" in r.json()["error"]["message"]
    none = _obs(31, learner, score=None)
    assert client.post("/v1/evidence", headers=LMS, json={"observations": [none]}).status_code == 422
    naive = _obs(32, learner, observed_at="2026-10-01T10:00:00")
    assert client.post("/v1/evidence", headers=LMS, json={"observations": [naive]}).status_code == 422
    unknown_act = _obs(33, learner, activity_id="NOPE")
    r = client.post("/v1/evidence", headers=LMS, json={"observations": [_obs(35, learner), unknown_act]})
    assert r.status_code == 404
    assert "observations[1].activity_id" in r.text and "'NOPE'" in r.text  # names the field and the value
    unknown_skill = _obs(34, learner, skill_ids=["no.such.skill"])
    assert client.post("/v1/evidence", headers=LMS, json={"observations": [unknown_skill]}).status_code == 404
    empty = {"observations": []}
    assert client.post("/v1/evidence", headers=LMS, json=empty).status_code == 422
    extra = {"observations": [{**_obs(35, learner), "surprise": 1}]}
    assert client.post("/v1/evidence", headers=LMS, json=extra).status_code == 422
