"""The `valuetrail` command line, run in-process against a SQLite store of the test's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from domain.application import ValuetrailApplication
from service.app import build_application
from service.cli import FIRST_RUN_KEY_NAME, main, redacted
from service.config import Settings


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = "sqlite:///" + str(tmp_path / "var" / "valuetrail.db")
    monkeypatch.setenv("VALUETRAIL_DB", url)
    monkeypatch.delenv("VALUETRAIL_ADMIN_KEY", raising=False)
    return url


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


def test_db_init_creates_tables_and_prints_the_first_admin_key_once(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "db", "init")

    assert code == 0
    assert "tables ready" in out
    assert "shown ONCE" in err
    token = first_run_token(err)
    with opened(db) as app:
        key = app.authenticate(token)
        assert key is not None
        assert (key.name, key.role) == (FIRST_RUN_KEY_NAME, "admin")

    code, out, err = run(capsys, "db", "init")

    assert code == 0
    assert "vt_" not in out + err
    with opened(db) as app:
        assert len(app.list_api_keys()) == 1


def test_db_init_with_an_admin_key_set_creates_that_key_and_prints_none(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALUETRAIL_ADMIN_KEY", "automation-token")

    code, out, err = run(capsys, "db", "init")

    assert code == 0
    assert "shown ONCE" not in err
    assert "automation-token" not in out + err
    with opened(db) as app:
        assert app.authenticate("automation-token") is not None
        assert len(app.list_api_keys()) == 1


def test_keys_create_prints_a_token_that_authenticates(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")

    code, out, _err = run(capsys, "keys", "create", "--name", "finance-feed", "--role", "ingest")

    assert code == 0
    token = out.strip()
    assert len(out.splitlines()) == 1
    with opened(db) as app:
        key = app.authenticate(token)
        assert key is not None
        assert (key.name, key.role) == ("finance-feed", "ingest")


def test_keys_list_shows_every_key_and_whether_it_is_revoked(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    run(capsys, "keys", "create", "--name", "finance-feed", "--role", "ingest")

    code, out, _err = run(capsys, "keys", "list")

    assert code == 0
    header, *rows = [line.split() for line in out.splitlines()]
    assert header == ["id", "name", "role", "revoked"]
    assert [row[1:] for row in rows] == [
        [FIRST_RUN_KEY_NAME, "admin", "no"],
        ["finance-feed", "ingest", "no"],
    ]
    assert all(UUID(row[0]) for row in rows)


def test_keys_revoke_stops_the_token_working(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "db", "init")
    _code, token, _err = run(capsys, "keys", "create", "--name", "leaver", "--role", "manager")
    with opened(db) as app:
        key = app.authenticate(token.strip())
        assert key is not None
        key_id = key.id

    code, out, _err = run(capsys, "keys", "revoke", str(key_id), "--reason", "left")

    assert code == 0
    assert str(key_id) in out
    with opened(db) as app:
        assert app.authenticate(token.strip()) is None
        assert app.get_api_key(key_id).revoked_reason == "left"
    _code, listing, _err = run(capsys, "keys", "list")
    assert any(line.split()[1:] == ["leaver", "manager", "yes"] for line in listing.splitlines())


def test_keys_revoke_of_an_unknown_or_revoked_key_fails_with_a_message(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    unknown = "00000000-0000-4000-8000-000000000000"

    code, _out, err = run(capsys, "keys", "revoke", unknown)

    assert code == 1
    assert "not found" in err
    _code, listing, _err = run(capsys, "keys", "list")
    admin_id = listing.splitlines()[1].split()[0]
    assert run(capsys, "keys", "revoke", admin_id)[0] == 0
    code, _out, err = run(capsys, "keys", "revoke", admin_id)
    assert code == 1
    assert "already revoked" in err


def test_key_commands_before_db_init_say_what_to_do(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "keys", "list")

    assert code == 1
    assert "valuetrail db init" in err
    assert "Traceback" not in err


def test_openapi_writes_the_spec_without_touching_the_database(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "openapi.json"

    code, _out, _err = run(capsys, "openapi", "--output", str(target))

    assert code == 0
    spec = json.loads(target.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/api-keys" in spec["paths"]
    assert not (tmp_path / "var").exists()


def test_openapi_writes_to_stdout_by_default(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "openapi")

    assert code == 0
    assert json.loads(out)["info"]["title"] == "valuetrail"


def test_project_says_there_is_no_projector_yet(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "project")

    assert code == 2
    assert "no projector in this version" in err


def test_a_malformed_setting_is_reported_not_raised(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALUETRAIL_DB", "mysql://nope")

    code, _out, err = run(capsys, "db", "init")

    assert code != 0
    assert "VALUETRAIL_DB" in err


def test_database_urls_are_printed_without_their_password() -> None:
    assert redacted("postgresql://vt:s3cret@db:5432/vt") == "postgresql://vt:***@db:5432/vt"
    assert redacted("postgresql://vt@db/vt") == "postgresql://vt@db/vt"
    assert redacted("sqlite:///var/valuetrail.db") == "sqlite:///var/valuetrail.db"
