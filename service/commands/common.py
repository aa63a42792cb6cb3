"""What every command needs: an application opened on the configured store, the first-run
admin key, the views' projectors, and errors a user can act on."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

from domain.application import ValuetrailApplication
from domain.values import Meta
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase
from projections.runner import Projector
from service.app import build_application
from service.config import Settings

FIRST_RUN_KEY_NAME = "first-run-admin"


class CommandError(Exception):
    """A command failed in a way the user can act on; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def redacted(url: str) -> str:
    """The database URL with its password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def cli_meta() -> Meta:
    """Who acts in a command: the system, under a request id of its own."""
    return Meta(actor="system", request_id=f"cli-{uuid4().hex}")


@contextmanager
def opened(settings: Settings, *, create_tables: bool) -> Iterator[ValuetrailApplication]:
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
    _key, token = app.issue_api_key(name=FIRST_RUN_KEY_NAME, role="admin", meta=cli_meta()).value
    _banner(token)
    return token


@contextmanager
def projectors_of(settings: Settings, app: ValuetrailApplication) -> Iterator[dict[str, Projector]]:
    """A projector per view (the audit sealer included), view tables created."""
    db = ViewDatabase.from_url(settings.db)
    try:
        yield build_projectors(
            app, db, audit_views(settings.audit_signing_key, settings.audit_state)
        )
    finally:
        db.close()


def init_database(settings: Settings) -> list[str]:
    """Create the event store's and the views' tables, and apply the first-run rule."""
    with opened(settings, create_tables=True) as app:
        ensure_first_key(app, settings)
        with projectors_of(settings, app) as projectors:
            return list(projectors)
