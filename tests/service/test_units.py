"""Pure pieces: review lifecycle, access rules, xAPI mapping, settings, sessions, grouping."""

from __future__ import annotations

import pytest

from engine import review as rv
from engine.access import (
    PERMISSIONS,
    ROLES,
    Caller,
    Principal,
    Scope,
    authorize,
    hash_key,
    hash_password,
    new_api_key,
    pseudonymize,
    verify_password,
)
from engine.errors import AccessDenied, ConflictError, NotFoundError, ValidationError
from engine.planning import grade_band
from service.settings import Settings
from service.web.session import SessionSigner


def _plan():
    items = [rv.PlanItem("a", "A", 10, ("s1",), "r"), rv.PlanItem("b", "B", 15, ("s2",), "r"),
             rv.PlanItem("c", "C", 5, ("s3",), "r")]
    return rv.new_plan("playlist", "L1", items=items)


def test_lifecycle_transitions():
    p = _plan()
    assert p.status == "proposed" and p.total_minutes == 30
    p2, ev = rv.approve(p, "t")
    assert p.status == "proposed"  # never mutated
    assert p2.status == "approved" and ev.status_before == "proposed" and len(p2.history) == 1
    p3, _ = rv.activate(p2, "t")
    p4, _ = rv.complete(p3, "t")
    assert p4.status == "done"
    for fn in (rv.approve, rv.activate):
        with pytest.raises(ConflictError):
            fn(p4, "t")
    with pytest.raises(ConflictError):
        rv.regenerate(p3, "t")
    with pytest.raises(ConflictError):
        rv.activate(p, "t")  # proposed cannot go straight to active
    with pytest.raises(ValidationError):
        rv.reject(p, "t", "  ")
    r, _ = rv.reject(p, "t", "no")
    with pytest.raises(ConflictError):
        rv.approve(r, "t")
    g, ev = rv.regenerate(r, "t", items=[rv.PlanItem("z", "Z", 5)])
    assert g.status == "proposed" and g.version == 2 and g.reject_reason == "" and ev.op == "regenerate"
    assert rv.ReviewedPlan.from_record(g.to_record()) == g


def test_edits():
    p = _plan()
    p1, _ = rv.edit(p, "t", "pin", activity_id="a")
    assert p1.status == "edited" and p1.items[0].pinned and p1.pins == ("a",)
    with pytest.raises(ConflictError):
        rv.edit(p1, "t", "remove", activity_id="a")
    p2, _ = rv.edit(p1, "t", "remove", activity_id="b")
    assert [i.activity_id for i in p2.items] == ["a", "c"] and p2.removes == ("b",)
    p3, _ = rv.edit(p2, "t", "reorder", order=["c", "a"])
    assert [i.activity_id for i in p3.items] == ["c", "a"]
    with pytest.raises(ValidationError):
        rv.edit(p3, "t", "reorder", order=["c", "c"])
    p4, _ = rv.edit(p3, "t", "add", new_item=rv.PlanItem("b", "B", 15), position=1)
    assert [i.activity_id for i in p4.items] == ["c", "b", "a"]
    assert p4.items[1].added_by == "teacher" and "b" not in p4.removes and "b" in p4.pins
    with pytest.raises(ConflictError):
        rv.edit(p4, "t", "add", new_item=rv.PlanItem("b", "B", 15))
    with pytest.raises(NotFoundError):
        rv.edit(p4, "t", "pin", activity_id="nope")
    with pytest.raises(ValidationError):
        rv.edit(p4, "t", "explode", activity_id="a")
    with pytest.raises(ValidationError):
        rv.edit(rv.new_plan("class", "C1"), "t", "pin", activity_id="a")
    p5, _ = rv.edit(p4, "t", "unpin", activity_id="a")
    assert not p5.items[2].pinned and "a" not in p5.pins


def test_authorize_rules():
    scope = Scope.from_rosters({"c1": ["L1", "L2"]})
    t = Principal("d", "teacher", "k1", teacher_id="t1")
    authorize(t, "learner:read", learner_id="L1", scope=scope)
    with pytest.raises(AccessDenied):
        authorize(t, "learner:read", learner_id="L9", scope=scope)
    with pytest.raises(AccessDenied):
        authorize(t, "class:read", class_id="c2", scope=scope)
    with pytest.raises(AccessDenied):
        authorize(t, "learner:read", learner_id="L1")  # no scope known: deny
    with pytest.raises(AccessDenied):
        authorize(t, "learner:read", tenant="other", learner_id="L1", scope=scope)
    lms = Principal("d", "lms", "k2")
    authorize(lms, "evidence:write")
    with pytest.raises(AccessDenied):
        authorize(lms, "learner:read", learner_id="L1")
    res = Principal("d", "researcher", "k3")
    allowed = {a for a in PERMISSIONS if "researcher" in PERMISSIONS[a]}
    assert allowed == {"graph:read", "catalog:read", "model:fit", "model:read", "research:export"}
    with pytest.raises(AccessDenied):
        authorize(res, "learner:export", learner_id="L1")
    with pytest.raises(ValidationError):
        authorize(lms, "nonsense")
    with pytest.raises(ValidationError):
        Principal("d", "king", "k")
    with pytest.raises(ValidationError):
        Principal("d", "teacher", "k")
    assert set(ROLES) == {"lms", "teacher", "student", "guardian", "researcher", "admin"}


def test_credentials_and_pseudonyms():
    k = new_api_key("lms")
    assert k.startswith("pw_lms_") and len(k) > 40 and hash_key(k) != k and len(hash_key(k)) == 64
    assert new_api_key("lms") != k
    enc = hash_password("secret-passphrase", n=2**10)
    assert verify_password("secret-passphrase", enc) and not verify_password("Secret-passphrase", enc)
    assert not verify_password("secret", "garbage")
    a, b = pseudonymize("L1", "s1"), pseudonymize("L1", "s2")
    assert a != b and a == pseudonymize("L1", "s1") and "L1" not in a


def test_settings_from_env_no_work_at_import():
    s = Settings.from_env({"PATHWISE_DB": "sqlite:///x.db", "PATHWISE_PORT": "9000", "PATHWISE_DEMO": "yes"},
                          port=None, host="0.0.0.0")
    assert (s.db_url, s.port, s.demo, s.host) == ("sqlite:///x.db", 9000, True, "0.0.0.0")
    assert Settings.from_env({}).db_url == "sqlite:///pathwise.db"


def test_session_signer():
    s = SessionSigner("k")
    v = s.dumps("demo", "h" * 64)
    assert s.loads(v)["k"] == "h" * 64
    assert s.loads(v[:-1] + ("0" if v[-1] != "0" else "1")) is None
    assert SessionSigner("other").loads(v) is None
    assert s.loads(None) is None and s.loads("garbage") is None
    assert s.csrf(v) == s.csrf(v) and s.csrf(v) != s.csrf(v + "x")


def test_grade_band():
    assert grade_band("5") == (3, 5) and grade_band("K") == (-2, 0) and grade_band("HS") is None


def test_cli_help_is_instant_and_accurate():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "service.cli", "serve", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    for flag in ("--db", "--host", "--port", "--demo"):
        assert flag in out.stdout


def test_warm_kernels_runs_a_tiny_fit():
    from engine.app.jobs import warm_kernels

    assert "BKT" in warm_kernels()


def test_own_devices_only_away_from_school():
    from types import SimpleNamespace

    from engine.planning import uses_own_devices

    def cls(tag, **kw):
        model = type("M", (), {"tag": tag, **kw})()
        return SimpleNamespace(model=model)

    assert not uses_own_devices(None)
    assert not uses_own_devices(cls("station_rotation"))
    assert uses_own_devices(cls("flipped")) and uses_own_devices(cls("enriched_virtual"))
    assert not uses_own_devices(cls("a_la_carte", at_school=True))
    assert uses_own_devices(cls("a_la_carte", at_school=False))


def test_health_reports_warm_up():
    import threading

    from engine.app.jobs import JobRunner

    runner = JobRunner()
    gate = threading.Event()
    try:
        assert runner.warm.is_set()  # nothing asked: warm
        runner.run_first(lambda: gate.wait(10) and "test")
        assert not runner.warm.is_set()
        gate.set()
        assert runner.warm.wait(10)
    finally:
        runner.shutdown()


def test_school_cache_refreshes_in_background(tmp_path, monkeypatch):
    import time

    from engine.app import Pathwise
    from engine.app import pathwise as bmod

    be = Pathwise.open(f"sqlite:///{tmp_path}/x.db")
    try:
        first = be.view("t1")
        assert be.view("t1") is first  # cached
        monkeypatch.setattr(bmod, "VIEW_TTL", 0.0)
        assert be.view("t1") is first  # stale: served while a refresh runs
        deadline = time.monotonic() + 10
        while be._views.get("t1") is first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert be._views.get("t1") is not first
        be.invalidate("t1")
        assert be.view("t1") is not first
    finally:
        be.close()


def test_key_revoked_by_another_process_stops_working_within_the_cache_ttl(tmp_path, monkeypatch):
    """Two server processes on one database: a key revoked through one stops working in the
    other once its cache entry expires (``KEY_CACHE_TTL``: 1 s, it was 30 s)."""
    from engine.app import Pathwise
    from engine.app import pathwise as bmod

    assert bmod.KEY_CACHE_TTL <= 1.0
    url = f"sqlite:///{tmp_path}/shared.db"
    a, b = Pathwise.open(url), Pathwise.open(url)
    try:
        key_id, key = a.school("t1").setup_key("lms", name="lms")
        admin_key = a.school("t1").setup_key("admin", name="admin")[1]
        assert b.authenticate(key) is not None  # now cached in process b
        a.school("t1").revoke_key(Caller(a.authenticate(admin_key)), key_id)
        assert b.authenticate(key) is not None  # within the TTL: the cached answer
        monkeypatch.setattr(bmod, "KEY_CACHE_TTL", 0.0)  # as if the TTL had passed
        assert b.authenticate(key) is None
    finally:
        a.close()
        b.close()


def test_student_and_guardian_scopes_limit_learner_reads():
    """A student reads only themselves, a guardian only their linked children; both are
    refused other learners and classes, with the reason in the message."""
    from engine.access import AccessDenied, Principal, Scope, authorize

    student = Principal(tenant="t", role="student", key_id="k1", learner_id="L1")
    own = Scope(frozenset({"C1"}), frozenset({"L1"}))
    authorize(student, "learner:read", tenant="t", learner_id="L1", scope=own)
    with pytest.raises(AccessDenied, match="'L2' is not the student 'L1'"):
        authorize(student, "learner:read", tenant="t", learner_id="L2", scope=own)
    with pytest.raises(AccessDenied, match="role 'student' may not plan:review"):
        authorize(student, "plan:review", tenant="t", learner_id="L1", scope=own)
    guardian = Principal(tenant="t", role="guardian", key_id="k2", guardian_id="G1")
    kids = Scope(frozenset(), frozenset({"L1", "L3"}))
    authorize(guardian, "learner:read", tenant="t", learner_id="L3", scope=kids)
    with pytest.raises(AccessDenied, match="'L2' is not a child linked to guardian 'G1'"):
        authorize(guardian, "learner:read", tenant="t", learner_id="L2", scope=kids)
    with pytest.raises(AccessDenied, match="class 'C1'"):
        authorize(guardian, "learner:read", tenant="t", class_id="C1", scope=kids)
    with pytest.raises(AccessDenied, match="scope unknown"):
        authorize(guardian, "learner:read", tenant="t", learner_id="L1", scope=None)
    with pytest.raises(ValidationError, match="needs learner_id"):
        Principal(tenant="t", role="student", key_id="k3")
