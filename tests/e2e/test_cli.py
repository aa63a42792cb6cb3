"""The `valuetrail` command line, run in-process against a SQLite store of the test's own."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from domain.application import ValuetrailApplication
from persistence import MEMORY_MODULE
from projections.audit.heads import load_or_create_signing_key, public_key_pem
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import build_views
from projections.process import ProjectorConfig
from service.app import build_application
from service.cli import main
from service.commands.common import FIRST_RUN_KEY_NAME, redacted
from service.config import Settings
from tests.integration.builders import FINANCE, build, measurement_items


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = "sqlite:///" + str(tmp_path / "var" / "valuetrail.db")
    monkeypatch.setenv("VALUETRAIL_DB", url)
    monkeypatch.setenv("VALUETRAIL_AUDIT_SIGNING_KEY", str(tmp_path / "var" / "audit.pem"))
    monkeypatch.setenv("VALUETRAIL_PROJECTOR_METRICS_PORT", "0")
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


# -- views: db init, project, projections rebuild ---------------------------------------------

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


def test_db_init_also_creates_every_view(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "db", "init")

    assert code == 0
    assert set(tracked(db)) >= VIEWS
    assert set(tracked(db).values()) == {0}
    assert all(view in out for view in VIEWS)


def test_the_projector_reads_the_services_settings() -> None:
    service, projector = Settings.from_env({}), ProjectorConfig.from_env({})
    assert (projector.db, projector.audit_signing_key) == (service.db, service.audit_signing_key)
    env = {"VALUETRAIL_DB": "sqlite:///x.db", "VALUETRAIL_PROJECTOR_BATCH": "50"}
    config = ProjectorConfig.from_env(env)
    assert (config.db, config.batch_size) == (Settings.from_env(env).db, 50)


def console(*argv: str) -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    return [str(script), *argv] if script.exists() else [sys.executable, "-m", "service.cli", *argv]


def test_project_runs_until_sigterm_and_a_rebuild_waits_for_it_to_stop(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    head = write_history(db)
    log = tmp_path / "project.log"
    with log.open("wb") as sink:
        projector = subprocess.Popen(console("project"), stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while tracked(db) != dict.fromkeys(VIEWS, head):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

        code, _out, err = run(capsys, "projections", "rebuild", "decision_trail")

        assert code == 1
        assert "running projector" in err
        projector.send_signal(signal.SIGTERM)
        assert projector.wait(timeout=10) == 0
    finally:
        if projector.poll() is None:
            projector.kill()
            projector.wait()
    output = log.read_text()
    assert {f"projector active for view {view}" in output for view in VIEWS} == {True}
    assert "Traceback" not in output

    code, out, _err = run(capsys, "projections", "rebuild", "decision_trail")

    assert code == 0
    assert out.startswith(f"decision_trail: rebuilt from {head} events in ")
    assert out.rstrip().endswith("events/s)")


def test_projections_rebuild_rebuilds_every_view_to_the_head(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    head = write_history(db)

    code, out, _err = run(capsys, "projections", "rebuild")

    assert code == 0
    assert {line.split(":")[0] for line in out.splitlines()} == VIEWS
    assert tracked(db) == dict.fromkeys(VIEWS, head)


def test_projections_rebuild_of_an_unknown_view_names_the_views(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")

    code, _out, err = run(capsys, "projections", "rebuild", "nope")

    assert code == 2
    assert "no view named 'nope'" in err
    assert "portfolio_value" in err


# -- audit export and offline verification ---------------------------------------------------


def test_an_export_verifies_offline_and_an_edited_one_does_not(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    head = write_history(db)
    run(capsys, "projections", "rebuild", "audit_chain")
    export, public_key = tmp_path / "export.jsonl", tmp_path / "public.pem"
    public_key.write_text(
        public_key_pem(load_or_create_signing_key(str(tmp_path / "var" / "audit.pem")))
    )

    code, _out, err = run(capsys, "audit", "export", "--output", str(export))

    assert code == 0, err
    lines = export.read_text().splitlines()
    assert sum(1 for line in lines if line.startswith('{"index"')) == head
    assert lines[-1].startswith('{"tree_size":')
    code, out, _err = run(capsys, "audit", "verify", str(export), "--public-key", str(public_key))
    assert code == 0
    assert out.startswith(f"verified: {head} events")

    # An auditor's copy in which someone raised one measurement from 1.50 to 9.50.
    lines = export.read_text().splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if "MeasurementRecorded" in line)
    lines[at] = lines[at].replace('\\"_data_\\":\\"1.50\\"', '\\"_data_\\":\\"9.50\\"')
    assert "9.50" in lines[at]
    export.write_text("".join(lines))
    code, out, _err = run(capsys, "audit", "verify", str(export), "--public-key", str(public_key))
    assert code == 1
    assert "NOT verified" in out
    assert f"position {at + 1}" in out


def raise_a_stored_measurement(url: str) -> int:
    """Edit one stored measurement behind the service's back (1.50 -> 9.50); its position."""
    with opened(url) as app:
        table = str(getattr(app.recorder, "events_table_name"))  # noqa: B009
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
        position, state = conn.execute(
            f"SELECT rowid, state FROM {table} WHERE topic = ? ORDER BY rowid LIMIT 1",
            ("valuetrail.benefit.MeasurementRecorded.v1",),
        ).fetchone()
        edited = bytes(state).replace(b'"_data_":"1.50"', b'"_data_":"9.50"')
        assert edited != bytes(state)
        conn.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (edited, position))
    return int(position)


def test_rebuilding_the_audit_chain_refuses_to_reseal_a_tampered_log_unless_forced(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")
    head = write_history(db)
    code, _out, err = run(capsys, "projections", "rebuild", "audit_chain")
    assert code == 0, err  # an intact chain is rebuilt without fuss
    bad = raise_a_stored_measurement(db)

    for argv in (("audit_chain",), ()):  # the one view, or every view (which includes it)
        code, out, err = run(capsys, "projections", "rebuild", *argv)

        assert code == 1
        assert out == ""  # refused before any view was touched
        assert "refusing to rebuild audit_chain" in err
        assert f"first bad position {bad}" in err
        assert "--force" in err

    code, out, err = run(capsys, "projections", "rebuild", "audit_chain", "--force")

    assert code == 0
    assert out.startswith(f"audit_chain: re-sealed {head} events")
    assert "re-seal statement signed" in out
    assert "warning: --force" in err
    assert f"first bad position {bad}" in err
    # The edit is now sealed: the log verifies and a plain rebuild is allowed again…
    code, _out, err = run(capsys, "projections", "rebuild", "audit_chain")
    assert code == 0, err
    assert "warning" not in err
    # …but every export from now on shows the re-seal, and offline verify never exits 0.
    export, public_key = tmp_path / "export.jsonl", tmp_path / "public.pem"
    public_key.write_text(
        public_key_pem(load_or_create_signing_key(str(tmp_path / "var" / "audit.pem")))
    )
    run(capsys, "audit", "export", "--output", str(export))
    code, out, _err = run(capsys, "audit", "verify", str(export), "--public-key", str(public_key))
    assert code == 3
    assert "RE-SEALED" in out


def test_audit_export_without_a_signing_key_says_so(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VALUETRAIL_AUDIT_SIGNING_KEY", str(tmp_path / "missing.pem"))

    code, _out, err = run(capsys, "audit", "export")

    assert code == 1
    assert "no audit signing key" in err


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


def test_rebuild_help_lists_every_view(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["projections", "rebuild", "--help"])

    out = capsys.readouterr().out
    for view in ("portfolio_value", "measurement_series", "decision_trail", AUDIT_CHAIN):
        assert view in out


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


def test_init_on_a_store_with_keys_says_how_to_get_a_lost_admin_token(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "init")

    code, _out, err = run(capsys, "db", "init")

    assert code == 0
    assert "shown ONCE" not in err
    assert "keys create --name NAME --role admin" in err
