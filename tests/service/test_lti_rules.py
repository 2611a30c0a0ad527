"""The LTI domain rules in engine/lti without HTTP: key rotation and its grace period, the
launch state and nonce stores (SQLite and a real PostgreSQL), role mapping, registration
validation and the grade mapping of docs/lti.md (worked by hand)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from engine.lti import grades, messages
from engine.lti.errors import LaunchRefused, PlatformConfigError
from engine.lti.keys import RETIRED_GRACE_S, ToolKeys
from engine.lti.registration import Platform
from engine.store import open_store
from tests.engine.pg import postgres_server, postgres_url  # noqa: F401

ISS = "https://lms.example"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request):
    url = "sqlite://" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    s = open_store(url)
    yield s.for_tenant("t1")
    s.close()


def _platform(**kw) -> Platform:
    rec = dict(issuer=ISS, client_id="c1", deployment_ids=("d1",), jwks_url=f"{ISS}/jwks",
               auth_login_url=f"{ISS}/auth", token_url=f"{ISS}/token")
    rec.update(kw)
    return Platform(**rec)


def test_retired_keys_stay_published_for_the_grace_period_only(store):
    now = [1_000_000.0]
    keys = ToolKeys(store, clock=lambda: now[0])
    first = keys.ensure()
    assert keys.ensure() == first
    second = keys.rotate()
    assert [k["kid"] for k in keys.jwks()["keys"]] == [second, first]
    token = keys.sign({"x": 1})
    assert jwt.get_unverified_header(token)["kid"] == second
    now[0] += RETIRED_GRACE_S + 1
    assert [k["kid"] for k in keys.jwks()["keys"]] == [second]
    assert all("d" not in k for k in keys.jwks()["keys"])


def _launch_token(key, nonce: str, **claims) -> str:
    body = {"iss": ISS, "aud": "c1", "sub": "u1", "nonce": nonce, "iat": 1_700_000_000, "exp": 4_000_000_000,
            messages.LTI + "deployment_id": "d1", messages.LTI + "message_type": messages.RESOURCE_LINK,
            messages.LTI + "version": "1.3.0", messages.LTI + "resource_link": {"id": "rl1"},
            messages.LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]}
    body.update(claims)
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def _state_and_nonce(store, platform) -> tuple[str, str]:
    url = messages.start_login(store, platform, login_hint="u1", target_link_uri="https://t/launch",
                               redirect_uri="https://t/launch")
    q = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    return q["state"], store.get_document(messages.STATE_KIND, q["state"]).payload["nonce"]


def test_state_and_nonce_are_checked_and_used_once(store):
    platform = _platform()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [{**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}]}
    state, nonce = _state_and_nonce(store, platform)
    launch = messages.verify_launch(store, platform, _launch_token(key, nonce), state, jwks)
    assert (launch.role, launch.sub, launch.resource_link_id) == ("student", "u1", "rl1")
    with pytest.raises(LaunchRefused, match="replayed launch"):
        messages.verify_launch(store, platform, _launch_token(key, nonce), state, jwks)
    state2, nonce2 = _state_and_nonce(store, platform)
    with pytest.raises(LaunchRefused, match="nonce is not the one sent with this state"):
        messages.verify_launch(store, platform, _launch_token(key, "other-nonce"), state2, jwks)
    state3, nonce3 = _state_and_nonce(store, platform)
    with pytest.raises(LaunchRefused, match="expired or belongs to another platform"):
        messages.verify_launch(store, platform, _launch_token(key, nonce3), state3, jwks,
                               clock=lambda: 9e9)
    with pytest.raises(LaunchRefused, match="the id_token has expired"):
        messages.verify_launch(store, platform, _launch_token(key, "n4", exp=1_700_000_100), "s", jwks)
    with pytest.raises(LaunchRefused, match="none of the roles"):
        messages.verify_launch(store, platform, _launch_token(
            key, "n5", **{messages.LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Observer"]}),
            "s", jwks)


def test_roles_map_to_pathwise_roles():
    lis = "http://purl.imsglobal.org/vocab/lis/v2/"
    assert messages.pathwise_role([lis + "membership#Learner", lis + "membership#Instructor"]) == "teacher"
    assert messages.pathwise_role([lis + "institution/person#Student"]) == "student"
    assert messages.pathwise_role([lis + "membership#Mentor"]) == "guardian"
    assert messages.pathwise_role(["Learner"]) == "student"
    assert messages.pathwise_role([]) is None


def test_registration_names_the_bad_field():
    with pytest.raises(PlatformConfigError, match="client_id is empty"):
        _platform(client_id=" ")
    with pytest.raises(PlatformConfigError, match="auth_login_url 'ftp://x' is not an absolute"):
        _platform(auth_login_url="ftp://x")
    with pytest.raises(PlatformConfigError, match="deployment_ids"):
        _platform(deployment_ids=())
    assert _platform(deployment_ids=("d1", " d1 ", "d2")).deployment_ids == ("d1", "d2")
    assert _platform().id == _platform().id != _platform(client_id="c2").id


def test_grade_mapping_worked_by_hand():
    p = {"a": 0.9, "b": 0.5}  # c has no evidence
    scores = grades.learner_scores(p, ["a", "b", "c"], 0.8, placed_skills=["b", "c"])
    assert scores[grades.PROGRESS] == (33.33, "InProgress")  # 1 of 3 mastered
    assert scores[grades.MASTERY] == (46.67, "InProgress")  # (0.9 + 0.5 + 0) / 3
    assert scores[grades.SKILL_PREFIX + "b"] == (50.0, "InProgress")
    assert scores[grades.SKILL_PREFIX + "c"] == (0.0, "Initialized")
    done = grades.learner_scores({"a": 0.95}, ["a"], 0.8)
    assert done[grades.PROGRESS] == (100.0, "Completed")
    assert grades.learner_scores({}, [], 0.8)[grades.MASTERY] == (0.0, "Initialized")
    body = grades.score_body("u1", 46.67, "InProgress")
    assert body["scoreMaximum"] == 100 and body["gradingProgress"] == "FullyGraded"
    assert body["timestamp"].endswith("Z")
