"""Domain errors: every rule violation raises one of these, with a message a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """One or more values are invalid; `errors` maps field names to messages."""

    def __init__(self, errors: Mapping[str, Sequence[str]] | str, field: str = "_schema") -> None:
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items())
        super().__init__(message)


class NotFoundError(DomainError):
    """The named aggregate does not exist (or did not exist at the instant asked)."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class RuleViolationError(DomainError):
    """A command is well-formed but breaks a business rule given the current state."""


class ExternalIdConflictError(RuleViolationError):
    """A (source, external_id) already stored is posted again with other figures: the new
    figures are not stored, and the sender must hear so (a correction changes a value)."""

    def __init__(self, kind: str, stored: Mapping[str, Any], differs: Sequence[str]) -> None:
        self.kind = kind
        self.stored = dict(stored)
        self.differs = list(differs)
        self.index: int | None = None  # which item of a batch, if it came in one
        super().__init__(
            f"this {kind} (source {stored.get('source')!r}, external_id "
            f"{stored.get('external_id')!r}) is already stored with another "
            f"{' and '.join(differs)}; the figures sent were not stored"
        )


class InvalidTransitionError(RuleViolationError):
    """The decision is not allowed from the initiative's current status."""

    def __init__(self, current: str, decision: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.decision = decision
        self.allowed = list(allowed)
        if self.allowed:
            tail = "allowed: " + ", ".join(self.allowed)
        else:
            tail = f"an initiative that is {current} is final and takes no further decisions"
        super().__init__(f"cannot {decision} an initiative that is {current}; {tail}")


class ConcurrencyError(RuleViolationError):
    """Someone else changed the aggregate since it was read; re-read and retry."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} was changed by another request; read it again and retry")
        self.kind = kind
        self.ident = ident


class VersionMismatchError(DomainError):
    """The caller's expected version (If-Match) is not the current version."""

    def __init__(self, kind: str, ident: object, expected: int, actual: int) -> None:
        super().__init__(
            f"{kind} {ident} is at version {actual}, not {expected}; read it again and retry"
        )
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReuseError(DomainError):
    """An Idempotency-Key was reused with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request; "
            "use a new key for a new request"
        )
        self.key = key


class AuthenticationError(DomainError):
    """The presented token matches no live API key."""


class StoreUnavailableError(DomainError):
    """The event store cannot be reached."""
