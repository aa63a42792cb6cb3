"""The audit log on SQLite and PostgreSQL: sealed by the projector, attacked in SQL.

Each attack is one an operator or anyone with write access to the database (but not the
signing key, nor the sealer's state file) can make; each must stop the sealer and fail
verification, online and offline.
"""

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
from projections.audit.export import read_export
from projections.audit.heads import TreeHead
from projections.audit.state import read_state
from projections.audit.verify import Report, verify_lines
from projections.audit_reads import (
    LogReport,
    consistency_proof,
    export_lines,
    inclusion_proof,
    verify_store,
)
from projections.audit_sealer import SealerHalted, SealerView, reseal
from projections.audit_store import latest_head, signed_items
from projections.db import ViewDatabase, pg_conninfo
from projections.metrics import AuditStatus, AuditWatch, ProjectorCollector
from projections.runner import Projector, rebuild_views
from tests.integration.builders import BOARD, FINANCE, Setup, build, measurement_items, opened
from tests.unit import rfc9162

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
    state: Path
    projector: Projector
    setup: Setup

    @property
    def events(self) -> EventTable:
        """Direct SQL access to the stored events (and, through `execute`, every table)."""
        return EventTable(self.url, self.app)

    def verify(self) -> LogReport:
        """Verify the live store against its signed heads and the sealer's state file."""
        return verify_store(self.app, self.db, KEY.public_key(), str(self.state))

    def measure(self, count: int, *, start: int = 0) -> None:
        """Record `count` measurements, one event each."""
        items = measurement_items(self.setup.benefit_id, count, start=start)
        self.app.record_measurements(items, meta=FINANCE)

    def positions_of(self, topic: str) -> list[int]:
        """Log positions of the events with this topic."""
        log = self.app.recorder.select_notifications(start=1, limit=10_000)
        return [n.id for n in log if n.topic == topic]

    def restarted(self) -> Projector:
        """The sealer as a new process starts it: nothing in memory but the state file."""
        view = SealerView(KEY, state_path=str(self.state), app=self.app)
        return Projector(self.app, self.db, view, batch_size=8)

    def heads(self) -> list[TreeHead]:
        """Every signed head in the database."""
        with self.db.read() as cursor:
            return [item for _seq, item in signed_items(cursor) if isinstance(item, TreeHead)]

    def export(self) -> list[str]:
        """An export, as /audit/export streams it."""
        return list(export_lines(self.app, self.db))

    def sql(self, *statements: tuple[str, Sequence[Any]]) -> list[Any]:
        """Run statements against the database behind the application's back."""
        return self.events.execute(*statements)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store with ~50 events, all sealed in batches of 8 (a head per batch)."""
    with opened(db_url, create_tables=True) as app:
        db = ViewDatabase.from_url(db_url)
        state = tmp_path / "sealer" / "audit_state.json"
        view = SealerView(KEY, state_path=str(state), app=app)
        projector = Projector(app, db, view, batch_size=8)
        projector.setup()  # before any event: the empty log's head
        setup = build(app)
        app.revise_cost_forecast(
            setup.initiative_id, periods={"2024-02": "1000"}, reason="Quote", meta=BOARD
        )
        store = Store(db_url, app, db, state, projector, setup)
        store.measure(20)
        projector.catch_up()
        try:
            yield store
        finally:
            db.close()


def offline(lines: Sequence[str], **options: Any) -> Report:
    """Verify export lines offline with the log's public key."""
    return verify_lines(lines, KEY.public_key(), **options)


def recompute_audit_tables(store: Store) -> None:
    """An intruder's rebuild of vt_chain and vt_tree from the log as it stands (no key needed)."""
    path = str(store.state) + ".intruder"
    intruder = SealerView(KEY, state_path=path, app=store.app, sign=False)
    rebuild_views(store.app, store.db, [intruder])


# -- an honest log ---------------------------------------------------------------------------


def test_an_untouched_store_verifies_and_keeps_every_head(store: Store) -> None:
    head = store.app.head_position()

    result = store.verify()

    assert result.verified, result.reason
    assert result.tree_size == result.events_checked
    assert (result.sealed_position, result.log_head_position) == (head, head)
    heads = store.heads()
    assert heads[0].tree_size == 0 and heads[0].root_hash == rfc9162.mth([]).hex()
    assert len(heads) >= 6 and heads[-1].root_hash == result.root_hash
    state = read_state(str(store.state))
    assert state is not None and state.head == heads[-1] and state.halted is None


def test_events_after_the_seal_are_reported_unsealed(store: Store) -> None:
    sealed = store.app.head_position()
    store.measure(3, start=100)
    newer = store.app.recorder.select_notifications(start=sealed + 1, limit=100)

    result = store.verify()

    assert result.verified
    assert (result.sealed_position, result.unsealed) == (sealed, len(newer))
    assert result.log_head_position == newer[-1].id


def test_the_export_verifies_offline_and_holds_every_head(store: Store) -> None:
    lines = store.export()

    report = offline(lines)

    assert report.verified, report.reason
    assert len(read_export(lines).signed) == len(store.heads())


def test_proofs_from_the_store_pass_the_independent_verifier(store: Store) -> None:
    lines = store.export()
    log = read_export(lines)
    leaves = [bytes.fromhex(json.loads(line)["leaf"]) for line in lines[: log.size]]
    sizes = sorted({h.tree_size for h in store.heads() if h.tree_size})
    for size in sizes:
        root = rfc9162.mth(leaves[:size])
        for index in range(0, size, 3):
            proof = inclusion_proof(store.db, log.positions[index], size)
            assert proof["leaf_index"] == index and proof["leaf"] == leaves[index].hex()
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            leaf = rfc9162.hash_leaf(leaves[index])
            assert rfc9162.inclusion_root(index, size, leaf, path) == root
        for first in sizes:
            if first <= size:
                found = consistency_proof(store.db, first, size)["proof"]
                hashes = [bytes.fromhex(h) for h in found]
                assert rfc9162.consistent(first, size, rfc9162.mth(leaves[:first]), root, hashes)


def test_a_rebuild_recomputes_the_same_tree_and_signs_only_once_caught_up(store: Store) -> None:
    query = ("SELECT level, idx, hash FROM vt_tree ORDER BY level, idx", ())
    before = store.sql(query)
    heads = len(store.heads())

    rebuild_views(store.app, store.db, [store.restarted().view], batch_size=16)

    assert store.sql(query) == before
    assert len(store.heads()) == heads + 1  # the rebuild's batches below the last head: unsigned
    assert store.verify().verified


# -- attacks ---------------------------------------------------------------------------------


def test_an_edited_payload_is_found_at_its_position(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[17]
    state = store.events.state(position)
    store.events.set_state(position, state.replace(b'"1.50"', b'"9.50"'))

    result = store.verify()

    assert not result.verified
    assert result.first_bad_position == position
    assert not offline(store.export()).verified


def test_an_edit_with_the_audit_tables_recomputed_stops_the_sealer(store: Store) -> None:
    position = store.positions_of(MEASUREMENT)[17]
    old_export = store.export()
    store.events.set_state(position, store.events.state(position).replace(b'"1.50"', b'"9.50"'))
    recompute_audit_tables(store)
    heads = len(store.heads())
    store.measure(3, start=100)  # the next ordinary write

    with pytest.raises(SealerHalted, match="no longer have the root"):
        store.restarted().catch_up()

    assert len(store.heads()) == heads  # nothing signed over the forgery
    state = read_state(str(store.state))
    assert state is not None and "no longer have the root" in (state.halted or "")
    result = store.verify()  # the signed heads tell, whatever the sealer's state says
    assert not result.verified and "root differs" in (result.reason or "")
    later = offline(store.export(), previous=old_export)
    assert not later.verified and "root differs" in (later.reason or "")


def test_wiped_audit_tables_stop_the_sealer(store: Store) -> None:
    store.sql(
        ("DELETE FROM vt_chain", ()),
        ("DELETE FROM vt_tree", ()),
        ("DELETE FROM vt_tree_head", ()),
        ("DELETE FROM vt_tracking WHERE view = 'audit_chain'", ()),
    )
    store.measure(2, start=100)

    with pytest.raises(SealerHalted, match="missing from the database"):
        store.projector.catch_up()

    assert store.heads() == []
    result = store.verify()
    assert not result.verified and "missing from the database" in (result.reason or "")


def roll_back(store: Store, position: int, size: int, seq: int) -> None:
    """Delete everything newer than a moment, as restoring a backup taken then would."""
    table, at = store.events.table, store.events.position
    statements: list[tuple[str, Sequence[Any]]] = [
        (f"DELETE FROM {table} WHERE {at} > ?", (position,)),
        ("DELETE FROM vt_chain WHERE position > ?", (position,)),
        ("DELETE FROM vt_tree_head WHERE seq > ?", (seq,)),
        ("UPDATE vt_tracking SET position = ? WHERE view = 'audit_chain'", (position,)),
    ]
    statements += [
        ("DELETE FROM vt_tree WHERE level = ? AND idx >= ?", (level, size >> level))
        for level in range(12)
    ]
    store.sql(*statements)


def test_a_rolled_back_database_stops_the_restarted_sealer(store: Store) -> None:
    old_export = store.export()
    position = store.app.head_position()
    size = read_export(old_export).size
    with store.db.read() as cursor:
        found = latest_head(cursor)
    assert found is not None
    store.measure(12, start=100)
    store.projector.catch_up()
    newer_export = store.export()
    roll_back(store, position, size, found[0])  # the database restored from a backup

    sealer = store.restarted()
    sealer.setup()  # a restarted projector checks before anything is written
    assert "missing from the database" in (sealer.view.halted or "")  # type: ignore[attr-defined]
    store.measure(1, start=200)
    with pytest.raises(SealerHalted, match="missing from the database"):
        sealer.catch_up()

    assert not store.verify().verified
    assert offline(old_export).verified  # what was there then still verifies…
    rolled = offline(store.export(), previous=newer_export)  # …but not as the newer log
    assert not rolled.verified and "heads were removed" in (rolled.reason or "")


def test_a_truncated_log_stops_the_restarted_sealer(store: Store) -> None:
    old_export = store.export()
    last = store.app.head_position()
    delete = f"DELETE FROM {store.events.table} WHERE {store.events.position} = ?"
    store.sql(*[(delete, (p,)) for p in range(last - 2, last + 1)])

    sealer = store.restarted()
    sealer.setup()

    assert "missing from the log" in (sealer.view.halted or "")  # type: ignore[attr-defined]
    assert "missing from the log" in (read_state(str(store.state)).halted or "")  # type: ignore[union-attr]

    assert not store.verify().verified
    assert not offline(store.export(), previous=old_export).verified


def test_a_forced_reseal_signs_a_statement_every_verifier_reports(store: Store) -> None:
    old_export = store.export()
    old_head = store.heads()[-1]
    position = store.positions_of(MEASUREMENT)[3]
    store.events.set_state(position, store.events.state(position).replace(b'"1.50"', b'"2.50"'))
    assert not store.verify().verified

    statement, head = reseal(store.app, store.db, KEY, str(store.state), "restored")

    assert statement is not None
    assert (statement.old_tree_size, statement.old_root_hash) == (
        old_head.tree_size,
        old_head.root_hash,
    )
    assert statement.new_root_hash == head.root_hash != old_head.root_hash
    assert store.verify().verified  # online: the new epoch verifies…
    report = offline(store.export())
    assert report.verified and report.resealed == 1  # …offline: every signature, re-sealed
    since = offline(store.export(), previous=old_export)
    assert not since.verified and "re-sealed since" in (since.reason or "")
    store.measure(2, start=100)
    store.restarted().catch_up()  # the sealer carries on from the new head
    assert store.verify().verified


def test_a_log_sealed_by_the_linear_chain_is_sealed_afresh_on_upgrade(
    db_url: str, tmp_path: Path
) -> None:
    with opened(db_url, create_tables=True) as app:
        build(app)
        db = ViewDatabase.from_url(db_url)
        head = app.head_position()
        with db.transaction() as cursor:  # the first release's tables, sealed up to the head
            cursor.execute(
                "CREATE TABLE vt_chain (position BIGINT PRIMARY KEY, originator_id TEXT NOT NULL,"
                " version BIGINT NOT NULL, topic TEXT NOT NULL, state_sha256 TEXT NOT NULL,"
                " leaf TEXT NOT NULL, chain_hash TEXT NOT NULL, recorded_at TEXT NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO vt_chain VALUES (1, 'x', 0, 't', 'h', 'l', 'c', 'r')",
            )
            cursor.execute(
                "CREATE TABLE vt_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute("INSERT INTO vt_tracking VALUES ('audit_chain', ?)", (head,))
        state = tmp_path / "audit_state.json"
        sealer = Projector(app, db, SealerView(KEY, state_path=str(state), app=app))
        try:
            sealer.setup()
            sealer.catch_up()

            assert verify_store(app, db, KEY.public_key(), str(state)).verified
            with db.read() as cursor:
                cursor.execute("SELECT COUNT(*) FROM vt_chain_v1")
                assert cursor.fetchone()[0] == 1  # the old rows kept aside as evidence
        finally:
            db.close()


def test_the_metric_reads_0_as_soon_as_the_sealer_halts(store: Store) -> None:
    sealer = store.restarted()
    view = sealer.view
    assert isinstance(view, SealerView)
    watch = AuditWatch(lambda: (True, None), interval=300, sealer=view)
    watch.status = AuditStatus(True)  # the last full verification passed
    collector = ProjectorCollector(store.app, store.db, ["audit_chain"], watch)

    def gauge() -> float:
        families = {family.name: family for family in collector.collect()}
        return float(families["valuetrail_audit_chain_verified"].samples[0].value)

    assert gauge() == 1
    store.sql(("DELETE FROM vt_tree_head", ()))
    sealer.setup()

    assert gauge() == 0
