"""Commands that run the service: serve, api, project and db init."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from projections import process
from service.app import create_app
from service.commands.common import ensure_first_key, init_database, opened, redacted
from service.config import Settings
from service.gunicorn_conf import ProjectorChild, gunicorn_options, projector_hooks


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
    init_database(settings)
    return _run_api(settings, with_projector=True)


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    """Run the API workers only, on tables that already exist (`project` runs elsewhere)."""
    with opened(settings, create_tables=False) as app:
        ensure_first_key(app, settings)
    return _run_api(settings, with_projector=False)


def cmd_project(args: argparse.Namespace, settings: Settings) -> int:
    """Run the projector until SIGTERM or SIGINT (a second one stands by)."""
    return process.main()


def cmd_db_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create the event store's and the views' tables (safe to repeat)."""
    views = init_database(settings)
    print(f"tables ready in {redacted(settings.db)} (views: {', '.join(views)})")
    return 0
