"""``pathwise admin`` and ``pathwise roster`` on SQLite and PostgreSQL: idempotent commands,
errors in flag terms, recovery of a lost last admin key, page logins for every role, tenant
export and deletion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from tests.engine.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

SAMPLE = str(Path(__file__).resolve().parents[2] / "data" / "oneroster")
PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'admin.db'}"
    return request.getfixturevalue("postgres_url")


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def key_from(out: str) -> str:
    return next(line.strip() for line in out.splitlines() if line.strip().startswith("pw_"))


def test_tenant_lifecycle(db, capsys, monkeypatch, tmp_path):
    t = ("--db", db, "--tenant", "maple")
    code, out, _ = run(capsys, "admin", "init-tenant", "maple", "--db", db)
    assert code == 0 and "shown only now" in out
    first_key = key_from(out)
    code, out, _ = run(capsys, "admin", "init-tenant", "maple", "--db", db)
    assert code == 0 and "nothing created" in out and "pw_" not in out
    code, out, _ = run(capsys, "roster", "import", SAMPLE, *t, "--json")
    assert code == 0 and json.loads(out)["learners"]["created"] == 60
    code, out, _ = run(capsys, "roster", "import", SAMPLE, *t)
    assert code == 0 and out.startswith("0 change(s)")
    # page logins for each role, linked to rostered people
    for user, role, person in (("erivera", "teacher", "tch-rivera"), ("liam001", "student", "stu-001"),
                               ("ivy", "guardian", "grd-001"), ("principal", "admin", None)):
        args = ["admin", "add-user", user, *t, "--role", role, "--password-file", "-"]
        code, out, err = run(capsys, *args, *(["--person", person] if person else []), stdin=PASSWORD + "\n",
                             monkeypatch=monkeypatch)
        assert code == 0 and "created" in out, err
    code, out, _ = run(capsys, "admin", "add-user", "erivera", *t, "--role", "teacher", "--person", "tch-rivera")
    assert code == 0 and "already exists" in out  # idempotent, no password asked
    code, _, err = run(capsys, "admin", "add-user", "x", *t, "--role", "student", "--person", "stu-999",
                       "--password-file", "-", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert code == 1 and "student 'stu-999' is not on the roster" in err
    code, _, err = run(capsys, "admin", "add-user", "x", *t, "--role", "guardian")
    assert code == 1 and "--person is required for --role guardian" in err
    code, _, err = run(capsys, "admin", "add-user", "y", *t, "--role", "student", "--person", "stu-002",
                       "--password-file", "-", stdin="short\n", monkeypatch=monkeypatch)
    assert code == 1 and "12" in err
    code, _, _ = run(capsys, "admin", "reset-password", "ivy", *t, "--password-file", "-",
                     stdin="another long passphrase\n", monkeypatch=monkeypatch)
    assert code == 0
    from engine.app import Pathwise

    pw = Pathwise.open(db)
    try:
        assert pw.page_login("maple", username="ivy", password=PASSWORD) is None
        session = pw.page_login("maple", username="ivy", password="another long passphrase")
        principal = pw.page_principal(*session)
        assert principal.role == "guardian" and principal.guardian_id == "grd-001"
        teacher = pw.page_principal(*pw.page_login("maple", username="erivera", password=PASSWORD))
        assert teacher.teacher_id == "tch-rivera"
    finally:
        pw.close()
    code, out, _ = run(capsys, "admin", "list-keys", *t, "--json")
    listing = json.loads(out)
    assert {u["username"] for u in listing["logins"]} == {"erivera", "liam001", "ivy", "principal"}
    assert all("key_hash" not in k for k in listing["keys"])
    # lost the last admin key? revoking it is refused, and a new one comes from the CLI
    admin_id = next(k["key_id"] for k in listing["keys"] if k["label"] == "first admin")
    other = [k["key_id"] for k in listing["keys"] if k["role"] == "admin" and k["key_id"] != admin_id]
    for kid in other:
        assert run(capsys, "admin", "revoke-key", kid, *t)[0] == 0
    code, _, err = run(capsys, "admin", "revoke-key", admin_id, *t)
    assert code == 1 and "create-key --tenant maple --role admin" in err
    code, out, _ = run(capsys, "admin", "create-key", *t, "--role", "admin", "--label", "recovery")
    assert code == 0 and key_from(out) != first_key
    assert run(capsys, "admin", "revoke-key", admin_id, *t)[0] == 0
    code, out, _ = run(capsys, "admin", "revoke-key", admin_id, *t)
    assert code == 0 and "already revoked" in out
    code, _, err = run(capsys, "admin", "revoke-key", "key_nothere", *t)
    assert code == 1 and "list-keys --tenant maple" in err
    # export, then delete everything (audit log included)
    out_file = tmp_path / "maple.json"
    assert run(capsys, "admin", "export-tenant", *t, "--out", str(out_file))[0] == 0
    export = json.loads(out_file.read_text())
    assert len(export["tables"]["learners"]) == 60 and export["tables"]["audit_log"]
    assert oct(out_file.stat().st_mode & 0o777) == "0o600"
    assert PASSWORD not in out_file.read_text() and "scrypt" not in out_file.read_text()
    code, _, err = run(capsys, "admin", "delete-tenant", *t, "--confirm", "mapel")
    assert code == 1 and "confirm with its id" in err
    code, out, _ = run(capsys, "admin", "delete-tenant", *t, "--confirm", "maple")
    assert code == 0 and "learners 60" in out and "audit_log" in out
    pw = Pathwise.open(db)
    try:
        school = pw.school("maple")
        assert school.store.list_audit() == [] and school.store.list_api_keys() == []
        assert pw.authenticate(first_key) is None
    finally:
        pw.close()


def test_help_and_flag_errors(capsys):
    with pytest.raises(SystemExit):
        main(["admin", "--help"])
    out = capsys.readouterr().out
    for action in ("init-tenant", "create-key", "revoke-key", "list-keys", "add-user", "reset-password",
                   "export-tenant", "delete-tenant"):
        assert action in out
    with pytest.raises(SystemExit):
        main(["admin", "create-key", "--role", "admin"])
    assert "--tenant" in capsys.readouterr().err
    code = main(["admin", "create-key", "--tenant", "x", "--db", "sqlite:///:memory:", "--role", "student"])
    assert code == 1 and "--person is required for --role student" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["roster", "--help"])
    assert "import" in capsys.readouterr().out


def test_roster_defaults_and_retention_commands(tmp_path, capsys):
    t = ("--db", f"sqlite:///{tmp_path / 'r.db'}", "--tenant", "maple")
    code, _, err = run(capsys, "roster", "defaults", *t, "--grade", "3", "--set", "{not json")
    assert code == 1 and "--set is not JSON" in err
    code, out, _ = run(capsys, "roster", "defaults", *t, "--grade", "3", "--set",
                       '{"model": {"type": "flipped", "home_minutes": 20, "class_minutes": 40}}', "--json")
    assert code == 0 and json.loads(out)["class_defaults"]["by_grade"]["3"]["model"]["type"] == "flipped"
    assert run(capsys, "roster", "import", SAMPLE, *t)[0] == 0
    code, out, _ = run(capsys, "roster", "retention", *t, "--days", "30", "--apply", "--json")
    body = json.loads(out)
    assert code == 0 and body["retention_days"] == 30 and body["applied"]["erased"] == []
    code, _, err = run(capsys, "roster", "import", str(tmp_path / "missing"), *t)
    assert code == 1 and "no such folder or zip" in err
