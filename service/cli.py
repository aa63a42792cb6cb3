"""The `valuetrail` command line (DESIGN §7): serve, api, project, db init, projections, keys,
audit, demo, openapi."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import PersistenceError
from gunicorn.app.base import BaseApplication

from domain.api_key import ROLES
from domain.application import ValuetrailApplication
from domain.errors import DomainError
from domain.values import Meta
from projections import process
from projections.audit_store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import VIEW_NAMES, audit_views, build_projectors
from projections.db import ViewDatabase
from projections.rebuild import processes_for, rebuild_in_processes
from projections.runner import Projector
from service import audit_cli, witness
from service.app import build_application, create_app
from service.config import Settings
from service.gunicorn_conf import ProjectorChild, gunicorn_options, projector_hooks

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
        """Build the WSGI app in this worker: tables exist, and a projector process (not the
        request) keeps the views up to date."""
        return create_app({"create_tables": False, "projector_inline": False})


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
    if not create_tables:
        _require_store(settings.db)
    app = build_application(replace(settings, create_tables=create_tables))
    try:
        yield app
    finally:
        app.close()


def _require_store(db: str) -> None:
    """A command that only uses the store must not create one at a mistyped SQLite path."""
    if db.startswith("sqlite:///"):
        path = db[len("sqlite:///") :]
        if path and path != ":memory:" and not os.path.exists(path):
            raise CommandError(
                f"no store at {path}: check VALUETRAIL_DB, or create one with `valuetrail db init`"
            )


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
        print(
            "valuetrail: API keys exist already. Lost the admin token? Issue another with "
            "`valuetrail keys create --name NAME --role admin` (or set VALUETRAIL_ADMIN_KEY).",
            file=sys.stderr,
            flush=True,
        )
        return None
    _key, token = app.issue_api_key(name=FIRST_RUN_KEY_NAME, role="admin", meta=_meta()).value
    _banner(token)
    return token


@contextmanager
def _projectors(settings: Settings, app: ValuetrailApplication) -> Iterator[dict[str, Projector]]:
    """A projector per view (the audit sealer included), view tables created."""
    db = ViewDatabase.from_url(settings.db)
    try:
        yield build_projectors(
            app, db, audit_views(settings.audit_signing_key, settings.audit_state)
        )
    finally:
        db.close()


def _init_database(settings: Settings) -> list[str]:
    """Create the event store's and the views' tables, and apply the first-run rule."""
    with _opened(settings, create_tables=True) as app:
        ensure_first_key(app, settings)
        with _projectors(settings, app) as projectors:
            return list(projectors)


def _run_api(settings: Settings, *, with_projector: bool) -> int:
    print(
        f"valuetrail: serving http://{settings.host}:{settings.port} with {settings.workers} "
        f"workers{' and a projector' if with_projector else ''} on {redacted(settings.db)}",
        file=sys.stderr,
        flush=True,
    )
    options = gunicorn_options(settings)
    if with_projector:
        options = projector_hooks(options, ProjectorChild())
    ApiServer(options).run()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Create tables once, then run the API workers and the projector beside them."""
    _init_database(settings)
    return _run_api(settings, with_projector=True)


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    """Run the API workers only, on tables that already exist (`project` runs elsewhere)."""
    with _opened(settings, create_tables=False) as app:
        ensure_first_key(app, settings)
    return _run_api(settings, with_projector=False)


def cmd_project(args: argparse.Namespace, settings: Settings) -> int:
    """Run the projector until SIGTERM or SIGINT (a second one stands by)."""
    return process.main()


def cmd_db_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create the event store's and the views' tables (safe to repeat)."""
    views = _init_database(settings)
    print(f"tables ready in {redacted(settings.db)} (views: {', '.join(views)})")
    return 0


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Empty one view (or all) and build it again from the whole log, in batches."""
    with _opened(settings, create_tables=False) as app, _projectors(settings, app) as projectors:
        names = [args.name] if args.name else list(projectors)
        if args.name and args.name not in projectors:
            raise CommandError(
                f"no view named {args.name!r}; the views are {', '.join(projectors)}", code=2
            )
        with ExitStack() as locks:
            for name in names:
                # The same lock the projector holds while a view is active (Projector.run).
                if not locks.enter_context(projectors[name].db.exclusive(f"view-{name}")):
                    raise CommandError(
                        f"a running projector is keeping view {name} up to date; stop it "
                        "(or the service) before rebuilding"
                    )
            if AUDIT_CHAIN in names:
                refusal = audit_cli.check_before_rebuild(
                    app, projectors[AUDIT_CHAIN].db, settings, args.force
                )
                if refusal:
                    raise CommandError(refusal)
                if args.force:  # re-sealed here, with a signed statement; the rest as usual
                    names.remove(AUDIT_CHAIN)
                    print(audit_cli.reseal_log(app, projectors[AUDIT_CHAIN].db, settings))
                    if not names:
                        return 0
            # One pass over the log per process, each event decoded once for its views.
            processes = args.processes or processes_for(
                settings.db, app.head_position(), len(names)
            )
            started = time.perf_counter()
            count = rebuild_in_processes(
                settings.db,
                settings.audit_signing_key,
                names,
                processes=processes,
                state_path=settings.audit_state,
            )
            elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else 0.0
    together = ""
    if len(names) > 1:
        passes = "one pass" if processes == 1 else f"{processes} processes"
        together = f", with {len(names) - 1} other views in {passes}"
    for name in names:
        print(
            f"{name}: rebuilt from {count} events in {elapsed:.2f} s ({rate:,.0f} events/s)"
            + together
        )
    return 0


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Check an export offline against a trusted public key (no database, no server)."""
    return audit_cli.verify_file(
        args.file, args.public_key, previous=args.previous, trusted=args.trusted_head
    )


def cmd_audit_witness(args: argparse.Namespace, settings: Settings) -> int:
    """Check a running log's latest head against the one seen last (the auditor's cron job)."""
    return witness.run(args.url, args.public_key, args.state, os.environ.get(witness.TOKEN_ENV))


def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every sealed event and the newest signed checkpoint as JSON Lines."""
    if not os.path.exists(settings.audit_signing_key):
        raise CommandError(
            f"no audit signing key at {settings.audit_signing_key} (VALUETRAIL_AUDIT_SIGNING_KEY);"
            " nothing has been sealed with it"
        )
    with _opened(settings, create_tables=False) as app:
        db = ViewDatabase.from_url(settings.db)
        try:
            if args.output in (None, "-"):
                return audit_cli.export_to(app, db, sys.stdout)
            with open(args.output, "w", encoding="utf-8") as out:
                code = audit_cli.export_to(app, db, out)
            print(f"wrote {args.output}", file=sys.stderr)
            return code
        finally:
            db.close()


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
    from demo import load_demo  # the story is data, read only when asked for

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
