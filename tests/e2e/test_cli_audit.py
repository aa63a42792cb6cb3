"""`valuetrail audit export`, offline `audit verify`, and rebuilding the chain of a tampered log."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from projections.audit.heads import load_or_create_signing_key, public_key_pem
from tests.e2e.command_line import opened, run, write_history


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
