"""The bundled demo school in a tenant, with fixed, documented demo credentials (API keys
``pw-demo-<role>``, teacher logins with password ``demo``) — for a local demo only."""

from __future__ import annotations

import logging

from engine.errors import ConflictError

log = logging.getLogger("pathwise.demo")
DEMO_PASSWORD = "demo"
DEMO_KEYS = {
    "admin": "pw-demo-admin",
    "lms": "pw-demo-lms",
    "researcher": "pw-demo-researcher",
}


def teacher_key(teacher_id: str, tenant: str = "demo") -> str:
    return demo_key(f"teacher-{teacher_id}", tenant)


def demo_key(name: str, tenant: str = "demo") -> str:
    """``pw-demo-<name>`` in tenant ``demo``, ``pw-<tenant>-<name>`` in any other tenant: a key
    is global, so two tenants can never share (and mislabel) one demo key."""
    return f"pw-demo-{name}" if tenant == "demo" else f"pw-{tenant}-{name}"


def load_school(with_evidence: bool = True):
    """The bundled demo school (engine.demo)."""
    from engine.demo import load_demo_school

    return load_demo_school(with_evidence=with_evidence)


def ensure_demo(app, tenant: str = "demo") -> dict:
    """Load the demo school into ``tenant`` (of the :class:`~engine.app.Pathwise` ``app``) if
    it holds no classes; create keys and teacher logins (idempotent). Returns the credentials
    to print: ``tenant``, ``keys`` (role -> key) and ``teachers``."""
    school_app = app.school(tenant)
    school = None
    if not school_app.view.classes:
        school = load_school()
        counts = school_app.engine.load_school(school)
        app.invalidate(tenant)
        log.info("demo school loaded", extra=counts)
    school_app.seed_xapi_identities(home_page="https://lms.example", mail_domain="school.example")
    creds: dict = {"tenant": tenant, "keys": {}, "teachers": []}
    for role in DEMO_KEYS:
        key = demo_key(role, tenant)
        if _key(school_app, role, key, name=f"demo {role}"):
            creds["keys"][role] = key
    classes = school_app.view.classes.values()
    names = _teacher_names(school)
    for tid in sorted({t for c in classes for t in c.teachers}):
        key = teacher_key(tid, tenant)
        if not _key(school_app, "teacher", key, name=names.get(tid, tid), teacher_id=tid):
            continue
        school_app.setup_login(tid, DEMO_PASSWORD, key, seeded=True)
        creds["teachers"].append({"username": tid, "password": DEMO_PASSWORD, "key": key,
                                  "name": names.get(tid, tid),
                                  "classes": [c.name for c in classes if tid in c.teachers]})
    return creds


def _key(school_app, role, key, *, name, teacher_id=None) -> bool:
    """Create the demo key; True when it is live in this tenant (only then is it printed)."""
    try:
        school_app.setup_key(role, name=name, teacher_id=teacher_id, key=key)
    except ConflictError:
        pass  # already created on an earlier start
    from engine.access import hash_key

    owner = school_app.home.store.find_api_key(hash_key(key))  # live, and in this tenant?
    return owner is not None and owner.tenant_id == school_app.tenant


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
