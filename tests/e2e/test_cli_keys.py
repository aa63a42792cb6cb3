"""`valuetrail db init` and its first admin key, and the `keys` commands, on a store of our own."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from service.commands.common import FIRST_RUN_KEY_NAME
from tests.e2e.command_line import first_run_token, opened, run


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
    monkeypatch.setenv("VALUETRAIL_ADMIN_KEY", "automation-token-chosen-by-ops")

    code, out, err = run(capsys, "db", "init")

    assert code == 0
    assert "shown ONCE" not in err
    assert "automation-token-chosen-by-ops" not in out + err
    with opened(db) as app:
        assert app.authenticate("automation-token-chosen-by-ops") is not None
        assert len(app.list_api_keys()) == 1


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("changeme", "at least 24 characters"),
        ("${VALUETRAIL_ADMIN_KEY}", "unexpanded placeholder"),
        ("${ADMIN:-a-long-enough-default-token}", "unexpanded placeholder"),
    ],
)
def test_a_guessable_admin_key_stops_every_command_before_it_touches_the_store(
    db: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    key: str,
    said: str,
) -> None:
    monkeypatch.setenv("VALUETRAIL_ADMIN_KEY", key)

    code, _out, err = run(capsys, "db", "init")

    assert code == 2
    assert said in err and "VALUETRAIL_ADMIN_KEY" in err
    assert key not in err
    assert not (tmp_path / "var" / "valuetrail.db").exists()


def test_init_on_a_store_with_keys_says_how_to_get_a_lost_admin_token(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")

    code, _out, err = run(capsys, "db", "init")

    assert code == 0
    assert "shown ONCE" not in err
    assert "keys create --name NAME --role admin" in err


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
