"""The audit log on SQLite and PostgreSQL: sealed by the projector, attacked in SQL.

Each attack is one an operator or anyone with write access to the database (but not the
signing key, nor the sealer's state file) can make; each must stop the sealer and fail
verification, online and offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.audit.export import read_export
from projections.audit.state import read_state
from projections.audit_chain.reads import (
    consistency_proof,
    inclusion_proof,
)
from projections.audit_chain.reseal import reseal
from projections.audit_chain.sealer import SealerHalted
from projections.audit_chain.store import latest_head
from projections.runner import rebuild_views
from tests.integration.audit_store import (
    KEY,
    MEASUREMENT,
    Store,
    audited_store,
    offline,
    recompute_audit_tables,
    roll_back,
)
from tests.unit import rfc9162


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store with ~50 events, all sealed in batches of 8 (a head per batch)."""
    yield from audited_store(db_url, tmp_path)


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
