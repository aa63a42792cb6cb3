"""The audit log's tables (DESIGN §5.5): sealed events, tree nodes, signed heads; and their reads.

`vt_chain` holds one row per sealed event (its leaf, chain hash and leaf index), `vt_tree`
every complete subtree of the RFC 6962 tree (level, index → hash, written as the sealer goes),
and `vt_tree_head` every signed head and re-seal statement in the order they were signed.
Proofs read O(log n) nodes of `vt_tree` in one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from projections.audit import merkle
from projections.audit.heads import Reseal, TreeHead
from projections.db import Cursor, ViewDatabase

VIEW_NAME = "audit_chain"
PAGE_SIZE = 5000

DDL = (
    "CREATE TABLE IF NOT EXISTS vt_chain ("
    " position BIGINT PRIMARY KEY, leaf_index BIGINT NOT NULL, originator_id TEXT NOT NULL,"
    " version BIGINT NOT NULL, topic TEXT NOT NULL, state_sha256 TEXT NOT NULL,"
    " leaf TEXT NOT NULL, chain_hash TEXT NOT NULL, recorded_at TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS vt_chain_leaf_index ON vt_chain (leaf_index)",
    "CREATE TABLE IF NOT EXISTS vt_tree ("
    " level INTEGER NOT NULL, idx BIGINT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS vt_tree_head ("
    " seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, tree_size BIGINT NOT NULL,"
    " root_hash TEXT NOT NULL, position BIGINT NOT NULL, signed_at TEXT NOT NULL,"
    " signature TEXT NOT NULL, old_tree_size BIGINT, old_root_hash TEXT, reason TEXT)",
)
CHAIN_COLUMNS = (
    "position, leaf_index, originator_id, version, topic, state_sha256, leaf, chain_hash,"
    " recorded_at"
)
_SIGNED = (
    "seq, kind, tree_size, root_hash, position, signed_at, signature, old_tree_size,"
    " old_root_hash, reason"
)

Signed = TreeHead | Reseal


# -- signed heads ----------------------------------------------------------------------------


def _signed(row: Any) -> Signed:
    kind, size, root, position, signed_at, signature, old_size, old_root, reason = row[1:]
    if kind == "reseal":
        return Reseal(int(old_size), old_root, int(size), root, reason, signed_at, signature)
    return TreeHead(int(size), root, int(position), signed_at, signature)


def signed_items(
    cursor: Cursor, *, after: int = 0, up_to: int | None = None, limit: int | None = None
) -> list[tuple[int, Signed]]:
    """(seq, head or statement) in signing order, after a seq (and up to one)."""
    sql = f"SELECT {_SIGNED} FROM vt_tree_head WHERE seq > ?"
    params: list[Any] = [after]
    if up_to is not None:
        sql += " AND seq <= ?"
        params.append(up_to)
    sql += " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor.execute(sql, params)
    return [(int(row[0]), _signed(row)) for row in cursor.fetchall()]


def head_page(cursor: Cursor, after: int, limit: int) -> list[tuple[int, TreeHead]]:
    """Up to `limit` signed heads after a seq, oldest first."""
    cursor.execute(
        f"SELECT {_SIGNED} FROM vt_tree_head WHERE kind = 'head' AND seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    )
    return [(int(row[0]), TreeHead(*_head_fields(row))) for row in cursor.fetchall()]


def _head_fields(row: Any) -> tuple[int, str, int, str, str]:
    return int(row[2]), str(row[3]), int(row[4]), str(row[5]), str(row[6])


def latest_head(cursor: Cursor) -> tuple[int, TreeHead] | None:
    """The newest signed head and its seq."""
    cursor.execute(
        f"SELECT {_SIGNED} FROM vt_tree_head WHERE kind = 'head' ORDER BY seq DESC LIMIT 1"
    )
    row = cursor.fetchone()
    return (int(row[0]), TreeHead(*_head_fields(row))) if row else None


def current_heads(items: list[tuple[int, Signed]]) -> list[TreeHead]:
    """The heads signed since the last re-seal statement."""
    heads: list[TreeHead] = []
    for _seq, item in items:
        heads = [] if isinstance(item, Reseal) else [*heads, item]
    return heads


def insert_signed(cursor: Cursor, item: Signed) -> int:
    """Append a head or a statement; its seq."""
    cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM vt_tree_head")
    seq = int(cursor.fetchone()[0]) + 1
    if isinstance(item, Reseal):
        values: tuple[Any, ...] = (
            seq, "reseal", item.new_tree_size, item.new_root_hash, 0, item.signed_at,
            item.signature, item.old_tree_size, item.old_root_hash, item.reason,
        )  # fmt: skip
    else:
        values = (
            seq, "head", item.tree_size, item.root_hash, item.position, item.signed_at,
            item.signature, None, None, None,
        )  # fmt: skip
    cursor.execute(
        f"INSERT INTO vt_tree_head ({_SIGNED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values
    )
    return seq


# -- tree nodes and proofs -------------------------------------------------------------------


def tree_nodes(cursor: Cursor, needed: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The stored hashes of these complete subtrees (one query)."""
    if not needed:
        return {}
    ordered = sorted(needed)
    where = " OR ".join(["(level = ? AND idx = ?)"] * len(ordered))
    cursor.execute(
        f"SELECT level, idx, hash FROM vt_tree WHERE {where}",
        [value for node in ordered for value in node],
    )
    found = {(int(level), int(idx)): bytes.fromhex(text) for level, idx, text in cursor.fetchall()}
    if len(found) != len(ordered):
        raise LookupError("the tree's nodes are incomplete; rebuild the audit_chain view")
    return found


def proof_hashes(cursor: Cursor, spans: list[merkle.Span]) -> list[str]:
    """The tree hash of each span, from stored complete subtrees, as hex."""
    found = tree_nodes(cursor, merkle.nodes_of(spans))
    return [h.hex() for h in merkle.span_hashes(spans, found.__getitem__)]


def leaf_at(cursor: Cursor, position: int) -> tuple[int, str] | None:
    """(leaf index, leaf hex) of the sealed event at a position."""
    cursor.execute("SELECT leaf_index, leaf FROM vt_chain WHERE position = ?", (position,))
    row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


# -- streaming the sealed rows ---------------------------------------------------


def stream_chain(db: ViewDatabase, columns: str, *, up_to: int) -> Iterator[tuple[Any, ...]]:
    """vt_chain rows (position first, then `columns`) up to a position, a page at a time."""
    after = -1
    while after < up_to:
        with db.read() as cursor:
            # No upper bound in SQL: with one, PostgreSQL may sort the whole range per page.
            cursor.execute(
                f"SELECT position, {columns} FROM vt_chain WHERE position > ?"
                " ORDER BY position LIMIT ?",
                (after, PAGE_SIZE),
            )
            page = cursor.fetchall()
        if not page:
            return
        for row in page:
            if row[0] > up_to:
                return
            yield row
        after = int(page[-1][0])
