"""Loading aggregates for a use case: from the cache brought up to date with one query for many
aggregates, or from the store; and the cache refreshed with what a write saved."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.application.recorder import ValuetrailRecorder
from domain.errors import NotFoundError
from domain.receipt import Receipt

A = TypeVar("A", bound=Aggregate)


class Loading(Application[UUID]):
    """Reads of aggregates for change or for a look, over a `ValuetrailRecorder`."""

    recorder: ValuetrailRecorder

    def construct_recorder(self) -> ValuetrailRecorder:
        """The configured store's recorder, which must implement the use cases' port."""
        recorder = super().construct_recorder()
        if not isinstance(recorder, ValuetrailRecorder):
            module = self.env.get("PERSISTENCE_MODULE") or "eventsourcing.popo"
            raise TypeError(
                f"PERSISTENCE_MODULE {module!r} does not build a ValuetrailRecorder: "
                "use persistence.sqlite, persistence.postgres or persistence.memory"
            )
        return recorder

    def head_position(self) -> int:
        """The position of the newest event in the log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def _load(self, cls: type[A], ident: UUID, kind: str) -> A:
        aggregate = self._find(cls, ident)
        if aggregate is None:
            raise NotFoundError(kind, ident)
        return aggregate

    def _find(self, cls: type[A], ident: UUID, *, for_change: bool = True) -> A | None:
        """The aggregate, or None; `for_change=False` may hand out the cached object itself."""
        return self._find_many(cls, [ident], for_change=for_change).get(ident)

    def _find_receipt(self, ident: UUID) -> Receipt | None:
        """A receipt, usually absent: one query, no snapshot lookup (receipts never change)."""
        receipt = replay(None, self.events.get(ident, limit=1))
        return receipt if isinstance(receipt, Receipt) else None

    def _find_receipts(self, ids: Iterable[UUID]) -> dict[UUID, Receipt]:
        """The receipts among these ids, in one query (a batch's dedupe keys at once)."""
        folded: dict[UUID, Any] = {}
        for stored in self.recorder.events_of(ids):
            ident = cast(UUID, stored.originator_id)
            event: Any = self.mapper.to_domain_event(stored)
            folded[ident] = event.mutate(folded.get(ident))
        return {i: r for i, r in folded.items() if isinstance(r, Receipt)}

    def _find_many(
        self,
        cls: type[A],
        ids: Sequence[UUID],
        *,
        for_change: bool = True,
        trust_cache: bool = False,
    ) -> dict[UUID, A]:
        """Aggregates by id (the absent left out), those in the cache brought up to date with
        one query for all of them. Cached objects are never changed in place (other threads
        may be reading them): for a change each comes back as the caller's own copy, and a
        look (`for_change=False`) gets the cached object, or its successor in the cache.
        `trust_cache` skips the query for a change the store will refuse if the cache is
        behind (its next version is then taken), for a caller that retries after a refusal."""
        cache = self.repository.cache
        cached: dict[UUID, Any] = {}
        if cache is not None:
            for ident in ids:
                with contextlib.suppress(KeyError):
                    cached[ident] = cache.get(ident)
        newer: dict[UUID, list[Any]] = {}
        versions = {} if trust_cache else {i: a.version for i, a in cached.items()}
        for stored in self.recorder.events_after(versions):
            event = self.mapper.to_domain_event(stored)
            newer.setdefault(cast(UUID, stored.originator_id), []).append(event)
        found: dict[UUID, A] = {}
        for ident in ids:
            aggregate: Any
            if ident in cached:
                aggregate, events = cached[ident], newer.get(ident)
                if for_change or events:
                    aggregate = replay(copy.deepcopy(aggregate), events or ())
                    if not for_change:
                        self._remember([aggregate])
            else:
                try:
                    aggregate = self.repository.get(
                        ident, projector_func=replay, deepcopy_from_cache=for_change
                    )
                except AggregateNotFoundError:
                    continue
            if isinstance(aggregate, cls):
                found[ident] = aggregate
        return found

    def _remember(self, aggregates: Iterable[Aggregate | None]) -> None:
        """Refresh cached aggregates with these newer versions (up to date, no pending events,
        changed by no one from now on), so the next read fetches fewer events. Only aggregates
        already cached are refreshed: new receipts and the like never crowd the cache."""
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate in aggregates:
            if aggregate is None:
                continue
            try:
                current: Any = cache.get(aggregate.id)
            except KeyError:
                continue
            if current.version < aggregate.version:
                cache.put(aggregate.id, aggregate)


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Fold events onto an aggregate (the library's default also runs a costly Protocol check)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
