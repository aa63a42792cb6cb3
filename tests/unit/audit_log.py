"""A synthetic audit log for the audit tests: stored events, their export lines and signed heads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.audit.export import event_line, signed_line
from projections.audit.hashing import GENESIS, chain_hash, leaf_hash, state_hash
from projections.audit.heads import TreeHead, public_key_pem
from projections.audit.verify import Report, verify_lines
from tests.unit import rfc9162

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PEM = public_key_pem(KEY)
SIGNED_AT = "2025-01-31T12:00:00.000000+00:00"
AGGREGATES = [UUID(int=n * 0x1111_1111_1111_1111) for n in range(1, 4)]
#: Log positions with a gap at 7, as a PostgreSQL sequence leaves after a rolled-back insert.
POSITIONS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]


Event = tuple[int, UUID, int, str, bytes]


def synthetic_log(positions: Sequence[int] = POSITIONS) -> list[Event]:
    """Stored events of three aggregates, JSON states, in log order."""
    versions = dict.fromkeys(AGGREGATES, 0)
    log = []
    for position in positions:
        aggregate = AGGREGATES[position % 3]
        state = json.dumps({"amount": f"{position}.50", "note": f"event {position} — £"})
        topic = "valuetrail.benefit.MeasurementRecorded.v1"
        log.append((position, aggregate, versions[aggregate], topic, state.encode("utf-8")))
        versions[aggregate] += 1
    return log


def event_lines(log: Sequence[Event]) -> tuple[list[str], list[bytes]]:
    """Export lines of the events, and their leaves (computed with the public functions)."""
    lines, leaves, head = [], [], GENESIS
    for index, (position, ident, version, topic, state) in enumerate(log):
        leaf = leaf_hash(position, ident, version, topic, state)
        head = chain_hash(head, leaf)
        row = (position, ident.bytes, version, topic, state)
        lines.append(event_line(index, row, (state_hash(state).hex(), leaf.hex(), head.hex())))
        leaves.append(leaf)
    return lines, leaves


def head_of(
    log: Sequence[Event], size: int, key: Ed25519PrivateKey = KEY, at: str = SIGNED_AT
) -> TreeHead:
    """A signed head over the first `size` events (root by the independent reference)."""
    leaves = event_lines(log[:size])[1]
    position = log[size - 1][0] if size else 0
    return TreeHead.sign(key, size, rfc9162.mth(leaves).hex(), position, at)


def export_of(
    log: Sequence[Event], sizes: Sequence[int] | None = None, key: Ed25519PrivateKey = KEY
) -> list[str]:
    """An export: the events, then heads at these sizes (default: empty, half, all)."""
    lines = event_lines(log)[0]
    chosen = [0, len(log) // 2, len(log)] if sizes is None else sizes
    return [*lines, *(signed_line(head_of(log, size, key)) for size in chosen)]


def verify(lines: Sequence[str], **options: object) -> Report:
    """Verify export lines with the public key of KEY."""
    return verify_lines(lines, KEY.public_key(), **options)  # type: ignore[arg-type]


def edited(line: str, **changes: object) -> str:
    """An export line with some members replaced (hashes left as they were)."""
    return json.dumps({**json.loads(line), **changes}, separators=(",", ":")) + "\n"
