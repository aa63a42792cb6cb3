"""The audit chain's hashing, signatures, sealing and offline verification, with no database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification

from projections.audit_chain import (
    GENESIS,
    Checkpoint,
    SealerView,
    chain_hash,
    checkpoint_line,
    event_line,
    latest_checkpoint,
    leaf_hash,
    load_or_create_signing_key,
    public_key_pem,
    sign_checkpoint,
    state_hash,
    verify_checkpoint,
    verify_export,
    verify_log,
)
from projections.view import TRACKING_DDL, Envelope, track, tracked_position
from service.audit_cli import verify_file

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PEM = public_key_pem(KEY)
SIGNED_AT = "2025-01-31T12:00:00.000000+00:00"
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
AGGREGATES = [UUID(int=n * 0x1111_1111_1111_1111) for n in range(1, 4)]
#: Log positions with a gap at 7, as a PostgreSQL sequence leaves after a rolled-back insert.
POSITIONS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]


def synthetic_log(positions: Sequence[int] = POSITIONS) -> list[Notification]:
    """Stored events of three aggregates, JSON states, in log order."""
    versions = dict.fromkeys(AGGREGATES, 0)
    log = []
    for position in positions:
        aggregate = AGGREGATES[position % 3]
        state = json.dumps({"amount": f"{position}.50", "note": f"event {position} — £"})
        log.append(
            Notification(
                id=position,
                originator_id=aggregate,
                originator_version=versions[aggregate],
                topic="valuetrail.benefit.MeasurementRecorded.v1",
                state=state.encode("utf-8"),
            )
        )
        versions[aggregate] += 1
    return log


def chain_of(log: Sequence[Notification]) -> list[tuple[int, str]]:
    """(position, chain hash) of each event, computed with the public functions only."""
    head, sealed = GENESIS, []
    for n in log:
        assert isinstance(n.originator_id, UUID)
        leaf = leaf_hash(n.id, n.originator_id, n.originator_version, n.topic, n.state)
        head = chain_hash(head, leaf)
        sealed.append((n.id, head.hex()))
    return sealed


def export_of(log: Sequence[Notification], key: Ed25519PrivateKey = KEY) -> list[str]:
    """An export of a sealed log, with the checkpoint at its last event."""
    lines, head = [], GENESIS
    for n in log:
        assert isinstance(n.originator_id, UUID)
        leaf = leaf_hash(n.id, n.originator_id, n.originator_version, n.topic, n.state)
        head = chain_hash(head, leaf)
        lines.append(event_line(n, (state_hash(n.state).hex(), leaf.hex(), head.hex())))
    checkpoint = sign_checkpoint(key, log[-1].id, head.hex(), SIGNED_AT)
    return [*lines, checkpoint_line(checkpoint, public_key_pem(key))]


def with_state(line: str, state: str) -> str:
    """An export line whose state text is replaced (hashes left as they were)."""
    record = json.loads(line)
    record["state"] = state
    return json.dumps(record) + "\n"


# -- hashing ---------------------------------------------------------------------------------


def test_leaf_and_chain_follow_the_documented_encoding() -> None:
    position, ident, version = 258, UUID("12345678-9abc-def0-1234-56789abcdef0"), 3
    topic, state = "valuetrail.initiative.DecisionRecorded.v1", b'{"decision":"invest"}'
    by_hand = hashlib.sha256(
        struct.pack(">Q", position)
        + bytes.fromhex("123456789abcdef0123456789abcdef0")
        + struct.pack(">q", version)
        + struct.pack(">H", len(topic))
        + topic.encode()
        + hashlib.sha256(state).digest()
    ).digest()

    leaf = leaf_hash(position, ident, version, topic, state)

    assert leaf == by_hand
    assert chain_hash(GENESIS, leaf) == hashlib.sha256(bytes(32) + by_hand).digest()
    # Pinned (also computed with printf, xxd and sha256sum), so the encoding cannot drift.
    assert leaf.hex() == "7d10ea628415000128799d8dcd851dc4e53daf9851a42ceb77148813cd9d2b8a"


def test_topic_length_counts_utf8_bytes_not_characters() -> None:
    ident, topic = UUID(int=1), "valuetrail.é"
    expected = hashlib.sha256(
        struct.pack(">Q16sqH", 1, ident.bytes, 0, 13) + topic.encode() + state_hash(b"{}")
    ).digest()

    assert leaf_hash(1, ident, 0, topic, b"{}") == expected


def test_fields_cannot_slide_into_each_other() -> None:
    ident = UUID(int=7)

    assert leaf_hash(1, ident, 0, "ab", b"c") != leaf_hash(1, ident, 0, "a", b"bc")
    assert leaf_hash(1, ident, 2, "t", b"{}") != leaf_hash(2, ident, 1, "t", b"{}")


# -- keys and checkpoints --------------------------------------------------------------------


def test_a_checkpoint_verifies_with_its_key_only_and_unaltered() -> None:
    checkpoint = sign_checkpoint(KEY, 1000, "ab" * 32, SIGNED_AT)

    assert checkpoint.message() == f"valuetrail-checkpoint:1000:{'ab' * 32}:{SIGNED_AT}".encode()
    assert verify_checkpoint(KEY.public_key(), checkpoint)
    assert not verify_checkpoint(OTHER_KEY.public_key(), checkpoint)
    assert not verify_checkpoint(KEY.public_key(), replace(checkpoint, position=1001))
    assert not verify_checkpoint(KEY.public_key(), replace(checkpoint, chain_hash="cd" * 32))
    assert not verify_checkpoint(KEY.public_key(), replace(checkpoint, signature="not base64!"))


def test_the_signing_key_file_is_created_private_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "audit.pem"

    created = load_or_create_signing_key(str(path))
    loaded = load_or_create_signing_key(str(path))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key_pem(created) == public_key_pem(loaded)
    assert [p.name for p in path.parent.iterdir()] == ["audit.pem"]


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(public_key_pem(KEY))

    with pytest.raises(ValueError):
        load_or_create_signing_key(str(path))


# -- verifying a log against its seal --------------------------------------------------------


def test_an_untouched_log_verifies_and_newer_events_are_only_unsealed() -> None:
    log = synthetic_log()
    sealed = chain_of(log)[:9]

    result = verify_log(log, sealed)

    assert result.verified
    assert (result.events_checked, result.head_position) == (9, log[8].id)
    assert result.head_hash == sealed[-1][1]
    assert result.unsealed_events == 3


def test_an_edited_event_is_found_at_its_position() -> None:
    log = synthetic_log()
    sealed = chain_of(log)
    log[4] = replace(log[4], state=log[4].state.replace(b"5.50", b"9.50"))

    result = verify_log(log, sealed)

    assert not result.verified
    assert result.first_bad_position == 5
    assert (result.events_checked, result.head_position) == (4, 4)


def test_a_deleted_event_is_found_at_its_position() -> None:
    log = synthetic_log()
    sealed = chain_of(log)

    assert verify_log(log[:6] + log[7:], sealed).first_bad_position == 8
    assert verify_log(log[:-1], sealed).first_bad_position == 13  # the newest event


def test_swapped_events_are_found_at_the_earlier_position() -> None:
    log = synthetic_log()
    sealed = chain_of(log)
    a, b = log[2], log[9]  # positions 3 and 11
    log[2] = replace(b, id=a.id)
    log[9] = replace(a, id=b.id)

    assert verify_log(log, sealed).first_bad_position == 3


def test_an_inserted_event_is_found_at_its_position() -> None:
    log = synthetic_log()
    sealed = chain_of(log)
    log.insert(6, replace(log[6], id=7))

    assert verify_log(log, sealed).first_bad_position == 7


def test_a_checkpoint_must_be_signed_by_the_key_and_match_the_chain() -> None:
    log = synthetic_log()
    sealed = chain_of(log)
    good = sign_checkpoint(KEY, 13, sealed[-1][1], SIGNED_AT)
    forged = sign_checkpoint(KEY, 13, "00" * 32, SIGNED_AT)
    public = KEY.public_key()

    assert verify_log(log, sealed, checkpoint=good, public_key=public).verified
    assert not verify_log(log, sealed, checkpoint=forged, public_key=public).verified
    assert not verify_log(log, sealed, checkpoint=good, public_key=OTHER_KEY.public_key()).verified
    missing = verify_log(log, sealed, checkpoint=None, public_key=public)
    assert not missing.verified
    assert missing.reason == "no signed checkpoint covers the chain"


# -- offline verification of an export -------------------------------------------------------


def test_a_genuine_export_verifies() -> None:
    result = verify_export(export_of(synthetic_log()), PEM)

    assert result.verified
    assert (result.events_checked, result.head_position) == (12, 13)


def test_an_empty_export_verifies() -> None:
    assert verify_export([checkpoint_line(None, PEM)], PEM).verified


@pytest.mark.parametrize("index", [0, 5, 11])
def test_any_changed_character_of_a_state_is_found_at_its_position(index: int) -> None:
    lines = export_of(synthetic_log())
    position = json.loads(lines[index])["position"]
    state = json.loads(lines[index])["state"]

    for offset in range(len(state)):
        changed = "X" if state[offset] != "X" else "Y"
        tampered = state[:offset] + changed + state[offset + 1 :]
        edited = [*lines[:index], with_state(lines[index], tampered), *lines[index + 1 :]]

        result = verify_export(edited, PEM)

        assert not result.verified, offset
        assert result.first_bad_position == position, offset


def test_a_changed_byte_in_any_hash_is_found_at_its_position() -> None:
    lines = export_of(synthetic_log())
    for field in ("state_sha256", "leaf", "chain_hash"):
        record = json.loads(lines[3])
        record[field] = ("0" if record[field][0] != "0" else "1") + record[field][1:]
        edited = [*lines[:3], json.dumps(record) + "\n", *lines[4:]]

        assert verify_export(edited, PEM).first_bad_position == 4, field


def test_a_removed_line_is_found_at_the_next_position() -> None:
    lines = export_of(synthetic_log())

    assert verify_export(lines[:5] + lines[6:], PEM).first_bad_position == 8


def test_a_removed_last_event_is_found_at_the_checkpoint() -> None:
    lines = export_of(synthetic_log())

    result = verify_export(lines[:-2] + lines[-1:], PEM)

    assert not result.verified
    assert result.first_bad_position == 13


def test_reordered_lines_are_found() -> None:
    lines = export_of(synthetic_log())

    result = verify_export([*lines[:2], lines[3], lines[2], *lines[4:]], PEM)

    assert not result.verified
    assert result.first_bad_position == 4  # the first line out of place


def test_a_checkpoint_signed_by_another_key_fails_even_if_the_file_names_that_key() -> None:
    lines = export_of(synthetic_log(), key=OTHER_KEY)

    result = verify_export(lines, PEM)

    assert not result.verified
    assert result.reason is not None and "signature" in result.reason
    assert verify_export(lines, public_key_pem(OTHER_KEY)).verified


def test_a_forged_chain_with_a_real_checkpoint_fails() -> None:
    genuine = synthetic_log()
    forged = [*genuine[:-1], replace(genuine[-1], state=b'{"amount":"0"}')]
    lines = export_of(forged)[:-1] + export_of(genuine)[-1:]

    assert not verify_export(lines, PEM).verified


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: lines[:-1],  # no checkpoint line
        lambda lines: [*lines, lines[0]],  # content after the checkpoint
        lambda lines: [lines[0][:-5] + "\n", *lines[1:]],  # broken JSON
        lambda lines: [*lines[:-1], '{"checkpoint": {"position": "13"}, "public_key": ""}\n'],
    ],
    ids=["no-checkpoint", "after-checkpoint", "broken-json", "malformed-checkpoint"],
)
def test_a_malformed_export_fails(edit: Callable[[list[str]], list[str]]) -> None:
    lines = export_of(synthetic_log())

    assert not verify_export(edit(lines), PEM).verified


# -- the sealer view on an in-memory SQLite cursor -------------------------------------------


def envelopes(log: Sequence[Notification]) -> Iterator[Envelope]:
    """Envelopes as the projector builds them (only the timestamp of the event is read)."""
    for n in log:
        event = SimpleNamespace(timestamp=FIRST + timedelta(minutes=n.id))
        yield Envelope(n.id, n, event)


def seal(cursor: sqlite3.Cursor, view: SealerView, batch: Sequence[Envelope]) -> None:
    """Apply a batch and its tracking position, as the projector does."""
    view.apply(cursor, batch)
    track(cursor, view.name, batch[-1].position)


@pytest.fixture
def cursor() -> Iterator[sqlite3.Cursor]:
    """A cursor on an in-memory database with the tracking and sealer tables."""
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    cursor.execute(TRACKING_DDL)
    SealerView(KEY).create(cursor)
    yield cursor
    connection.close()


def checkpoints(cursor: sqlite3.Cursor) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    cursor.execute(
        "SELECT position, chain_hash, signed_at, signature FROM vt_checkpoint ORDER BY position"
    )
    return [Checkpoint(*row) for row in cursor.fetchall()]


def test_the_sealer_writes_the_chain_and_keeps_periodic_and_head_checkpoints(
    cursor: sqlite3.Cursor,
) -> None:
    log, view = synthetic_log(), SealerView(KEY, checkpoint_every=7)
    batch = list(envelopes(log))

    for start in range(0, len(batch), 3):
        seal(cursor, view, batch[start : start + 3])

    cursor.execute("SELECT position, chain_hash FROM vt_chain ORDER BY position")
    assert cursor.fetchall() == chain_of(log)
    stored = checkpoints(cursor)
    # At 8, the first event past 7 (absent), and at the head: the head checkpoints of the
    # earlier batches were replaced.
    assert [c.position for c in stored] == [8, 13]
    assert all(verify_checkpoint(KEY.public_key(), c) for c in stored)
    assert stored[-1] == latest_checkpoint(cursor, up_to=13)


def test_a_restarted_sealer_continues_the_same_chain(cursor: sqlite3.Cursor) -> None:
    log = synthetic_log()
    batch = list(envelopes(log))
    seal(cursor, SealerView(KEY, checkpoint_every=4), batch[:5])
    view = SealerView(KEY, checkpoint_every=4)  # a new process: nothing cached

    seal(cursor, view, batch[5:9])
    view.forget()
    seal(cursor, view, batch[9:])

    cursor.execute("SELECT position, chain_hash FROM vt_chain ORDER BY position")
    assert cursor.fetchall() == chain_of(log)
    assert [c.position for c in checkpoints(cursor)] == [4, 8, 12, 13]
    assert tracked_position(cursor, "audit_chain") == 13


def test_a_stale_cache_is_not_trusted_after_a_rolled_back_batch(cursor: sqlite3.Cursor) -> None:
    log, view = synthetic_log(), SealerView(KEY)
    batch = list(envelopes(log))
    cursor.connection.commit()
    seal(cursor, view, batch[:4])
    cursor.connection.rollback()  # the commit failed: the view's cache is ahead of the table

    seal(cursor, view, batch)

    cursor.execute("SELECT position, chain_hash FROM vt_chain ORDER BY position")
    assert cursor.fetchall() == chain_of(log)


# -- the command line ------------------------------------------------------------------------


def test_verify_file_answers_with_its_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, key_file = tmp_path / "audit.jsonl", tmp_path / "audit.pub"
    key_file.write_text(PEM)
    lines = export_of(synthetic_log())
    export.write_text("".join(lines))
    assert verify_file(str(export), str(key_file)) == 0

    export.write_text("".join([*lines[:4], with_state(lines[4], "{}"), *lines[5:]]))
    assert verify_file(str(export), str(key_file)) == 1
    summary, result = capsys.readouterr().out.splitlines()[-2:]
    assert summary.startswith("NOT verified after 4 good events: position 5")
    assert json.loads(result)["first_bad_position"] == 5

    assert verify_file(str(export), str(tmp_path / "missing.pub")) == 2
    assert "cannot verify" in capsys.readouterr().err
