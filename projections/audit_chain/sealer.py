"""The sealer: extends the log's tree with each batch and signs a head, but never a forgery.

It keeps its last signed head outside the database (the state file, VALUETRAIL_AUDIT_STATE).
When it starts (and whenever its memory is dropped) it recomputes the tree from the stored
events, not from the audit tables, and signs only a tree whose first `tree_size` events still
have the root of that head: an edited, removed or reordered event, a rolled-back database or
wiped audit tables make it halt instead. Halted, it signs nothing, logs one error and records
why in the state file (so /audit/verify and the metric say so at once).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.application import ValuetrailApplication
from projections.audit import merkle
from projections.audit.hashing import ChainBuilder, EventRow, uuid_of
from projections.audit.heads import TreeHead, log_id, utc_now_text
from projections.audit.state import DEFAULT_STATE, SealerState, read_state, write_state
from projections.audit_chain.store import (
    CHAIN_COLUMNS,
    DDL,
    VIEW_NAME,
    insert_signed,
    latest_head,
)
from projections.db import Cursor, insert_rows, is_postgres, table_columns
from projections.runner import observe_batches
from projections.view import Envelope, View, tracked_position

log = logging.getLogger("valuetrail.audit")

#: Stored events up to a position, in log order.
EventSource = Callable[[int], Iterable[EventRow]]


class SealerHalted(RuntimeError):
    """The sealer refuses to sign: the log is not an append-only extension of its last head."""


class Tree:
    """The sealed log in memory: the linear chain, the compact range and the last position."""

    __slots__ = ("chain", "range")

    def __init__(self) -> None:
        self.chain = ChainBuilder()
        self.range = merkle.CompactRange()

    @property
    def size(self) -> int:
        """Events sealed."""
        return self.range.size

    @property
    def position(self) -> int:
        """Log position of the last sealed event (0 when empty)."""
        return self.chain.position

    def add(self, row: EventRow) -> tuple[tuple[str, str, str], list[tuple[int, int, bytes]]]:
        """Seal one more event: its (state hash, leaf, chain) hex and the tree nodes it finished."""
        digest, leaf, link = self.chain.hashes(row)
        self.chain.accept(row[0], link)
        nodes = self.range.append(merkle.leaf_hash(leaf))
        return (digest.hex(), leaf.hex(), link.hex()), nodes

    def root_hex(self) -> str:
        """The tree hash so far, hex."""
        return self.range.root().hex()


def notification_rows(app: ValuetrailApplication) -> EventSource:
    """Read stored events up to a position through the application's recorder."""

    def rows(up_to: int) -> Iterable[EventRow]:
        start = 1
        while start <= up_to:
            page = app.recorder.select_notifications(start=start, limit=5000, stop=up_to)
            for n in page:
                yield n.id, uuid_of(n.originator_id).bytes, n.originator_version, n.topic, n.state
            if len(page) < 5000:
                return
            start = page[-1].id + 1

    return rows


class SealerView(View):
    """Seals the log: vt_chain and vt_tree rows per event, and a signed head per batch."""

    name = VIEW_NAME
    tables = ("vt_chain", "vt_tree")  # a rebuild keeps every signed head
    ddl = DDL

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        state_path: str = DEFAULT_STATE,
        app: ValuetrailApplication | None = None,
        sign: bool = True,
    ) -> None:
        self.key = key
        self.log_id = log_id(key)
        self.state_path = state_path
        self.sign = sign  # False while re-sealing: `reseal` signs once at the end
        self.halted: str | None = None
        self.app: ValuetrailApplication | None = None
        self._events: EventSource | None = None
        self._head_position: Callable[[], int] = lambda: 0
        self._tree: Tree | None = None
        self._trusted: TreeHead | None = None
        self._last: TreeHead | None = None  # the newest head in the database, as we left it
        self._pending: tuple[int, TreeHead] | None = None
        if app is not None:
            self.bind(app)
        observe_batches(self._committed)

    def bind(self, app: ValuetrailApplication) -> None:
        """Read the log through this application when recomputing the tree."""
        self.app = app
        self._events = notification_rows(app)
        self._head_position = lambda: app.recorder.max_notification_id() or 0

    def forget(self) -> None:
        self._tree = None
        self._pending = None

    # -- the empty log's head, and committing the state --------------------------------------

    def create(self, cursor: Cursor) -> None:
        """Create the tables, then check the log at start (an empty log gets its empty head).

        A log that fails the check halts the sealer here (recorded, not raised: the caller
        is only setting up); its next batch then refuses.
        """
        _upgrade(cursor)
        super().create(cursor)
        if not self.sign or self.halted:
            return
        with contextlib.suppress(SealerHalted):
            tracked = tracked_position(cursor, self.name)
            if latest_head(cursor) is not None or tracked:
                self._tree = self._load(cursor, tracked)
                return
            state = self._read_state()
            if state and state.head and state.head.tree_size:
                self._load(cursor, tracked)  # the sealed log is gone: this halts
                return
            head = TreeHead.sign(self.key, 0, merkle.EMPTY_ROOT.hex(), 0, utc_now_text())
            insert_signed(cursor, head)
            self._write_state(head, None)

    def _committed(self, view: str, _events: int, _position: int) -> None:
        """After a batch commits, remember its head outside the database."""
        pending = self._pending
        if view != self.name or pending is None or pending[0] != threading.get_ident():
            return
        self._pending = None
        self._write_state(pending[1], None)

    def _read_state(self) -> SealerState | None:
        try:
            state = read_state(self.state_path)
        except ValueError as error:
            self._halt(str(error))
        if state is not None and state.log_id != self.log_id:
            self._halt(f"the state file {self.state_path} belongs to another signing key")
        return state

    def _write_state(self, head: TreeHead | None, halted: str | None) -> None:
        write_state(self.state_path, SealerState(self.log_id, head, halted))

    def _halt(self, reason: str) -> Any:
        """Stop signing for good (until restarted on a log that passes), and say why."""
        if self.halted is None:
            log.error("audit sealer HALTED, signing nothing: %s", reason)
            self.halted = reason
            try:
                state = read_state(self.state_path)
            except ValueError:
                state = None
            self._write_state(state.head if state else None, reason)
        raise SealerHalted(reason)

    # -- sealing -------------------------------------------------------------------------------

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        if self.halted:
            raise SealerHalted(self.halted)
        self._pending = None
        tracked = tracked_position(cursor, self.name)
        tree = self._tree
        if tree is None or tree.position != tracked:
            tree = self._tree = None
            tree = self._tree = self._load(cursor, tracked)
        rows: list[tuple[Any, ...]] = []
        nodes: list[tuple[int, int, str]] = []
        for envelope in batch:
            stored = envelope.notification
            originator = uuid_of(stored.originator_id)
            row = (envelope.position, originator.bytes, stored.originator_version, stored.topic)
            hashes, made = tree.add((*row, stored.state))
            self._check_trusted(tree)
            leaf_index = tree.size - 1
            rows.append(
                (row[0], leaf_index, str(originator), *row[2:], *hashes, envelope.recorded_at)
            )
            nodes.extend((level, index, node.hex()) for level, index, node in made)
        insert_rows(cursor, "vt_chain", CHAIN_COLUMNS, rows)
        insert_rows(cursor, "vt_tree", "level, idx, hash", nodes)
        if self.sign:
            self._sign(cursor, tree)

    def _check_trusted(self, tree: Tree) -> None:
        trusted = self._trusted
        if (
            trusted is not None
            and tree.size == trusted.tree_size
            and tree.root_hex() != trusted.root_hash
        ):
            self._halt(
                f"the first {trusted.tree_size} events no longer have the root the sealer "
                f"signed at {trusted.signed_at} ({trusted.root_hash}): a sealed event was "
                "changed, removed or reordered"
            )

    def _sign(self, cursor: Cursor, tree: Tree) -> None:
        """Sign the tree if it extends the trusted head and the database still holds ours."""
        trusted = self._trusted
        if trusted is not None and tree.size < trusted.tree_size:
            if tree.position >= self._head_position():
                self._halt(
                    f"the log holds {tree.size} events but the sealer signed {trusted.tree_size} "
                    f"at {trusted.signed_at}: events were removed or the database was rolled back"
                )
            return  # re-sealing after a rebuild: nothing to sign until it is caught up
        found = latest_head(cursor)
        newest = found[1] if found else None
        if self._last is not None and newest != self._last:
            self._halt(
                "the newest signed head in the database is not the one the sealer wrote: "
                "signed heads were removed or the database was rolled back"
            )
        head = TreeHead.sign(self.key, tree.size, tree.root_hex(), tree.position, utc_now_text())
        insert_signed(cursor, head)
        self._last = head
        self._trusted = head
        self._pending = (threading.get_ident(), head)

    # -- starting: recompute from the events, check against the trusted head --------------------

    def _load(self, cursor: Cursor, tracked: int) -> Tree:
        state = self._read_state() if self.sign else None
        trusted = state.head if state else None
        found = latest_head(cursor)
        newest = found[1] if found else None
        if trusted is not None and trusted.tree_size > 0 and not _holds(cursor, trusted):
            self._halt(
                f"the last head the sealer signed (tree_size {trusted.tree_size}, signed at "
                f"{trusted.signed_at}) is missing from the database: the audit tables were "
                "wiped or the database was rolled back"
            )
        if trusted is None and newest is not None and self.sign:
            log.warning("no audit state file yet: trusting the newest signed head in the database")
            trusted = newest
        self._trusted, self._last = trusted, (newest if self.sign else None)
        tree = Tree()
        if tracked:
            if self._events is None:
                raise RuntimeError("the sealer needs the application to recompute the log")
            for row in self._events(tracked):
                tree.add(row)
                self._check_trusted(tree)
            self._check_sealed_rows(cursor, tree, tracked)
        if self.halted is None and state is not None and state.halted:
            log.warning("audit sealer: the log passes its checks again; signing resumes")
            self._write_state(state.head, None)
        return tree

    def _check_sealed_rows(self, cursor: Cursor, tree: Tree, tracked: int) -> None:
        if tree.position != tracked:
            self._halt(
                f"events sealed up to position {tracked} are missing from the log (it ends at "
                f"{tree.position}): the log was truncated or the database rolled back"
            )
        cursor.execute("SELECT COUNT(*), MAX(position) FROM vt_chain")
        count, last = cursor.fetchone()
        if int(count) != tree.size or int(last or 0) != tracked:
            self._halt("vt_chain does not hold one row per sealed event: the audit tables changed")


def _upgrade(cursor: Cursor) -> None:
    """Set aside the first release's linear chain (no tree): the log is sealed afresh.

    Its rows are kept as `vt_chain_v1` (with `vt_checkpoint`, the checkpoints signed then) as
    evidence; the sealer starts again from position 0 and, with no head to extend yet, signs
    the tree of the log as it stands (docs/OPERATIONS.md, upgrading).
    """
    columns = table_columns(cursor, "vt_chain")
    if columns and "leaf_index" not in columns:
        log.warning("audit log: setting the linear chain aside as vt_chain_v1; sealing afresh")
        cursor.execute("ALTER TABLE vt_chain RENAME TO vt_chain_v1")
        if is_postgres(cursor):  # indexes keep their names: free the new table's
            cursor.execute("ALTER INDEX IF EXISTS vt_chain_pkey RENAME TO vt_chain_v1_pkey")
        cursor.execute("UPDATE vt_tracking SET position = 0 WHERE view = ?", (VIEW_NAME,))


def _holds(cursor: Cursor, head: TreeHead) -> bool:
    cursor.execute(
        "SELECT 1 FROM vt_tree_head WHERE kind = 'head' AND tree_size = ? AND root_hash = ?"
        " AND signature = ?",
        (head.tree_size, head.root_hash, head.signature),
    )
    return cursor.fetchone() is not None
