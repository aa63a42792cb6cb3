"""API key use cases: issue, authenticate, list, revoke."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.api_key import ApiKey, token_sha256
from domain.application.core import ApplicationCore
from domain.application.records import Written
from domain.application.unit_of_work import COMMUTING
from domain.errors import (
    ConcurrencyError,
    RuleViolationError,
)
from domain.index import API_KEYS
from domain.receipt import Receipt, receipt_id
from domain.values import Meta


class ApiKeyUseCases(ApplicationCore):
    """API key use cases: issue, authenticate, list, revoke."""

    # -- API keys --------------------------------------------------------------------------

    def issue_api_key(
        self, *, name: str, role: str, meta: Meta, token: str | None = None
    ) -> Written[tuple[ApiKey, str]]:
        """Issue a key; returns it with its token (shown once, stored only as a hash)."""
        secret = token or "vt_" + secrets.token_urlsafe(32)
        digest = token_sha256(secret)

        def attempt(_: int) -> tuple[Sequence[Aggregate], tuple[ApiKey, str]]:
            if self._find_receipt(receipt_id("api-token", digest)) is not None:
                raise RuleViolationError("that token is already in use")
            key = ApiKey.issue_key(name=name, role=role, token_hash=digest, meta=meta)
            receipt = Receipt.issue(
                receipt_id_=receipt_id("api-token", digest),
                kind="api-token",
                key=digest,
                subject_id=key.id,
                data={},
                meta=meta,
            )
            return [key, receipt, self._indexed(API_KEYS, key.id, meta)], (key, secret)

        return self._write(attempt, meta=meta, policy=COMMUTING)

    def ensure_admin_key(self, token: str) -> ApiKey:
        """Make sure an admin key with this token exists (the VALUETRAIL_ADMIN_KEY bootstrap)."""
        existing = self.authenticate(token)
        if existing is not None:
            return existing
        try:
            return self.issue_api_key(
                name="bootstrap-admin", role="admin", token=token, meta=Meta()
            ).value[0]
        except (RuleViolationError, ConcurrencyError):
            key = self.authenticate(token)
            if key is None:
                raise
            return key

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key a bearer token belongs to, or None."""
        digest = token_sha256(token)
        key_id = self._token_keys.get(digest)
        if key_id is None:
            receipt = self._find_receipt(receipt_id("api-token", digest))
            if receipt is None:
                return None
            key_id = self._token_keys.setdefault(digest, receipt.subject_id)
        # The key itself is read every time, so a revocation anywhere takes effect at once. It
        # is only read, never changed, so the cached copy is handed out without copying it.
        key = self._find(ApiKey, key_id, for_change=False)
        return None if key is None or key.revoked else key

    def list_api_keys(self) -> list[ApiKey]:
        """Every key ever issued, revoked ones included."""
        return [self._load(ApiKey, k, "API key") for k in self._members(API_KEYS)]

    def get_api_key(self, key_id: UUID) -> ApiKey:
        """One key."""
        return self._load(ApiKey, key_id, "API key")

    def revoke_api_key(self, key_id: UUID, *, reason: str, meta: Meta) -> Written[ApiKey]:
        """Revoke a key; it stops working at once."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], ApiKey]:
            key = self._load(ApiKey, key_id, "API key")
            key.revoke(reason=reason, meta=meta)
            return [key], key

        return self._write(attempt, meta=meta, what=("API key", key_id))

    def has_api_keys(self) -> bool:
        """Whether any key was ever issued."""
        return bool(self._members(API_KEYS))

    def iter_log(self, after: int = 0, limit: int = 1000) -> Iterator[Any]:
        """Stored notifications after a position, in log order."""
        return iter(self.recorder.select_notifications(start=after + 1, limit=limit))
