"""The `valuetrail` command line: its help, settings, OpenAPI output and a mistyped store path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projections.audit.heads import load_or_create_signing_key
from service.cli import main
from service.commands.common import redacted
from tests.e2e.command_line import run


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


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"valuetrail {metadata.version('valuetrail')}"


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["api"],
        ["project"],
        ["db"],
        ["db", "init"],
        ["projections"],
        ["projections", "rebuild"],
        ["audit"],
        ["audit", "verify"],
        ["audit", "export"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["demo"],
        ["openapi"],
    ],
)
def test_every_command_s_help_says_what_it_does(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])

    out = capsys.readouterr().out
    assert out.startswith("usage: valuetrail")
    # The first paragraph after the usage lines is the description, before the arguments.
    description = out.split("\n\n")[1]
    assert description.strip() and not description.startswith(("options", "positional")), out


@pytest.mark.parametrize(
    "argv", [["keys", "list"], ["audit", "export"], ["projections", "rebuild"], ["api"]]
)
def test_a_command_on_a_mistyped_sqlite_path_says_so_and_creates_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.setenv("VALUETRAIL_DB", "sqlite:///" + str(tmp_path / "vaar" / "valutrail.db"))
    monkeypatch.setenv("VALUETRAIL_AUDIT_SIGNING_KEY", str(tmp_path / "key.pem"))
    monkeypatch.delenv("VALUETRAIL_ADMIN_KEY", raising=False)
    load_or_create_signing_key(str(tmp_path / "key.pem"))  # only the store is missing

    code, _out, err = run(capsys, *argv)

    assert code == 1
    assert "no store at" in err and "valuetrail db init" in err
    assert not (tmp_path / "vaar").exists()
