"""engine.app.xapi: the verb table, outcome rules, identity keys and validation (pure)."""

from __future__ import annotations

import pytest

from engine.app.xapi import (
    ADL,
    DEFAULT_VERBS,
    StatementError,
    check_verb_table,
    identity_key,
    map_statement,
    outcome_of,
)
from engine.errors import ValidationError


def st(verb="completed", result=None, **extra):
    s = {"id": "8f1e1b52-1f0c-4c9e-9f6c-1a2b3c4d5e6f", "actor": {"mbox": "mailto:L1@X.org"},
         "verb": {"id": ADL + verb}, "object": {"id": "https://lms/activities/act-1"},
         "timestamp": "2026-01-01T00:00:00+02:00"}
    if result is not None:
        s["result"] = result
    return {**s, **extra}


def test_mapping_keys_time_and_digest():
    m = map_statement(st(result={"success": True}), now=0.0)
    assert (m.identity, m.activity_keys, m.outcome) == ("mbox:mailto:l1@x.org", ("https://lms/activities/act-1", "act-1"), 1.0)
    assert m.timestamp == 1767218400.0 and m.observation_id == "xapi:8f1e1b52-1f0c-4c9e-9f6c-1a2b3c4d5e6f"
    assert map_statement(st(result={"success": True}), now=5.0).digest == m.digest
    assert map_statement(st(result={"success": False}), now=0.0).digest != m.digest
    no_id = {k: v for k, v in st(result={"success": True}).items() if k != "id"}
    # without an id, the LRS assigns each statement its own (two sends: two observations)
    assert map_statement(no_id, now=0.0).statement_id != map_statement(dict(no_id), now=0.0).statement_id


def test_outcome_rules():
    assert outcome_of({"score": {"scaled": -0.5}}) == 0.0
    assert outcome_of({"score": {"scaled": 0.25}, "success": True}) == 0.25
    assert outcome_of({"score": {"raw": 5, "min": 0, "max": 10}}) == 0.5
    assert outcome_of({"completion": False}, "attempt") == 0.0
    assert outcome_of({"completion": True}, "graded") is None
    assert outcome_of({"success": False, "completion": True}, "graded") == 0.0
    with pytest.raises(StatementError):
        outcome_of({"success": "yes"})
    with pytest.raises(StatementError):
        outcome_of({"score": {"raw": 11, "min": 0, "max": 10}})


@pytest.mark.parametrize("verb", ["experienced", "launched", "initialized", "terminated", "progressed",
                                  "interacted"])
def test_non_evidence_verbs(verb):
    m = map_statement(st(verb, result={"completion": False, "score": {"scaled": 0.1}}), now=0.0)
    assert m.outcome is None and "no evidence" in m.why_not
    assert DEFAULT_VERBS[ADL + verb] == "ignore"


def test_evidence_verbs_need_a_result():
    for verb in ("answered", "completed", "passed", "failed", "scored", "mastered"):
        assert map_statement(st(verb), now=0.0).outcome is None
        assert map_statement(st(verb, result={"score": {"scaled": 0.7}}), now=0.0).outcome == 0.7
    made_up = {**st(result={"success": True}), "verb": {"id": "https://example.org/verbs/clicked"}}
    assert map_statement(made_up, now=0.0).outcome is None
    assert map_statement(made_up, now=0.0, verbs={"https://example.org/verbs/clicked": "attempt"}).outcome == 1.0


def test_identity_keys():
    assert identity_key({"account": {"homePage": "https://lms", "name": "L1"}}) == "account:https://lms|L1"
    assert identity_key({"mbox": "mailto:A@B.org"}) == "mbox:mailto:a@b.org"
    assert identity_key({"mbox_sha1sum": "A" * 40}) == "mbox_sha1sum:" + "a" * 40
    assert identity_key({"openid": "https://id.example/x"}) == "openid:https://id.example/x"
    for bad in ({}, {"mbox": "L1"}, {"account": {"name": "L1"}}, {"mbox_sha1sum": "xyz"},
                {"mbox": "mailto:a@b.org", "openid": "https://id.example/x"}):
        with pytest.raises(StatementError):
            identity_key(bad)


def test_invalid_xapi_is_rejected():
    with pytest.raises(StatementError, match="context"):
        map_statement({**st(), "context": None}, now=0.0)
    with pytest.raises(StatementError, match="object.id"):
        map_statement({**st(), "object": {"id": "not an iri"}}, now=0.0)
    with pytest.raises(ValidationError, match="rule"):
        check_verb_table({ADL + "answered": "sometimes"})
    assert check_verb_table({ADL + "answered": "ignore"}) == {ADL + "answered": "ignore"}
