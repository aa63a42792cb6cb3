"""The `valuetrail` command line (DESIGN §7): serve, api, project, db init, projections, keys,
audit, demo, openapi."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from domain.api_key import ROLES
from domain.errors import DomainError
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import VIEW_NAMES
from service.app import create_app
from service.commands.audit import cmd_audit_export, cmd_audit_verify, cmd_audit_witness
from service.commands.common import CommandError, ensure_first_key, opened, redacted
from service.commands.keys import cmd_keys_create, cmd_keys_list, cmd_keys_revoke
from service.commands.serving import cmd_api, cmd_db_init, cmd_project, cmd_serve
from service.commands.views import cmd_projections_rebuild
from service.config import Settings


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load the sample portfolio; a second run reports the one already loaded and adds nothing."""
    from demo import load_demo  # the story is data, read only when asked for

    with opened(settings, create_tables=True) as app:
        ensure_first_key(app, settings)
        summary = load_demo(app)
    print(summary.describe(f"http://{settings.host}:{settings.port}"))
    return 0


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    """Write the OpenAPI document the service serves at /openapi.json."""
    # A throwaway in-memory store: writing the spec must not need (or touch) a database.
    app = create_app({"db": "sqlite:///:memory:", "create_tables": True, "admin_key": None})
    try:
        response = app.test_client().get("/openapi.json")
        spec = response.get_json()
    finally:
        app.extensions["valuetrail"].close()
    text = json.dumps(spec, indent=2) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


Handler = Callable[[argparse.Namespace, Settings], int]


def _command(commands: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text[:1].upper() + help_text[1:] + "."
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `valuetrail`."""
    parser = argparse.ArgumentParser(
        prog="valuetrail",
        description="Event-sourced Value Management Office API. Configured by VALUETRAIL_* "
        "environment variables (VALUETRAIL_DB, VALUETRAIL_HOST, VALUETRAIL_PORT, ...).",
    )
    parser.add_argument(
        "--version", action="version", version=f"valuetrail {metadata.version('valuetrail')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(commands, "serve", cmd_serve, "create tables if needed, then serve the API")
    _command(commands, "api", cmd_api, "serve the API only (tables must exist)")
    _command(commands, "project", cmd_project, "run the projector only (the views' writer)")

    db = commands.add_parser(
        "db", help="database administration", description="Database administration."
    )
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    _command(db_commands, "init", cmd_db_init, "create the event store's and the views' tables")

    views = commands.add_parser(
        "projections",
        help="manage the views (read models)",
        description="Manage the views (read models) built from the event log.",
    )
    view_commands = views.add_subparsers(
        dest="projections_command", required=True, metavar="COMMAND"
    )
    rebuild = _command(
        view_commands, "rebuild", cmd_projections_rebuild, "rebuild views from the whole log"
    )
    rebuild.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help=f"one view: {', '.join(VIEW_NAMES)} (default: every view)",
    )
    rebuild.add_argument(
        "--force",
        action="store_true",
        help=f"rebuild {AUDIT_CHAIN} even if the log does not verify: re-seals the log as it "
        "stands and signs a re-seal statement (offline verify then exits 3)",
    )
    rebuild.add_argument(
        "--processes",
        type=_positive,
        metavar="N",
        help="share the views among N processes (default: 2 on PostgreSQL with two CPUs and "
        "a log of 100,000 events or more, else 1)",
    )

    audit = commands.add_parser(
        "audit",
        help="tamper evidence (the audit chain)",
        description="Tamper evidence: export the sealed log and verify it offline.",
    )
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = _command(audit_commands, "verify", cmd_audit_verify, "check an export offline")
    verify.add_argument("file", help="an export written by `valuetrail audit export`")
    verify.add_argument(
        "--public-key", required=True, metavar="KEY", help="the trusted public key (PEM)"
    )
    earlier = verify.add_mutually_exclusive_group()
    earlier.add_argument("--previous", metavar="OLD", help="an older export the log must extend")
    earlier.add_argument("--trusted-head", metavar="HEAD", help="a signed head (JSON) to extend")
    watch = _command(audit_commands, "witness", cmd_audit_witness, "check a running log (cron)")
    watch.add_argument("--url", required=True, help="the API root, e.g. http://host:8000/api/v1")
    watch.add_argument("--public-key", required=True, metavar="KEY", help="trusted key (PEM)")
    watch.add_argument("--state", required=True, metavar="FILE", help="the head seen last")
    export = _command(audit_commands, "export", cmd_audit_export, "write an export")
    export.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")

    keys = commands.add_parser(
        "keys", help="manage API keys", description="Issue, list and revoke API keys."
    )
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = _command(key_commands, "create", cmd_keys_create, "issue a key; prints its token")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument("--role", required=True, choices=ROLES)
    _command(key_commands, "list", cmd_keys_list, "list every key")
    revoke = _command(key_commands, "revoke", cmd_keys_revoke, "revoke a key")
    revoke.add_argument("id", type=UUID, help="the key's id (see `keys list`)")
    revoke.add_argument("--reason", default="revoked", help="why (recorded in the audit trail)")

    _command(commands, "demo", cmd_demo, "load a realistic sample portfolio (once)")
    openapi = _command(commands, "openapi", cmd_openapi, "write the OpenAPI document")
    openapi.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `valuetrail` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        settings = Settings.from_env()
    except ValueError as error:  # a malformed or unsafe VALUETRAIL_* setting
        return _fail(f"invalid configuration: {error}", 2)
    try:
        return handler(args, settings)
    except CommandError as error:
        return _fail(error.message, error.code)
    except DomainError as error:
        return _fail(error.message, 1)
    except PersistenceError as error:
        return _fail(
            f"the event store at {redacted(settings.db)} is not usable ({error}); "
            "is it reachable, and has `valuetrail db init` been run?",
            1,
        )
    except BrokenPipeError:
        # The reader went away (`valuetrail audit verify … | head -1`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _fail(message: str, code: int) -> int:
    print(f"valuetrail: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
