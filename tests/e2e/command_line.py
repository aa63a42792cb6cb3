"""The `valuetrail` command line run in-process, and the store it leaves behind to look at."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from domain.application import ValuetrailApplication
from persistence import MEMORY_MODULE
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import build_views
from service.app import build_application
from service.cli import main
from service.config import Settings
from tests.integration.builders import FINANCE, build, measurement_items


@contextmanager
def opened(url: str) -> Iterator[ValuetrailApplication]:
    app = build_application(Settings(db=url))
    try:
        yield app
    finally:
        app.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def first_run_token(err: str) -> str:
    """The token printed inside the first-run banner."""
    lines = [line.strip() for line in err.splitlines()]
    return next(line for line in lines if line.startswith("vt_"))


#: Every view the projector keeps (those of the catalog, and the audit chain's sealer).
VIEWS = {
    *build_views(ValuetrailApplication(env={"PERSISTENCE_MODULE": MEMORY_MODULE})),
    AUDIT_CHAIN,
}


def tracked(url: str) -> dict[str, int]:
    """Each view's tracked position, read straight from the SQLite file."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return dict(conn.execute("SELECT view, position FROM vt_tracking").fetchall())


def write_history(url: str) -> int:
    """A portfolio with a measured benefit; returns the head position."""
    with opened(url) as app:
        setup = build(app)
        app.record_measurements(measurement_items(setup.benefit_id, 30), meta=FINANCE)
        return app.head_position()


def console(*argv: str) -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    return [str(script), *argv] if script.exists() else [sys.executable, "-m", "service.cli", *argv]
