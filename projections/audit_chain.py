"""The audit log under its first name: the sealer view and what callers use of the log.

The log itself lives in `projections.audit` (pure: hashing, RFC 6962 tree, signed heads,
export checks), `projections.audit_store` (tables and queries), `projections.audit_sealer`
(the view that signs), `projections.audit_reseal` (a deliberate re-seal) and
`projections.audit_reads` (verification, proofs, the export).
"""

from __future__ import annotations

from eventsourcing.persistence import Notification

from projections.audit.hashing import (
    GENESIS,
    ChainBuilder,
    EventRow,
    chain_hash,
    leaf_hash,
    state_hash,
    topic_field,
    uuid_of,
)
from projections.audit.heads import (
    TreeHead,
    load_or_create_signing_key,
    load_public_key,
    log_id,
    public_key_pem,
)
from projections.audit_reads import LogReport, export_lines, verify_store
from projections.audit_sealer import SealerHalted, SealerView
from projections.audit_store import DDL, VIEW_NAME, stream_event_rows
from projections.db import ViewDatabase
from projections.view import TRACKING_DDL

__all__ = [
    "GENESIS",
    "VIEW_NAME",
    "ChainBuilder",
    "EventRow",
    "LogReport",
    "SealerHalted",
    "SealerView",
    "TreeHead",
    "chain_hash",
    "ensure_tables",
    "event_row",
    "export_lines",
    "leaf_hash",
    "load_or_create_signing_key",
    "load_public_key",
    "log_id",
    "public_key_pem",
    "state_hash",
    "stream_event_rows",
    "topic_field",
    "uuid_of",
    "verify_store",
]


def event_row(notification: Notification) -> EventRow:
    """The fields of a stored event that the log hashes."""
    return (
        notification.id,
        uuid_of(notification.originator_id).bytes,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def ensure_tables(db: ViewDatabase) -> None:
    """Create the tracking and audit tables if missing (for commands run before the projector)."""
    with db.transaction() as cursor:
        cursor.execute(TRACKING_DDL)
        for statement in DDL:
            cursor.execute(statement)
