"""``pathwise admin``: tenants, API keys and page logins from the command line, on SQLite or
PostgreSQL (``--db`` like ``pathwise serve``). Commands are audited as the CLI operator;
init-tenant, add-user, revoke-key and delete-tenant are idempotent (a second run changes nothing). It is also the way back in for a school that lost its last admin key:
``pathwise admin create-key --tenant T --role admin`` needs only access to the database.
"""

from __future__ import annotations

import argparse
import functools

from service.cli._operator import add_store_flags, emit, operator, read_password, write_json

KEY_ROLES = ("admin", "teacher", "student", "guardian", "lms", "researcher")
LOGIN_ROLES = ("teacher", "student", "guardian", "admin")


def _cli_errors(fn):
    """Engine conflicts become ``pathwise admin: error: ...`` (exit 1) like other user errors."""
    @functools.wraps(fn)
    def run(args):
        from engine.errors import EngineError

        try:
            return fn(args)
        except EngineError as exc:
            if isinstance(exc, (ValueError, LookupError, PermissionError)):
                raise
            raise ValueError(str(exc)) from None
    return run


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "admin", help="tenants, API keys and page logins (init-tenant, create-key, add-user, ...)",
        description=__doc__.split("\n\n")[0].replace("``", "'"),
    )
    sub = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    _add_key_actions(sub)
    _add_login_actions(sub)
    _add_tenant_actions(sub)


def _add_key_actions(sub) -> None:
    """init-tenant, create-key, revoke-key, list-keys."""
    q = sub.add_parser("init-tenant", help="create a tenant's first admin key (printed once)",
                       description="Create the first admin API key of tenant NAME and print it once. "
                                   "Does nothing when the tenant already has a live admin key.")
    q.add_argument("name", metavar="NAME", help="tenant id: letters, digits, '_', '.', ':' or '-'")
    q.add_argument("--label", default="first admin", help="label of the key (default 'first admin')")
    add_store_flags(q, tenant=False)
    q.set_defaults(handler=_cli_errors(init_tenant))

    q = sub.add_parser("create-key", help="create an API key (printed once)",
                       description="Create an API key in the tenant and print it once; only its hash is stored.")
    add_store_flags(q)
    q.add_argument("--role", required=True, choices=KEY_ROLES, help="what the key may do")
    q.add_argument("--person", metavar="ID", help="teacher id, learner id (student) or guardian id the key "
                                                  "belongs to (required for those roles)")
    q.add_argument("--label", default="", help="a name to recognise the key by")
    q.set_defaults(handler=_cli_errors(create_key))

    q = sub.add_parser("revoke-key", help="revoke an API key by its id (key_...)")
    add_store_flags(q)
    q.add_argument("key_id", metavar="KEY_ID", help="the key's id as list-keys shows it (key_<12 hex>)")
    q.set_defaults(handler=_cli_errors(revoke_key))

    q = sub.add_parser("list-keys", help="the tenant's API keys and page logins (never the secrets)")
    add_store_flags(q)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=_cli_errors(list_keys))


def _add_login_actions(sub) -> None:
    """add-user, reset-password."""
    q = sub.add_parser("add-user", help="a page login (username + password) for a rostered person",
                       description="Create a page login for a teacher, student, guardian (the person "
                                   "must be on the roster) or an admin. The password is read from "
                                   "--password-file or typed at the terminal, never from the command line.")
    add_store_flags(q)
    q.add_argument("username", metavar="USERNAME", help="the login name (no spaces)")
    q.add_argument("--role", required=True, choices=LOGIN_ROLES, help="whose pages the login opens")
    q.add_argument("--person", metavar="ID", help="the rostered teacher id, learner id or guardian id "
                                                  "(required unless --role admin)")
    q.add_argument("--name", default="", help="display name (default: the username)")
    q.add_argument("--password-file", metavar="FILE", help="read the password from FILE's first line "
                                                           "('-' = stdin); 12 characters or more")
    q.set_defaults(handler=_cli_errors(add_user))

    q = sub.add_parser("reset-password", help="set a new password on a page login")
    add_store_flags(q)
    q.add_argument("username", metavar="USERNAME")
    q.add_argument("--password-file", metavar="FILE", help="read the password from FILE ('-' = stdin)")
    q.set_defaults(handler=_cli_errors(reset_password))


def _add_tenant_actions(sub) -> None:
    """export-tenant, delete-tenant."""
    q = sub.add_parser("export-tenant", help="everything the tenant holds, as JSON (no secrets)")
    add_store_flags(q)
    q.add_argument("--out", required=True, metavar="FILE", help="where to write the JSON ('-' = stdout); "
                                                                "created readable by you only")
    q.set_defaults(handler=_cli_errors(export_tenant))

    q = sub.add_parser("delete-tenant", help="delete everything the tenant holds (audit log included)")
    add_store_flags(q)
    q.add_argument("--confirm", required=True, metavar="TENANT", help="repeat the tenant id to confirm")
    q.set_defaults(handler=_cli_errors(delete_tenant))


def init_tenant(args: argparse.Namespace) -> int:
    with operator(args, args.name) as (school, by):
        live = [k for k in school.list_keys(by) if k["role"] == "admin" and not k["revoked"]]
        if live:
            print(f"tenant {args.name!r} already has {len(live)} live admin key(s) "
                  f"({', '.join(k['key_id'] for k in live)}); nothing created. To add one: "
                  f"pathwise admin create-key --tenant {args.name} --role admin")
            return 0
        key_id, key = school.create_key(by, "admin", name=args.label)
    print(f"tenant {args.name!r} created. Its first admin API key ({key_id}), shown only now:\n\n"
          f"  {key}\n\nKeep it in a password manager; list-keys shows only its id.")
    return 0


def create_key(args: argparse.Namespace) -> int:
    if args.role in ("teacher", "student", "guardian") and not args.person:
        raise ValueError(f"--person is required for --role {args.role} (the rostered "
                         f"{'learner' if args.role == 'student' else args.role} id the key belongs to)")
    with operator(args) as (school, by):
        key_id, key = school.create_key(by, args.role, name=args.label,
                                        teacher_id=args.person if args.role == "teacher" else None,
                                        subject=args.person if args.role in ("student", "guardian") else None)
    print(f"{args.role} key {key_id} in tenant {args.tenant!r}, shown only now:\n\n  {key}\n")
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        found = [k for k in school.list_keys(by) if k["key_id"] == args.key_id]
        if not found:
            raise LookupError(f"no key {args.key_id!r} in tenant {args.tenant!r}; see pathwise admin "
                              f"list-keys --tenant {args.tenant}")
        if all(k["revoked"] for k in found):
            print(f"key {args.key_id} was already revoked; nothing to do")
            return 0
        try:
            school.revoke_key(by, args.key_id)
        except Exception as exc:
            if "last active admin key" in str(exc):
                raise ValueError(f"{args.key_id} is the tenant's last live admin key; create another first: "
                                 f"pathwise admin create-key --tenant {args.tenant} --role admin") from None
            raise
    print(f"key {args.key_id} revoked")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        keys = school.list_keys(by)
        logins = school.list_logins(by)
    lines = [f"API keys of tenant {args.tenant!r}:"]
    lines += [f"  {k['key_id']}  {k['role']:<10} {('revoked' if k['revoked'] else 'live'):<8} "
              f"{k['subject'] or '-':<16} {k['label'] or ''}" for k in keys] or ["  (none)"]
    lines += ["Page logins:"]
    lines += [f"  {u['username']:<20} {u['role']:<9} {u['person'] or '-':<16} "
              f"{'active' if u['active'] else 'inactive (key revoked)'}" for u in logins] or ["  (none)"]
    emit(args, {"keys": keys, "logins": logins}, "\n".join(lines))
    return 0


def add_user(args: argparse.Namespace) -> int:
    if args.role != "admin" and not args.person:
        raise ValueError(f"--person is required for --role {args.role} (the rostered id)")
    with operator(args) as (school, by):
        exists = any(u["username"] == args.username for u in school.list_logins(by))
        password = "" if exists else read_password(args)  # an existing login needs none
        out = school.add_login(by, args.username, password, role=args.role, person=args.person,
                               name=args.name)
    if out["created"]:
        print(f"login {args.username!r} ({args.role}{', ' + args.person if args.person else ''}) created; "
              f"sign in at /login of 'pathwise serve --tenant {args.tenant}'")
    else:
        print(f"login {args.username!r} already exists for this {args.role}; nothing changed "
              f"(pathwise admin reset-password to change its password)")
    return 0


def reset_password(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        school.reset_password(by, args.username, read_password(args))
    print(f"password of {args.username!r} changed")
    return 0


def export_tenant(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        data = school.export_tenant(by)
    write_json(args.out, data)
    if args.out != "-":
        rows = sum(len(v) for v in data["tables"].values())
        print(f"tenant {args.tenant!r}: {rows} rows from {len(data['tables'])} tables written to {args.out}")
    return 0


def delete_tenant(args: argparse.Namespace) -> int:
    with operator(args) as (school, by):
        counts = school.delete_tenant(by, confirm=args.confirm)
    if not counts:
        print(f"tenant {args.tenant!r} holds nothing; nothing deleted")
    else:
        print(f"tenant {args.tenant!r} deleted: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
    return 0
