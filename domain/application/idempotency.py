"""Idempotency as a port: the caller claims a key and says what to record; the application
stores that record in the write's own transaction and replays it for a retry.

The HTTP layer implements `Idempotency` (its responses never cross into the application as
closures); `IdempotentRequest` is the plain implementation for callers outside HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Claim:
    """An `Idempotency-Key` claim: its scope (the API key), the key, and the request's hash."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Replay:
    """A stored response to an already handled idempotent request."""

    status: int
    body: dict[str, Any]


class Idempotency(Protocol):
    """Port: a request that must take effect once."""

    @property
    def claim(self) -> Claim:
        """Who claims which key, for which request."""
        ...

    def record(self, result: Any) -> Replay:
        """The response to replay for this result (stored with the write, in its transaction)."""
        ...


@dataclass(frozen=True)
class IdempotentRequest:
    """An idempotent request from outside HTTP: `respond` gives the (status, body) to replay."""

    scope: str
    key: str
    fingerprint: str
    respond: Callable[[Any], tuple[int, dict[str, Any]]]

    @property
    def claim(self) -> Claim:
        """Who claims which key, for which request."""
        return Claim(self.scope, self.key, self.fingerprint)

    def record(self, result: Any) -> Replay:
        """The response to replay for this result."""
        status, body = self.respond(result)
        return Replay(status, body)


class AlreadyHandledError(Exception):
    """The idempotent request was handled by a racing request; replay its response."""

    def __init__(self, replay: Replay) -> None:
        super().__init__("request already handled")
        self.replay = replay
