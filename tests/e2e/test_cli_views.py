"""The views from the command line: `db init` creates them, `project` keeps them, `rebuild`."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.process import ProjectorConfig
from service.cli import main
from service.config import Settings
from tests.e2e.command_line import VIEWS, console, run, tracked, write_history


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


def test_rebuild_help_lists_every_view(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["projections", "rebuild", "--help"])

    out = capsys.readouterr().out
    for view in ("portfolio_value", "measurement_series", "decision_trail", AUDIT_CHAIN):
        assert view in out
