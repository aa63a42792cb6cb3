"""Receipts: one aggregate per unique key, so "only once" is decided by the store itself.

A receipt's id is a uuid5 of its key. Saving a second receipt with the same key violates
the store's (originator_id, version) uniqueness in the same transaction as the change it
guards, so duplicates are refused atomically rather than by read-then-write.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock
from domain.values import Meta

NAMESPACE = uuid5(NAMESPACE_URL, "https://valuetrail.invalid/receipts")


def receipt_id(kind: str, *parts: object) -> UUID:
    """The deterministic id of the receipt for a key."""
    return uuid5(NAMESPACE, "|".join([kind, *(str(p) for p in parts)]))


class Receipt(Aggregate):
    """Proof that a keyed thing happened once: a measurement, spend line or idempotent request."""

    TOPIC = "valuetrail.receipt.Receipt.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    class Created(Aggregate.Created):
        """Base of the creation event (never stored under this name)."""

        TOPIC = "valuetrail.receipt.Created.v1"

    @classmethod
    def issue(
        cls,
        *,
        receipt_id_: UUID,
        kind: str,
        key: str,
        subject_id: UUID,
        data: dict[str, Any],
        meta: Meta,
    ) -> Receipt:
        """Create the receipt for a key."""
        return cls(
            id=receipt_id_,
            kind=kind,
            key=key,
            subject_id=subject_id,
            data=data,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("Issued", topic="valuetrail.receipt.Issued.v1")
    def __init__(
        self,
        id: UUID,
        kind: str,
        key: str,
        subject_id: UUID,
        data: dict[str, Any],
        actor: str,
        request_id: str,
    ) -> None:
        self.kind = kind
        self.key = key
        self.subject_id = subject_id
        self.data = dict(data)
