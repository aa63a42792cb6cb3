"""The audit chain (DESIGN §5.5): a SHA-256 hash chain over the event log, with signed checkpoints.

Anyone can recompute the chain from the stored events with this recipe (integers big-endian):

    state_sha256 = SHA-256(state)      the stored state bytes exactly as stored
    leaf = SHA-256(
        position        8 bytes, unsigned     the event's log position (notification id)
        originator_id  16 bytes               the aggregate's UUID, raw (RFC 4122 order)
        version         8 bytes, signed       the originator version (two's complement)
        len(topic)      2 bytes, unsigned     the number of UTF-8 bytes of the topic
        topic           UTF-8 bytes           the stored topic
        state_sha256   32 bytes
    )
    chain_0 = 32 zero bytes (GENESIS)
    chain_n = SHA-256(chain_{n-1} ‖ leaf_n)   leaf_n is the n-th event in ascending position

Positions need not be contiguous (PostgreSQL sequences skip numbers); hashes are written as
lowercase hex. A checkpoint is an Ed25519 signature (RFC 8032), base64 with padding, over the
ASCII text `valuetrail-checkpoint:{position}:{chain_hash}:{signed_at}` (position in decimal,
chain_hash the hex chain at that position, signed_at RFC 3339 UTC).

The sealer view appends one `vt_chain` row per event and signs checkpoints in the projector's
transaction: a permanent one at the first event at or past each multiple of `checkpoint_every`,
and one at the head at the end of every batch, which replaces the previous head checkpoint. So
every sealed event is covered by a signature as soon as it is sealed, and the table keeps one
row per `checkpoint_every` events plus one.

An export is JSON Lines: one object per event in log order, `{"position", "originator_id",
"version", "topic", "state", "state_sha256", "leaf", "chain_hash"}` with `state` the stored bytes
as UTF-8 text (or `state_base64` if they are not UTF-8), then one final line `{"checkpoint":
{"position", "chain_hash", "signed_at", "signature"} | null, "public_key": PEM}` whose checkpoint
sits at the last event line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import Notification

from domain.application import ValuetrailApplication
from projections.db import Cursor, ViewDatabase, events_table, insert_rows
from projections.view import TRACKING_DDL, Envelope, View, instant_text, tracked_position

T = TypeVar("T")

GENESIS = bytes(32)
VIEW_NAME = "audit_chain"
PAGE_SIZE = 5000
_FIXED = struct.Struct(">Q16sq")  # position, originator id, version
_TOPIC_LENGTH = struct.Struct(">H")

# -- hashing ---------------------------------------------------------------------------------


def state_hash(state: bytes) -> bytes:
    """SHA-256 of an event's stored state."""
    return sha256(state).digest()


def topic_field(topic: str) -> bytes:
    """The topic as hashed: 2-byte big-endian length, then its UTF-8 bytes."""
    data = topic.encode("utf-8")
    return _TOPIC_LENGTH.pack(len(data)) + data


def leaf_hash(position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The leaf of one stored event (see the module docstring for the encoding)."""
    fixed = _FIXED.pack(position, originator_id.bytes, version)
    return sha256(fixed + topic_field(topic) + state_hash(state)).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """The chain after one more leaf."""
    return sha256(previous + leaf).digest()


def uuid_of(originator_id: UUID | str) -> UUID:
    """A stored originator id as a UUID (recorders return UUIDs or their text)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


#: One stored event as the chain reads it: position, originator id (its 16 raw bytes),
#: version, topic, state. A reader that skips building Notification objects can feed these.
EventRow = tuple[int, bytes, int, str, bytes]


def event_row(notification: Notification) -> EventRow:
    """The fields of a stored event that the chain covers."""
    return (
        notification.id,
        uuid_of(notification.originator_id).bytes,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


class ChainBuilder:
    """The chain recomputed event by event; topics repeat, so their encodings are cached."""

    __slots__ = ("count", "head", "position", "topics")

    def __init__(self, head: bytes = GENESIS, position: int = 0) -> None:
        self.head = head
        self.position = position
        self.count = 0
        self.topics: dict[str, bytes] = {}

    def hashes(self, row: EventRow) -> tuple[bytes, bytes, bytes]:
        """(state hash, leaf, chain hash) of the next event; the head does not move."""
        position, originator_id, version, topic, state = row
        encoded = self.topics.get(topic)
        if encoded is None:
            encoded = self.topics[topic] = topic_field(topic)
        digest = sha256(state).digest()
        leaf = sha256(_FIXED.pack(position, originator_id, version) + encoded + digest).digest()
        return digest, leaf, sha256(self.head + leaf).digest()

    def accept(self, position: int, chain: bytes) -> None:
        """Move the head to a verified (or sealed) event."""
        self.head = chain
        self.position = position
        self.count += 1

    @property
    def head_hex(self) -> str | None:
        """The head's hex hash, None before the first event."""
        return self.head.hex() if self.count else None


# -- keys and checkpoints --------------------------------------------------------------------


def load_or_create_signing_key(path: str) -> Ed25519PrivateKey:
    """The Ed25519 key in a PEM (PKCS8) file, created with mode 0600 if the file is missing."""
    file = Path(path)
    if not file.exists():
        _create_key_file(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(file: Path) -> None:
    """Write a new key atomically: a racing process either wins or loads the winner's key."""
    file.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, pem)
        os.fsync(handle)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, file)  # fails if another process created the key first
    finally:
        os.unlink(temporary)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), as served at /audit/public-key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError if it is anything else."""
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def utc_now_text() -> str:
    """The current instant as RFC 3339 UTC text."""
    return instant_text(datetime.now(UTC))


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain at `position` was `chain_hash` (hex) at `signed_at`."""

    position: int
    chain_hash: str
    signed_at: str
    signature: str

    def message(self) -> bytes:
        """The exact bytes that are signed."""
        return f"valuetrail-checkpoint:{self.position}:{self.chain_hash}:{self.signed_at}".encode()

    @staticmethod
    def from_dict(data: Any) -> Checkpoint:
        """A checkpoint from its JSON form; TypeError if any field is missing or mistyped."""
        if not isinstance(data, dict) or set(data) != {
            "position",
            "chain_hash",
            "signed_at",
            "signature",
        }:
            raise TypeError("a checkpoint has position, chain_hash, signed_at and signature")
        checkpoint = Checkpoint(**data)
        texts = (checkpoint.chain_hash, checkpoint.signed_at, checkpoint.signature)
        if type(checkpoint.position) is not int or not all(isinstance(t, str) for t in texts):
            raise TypeError("checkpoint position must be an integer, the rest text")
        return checkpoint


def sign_checkpoint(
    key: Ed25519PrivateKey, position: int, chain_hash_hex: str, signed_at: str
) -> Checkpoint:
    """Sign the chain hash at a position."""
    unsigned = Checkpoint(position, chain_hash_hex, signed_at, "")
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return Checkpoint(position, chain_hash_hex, signed_at, signature)


def verify_checkpoint(public_key: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    """Whether the checkpoint was signed by this key's private half, unaltered."""
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key.verify(signature, checkpoint.message())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


# -- the sealer view -------------------------------------------------------------------------

_LINK_COLUMNS = (
    "position, originator_id, version, topic, state_sha256, leaf, chain_hash, recorded_at"
)
_INSERT_CHECKPOINT = (
    "INSERT INTO vt_checkpoint (position, chain_hash, signed_at, signature) VALUES (?, ?, ?, ?)"
)


class SealerView(View):
    """Seals the log: one chain row per event and signed checkpoints, in the batch's transaction."""

    name = VIEW_NAME
    tables = ("vt_chain", "vt_checkpoint")
    ddl = (
        "CREATE TABLE IF NOT EXISTS vt_chain ("
        " position BIGINT PRIMARY KEY, originator_id TEXT NOT NULL, version BIGINT NOT NULL,"
        " topic TEXT NOT NULL, state_sha256 TEXT NOT NULL, leaf TEXT NOT NULL,"
        " chain_hash TEXT NOT NULL, recorded_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS vt_checkpoint ("
        " position BIGINT PRIMARY KEY, chain_hash TEXT NOT NULL, signed_at TEXT NOT NULL,"
        " signature TEXT NOT NULL)",
    )

    def __init__(self, key: Ed25519PrivateKey, *, checkpoint_every: int = 1000) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.key = key
        self.checkpoint_every = checkpoint_every
        self._chain: ChainBuilder | None = None
        self._head_checkpoint: int | None = None  # the replaceable checkpoint, if any

    def forget(self) -> None:
        self._chain = None
        self._head_checkpoint = None

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        if not batch:
            return
        chain = self._chain_at(cursor, tracked_position(cursor, self.name))
        rows: list[tuple[Any, ...]] = []
        periodic: list[tuple[int, bytes]] = []
        for envelope in batch:
            previous = chain.position
            rows.append(self._link(chain, envelope))
            if self._crosses(previous, chain.position):
                periodic.append((chain.position, chain.head))
        insert_rows(cursor, "vt_chain", _LINK_COLUMNS, rows)
        self._sign(cursor, periodic, chain)

    def _link(self, chain: ChainBuilder, envelope: Envelope) -> tuple[Any, ...]:
        """Extend the chain by one event; the vt_chain row that records it."""
        stored = envelope.notification
        originator = uuid_of(stored.originator_id)
        digest, leaf, link = chain.hashes(
            (
                envelope.position,
                originator.bytes,
                stored.originator_version,
                stored.topic,
                stored.state,
            )
        )
        chain.accept(envelope.position, link)
        return (
            envelope.position,
            str(originator),
            stored.originator_version,
            stored.topic,
            digest.hex(),
            leaf.hex(),
            link.hex(),
            envelope.recorded_at,
        )

    def _crosses(self, previous: int, position: int) -> bool:
        """Whether the chain reached a multiple of checkpoint_every with this event."""
        return position // self.checkpoint_every > previous // self.checkpoint_every

    def _chain_at(self, cursor: Cursor, tracked: int) -> ChainBuilder:
        """The chain head, cached; reloaded when the cache is not at the tracked position."""
        # A failed commit or another instance's work leaves the cache behind or ahead of
        # the table; continuing from a wrong head would seal a broken chain.
        if self._chain is None or self._chain.position != tracked:
            self._chain = self._load_head(cursor, tracked)
            self._head_checkpoint = self._load_head_checkpoint(cursor)
        return self._chain

    def _load_head(self, cursor: Cursor, tracked: int) -> ChainBuilder:
        cursor.execute("SELECT position, chain_hash FROM vt_chain ORDER BY position DESC LIMIT 1")
        row = cursor.fetchone()
        position, head = (int(row[0]), bytes.fromhex(row[1])) if row else (0, GENESIS)
        if position != tracked:
            raise RuntimeError(f"vt_chain ends at {position} but the sealer tracked {tracked}")
        return ChainBuilder(head, position)

    def _load_head_checkpoint(self, cursor: Cursor) -> int | None:
        """The newest checkpoint if it is the replaceable head one (not periodic)."""
        cursor.execute("SELECT MAX(position) FROM vt_checkpoint")
        newest = cursor.fetchone()[0]
        if newest is None:
            return None
        cursor.execute("SELECT MAX(position) FROM vt_chain WHERE position < ?", (newest,))
        before = cursor.fetchone()[0]
        return None if self._crosses(int(before or 0), int(newest)) else int(newest)

    def _sign(self, cursor: Cursor, periodic: list[tuple[int, bytes]], chain: ChainBuilder) -> None:
        """Write the periodic checkpoints, then sign the head in place of the previous head one."""
        signed_at = utc_now_text()
        rows = [self._checkpoint_row(p, h, signed_at) for p, h in periodic]
        if self._head_checkpoint is not None:
            cursor.execute("DELETE FROM vt_checkpoint WHERE position = ?", (self._head_checkpoint,))
        head_is_periodic = bool(periodic) and periodic[-1][0] == chain.position
        if not head_is_periodic:
            rows.append(self._checkpoint_row(chain.position, chain.head, signed_at))
        cursor.executemany(_INSERT_CHECKPOINT, rows)
        self._head_checkpoint = None if head_is_periodic else chain.position

    def _checkpoint_row(self, position: int, head: bytes, signed_at: str) -> tuple[Any, ...]:
        checkpoint = sign_checkpoint(self.key, position, head.hex(), signed_at)
        return (
            checkpoint.position,
            checkpoint.chain_hash,
            checkpoint.signed_at,
            checkpoint.signature,
        )


def ensure_tables(db: ViewDatabase) -> None:
    """Create the tracking and sealer tables if missing (for commands run before the projector)."""
    with db.transaction() as cursor:
        cursor.execute(TRACKING_DDL)
        for statement in SealerView.ddl:
            cursor.execute(statement)


# -- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of recomputing the chain (the /audit/verify body, plus why and what's left)."""

    verified: bool
    events_checked: int
    head_position: int
    head_hash: str | None
    first_bad_position: int | None
    reason: str | None = None
    unsealed_events: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return asdict(self)

    def summary(self) -> str:
        """One line for a human."""
        if self.verified:
            tail = f", {self.unsealed_events} newer not yet sealed" if self.unsealed_events else ""
            return (
                f"verified: {self.events_checked} events, chain head {self.head_hash} "
                f"at position {self.head_position}{tail}"
            )
        return f"NOT verified after {self.events_checked} good events: {self.reason}"


def _passed(chain: ChainBuilder, unsealed: int = 0) -> VerifyResult:
    return VerifyResult(True, chain.count, chain.position, chain.head_hex, None, None, unsealed)


def _failed(chain: ChainBuilder, bad: int | None, reason: str) -> VerifyResult:
    return VerifyResult(False, chain.count, chain.position, chain.head_hex, bad, reason)


def _gap(position: int, row: EventRow | None) -> tuple[int, str]:
    """Where a log that does not line up with the sealed chain first goes wrong, and how."""
    if row is None or row[0] > position:
        return position, f"position {position}: sealed event is missing from the log"
    return row[0], f"position {row[0]}: event is not in the sealed chain"


def verify_log(
    notifications: Iterable[Notification],
    sealed: Iterable[tuple[int, str]],
    *,
    checkpoint: Checkpoint | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> VerifyResult:
    """Recompute the chain over stored events (log order) and compare it with the sealed rows.

    With a public key, the checkpoint must exist if anything was sealed, carry a valid
    signature and match the recomputed chain at its position. Events after the last sealed
    row are counted as unsealed, not judged.
    """
    rows = map(event_row, notifications)
    return verify_rows(rows, sealed, checkpoint=checkpoint, public_key=public_key)


def verify_rows(
    rows: Iterable[EventRow],
    sealed: Iterable[tuple[int, str]],
    *,
    checkpoint: Checkpoint | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> VerifyResult:
    """`verify_log` over event rows (the form a fast reader can produce without Notifications)."""
    chain = ChainBuilder()
    events = iter(rows)
    checkpoint_at = checkpoint.position if checkpoint else -1
    checkpoint_chain: str | None = None
    for position, expected in sealed:
        row = next(events, None)
        if row is None or row[0] != position:
            return _failed(chain, *_gap(position, row))
        link = chain.hashes(row)[2]
        if link.hex() != expected:
            return _failed(chain, position, f"position {position}: event differs from its seal")
        chain.accept(position, link)
        if position == checkpoint_at:
            checkpoint_chain = expected
    unsealed = sum(1 for _ in events)
    if public_key is not None:
        problem = _checkpoint_problem(chain, checkpoint, checkpoint_chain, public_key)
        if problem is not None:
            return _failed(chain, *problem)
    return _passed(chain, unsealed)


def _checkpoint_problem(
    chain: ChainBuilder,
    checkpoint: Checkpoint | None,
    recomputed: str | None,
    public_key: Ed25519PublicKey,
) -> tuple[int | None, str] | None:
    """What is wrong with the checkpoint given the recomputed chain at its position, if anything."""
    if checkpoint is None:
        return None if chain.count == 0 else (None, "no signed checkpoint covers the chain")
    at = f"checkpoint at position {checkpoint.position}"
    if not verify_checkpoint(public_key, checkpoint):
        return None, f"{at}: signature does not verify with the given public key"
    if recomputed is None:
        return checkpoint.position, f"{at}: no event at that position"
    if recomputed != checkpoint.chain_hash:
        return None, f"{at}: signed chain hash differs from the recomputed chain"
    return None


def stream_notifications(
    app: ValuetrailApplication, *, stop: int | None = None, page_size: int = PAGE_SIZE
) -> Iterator[Notification]:
    """Every stored event in log order (up to `stop`), read a page at a time."""
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=page_size, stop=stop)
        yield from page
        if len(page) < page_size:
            return
        start = page[-1].id + 1


def stream_chain(
    db: ViewDatabase, columns: str, *, up_to: int, page_size: int = PAGE_SIZE
) -> Iterator[tuple[Any, ...]]:
    """vt_chain rows (position first, then `columns`) up to a position, a page at a time."""
    after = 0
    while after < up_to:
        with db.read() as cursor:
            # No upper bound in SQL: with one, PostgreSQL may sort the whole range per page.
            cursor.execute(
                f"SELECT position, {columns} FROM vt_chain WHERE position > ?"
                " ORDER BY position LIMIT ?",
                (after, page_size),
            )
            page = cursor.fetchall()
        if not page:
            return
        if page[-1][0] > up_to:
            yield from (row for row in page if row[0] <= up_to)
            return
        yield from page
        after = int(page[-1][0])


def latest_checkpoint(cursor: Cursor, *, up_to: int) -> Checkpoint | None:
    """The newest checkpoint at or before a position."""
    cursor.execute(
        "SELECT position, chain_hash, signed_at, signature FROM vt_checkpoint"
        " WHERE position <= ? ORDER BY position DESC LIMIT 1",
        (up_to,),
    )
    row = cursor.fetchone()
    return Checkpoint(int(row[0]), row[1], row[2], row[3]) if row else None


def sealed_state(db: ViewDatabase) -> tuple[int, Checkpoint | None]:
    """The sealer's tracked position and the newest checkpoint within it (one read)."""
    with db.read() as cursor:
        position = tracked_position(cursor, VIEW_NAME)
        return position, latest_checkpoint(cursor, up_to=position)


def stream_event_rows(
    app: ValuetrailApplication, db: ViewDatabase, *, page_size: int = PAGE_SIZE
) -> Iterator[EventRow]:
    """Every stored event in log order as raw rows, read a page at a time from the view database.

    The same events as `stream_notifications`, without building Notification objects (the
    log's table, named by the recorder, lives in the views' database).
    """
    table, schema = events_table(app)
    after = 0
    while True:
        page = db.event_rows(table, after, page_size, schema=schema)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1][0]


def verify_store(
    app: ValuetrailApplication,
    db: ViewDatabase,
    public_key: Ed25519PublicKey,
    *,
    page_size: int = PAGE_SIZE,
) -> VerifyResult:
    """Verify the live log against the sealed chain and its newest checkpoint, streaming both."""
    sealed_position, checkpoint = sealed_state(db)
    return verify_rows(
        stream_event_rows(app, db, page_size=page_size),
        stream_chain(db, "chain_hash", up_to=sealed_position, page_size=page_size),
        checkpoint=checkpoint,
        public_key=public_key,
    )


# -- export and offline verification ---------------------------------------------------------


def event_line(event: Notification, hashes: Sequence[Any] | None) -> str:
    """One export line: the stored event and its sealed (state_sha256, leaf, chain_hash)."""
    record: dict[str, Any] = {
        "position": event.id,
        "originator_id": str(uuid_of(event.originator_id)),
        "version": event.originator_version,
        "topic": event.topic,
    }
    try:
        record["state"] = event.state.decode("utf-8")
    except UnicodeDecodeError:
        record["state_base64"] = base64.b64encode(event.state).decode("ascii")
    state_sha256, leaf, chain = hashes if hashes is not None else (None, None, None)
    record |= {"state_sha256": state_sha256, "leaf": leaf, "chain_hash": chain}
    return json.dumps(record, separators=(",", ":")) + "\n"


def checkpoint_line(checkpoint: Checkpoint | None, public_key: str) -> str:
    """The export's last line: the checkpoint that covers it and the key that signed it."""
    body = asdict(checkpoint) if checkpoint is not None else None
    return json.dumps({"checkpoint": body, "public_key": public_key}, separators=(",", ":")) + "\n"


def export_lines(
    app: ValuetrailApplication, db: ViewDatabase, public_key: str, *, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """The export (JSON Lines, each ending in a newline) up to the newest checkpoint, streamed."""
    _, checkpoint = sealed_state(db)
    last = checkpoint.position if checkpoint else 0
    if last:
        rows = stream_chain(db, "state_sha256, leaf, chain_hash", up_to=last, page_size=page_size)
        row = next(rows, None)
        for event in stream_notifications(app, stop=last, page_size=page_size):
            while row is not None and row[0] < event.id:
                row = next(rows, None)
            hashes = row[1:] if row is not None and row[0] == event.id else None
            yield event_line(event, hashes)
    yield checkpoint_line(checkpoint, public_key)


@dataclass(frozen=True)
class ExportedEvent:
    """One event line of an export: the event, and its hashes as claimed (not yet trusted)."""

    row: EventRow
    claimed: tuple[Any, Any, Any]  # state_sha256, leaf, chain_hash

    @property
    def position(self) -> int:
        """The event's log position."""
        return self.row[0]

    @staticmethod
    def parse(record: dict[str, Any]) -> ExportedEvent:
        """An event from its decoded line; ValueError, KeyError or TypeError if malformed."""
        position, version = _field(record, "position", int), _field(record, "version", int)
        if not (0 <= position < 2**64 and -(2**63) <= version < 2**63):
            raise ValueError("position or version out of range")
        topic = _field(record, "topic", str)
        if len(topic.encode("utf-8")) > 0xFFFF:
            raise ValueError("topic longer than 65535 bytes")
        originator_id = _field(record, "originator_id", str)
        if str(UUID(originator_id)) != originator_id:
            raise ValueError("originator_id is not a UUID in canonical form")
        if "state" in record:
            state = _field(record, "state", str).encode("utf-8")
        else:
            state = base64.b64decode(_field(record, "state_base64", str), validate=True)
        claimed = (record["state_sha256"], record["leaf"], record["chain_hash"])
        return ExportedEvent((position, UUID(originator_id).bytes, version, topic, state), claimed)


def _field(record: dict[str, Any], name: str, kind: type[T]) -> T:
    """A line's field, which must have exactly this JSON type."""
    value = record[name]
    if type(value) is not kind:
        raise TypeError(f"{name} must be {kind.__name__}")
    return value


def _check_line(chain: ChainBuilder, event: ExportedEvent) -> str | None:
    """Why this line breaks the chain, or None (the head moves on when it does not)."""
    at = f"position {event.position}"
    if event.position <= chain.position:
        return f"{at}: out of log order"
    hashes = chain.hashes(event.row)
    if event.claimed != tuple(h.hex() for h in hashes):
        return f"{at}: event does not match its hashes or the chain before it"
    chain.accept(event.position, hashes[2])
    return None


def _parse_line(line: str) -> dict[str, Any]:
    record = json.loads(line)
    if not isinstance(record, dict):
        raise TypeError("a line must be a JSON object")
    return record


def verify_export(lines: Iterable[str], public_key_pem: str) -> VerifyResult:
    """Verify an export offline: every hash recomputed, the checkpoint checked with THIS key."""
    public_key = load_public_key(public_key_pem)
    chain = ChainBuilder()
    trailer: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if trailer is not None:
            return _failed(chain, None, f"line {number}: content after the checkpoint line")
        try:
            record = _parse_line(line)
            if "checkpoint" in record:
                trailer = record
                continue
            event = ExportedEvent.parse(record)
        except (ValueError, KeyError, TypeError) as error:
            return _failed(chain, None, f"line {number}: not a valid export line ({error})")
        problem = _check_line(chain, event)
        if problem is not None:
            return _failed(chain, event.position, problem)
    return _verify_trailer(chain, trailer, public_key)


def _verify_trailer(
    chain: ChainBuilder, trailer: dict[str, Any] | None, public_key: Ed25519PublicKey
) -> VerifyResult:
    """Check the export's checkpoint: signed by the given key, at the last event, same hash."""
    if trailer is None:
        return _failed(chain, None, "the checkpoint line is missing")
    try:
        body = trailer["checkpoint"]
        checkpoint = None if body is None else Checkpoint.from_dict(body)
    except TypeError as error:
        return _failed(chain, None, f"malformed checkpoint ({error})")
    if checkpoint is not None and checkpoint.position > chain.position:
        recomputed: str | None = None  # the events up to the checkpoint were cut off
    elif checkpoint is not None and checkpoint.position < chain.position:
        return _failed(chain, None, "events after the checkpoint are not covered by it")
    else:
        recomputed = chain.head_hex
    problem = _checkpoint_problem(chain, checkpoint, recomputed, public_key)
    return _passed(chain) if problem is None else _failed(chain, *problem)
