"""The service's scheduled LTI grade passback (AGS): every linked class's progress and mastery
reach the LMS gradebooks without anyone pressing a button.

Settings (environment): ``PATHWISE_LTI_GRADES_INTERVAL`` (seconds between passes, default 3600;
0 = off), ``PATHWISE_LTI_GRADES_TENANTS`` (comma-separated tenants, default: the service's
tenant). Each pass is :meth:`engine.app.SchoolApp.lti_post_all_grades` with the interval as its
minimum spacing, so with several server processes one pass runs per interval, not one per
process. A tenant without LMS courses costs one small store read per interval. The first pass
runs one interval after start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from engine.access import Caller, Principal
from service.schedule import start_periodic

GRADES_KEY_ID = "lti-grades"


def grades_interval(environ: Mapping[str, str] | None = None) -> float:
    """``PATHWISE_LTI_GRADES_INTERVAL`` in seconds (0 = off); a clear error when not a number."""
    env = os.environ if environ is None else environ
    raw = env.get("PATHWISE_LTI_GRADES_INTERVAL", "3600")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"PATHWISE_LTI_GRADES_INTERVAL={raw!r} must be a number of seconds "
                         "(0 turns scheduled grade passback off)") from None
    if value < 0:
        raise ValueError(f"PATHWISE_LTI_GRADES_INTERVAL={raw!r} must be 0 (off) or more seconds")
    return value


def grades_caller(tenant: str) -> Caller:
    """The admin principal a scheduled pass posts as (named ``lti-grades`` in the audit)."""
    return Caller(Principal(tenant=tenant, role="admin", key_id=GRADES_KEY_ID,
                            name="scheduled LTI grade passback"), via="schedule")


def grades_once(pathwise, tenant: str, *, min_interval_s: float = 0.0) -> dict:
    """One pass for ``tenant``: :meth:`lti_post_all_grades` (skipped when another process ran one
    less than ``min_interval_s`` seconds ago)."""
    return pathwise.school(tenant).lti_post_all_grades(grades_caller(tenant), min_interval_s=min_interval_s)


def start_lti_grades(pathwise, default_tenant: str, log,
                     environ: Mapping[str, str] | None = None) -> Callable[[], None]:
    """Start the scheduled passback unless the interval is 0; returns a function that stops it."""
    env = os.environ if environ is None else environ
    interval = grades_interval(env)
    if interval <= 0:
        return lambda: None
    tenants = [t.strip() for t in env.get("PATHWISE_LTI_GRADES_TENANTS", "").split(",") if t.strip()] \
        or [default_tenant]

    def one_pass() -> None:
        for tenant in tenants:
            try:
                result = grades_once(pathwise, tenant, min_interval_s=interval * 0.9)
            except Exception:  # one tenant's failure does not stop the others
                log.exception("lti grades pass failed", extra={"tenant": tenant})
                continue
            if not result["skipped"] and result["classes"]:
                log.info("lti grades pass", extra={"tenant": tenant, "classes": len(result["classes"]),
                                                   "failed": result["failed"]})

    return start_periodic("pathwise-lti-grades", interval, one_pass, log, run_first=False)
