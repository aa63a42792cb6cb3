"""The sealer across an upgrade, and the verified gauge when it halts, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.audit_chain.reads import (
    verify_store,
)
from projections.audit_chain.sealer import SealerView
from projections.db import ViewDatabase
from projections.metrics import AuditStatus, AuditWatch, ProjectorCollector
from projections.runner import Projector
from tests.integration.audit_store import (
    KEY,
    Store,
    audited_store,
)
from tests.integration.builders import build, opened


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store with ~50 events, all sealed in batches of 8 (a head per batch)."""
    yield from audited_store(db_url, tmp_path)


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
