"""``pathwise lti``: register LMS platforms (LTI 1.3), manage the tool's signing keys, sync a
course roster (NRPS) and post grades (AGS) from the console.

    pathwise lti register --issuer URL --client-id ID --deployment D [--deployment D2]
                          --jwks-url URL --auth-login-url URL --token-url URL [--base-url URL]
    pathwise lti list | remove PLATFORM_ID | keys | rotate-key | courses
    pathwise lti sync CLASS_ID | grades CLASS_ID
"""

from __future__ import annotations

import argparse
import json
import sys

from service.cli._common import flag_error, operator, store_flags

FIELDS = ("issuer", "client_id", "deployment_ids", "jwks_url", "auth_login_url", "token_url", "default_grade")


def register(subparsers) -> None:
    p = subparsers.add_parser("lti", help="LTI 1.3: LMS platforms, tool keys, roster sync, grades",
                              description="Pathwise as an LTI 1.3 tool: register the school's LMS, "
                                          "rotate the tool's keys, sync a course roster, post grades.")
    sub = p.add_subparsers(dest="lti_command", metavar="ACTION", required=True)
    r = sub.add_parser("register", help="register (or update) an LMS platform")
    store_flags(r)
    r.add_argument("--issuer", required=True, help="the platform's issuer (iss), https://...")
    r.add_argument("--client-id", required=True, help="the client id the platform gave Pathwise")
    r.add_argument("--deployment", action="append", required=True, dest="deployment_ids", metavar="ID",
                   help="an accepted deployment id (repeat for several)")
    r.add_argument("--jwks-url", required=True, help="the platform's public key set URL")
    r.add_argument("--auth-login-url", required=True, help="the platform's OIDC authorization endpoint")
    r.add_argument("--token-url", required=True, help="the platform's OAuth 2 token endpoint")
    r.add_argument("--name", default="", help="a name for people")
    r.add_argument("--default-grade", default="unknown", help="grade of classes created by roster sync")
    r.add_argument("--base-url", default=None,
                   help="Pathwise's public URL, to print the tool URLs to enter in the LMS")
    r.set_defaults(handler=_register)
    for name, helptext, fn in (("list", "registered platforms", _list), ("keys", "the tool's signing keys", _keys),
                               ("rotate-key", "make a new signing key (the old one stays published "
                                              "for 7 days)", _rotate),
                               ("courses", "LMS courses seen in launches and their classes", _courses)):
        a = sub.add_parser(name, help=helptext)
        store_flags(a)
        a.set_defaults(handler=fn)
    for name, helptext, fn, arg in (("remove", "remove a platform", _remove, "platform_id"),
                                    ("sync", "sync a class roster from its LMS course (NRPS)", _sync, "class_id")):
        a = sub.add_parser(name, help=helptext)
        store_flags(a)
        a.add_argument(arg)
        a.set_defaults(handler=fn)
    g = sub.add_parser("grades", help="post progress and mastery to the LMS gradebook (AGS)",
                       description="Post one class's progress and mastery scores to the gradebooks of "
                                   "its LMS courses, or every linked class's with --all (the service "
                                   "also does this on a schedule: PATHWISE_LTI_GRADES_INTERVAL).")
    store_flags(g)
    g.add_argument("class_id", nargs="?", help="the class to post (omit with --all)")
    g.add_argument("--all", action="store_true", help="every class linked to an LMS gradebook")
    g.set_defaults(handler=_grades)


def _print(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


def _register(args: argparse.Namespace) -> int:
    rec = {k: getattr(args, k) for k in FIELDS + ("name",)}
    with operator(args) as (school, by):
        try:
            out = school.register_platform(by, rec)
        except ValueError as exc:
            raise flag_error(exc, FIELDS) from None
    _print(out)
    if args.base_url:
        base = f"{args.base_url.rstrip('/')}/lti/{school.tenant}"
        print(f"Enter in the LMS: login URL {base}/login, launch and deep-linking URL {base}/launch, "
              f"public keys {base}/jwks")
    return 0


def _list(args) -> int:
    with operator(args) as (school, by):
        _print(school.lti_platforms(by))
    return 0


def _keys(args) -> int:
    with operator(args) as (school, by):
        _print(school.tool_key_listing(by))
    return 0


def _rotate(args) -> int:
    with operator(args) as (school, by):
        _print(school.rotate_tool_key(by))
    return 0


def _courses(args) -> int:
    with operator(args) as (school, by):
        _print(school.lti_courses(by))
    return 0


def _remove(args) -> int:
    with operator(args) as (school, by):
        school.delete_platform(by, args.platform_id)
    print(f"removed {args.platform_id}")
    return 0


def _sync(args) -> int:
    with operator(args) as (school, by):
        _print(school.lti_sync(by, args.class_id))
    return 0


def _grades(args) -> int:
    if bool(args.class_id) == bool(args.all):
        print("pathwise lti grades: give a CLASS_ID or --all (not both)", file=sys.stderr)
        return 2
    with operator(args) as (school, by):
        if args.all:
            result = school.lti_post_all_grades(by)
            _print(result)
            return 1 if result["failed"] else 0
        _print(school.lti_post_grades(by, args.class_id))
    return 0
