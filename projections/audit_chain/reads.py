"""What auditors read from the sealed log: verification, proofs and the export (DESIGN §5.5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.application import ValuetrailApplication
from projections.audit import merkle
from projections.audit.export import event_line, signed_line
from projections.audit.hashing import ChainBuilder
from projections.audit.heads import Reseal, TreeHead
from projections.audit.state import read_state
from projections.audit_chain.store import (
    current_heads,
    latest_head,
    leaf_at,
    proof_hashes,
    signed_items,
    stream_chain,
)
from projections.db import Cursor, ViewDatabase
from projections.log import stream_event_rows


class OutOfRange(ValueError):
    """A proof was asked for sizes or a position the signed log does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LogReport:
    """The body of /audit/verify."""

    verified: bool
    events_checked: int = 0
    tree_size: int = 0
    root_hash: str | None = None
    sealed_position: int = 0
    log_head_position: int = 0
    unsealed: int = 0
    first_bad_position: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    def summary(self) -> str:
        """One line for a human."""
        if not self.verified:
            return f"NOT verified: {self.reason}"
        tail = f", {self.unsealed} newer not yet sealed" if self.unsealed else ""
        return (
            f"verified: {self.events_checked} events, tree_size {self.tree_size}, root "
            f"{self.root_hash} at position {self.sealed_position}{tail}"
        )


class _Failed(Exception):
    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.position = reason, position


def verify_store(
    app: ValuetrailApplication,
    db: ViewDatabase,
    public_key: Ed25519PublicKey,
    state_path: str | None = None,
) -> LogReport:
    """Recompute the log from the stored events and check it against every signed head."""
    head_position = app.recorder.max_notification_id() or 0
    with db.read() as cursor:
        items = signed_items(cursor)
    heads = current_heads(items)
    latest = heads[-1] if heads else None
    checked = 0
    try:
        trusted, halted = _trusted_head(state_path, items)
        for _seq, item in items:
            if not item.verify(public_key):
                raise _Failed(f"{_named(item)}: signature does not verify with the log's key")
        if latest is None:
            raise _Failed("no signed tree head covers the log: the audit tables were emptied")
        checked, unsealed = _recompute(app, db, heads, trusted)
        if halted:
            raise _Failed(f"the sealer halted: {halted}")
    except _Failed as failure:
        return LogReport(
            False, checked, log_head_position=head_position,
            first_bad_position=failure.position, reason=failure.reason,
        )  # fmt: skip
    return LogReport(
        True, checked, latest.tree_size, latest.root_hash, latest.position, head_position, unsealed
    )


def _named(item: TreeHead | Reseal) -> str:
    if isinstance(item, Reseal):
        return f"the re-seal statement signed at {item.signed_at}"
    return f"the head of tree_size {item.tree_size} signed at {item.signed_at}"


def _trusted_head(
    state_path: str | None, items: list[tuple[int, TreeHead | Reseal]]
) -> tuple[TreeHead | None, str | None]:
    """The sealer's last head (which must be among the stored heads) and why it halted, if so."""
    if state_path is None:
        return None, None
    try:
        state = read_state(state_path)
    except ValueError as error:
        raise _Failed(str(error)) from None
    if state is None:
        return None, None
    head = state.head
    if head is not None and head.tree_size and head not in [item for _, item in items]:
        raise _Failed(
            f"the last head the sealer signed ({_named(head)}) is missing from the database: "
            "the audit tables were wiped or the database was rolled back"
        )
    return head, state.halted


def _recompute(
    app: ValuetrailApplication, db: ViewDatabase, heads: list[TreeHead], trusted: TreeHead | None
) -> tuple[int, int]:
    """Stream the log against its sealed rows and heads; (events checked, events unsealed)."""
    latest = heads[-1]
    targets = sorted([*heads, *([trusted] if trusted else [])], key=lambda h: h.tree_size)
    chain, tree = ChainBuilder(), merkle.CompactRange()
    sealed = stream_chain(db, "leaf", up_to=latest.position)
    good, first_open, unsealed, next_target = 0, None, 0, 0
    next_target = _check_heads(tree, targets, 0, 0, good, first_open)
    for row in stream_event_rows(app, db):
        if tree.size == latest.tree_size:
            unsealed += 1
            continue
        _digest, leaf, link = chain.hashes(row)
        chain.accept(row[0], link)
        stored = next(sealed, None)
        if stored is None or stored[0] != row[0]:
            raise _Failed(f"position {row[0]}: the event is not in the sealed chain", row[0])
        if stored[1] != leaf.hex():
            raise _Failed(f"position {row[0]}: the event differs from its seal", row[0])
        first_open = row[0] if first_open is None else first_open
        tree.append(merkle.leaf_hash(leaf))
        before = next_target
        next_target = _check_heads(tree, targets, next_target, row[0], good, first_open)
        if next_target != before:
            good, first_open = tree.size, None
    if tree.size < latest.tree_size:
        raise _Failed(
            f"the log holds {tree.size} events but {_named(latest)} covers {latest.tree_size}: "
            "events were removed",
            chain.position,
        )
    return tree.size, unsealed


def _check_heads(
    tree: merkle.CompactRange,
    targets: list[TreeHead],
    start: int,
    position: int,
    good: int,
    first_open: int | None,
) -> int:
    """Check every head of the tree's current size; the index of the next head to check."""
    index = start
    while index < len(targets) and targets[index].tree_size == tree.size:
        head = targets[index]
        if tree.root().hex() != head.root_hash:
            raise _Failed(
                f"{_named(head)}: its root differs from the log: an event after the first {good} "
                f"(positions {first_open}..{position}) was changed, removed, added or moved",
                first_open,
            )
        if head.position != position:
            raise _Failed(f"{_named(head)}: names position {head.position}, not {position}")
        index += 1
    return index


# -- proofs ------------------------------------------------------------------------------------


def _signed_size(cursor: Cursor) -> int:
    found = latest_head(cursor)
    return found[1].tree_size if found else 0


def inclusion_proof(db: ViewDatabase, position: int, tree_size: int) -> dict[str, Any]:
    """RFC 9162 §2.1.3 audit path of the event at `position` in the tree of `tree_size`."""
    with db.read() as cursor:  # one transaction: the head, the leaf and the nodes agree
        signed = _signed_size(cursor)
        if not 0 < tree_size <= signed:
            raise OutOfRange("tree_size", f"must be between 1 and the latest signed size {signed}")
        found = leaf_at(cursor, position)
        if found is None or found[0] >= tree_size:
            raise OutOfRange("position", f"no event at this position in the first {tree_size}")
        index, leaf = found
        path = proof_hashes(cursor, merkle.inclusion_spans(index, tree_size))
    return {"leaf_index": index, "tree_size": tree_size, "leaf": leaf, "audit_path": path}


def consistency_proof(db: ViewDatabase, first: int, second: int) -> dict[str, Any]:
    """RFC 9162 §2.1.4 proof that the tree of `first` events is a prefix of that of `second`."""
    if not 0 < first <= second:
        raise OutOfRange("first", "must be at least 1 and at most second")
    with db.read() as cursor:
        signed = _signed_size(cursor)
        if second > signed:
            raise OutOfRange("second", f"must be at most the latest signed size {signed}")
        proof = proof_hashes(cursor, merkle.consistency_spans(first, second))
    return {"first": first, "second": second, "proof": proof}


# -- the export ------------------------------------------------------------------------------


def export_lines(app: ValuetrailApplication, db: ViewDatabase) -> Iterator[str]:
    """The export: every event up to the latest signed head, then every head and statement."""
    with db.read() as cursor:
        found = latest_head(cursor)
        items = signed_items(cursor, up_to=found[0]) if found else []
    if found is not None:
        last = found[1].position
        rows = stream_chain(db, "state_sha256, leaf, chain_hash", up_to=last)
        sealed = next(rows, None)
        for index, row in enumerate(stream_event_rows(app, db, up_to=last)):
            while sealed is not None and sealed[0] < row[0]:
                sealed = next(rows, None)
            hashes = sealed[1:] if sealed is not None and sealed[0] == row[0] else ("", "", "")
            yield event_line(index, row, hashes)
    for _seq, item in items:
        yield signed_line(item)


def chain_hashes(db: ViewDatabase, first: int, last: int) -> dict[int, str]:
    """The sealed chain hash of each event between two positions (unsealed ones are absent)."""
    with db.read() as cursor:
        cursor.execute(
            "SELECT position, chain_hash FROM vt_chain WHERE position >= ? AND position <= ?",
            (first, last),
        )
        return {int(position): str(chain) for position, chain in cursor.fetchall()}
