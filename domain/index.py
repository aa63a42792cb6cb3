"""Indexes: small named lists of ids the write side needs without a projection."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock
from domain.values import Meta

NAMESPACE = uuid5(NAMESPACE_URL, "https://valuetrail.invalid/indexes")


def index_id(name: str) -> UUID:
    """The deterministic id of a named index."""
    return uuid5(NAMESPACE, name)


def benefits_of(initiative_id: UUID) -> str:
    """Name of the index of benefits attributed to an initiative."""
    return f"benefits-of:{initiative_id}"


def initiatives_of(portfolio_id: UUID) -> str:
    """Name of the index of initiatives in a portfolio."""
    return f"initiatives-of:{portfolio_id}"


API_KEYS = "api-keys"
PORTFOLIOS = "portfolios"


class Index(Aggregate):
    """An ordered set of member ids under a name (e.g. the benefits an initiative claims)."""

    TOPIC = "valuetrail.index.Index.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    class Created(Aggregate.Created):
        """Base of the creation event (never stored under this name)."""

        TOPIC = "valuetrail.index.Created.v1"

    @classmethod
    def open(cls, name: str, meta: Meta) -> Index:
        """Create an empty index."""
        return cls(id=index_id(name), name=name, actor=meta.actor, request_id=meta.request_id)

    @event("Opened", topic="valuetrail.index.Opened.v1")
    def __init__(self, id: UUID, name: str, actor: str, request_id: str) -> None:
        self.name = name
        self.members: list[UUID] = []

    def add(self, member_id: UUID, meta: Meta) -> None:
        """Add a member (no-op when present)."""
        if member_id not in self.members:
            self._member_added(member_id=member_id, actor=meta.actor, request_id=meta.request_id)

    @event("MemberAdded", topic="valuetrail.index.MemberAdded.v1")
    def _member_added(self, member_id: UUID, actor: str, request_id: str) -> None:
        self.members.append(member_id)

    def remove(self, member_id: UUID, meta: Meta) -> None:
        """Remove a member (no-op when absent)."""
        if member_id in self.members:
            self._member_removed(member_id=member_id, actor=meta.actor, request_id=meta.request_id)

    @event("MemberRemoved", topic="valuetrail.index.MemberRemoved.v1")
    def _member_removed(self, member_id: UUID, actor: str, request_id: str) -> None:
        self.members.remove(member_id)
