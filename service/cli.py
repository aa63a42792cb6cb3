"""The `valuetrail` command line (DESIGN §7): serve, db init, keys, demo, openapi."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import PersistenceError
from gunicorn.app.base import BaseApplication

from domain.api_key import ROLES
from domain.application import ValuetrailApplication
from domain.errors import DomainError
from domain.values import Meta
from service.app import build_application, create_app
from service.config import Settings
from service.demo import load_demo
from service.gunicorn_conf import gunicorn_options

FIRST_RUN_KEY_NAME = "first-run-admin"


class CommandError(Exception):
    """A command failed in a way the user can act on; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ApiServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn running the app factory in each worker (no preload: build after the fork)."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's config."""
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        """Build the WSGI app in this worker; tables already exist, so never create them."""
        return create_app({"create_tables": False})


def redacted(url: str) -> str:
    """The database URL with its password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def _meta() -> Meta:
    return Meta(actor="system", request_id=f"cli-{uuid4().hex}")


@contextmanager
def _opened(settings: Settings, *, create_tables: bool) -> Iterator[ValuetrailApplication]:
    """The application for one command, closed (pool and all) before anything forks."""
    app = build_application(replace(settings, create_tables=create_tables))
    try:
        yield app
    finally:
        app.close()


def _banner(token: str) -> None:
    rule = "=" * 72
    print(
        f"\n{rule}\n"
        "valuetrail: no API keys existed, so this admin key was created.\n"
        "Its token is shown ONCE, here; the service stores only its hash.\n\n"
        f"    {token}\n\n"
        "Send it as `Authorization: Bearer <token>`. Issue narrower keys with\n"
        "POST /api/v1/api-keys or `valuetrail keys create`. To choose the admin token\n"
        "yourself (automation), set VALUETRAIL_ADMIN_KEY instead.\n"
        f"{rule}\n",
        file=sys.stderr,
        flush=True,
    )


def ensure_first_key(app: ValuetrailApplication, settings: Settings) -> str | None:
    """Apply the first-run rule; return the token of a key generated now, if any."""
    if settings.admin_key:
        app.ensure_admin_key(settings.admin_key)
        return None
    if app.has_api_keys():
        return None
    _key, token = app.issue_api_key(name=FIRST_RUN_KEY_NAME, role="admin", meta=_meta()).value
    _banner(token)
    return token


def _run_api(settings: Settings) -> int:
    print(
        f"valuetrail: serving http://{settings.host}:{settings.port} with {settings.workers} "
        f"workers on {redacted(settings.db)}",
        file=sys.stderr,
        flush=True,
    )
    ApiServer(gunicorn_options(settings)).run()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Create tables once, apply the first-run rule, then run the API workers."""
    with _opened(settings, create_tables=True) as app:
        ensure_first_key(app, settings)
    return _run_api(settings)


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    """Run the API workers only, on tables that already exist."""
    with _opened(settings, create_tables=False) as app:
        ensure_first_key(app, settings)
    return _run_api(settings)


def cmd_project(args: argparse.Namespace, settings: Settings) -> int:
    """The projector process does not exist yet."""
    raise CommandError("no projector in this version", code=2)


def cmd_db_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create the event store's tables (safe to repeat)."""
    with _opened(settings, create_tables=True) as app:
        ensure_first_key(app, settings)
    print(f"tables ready in {redacted(settings.db)}")
    return 0


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """Issue a key and print its token (the only time it is shown) on stdout."""
    with _opened(settings, create_tables=False) as app:
        key, token = app.issue_api_key(name=args.name, role=args.role, meta=_meta()).value
    print(f"issued {key.role} key {key.id} ({key.name}); its token, shown once:", file=sys.stderr)
    print(token)
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every key as a table."""
    with _opened(settings, create_tables=False) as app:
        keys = app.list_api_keys()
    rows = [("id", "name", "role", "revoked")]
    rows += [(str(k.id), k.name, k.role, "yes" if k.revoked else "no") for k in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a key; it stops working at once."""
    with _opened(settings, create_tables=False) as app:
        key = app.revoke_api_key(args.id, reason=args.reason, meta=_meta()).value
    print(f"revoked {key.role} key {key.id} ({key.name})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load the sample portfolio; a second run reports the one already loaded and adds nothing."""
    with _opened(settings, create_tables=True) as app:
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
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `valuetrail`."""
    parser = argparse.ArgumentParser(
        prog="valuetrail",
        description="Event-sourced Value Management Office API. Configured by VALUETRAIL_* "
        "environment variables (VALUETRAIL_DB, VALUETRAIL_HOST, VALUETRAIL_PORT, ...).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(commands, "serve", cmd_serve, "create tables if needed, then serve the API")
    _command(commands, "api", cmd_api, "serve the API only (tables must exist)")
    _command(commands, "project", cmd_project, "run the projector (not in this version)")

    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    _command(db_commands, "init", cmd_db_init, "create the event store's tables")

    keys = commands.add_parser("keys", help="manage API keys")
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
    except ValueError as error:  # a malformed VALUETRAIL_* number
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


def _fail(message: str, code: int) -> int:
    print(f"valuetrail: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
