"""An event's leaf and the linear chain (docs/AUDITING.md §8.1 and §8.2), integers big-endian.

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
"""

from __future__ import annotations

import struct
from hashlib import sha256
from uuid import UUID

GENESIS = bytes(32)
FIXED_FIELDS = struct.Struct(">Q16sq")  # position, originator id, version
_TOPIC_LENGTH = struct.Struct(">H")

#: One stored event as the log hashes it: position, originator id (its 16 raw bytes),
#: version, topic, state.
EventRow = tuple[int, bytes, int, str, bytes]


def state_hash(state: bytes) -> bytes:
    """SHA-256 of an event's stored state."""
    return sha256(state).digest()


def topic_field(topic: str) -> bytes:
    """The topic as hashed: 2-byte big-endian length, then its UTF-8 bytes."""
    data = topic.encode("utf-8")
    return _TOPIC_LENGTH.pack(len(data)) + data


def leaf_hash(position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The leaf of one stored event."""
    fixed = FIXED_FIELDS.pack(position, originator_id.bytes, version)
    return sha256(fixed + topic_field(topic) + state_hash(state)).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """The chain after one more leaf."""
    return sha256(previous + leaf).digest()


def uuid_of(originator_id: UUID | str) -> UUID:
    """A stored originator id as a UUID (recorders return UUIDs or their text)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


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
        leaf = sha256(
            FIXED_FIELDS.pack(position, originator_id, version) + encoded + digest
        ).digest()
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
