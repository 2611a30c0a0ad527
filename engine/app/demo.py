"""``--demo``: load the bundled demo school into the store (if empty) and create demo
credentials (fixed, documented keys and teacher logins — for a local demo only)."""

from __future__ import annotations

from engine.access import hash_password
from engine.errors import ConflictError
from service.logs import get_logger

log = get_logger("demo")
DEMO_PASSWORD = "demo"
DEMO_KEYS = {
    "admin": "pw-demo-admin",
    "lms": "pw-demo-lms",
    "researcher": "pw-demo-researcher",
}


def teacher_key(teacher_id: str) -> str:
    return f"pw-demo-teacher-{teacher_id}"


def load_school(with_evidence: bool = True):
    """The bundled demo school (engine.demo)."""
    from engine.demo import load_demo_school

    return load_demo_school(with_evidence=with_evidence)


def ensure_demo(backend, settings) -> dict:
    """Load the demo school into ``settings.tenant`` if it holds no classes; create keys and
    teacher logins (idempotent). Returns the credentials to print."""
    tenant = settings.tenant
    tb = backend.for_tenant(tenant)
    school = None
    if not tb.ts.list_classes():
        school = load_school()
        counts = tb.engine.load_school(school)
        backend.invalidate(tenant)
        log.info("demo school loaded", extra=counts)
    creds: dict = {"tenant": tenant, "keys": {}, "teachers": []}
    for role, key in DEMO_KEYS.items():
        _key(tb, role, key, name=f"demo {role}")
        creds["keys"][role] = key
    teachers = sorted({t for c in tb.view.classes.values() for t in c.teachers})
    names = _teacher_names(school)
    for tid in teachers:
        key = teacher_key(tid)
        _key(tb, "teacher", key, name=names.get(tid, tid), teacher_id=tid)
        if tb.get_login(tid) is None:
            tb.put_login(tid, hash_password(DEMO_PASSWORD), key)
        classes = [c.name for c in tb.view.classes.values() if tid in c.teachers]
        creds["teachers"].append({"username": tid, "password": DEMO_PASSWORD, "key": key,
                                  "name": names.get(tid, tid), "classes": classes})
    return creds


def _key(tb, role, key, *, name, teacher_id=None) -> None:
    try:
        tb.create_key(role, name=name, teacher_id=teacher_id, key=key)
    except ConflictError:
        pass  # already created on an earlier start


def _teacher_names(school=None) -> dict[str, str]:
    if school is None:
        try:
            school = load_school(with_evidence=False)
        except Exception:  # names are cosmetic
            return {}
    teachers = getattr(school, "teachers", ()) or ()
    if isinstance(teachers, dict):
        teachers = teachers.values()
    return {t.id: t.name for t in teachers}
