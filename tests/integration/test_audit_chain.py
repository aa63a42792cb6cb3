"""The audit chain on SQLite and PostgreSQL: sealed by the projector, tampered with in SQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.application import ValuetrailApplication
from projections.audit_chain import (
    SealerView,
    VerifyResult,
    ensure_tables,
    export_lines,
    public_key_pem,
    verify_export,
    verify_store,
)
from projections.db import ViewDatabase, pg_conninfo
from projections.runner import Projector
from service.audit_cli import export_to, verify_file
from tests.integration.builders import BOARD, FINANCE, Setup, build, measurement_items, opened

KEY = Ed25519PrivateKey.generate()
MEASUREMENT = "valuetrail.benefit.MeasurementRecorded.v1"


class EventTable:
    """The application's stored events, edited behind its back as an intruder with SQL would."""

    def __init__(self, url: str, app: ValuetrailApplication) -> None:
        self.url = url
        self.table = str(getattr(app.recorder, "events_table_name"))  # noqa: B009
        self.sqlite = url.startswith("sqlite:///")
        # SQLite numbers events by rowid; eventsourcing's PostgreSQL table has a column.
        self.position = "rowid" if self.sqlite else "notification_id"

    def execute(self, *statements: tuple[str, Sequence[Any]]) -> list[Any]:
        """Run statements (`?` placeholders) in one transaction; the last one's rows."""
        rows: list[Any] = []
        if self.sqlite:
            with closing(sqlite3.connect(self.url[len("sqlite:///") :])) as conn, conn:
                for sql, params in statements:
                    rows = conn.execute(sql, params).fetchall()
            return rows
        with psycopg.connect(pg_conninfo(self.url)) as pg:
            for sql, params in statements:
                cursor = pg.execute(sql.replace("?", "%s").encode(), params)
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def state(self, position: int) -> bytes:
        """The stored state bytes of one event."""
        sql = f"SELECT state FROM {self.table} WHERE {self.position} = ?"
        return bytes(self.execute((sql, (position,)))[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        """Overwrite one event's payload."""
        sql = f"UPDATE {self.table} SET state = ? WHERE {self.position} = ?"
        self.execute((sql, (state, position)))

    def delete(self, position: int) -> None:
        """Remove one event."""
        self.execute((f"DELETE FROM {self.table} WHERE {self.position} = ?", (position,)))

    def swap(self, a: int, b: int) -> None:
        """Exchange the contents (originator, version, topic, state) of two rows in place."""
        columns = "originator_id, originator_version, topic, state"
        select = f"SELECT {columns} FROM {self.table} WHERE {self.position} = ?"
        first, second = self.execute((select, (a,)))[0], self.execute((select, (b,)))[0]
        update = (
            f"UPDATE {self.table} SET originator_id = ?, originator_version = ?, topic = ?,"
            f" state = ? WHERE {self.position} = ?"
        )
        parking = uuid4().hex if self.sqlite else uuid4()  # frees a's key for b's contents
        self.execute(
            (f"UPDATE {self.table} SET originator_id = ? WHERE {self.position} = ?", (parking, a)),
            (update, (*first, b)),
            (update, (*second, a)),
        )


@dataclass
class Store:
    """An application with ~50 events, its view database and the sealer's projector."""

    url: str
    app: ValuetrailApplication
    db: ViewDatabase
    projector: Projector
    setup: Setup

    @property
    def events(self) -> EventTable:
        """Direct SQL access to the stored events."""
        return EventTable(self.url, self.app)

    def verify(self, key: Ed25519PrivateKey = KEY) -> VerifyResult:
        """Verify the live store against the seal, trusting `key`."""
        return verify_store(self.app, self.db, key.public_key(), page_size=7)

    def measure(self, count: int, *, start: int = 0) -> None:
        """Record `count` measurements, one event each."""
        items = measurement_items(self.setup.benefit_id, count, start=start)
        self.app.record_measurements(items, meta=FINANCE)

    def positions_of(self, topic: str) -> list[int]:
        """Log positions of the events with this topic."""
        log = self.app.recorder.select_notifications(start=1, limit=10_000)
        return [n.id for n in log if n.topic == topic]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A fresh store with ~50 events, all sealed (checkpoints every 10 events)."""
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        app.revise_cost_forecast(
            setup.initiative_id, periods={"2024-02": "1000"}, reason="Quote", meta=BOARD
        )
        db = ViewDatabase.from_url(db_url)
        projector = Projector(app, db, SealerView(KEY, checkpoint_every=10), batch_size=8)
        store = Store(db_url, app, db, projector, setup)
        store.measure(20)
        projector.setup()
        projector.catch_up()
        try:
            yield store
        finally:
            db.close()


def test_an_untouched_store_verifies(store: Store) -> None:
    head = store.app.head_position()

    result = store.verify()

    assert result.verified, result.reason
    assert result.events_checked >= 50
    assert result.head_position == head
    with store.db.read() as cursor:
        cursor.execute("SELECT chain_hash FROM vt_chain WHERE position = ?", (head,))
        assert result.head_hash == cursor.fetchone()[0]


def test_events_after_the_seal_are_reported_unsealed_not_bad(store: Store) -> None:
    sealed = store.app.head_position()
    store.measure(3, start=100)
    newer = store.app.recorder.select_notifications(start=sealed + 1, limit=100)

    result = store.verify()

    assert result.verified
    assert (result.head_position, result.unsealed_events) == (sealed, len(newer))


def test_an_edited_payload_is_found_at_its_position(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[17]
    state = store.events.state(position)
    store.events.set_state(position, state.replace(b'"1.50"', b'"9.50"'))
    store.measure(5, start=100)  # the sealer carries on afterwards; the break stays visible
    store.projector.catch_up()

    result = store.verify()

    assert not result.verified
    assert result.first_bad_position == position
    assert result.head_position < position


def test_a_deleted_event_is_found_at_its_position(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[5]
    store.events.delete(position)

    assert store.verify().first_bad_position == position


def test_swapped_rows_are_found_at_the_earlier_position(store: Store) -> None:
    first, second = store.positions_of(MEASUREMENT)[3], store.positions_of(MEASUREMENT)[15]
    store.events.swap(first, second)

    assert store.verify().first_bad_position == first


def test_a_reseal_by_an_intruder_without_the_key_fails(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[10]
    store.events.set_state(position, store.events.state(position).replace(b"1.50", b"7.50"))
    intruder = Projector(store.app, store.db, SealerView(Ed25519PrivateKey.generate()))
    intruder.rebuild()  # the chain now matches the edited log, but the signature cannot

    result = store.verify()

    assert not result.verified
    assert result.reason is not None and "signature" in result.reason


def test_a_rebuilt_chain_equals_the_incremental_one(store: Store) -> None:
    query = "SELECT position, originator_id, version, topic, state_sha256, leaf, chain_hash FROM"
    with store.db.read() as cursor:
        cursor.execute(f"{query} vt_chain ORDER BY position")
        incremental = cursor.fetchall()

    store.projector.rebuild(batch_size=13)

    with store.db.read() as cursor:
        cursor.execute(f"{query} vt_chain ORDER BY position")
        assert cursor.fetchall() == incremental
    assert store.verify().verified


def test_an_export_verifies_offline_and_a_changed_byte_fails(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, key_file = tmp_path / "audit.jsonl", tmp_path / "audit.pub"
    key_file.write_text(public_key_pem(KEY))
    with export.open("w", encoding="utf-8") as out:
        assert export_to(store.app, store.db, KEY, out) == 0

    assert verify_file(str(export), str(key_file)) == 0
    summary, result = capsys.readouterr().out.splitlines()
    assert summary.startswith("verified: ")
    assert json.loads(result)["head_position"] == store.app.head_position()

    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    bad_line = 20
    position = json.loads(lines[bad_line])["position"]
    lines[bad_line] = lines[bad_line].replace("req-", "reQ-", 1)
    export.write_text("".join(lines), encoding="utf-8")

    assert verify_file(str(export), str(key_file)) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[1])["first_bad_position"] == position


def test_an_export_of_a_tampered_store_fails_at_the_tampered_event(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[12]
    store.events.set_state(position, store.events.state(position) + b" ")
    pem = public_key_pem(KEY)

    result = verify_export(export_lines(store.app, store.db, pem, page_size=9), pem)

    assert not result.verified
    assert result.first_bad_position == position


def test_an_export_checked_with_another_key_fails(store: Store) -> None:
    lines = list(export_lines(store.app, store.db, public_key_pem(KEY)))

    assert verify_export(lines, public_key_pem(KEY)).verified
    assert not verify_export(lines, public_key_pem(Ed25519PrivateKey.generate())).verified


def test_a_store_not_yet_sealed_has_nothing_verified_and_says_so(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        build(app)
        head = app.head_position()
        db = ViewDatabase.from_url(db_url)
        try:
            ensure_tables(db)
            result = verify_store(app, db, KEY.public_key())
            lines = list(export_lines(app, db, public_key_pem(KEY)))
        finally:
            db.close()

    assert result.verified
    assert (result.events_checked, result.unsealed_events) == (0, head)
    assert [json.loads(line)["checkpoint"] for line in lines] == [None]
