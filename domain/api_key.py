"""The ApiKey aggregate: who may do what, stored as a SHA-256 of the token only."""

from __future__ import annotations

import hashlib

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock
from domain.errors import RuleViolationError
from domain.values import Meta, choice, text

ROLES = ("admin", "manager", "ingest", "auditor")


def token_sha256(token: str) -> str:
    """The stored form of a bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiKey(Aggregate):
    """A named bearer key with one role; revocable, never deleted."""

    TOPIC = "valuetrail.api_key.ApiKey.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    class Created(Aggregate.Created):
        """Base of the creation event (never stored under this name)."""

        TOPIC = "valuetrail.api_key.Created.v1"

    @classmethod
    def issue_key(cls, *, name: str, role: str, token_hash: str, meta: Meta) -> ApiKey:
        """Record a new key (the caller generated the token and shows it once)."""
        return cls(
            name=text(name, "name", limit=200),
            role=choice(role, ROLES, "role"),
            token_sha256=token_hash,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("Issued", topic="valuetrail.api_key.Issued.v1")
    def __init__(
        self, name: str, role: str, token_sha256: str, actor: str, request_id: str
    ) -> None:
        self.name = name
        self.role = role
        self.token_sha256 = token_sha256
        self.revoked = False
        self.revoked_reason: str | None = None

    def revoke(self, *, reason: str, meta: Meta) -> None:
        """Stop the key working, immediately and for good."""
        if self.revoked:
            raise RuleViolationError(f"API key {self.id} is already revoked")
        self._revoked(reason=text(reason, "reason"), actor=meta.actor, request_id=meta.request_id)

    @event("Revoked", topic="valuetrail.api_key.Revoked.v1")
    def _revoked(self, reason: str, actor: str, request_id: str) -> None:
        self.revoked = True
        self.revoked_reason = reason
