"""``pathwise sso``: the tenant's OpenID Connect provider and identity links, from the console.

    pathwise sso set --issuer URL --client-id ID [--client-secret-file FILE] [--match-claim email|sub]
    pathwise sso show | off | sync-roster
    pathwise sso link --role teacher|student|guardian --person ID [--email E] [--sub S]
    pathwise sso unlink --email E | --sub S
"""

from __future__ import annotations

import argparse

from service.cli._common import flag_error, operator, store_flags

FIELDS = ("issuer", "client_id", "client_secret_file", "match_claim", "discovery_url", "label", "email", "sub",
          "person_id", "role")


def register(subparsers) -> None:
    p = subparsers.add_parser("sso", help="single sign-on: the school's OpenID Connect provider",
                              description="Set up sign-in with the school's OpenID Connect provider "
                                          "and link people's verified email / sub to the roster.")
    sub = p.add_subparsers(dest="sso_command", metavar="ACTION", required=True)
    s = sub.add_parser("set", help="set the provider (issuer, client id and secret, match claim)")
    store_flags(s)
    s.add_argument("--issuer", required=True, help="the provider's issuer URL (https://...)")
    s.add_argument("--client-id", required=True, help="Pathwise's client id at the provider")
    s.add_argument("--client-secret-file", default=None, metavar="FILE",
                   help="file holding the client secret (never on the command line; omit to keep "
                        "the stored one)")
    s.add_argument("--match-claim", choices=["email", "sub"], default="email",
                   help="verified claim that names a rostered person (default email)")
    s.add_argument("--discovery-url", default=None, help="default: ISSUER/.well-known/openid-configuration")
    s.add_argument("--label", default=None, help='button text: "Sign in with LABEL"')
    s.set_defaults(handler=_set)
    for name, helptext, fn in (("show", "print the provider (never its secret) and the links", _show),
                               ("off", "turn single sign-on off", _off),
                               ("sync-roster", "link the imported roster's emails and userIds "
                                               "(sign-ins also do this when they miss)", _sync)):
        a = sub.add_parser(name, help=helptext)
        store_flags(a)
        a.set_defaults(handler=fn)
    link = sub.add_parser("link", help="link an email and/or sub to a rostered person")
    store_flags(link)
    link.add_argument("--role", required=True, choices=["teacher", "student", "guardian"])
    link.add_argument("--person", required=True, help="teacher, learner or guardian id on the roster")
    link.add_argument("--email", default=None)
    link.add_argument("--sub", default=None)
    link.set_defaults(handler=_link)
    un = sub.add_parser("unlink", help="remove an identity link")
    store_flags(un)
    group = un.add_mutually_exclusive_group(required=True)
    group.add_argument("--email")
    group.add_argument("--sub")
    un.set_defaults(handler=_unlink)


def _secret(path: str | None) -> str | None:
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        secret = f.read().strip()
    if not secret:
        raise ValueError(f"--client-secret-file {path!r} is empty; write the client secret into it")
    return secret


def _set(args: argparse.Namespace) -> int:
    rec = {"issuer": args.issuer, "client_id": args.client_id, "client_secret": _secret(args.client_secret_file),
           "match_claim": args.match_claim, "discovery_url": args.discovery_url, "label": args.label}
    with operator(args) as (school, by):
        try:
            out = school.set_identity_provider(by, {k: v for k, v in rec.items() if v is not None})
        except ValueError as exc:
            raise flag_error(exc, FIELDS) from None
    for key, value in out.items():
        print(f"{key}: {value}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        try:
            provider = school.identity_provider(by)
        except LookupError as exc:
            print(exc)
            provider = {}
        links = school.identity_links(by)
    for key, value in provider.items():
        print(f"{key}: {value}")
    for link in links:
        print(f"{link['claim']}:{link['value']} -> {link['role']} {link['person_id']}")
    return 0


def _off(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        school.delete_identity_provider(by)
    print("single sign-on is off; people sign in with user names and passwords")
    return 0


def _sync(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        counts = school.sync_roster_identities(by)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _link(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        try:
            links = school.link_identity(by, args.role, args.person, email=args.email, sub=args.sub)
        except ValueError as exc:
            raise flag_error(exc, FIELDS) from None
    for link in links:
        print(f"linked {link['claim']}:{link['value']} -> {link['role']} {link['person_id']}")
    return 0


def _unlink(args: argparse.Namespace) -> int:
    claim, value = ("email", args.email) if args.email else ("sub", args.sub)
    with operator(args) as (school, by):
        school.unlink_identity(by, claim, value)
    print(f"unlinked {claim}:{value}")
    return 0
