"""Shared fixtures: database URLs (the values `VALUETRAIL_DB` takes) for SQLite and PostgreSQL.

PostgreSQL tests run against the server on 127.0.0.1:5432 (user `postgres`, trust auth), each in
a database of their own that is dropped afterwards. Without a server they are skipped, unless
`VALUETRAIL_REQUIRE_POSTGRES=1` (CI sets it), in which case they fail: a green CI run must have
exercised PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import cast

import psycopg
import pytest
from psycopg import sql

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
REQUIRE_POSTGRES_ENV = "VALUETRAIL_REQUIRE_POSTGRES"
# Tests that ask for these fixtures get the `postgres` marker even if their author forgot it.
POSTGRES_FIXTURES = frozenset({"postgres_url", "fresh_postgres_url"})


def postgres_required() -> bool:
    """True when a missing PostgreSQL must fail the run rather than skip tests."""
    return os.environ.get(REQUIRE_POSTGRES_ENV) == "1"


def _admin_conninfo() -> str:
    return (
        f"host={POSTGRES_HOST} port={POSTGRES_PORT} user={POSTGRES_USER} "
        "dbname=postgres connect_timeout=3"
    )


def _database_url(name: str) -> str:
    return f"postgresql://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


def _create_database() -> str:
    name = f"valuetrail_test_{secrets.token_hex(6)}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _temporary_database() -> Iterator[str]:
    name = _create_database()
    try:
        yield _database_url(name)
    finally:
        _drop_database(name)


@pytest.fixture(scope="session")
def _postgres_server() -> None:
    """Check once per session that PostgreSQL answers; skip or fail the asking test if not."""
    try:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}: {exc}"
        if postgres_required():
            pytest.fail(f"{message} ({REQUIRE_POSTGRES_ENV}=1)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url(_postgres_server: None) -> Iterator[str]:
    """URL of a PostgreSQL database shared by the whole session, dropped at its end."""
    yield from _temporary_database()


@pytest.fixture
def fresh_postgres_url(_postgres_server: None) -> Iterator[str]:
    """URL of an empty PostgreSQL database of this test's own, dropped after it."""
    yield from _temporary_database()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL, once per backend: the same test body runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "valuetrail.db")
    return cast(str, request.getfixturevalue("fresh_postgres_url"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a PostgreSQL fixture directly with `postgres`."""
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if POSTGRES_FIXTURES.intersection(fixturenames) and not item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With VALUETRAIL_REQUIRE_POSTGRES=1, a skipped PostgreSQL test counts as a failure."""
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and postgres_required()
        and item.get_closest_marker("postgres") is not None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"PostgreSQL test skipped but {REQUIRE_POSTGRES_ENV}=1 requires it to run: {reason}"
        )
    return report


@pytest.fixture(autouse=True, scope="module")
def module_audit_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The audit sealer state of apps a module shares (set before they are built)."""
    path = tmp_path_factory.mktemp("audit") / "audit_state.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VALUETRAIL_AUDIT_STATE", str(path))
        yield path


@pytest.fixture(autouse=True)
def audit_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own audit sealer state (VALUETRAIL_AUDIT_STATE), as each has its own store.

    The sealer trusts the head in this file: one shared by two stores would make it halt.
    """
    path = tmp_path / "audit_state.json"
    monkeypatch.setenv("VALUETRAIL_AUDIT_STATE", str(path))
    return path
