"""``pathwise lrs-sync URL``: pull statements from a district's LRS into one tenant, through
the same path as POSTed statements; resumable and idempotent (see
:meth:`engine.app.SchoolApp.sync_statements`)."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lrs-sync",
        help="pull xAPI statements from another LRS (since the stored cursor, following 'more')",
        description=(
            "Pull statements from the LRS at URL (its xAPI endpoint, e.g. https://lrs.example/xAPI/) "
            "into a tenant. Each run continues after the cursor kept in the store for that URL; "
            "statements already stored are skipped, so running it again imports nothing new. "
            "Credentials: --user (or PATHWISE_LRS_USER) and the password in --password-file "
            "(or PATHWISE_LRS_PASSWORD), sent as HTTP Basic."
        ),
    )
    p.add_argument("url", metavar="URL", help="the LRS's xAPI endpoint")
    p.add_argument("--db", metavar="URL", default=None, help="store URL (default: PATHWISE_DB or sqlite:///pathwise.db)")
    p.add_argument("--tenant", default=None, help="tenant to import into (default: PATHWISE_TENANT or demo)")
    p.add_argument("--user", default=None, help="LRS username (default: PATHWISE_LRS_USER)")
    p.add_argument("--password-file", default=None, metavar="PATH",
                   help="file holding the LRS password (default: PATHWISE_LRS_PASSWORD)")
    p.add_argument("--page-size", type=int, default=500, metavar="N", help="statements per page (default 500)")
    p.add_argument("--max-pages", type=int, default=None, metavar="N",
                   help="stop after N pages; the next run resumes where this one stopped")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.app import Pathwise
    from service.lrs_client import LrsClient, credentials_from_env
    from service.lrs_sync_job import sync_once
    from service.settings import Settings

    settings = Settings.from_env(db_url=args.db, tenant=args.tenant)
    if args.max_pages is not None and args.max_pages < 1:
        raise ValueError(f"--max-pages {args.max_pages}: use 1 or more")
    user, password = credentials_from_env(args.user, args.password_file)
    client = LrsClient(args.url, user, password, page_size=args.page_size)
    pathwise = Pathwise.open(settings.db_url)
    try:
        counts = sync_once(pathwise, settings.tenant, client, max_pages=args.max_pages)
    finally:
        pathwise.close()
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        state = "complete" if counts["complete"] else "stopped early; run again to resume"
        print(f"lrs-sync {client.source} -> tenant {settings.tenant}: {counts['received']} received, "
              f"{counts['stored']} stored, {counts['duplicates']} already here, {counts['rejected']} rejected, "
              f"{counts['not_applied']} stored not applied, {counts['pages']} pages ({state})")
        for err in counts["errors"]:
            print(f"  rejected {err}")
    return 0
