"""Reference data is coherent across server processes (issue 12 item 7).

A catalog change, a revoked key and a new learner written through one process are seen by
another process on the same store within a second: here a real second process (a child
Python) writes, and this process, which has the school cached, must see the change after
one check interval. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from engine.access import Caller, Principal
from engine.app import Pathwise
from engine.app._coherence import CHECK_INTERVAL_S

TENANT = "t"
ADMIN = Caller(Principal(tenant=TENANT, role="admin", key_id="key_test"))

CHILD = textwrap.dedent("""
    import sys
    from engine.access import Caller, Principal
    from engine.app import Pathwise
    admin = Caller(Principal(tenant="t", role="admin", key_id="key_child"))
    app = Pathwise.open(sys.argv[1])
    try:
        school = app.school("t")
        school.put_activity(admin, {"id": "A9", "title": "Made by another process",
                                    "skills": [["S4", 1.0]], "kind": "practice",
                                    "modality": "online", "place": "school",
                                    "duration_min": 10, "difficulty": 0.4}, create=True)
        school.view  # noqa: B018  (load, as a serving process would)
    finally:
        app.close()
""")


def _write_in_another_process(url: str) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, url], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_catalog_change_in_another_process_is_seen_within_a_check(store_url, school):
    app = Pathwise.open(store_url)
    try:
        app.school(TENANT).engine.load_school(school)
        app.invalidate(TENANT)
        before = app.school(TENANT).activities(ADMIN)
        assert "A9" not in {a["id"] for a in before}
        _write_in_another_process(store_url)
        # the cached view is fresh for one interval, then the token check reloads it
        time.sleep(CHECK_INTERVAL_S + 0.05)
        after = {a["id"] for a in app.school(TENANT).activities(ADMIN)}
        assert "A9" in after, "a catalog change made by another process is not seen here"
        assert CHECK_INTERVAL_S <= 1.0
    finally:
        app.close()


def test_without_a_change_the_view_is_not_reloaded(store_url, school):
    app = Pathwise.open(store_url)
    try:
        app.school(TENANT).engine.load_school(school)
        app.invalidate(TENANT)
        first = app.view(TENANT)
        time.sleep(CHECK_INTERVAL_S + 0.05)
        assert app.view(TENANT) is first, "an unchanged school was reloaded"
        app.invalidate(TENANT)
        assert app.view(TENANT) is not first
    finally:
        app.close()
