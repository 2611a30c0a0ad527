"""``pathwise roster``: OneRoster 1.2 rostering from the command line — import a CSV set
(folder or zip) or a SIS's OneRoster REST service, set the class defaults new classes get,
and run the retention rule (erase learners N days after they left the roster)."""

from __future__ import annotations

import argparse
import json
import time

from service.cli._operator import add_store_flags, emit, operator


def register(subparsers) -> None:
    p = subparsers.add_parser("roster", help="OneRoster 1.2 import, class defaults, retention",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="roster_command", metavar="ACTION", required=True)

    q = sub.add_parser("import", help="import a OneRoster 1.2 CSV set (folder or .zip)",
                       description="Import a OneRoster 1.2 CSV set in one transaction (bulk and delta "
                                   "files). Re-importing the same files changes nothing. A malformed set "
                                   "changes nothing and lists every problem by file, row and column.")
    q.add_argument("source", metavar="DIR|ZIP", help="folder holding manifest.csv, or a zip of it")
    add_store_flags(q)
    q.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    q.add_argument("--json", action="store_true", help="print the report as JSON")
    q.set_defaults(handler=import_set)

    q = sub.add_parser("sync", help="import from a OneRoster 1.2 REST service (OAuth 2 client credentials)",
                       description="Read orgs, academicSessions, courses, classes, users and enrollments "
                                   "from a SIS's OneRoster 1.2 REST service and import them like a bulk "
                                   "CSV set. The client secret comes from --client-secret-file.")
    q.add_argument("--base-url", required=True, help="the service root, e.g. https://sis.example/ims/oneroster/rostering/v1p2")
    q.add_argument("--token-url", required=True, help="the OAuth 2 token endpoint")
    q.add_argument("--client-id", required=True)
    q.add_argument("--client-secret-file", required=True, metavar="FILE", help="file holding the client secret")
    q.add_argument("--page-size", type=int, default=100, help="records per request (limit; default 100)")
    add_store_flags(q)
    q.add_argument("--json", action="store_true", help="print the report as JSON")
    q.set_defaults(handler=sync)

    q = sub.add_parser("defaults", help="show or set the blended model new classes get",
                       description="Show the class defaults, or set one: for a course (--course SOURCEDID), "
                                   "a grade (--grade 3) or the whole tenant (neither). A new class takes its "
                                   "course's default, else its grade's, else the tenant's. Existing classes "
                                   "keep their settings.")
    add_store_flags(q)
    q.add_argument("--course", metavar="SOURCEDID", help="course sourcedId the default is for")
    q.add_argument("--grade", metavar="GRADE", help="grade label ('3', 'K') the default is for")
    q.add_argument("--set", metavar="JSON", help='settings, e.g. \'{"model": {"type": "station_rotation", ...}, '
                                                 '"size_cap": 32, "small_group_cap": 6}\'')
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=defaults)

    q = sub.add_parser("retention", help="show or set the retention days, or erase the learners past it",
                       description="Learners who leave the roster keep their data for the tenant's "
                                   "retention days, then 'retention --apply' erases it (run it daily, e.g. from cron).")
    add_store_flags(q)
    q.add_argument("--days", type=int, help="set: erase a learner's data this many days after they leave")
    q.add_argument("--keep", action="store_true", help="set: keep departed learners' data until erased by hand")
    q.add_argument("--apply", action="store_true", help="erase every learner past the retention days now")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=retention)


def _report_text(r: dict, seconds: float) -> str:
    lines = [f"{'dry run: ' if r.get('dry_run') else ''}{r['changes']} change(s) in {seconds:.2f} s"]
    for kind in ("learners", "teachers", "guardians", "classes"):
        c = r[kind]
        lines.append(f"  {kind:<10} created {c['created']}, updated {c['updated']}, "
                     f"deactivated {c['deactivated']}, unchanged {c['unchanged']}")
    rec = r["records"]
    lines.append(f"  OneRoster records changed {rec['changed']}, removed {rec['removed']}, "
                 f"stale (older than stored) {rec['stale']}; administrators on the roster {r['administrators']}")
    for reason, n in r["ignored"].items():
        lines.append(f"  ignored: {n} {reason}")
    if r["ignored_files"]:
        lines.append(f"  ignored files: {', '.join(r['ignored_files'])}")
    return "\n".join(lines)


def import_set(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    with operator(args) as (school, by):
        report = school.import_oneroster(by, args.source, dry_run=args.dry_run)
    report["dry_run"] = args.dry_run
    emit(args, report, _report_text(report, time.perf_counter() - start))
    return 0


def sync(args: argparse.Namespace) -> int:
    with open(args.client_secret_file, encoding="utf-8") as fh:
        secret = fh.readline().strip()
    start = time.perf_counter()
    with operator(args) as (school, by):
        report = school.sync_oneroster(by, base_url=args.base_url, token_url=args.token_url,
                                       client_id=args.client_id, client_secret=secret,
                                       page_size=args.page_size)
    emit(args, report, _report_text(report, time.perf_counter() - start))
    return 0


def defaults(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        if args.set:
            try:
                settings = json.loads(args.set)
            except ValueError as exc:
                raise ValueError(f"--set is not JSON ({exc}); quote it as one shell word") from None
            if not isinstance(settings, dict):
                raise ValueError("--set must be a JSON object like {\"model\": {...}, \"size_cap\": 32}")
            out = school.set_class_default(by, settings, course=args.course, grade=args.grade)
        else:
            out = school.roster_settings(by)
    emit(args, out, json.dumps(out["class_defaults"], indent=2, sort_keys=True))
    return 0


def retention(args: argparse.Namespace) -> int:
    if args.days is not None and args.keep:
        raise ValueError("give --days N or --keep, not both")
    with operator(args) as (school, by):
        if args.days is not None or args.keep:
            school.set_retention(by, None if args.keep else args.days)
        out = {"retention_days": school.roster_settings(by)["retention_days"],
               "departed": school.departures(by)}
        if args.apply:
            out["applied"] = school.apply_retention(by)
    days = out["retention_days"]
    text = [f"retention: {'keep until erased by hand' if days is None else f'{days} days after leaving the roster'}",
            f"departed learners not erased: {len(out['departed'])}"]
    if args.apply:
        text.append(f"erased now: {len(out['applied']['erased'])} ({', '.join(out['applied']['erased']) or '-'})")
    emit(args, out, "\n".join(text))
    return 0
