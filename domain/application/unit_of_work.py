"""The one write pipeline: every use case runs its attempt here, and only here is a transaction
opened, committed, refused and retried.

A use case's attempt loads what it needs, lets the aggregates decide, and returns the
aggregates to save with its result. The pipeline runs it at one instant, saves the pending
events (with the idempotency receipt, if the request is idempotent) in one transaction, and on
the store's refusal (a version conflict, or a receipt already stored) asks the retry policy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from domain.application.idempotency import AlreadyHandledError, Idempotency, Replay
from domain.application.loading import Loading, replay
from domain.application.records import Written
from domain.clock import one_instant
from domain.errors import ConcurrencyError, IdempotencyKeyReuseError
from domain.receipt import Receipt, receipt_id
from domain.values import Meta

T = TypeVar("T")

#: What one attempt of a use case returns: the aggregates to save (None for "nothing") and
#: the use case's result.
Plan = tuple[Sequence[Aggregate | None], T]
#: An attempt of a use case, given its number (0 for the first).
Attempt = Callable[[int], Plan[T]]
#: Called with what each save recorded (metrics count appended events through it).
SaveListener = Callable[[list[Recording[UUID]]], None]

#: Measurements and spend commute: a version conflict is retried this many times.
COMMUTING_RETRIES = 30


@dataclass(frozen=True)
class RetryPolicy:
    """How a write answers the store's refusal of its save."""

    tries: int
    #: Retry whatever the conflict (the change commutes with others); otherwise a conflict is
    #: the caller's to resolve (ConcurrencyError), unless the save held only new aggregates.
    commuting: bool
    #: Wait before the first retry too; ingest retries at once, as its first refusal is
    #: usually a duplicate receipt, found by the retry's lookup.
    wait_first: bool = True

    def refused(self, attempt: int, aggregates: Sequence[Aggregate | None], what: Any) -> None:
        """Raise ConcurrencyError if the write must not be retried; otherwise wait a little."""
        if not self.commuting and not _only_new(aggregates):
            raise ConcurrencyError(*what) from None
        if self.wait_first or attempt > 0:
            backoff(attempt)


#: Changes that must not interleave with others (edits under If-Match, decisions).
EXCLUSIVE = RetryPolicy(tries=3, commuting=False)
#: Changes that commute: creations, lessons, spend, corrections.
COMMUTING = RetryPolicy(tries=COMMUTING_RETRIES, commuting=True)
#: Measurements, single or in batches.
INGEST = RetryPolicy(tries=COMMUTING_RETRIES, commuting=True, wait_first=False)


def backoff(attempt: int) -> None:
    """Wait a little, randomly, before retrying a commuting write, so racing writers spread out."""
    time.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))


def _only_new(aggregates: Sequence[Aggregate | None]) -> bool:
    """True when every aggregate in the save is new (a conflict then means a racing create)."""
    return all(a is None or a.version == len(a.pending_events) - 1 for a in aggregates)


class UnitOfWork(Loading):
    """Runs use cases' attempts and saves what they decide, one transaction per attempt."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build the application with no one listening to its saves yet."""
        self._save_listeners: list[SaveListener] = []
        super().__init__(*args, **kwargs)

    def on_saved(self, listener: SaveListener) -> None:
        """Call `listener` with the recordings of every save from now on."""
        self._save_listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """eventsourcing's after-save hook: tell the listeners."""
        super()._notify(recordings)
        for listener in self._save_listeners:
            listener(recordings)

    def _write(
        self,
        attempt: Attempt[T],
        *,
        meta: Meta,
        once: Idempotency | None = None,
        policy: RetryPolicy = EXCLUSIVE,
        what: tuple[str, object] = ("resource", ""),
        turns: Iterable[UUID] = (),
    ) -> Written[T]:
        """Run attempts of a use case until one is saved, as the policy allows. Writers of the
        aggregates named in `turns` take turns (where the store can) for every attempt."""
        with self.recorder.turns(turns):
            for number in range(policy.tries):
                with one_instant():
                    aggregates, result = attempt(number)
                    try:
                        return self._commit(aggregates, result, once, meta)
                    except IntegrityError:
                        policy.refused(number, aggregates, what)
        raise ConcurrencyError(*what)

    def _commit(
        self,
        aggregates: Sequence[Aggregate | None],
        result: T,
        once: Idempotency | None,
        meta: Meta,
    ) -> Written[T]:
        """Save aggregates (plus the idempotency receipt) in one transaction."""
        receipt = None
        if once is not None:
            claim, response = once.claim, once.record(result)
            receipt = Receipt.issue(
                receipt_id_=receipt_id("idempotency", claim.scope, claim.key),
                kind="idempotency",
                key=claim.key,
                subject_id=receipt_id("idempotency-scope", claim.scope),
                data={
                    "fingerprint": claim.fingerprint,
                    "status": response.status,
                    "body": response.body,
                },
                meta=meta,
            )
        elif not any(a is not None and a.pending_events for a in aggregates):
            return Written(result, self.head_position())  # nothing decided: no transaction
        try:
            positions = self._store(*aggregates, receipt)
        except IntegrityError:
            if once is not None:
                stored = self.replay(once)
                if stored is not None:
                    raise AlreadyHandledError(stored) from None
            raise
        head = max(positions.values(), default=None)
        return Written(result, self.head_position() if head is None else head, positions)

    def replay(self, once: Idempotency) -> Replay | None:
        """The stored response for an Idempotency-Key, if that key was used before."""
        claim = once.claim
        receipt = self._find_receipt(receipt_id("idempotency", claim.scope, claim.key))
        if receipt is None:
            return None
        if receipt.data["fingerprint"] != claim.fingerprint:
            raise IdempotencyKeyReuseError(claim.key)
        return Replay(status=int(receipt.data["status"]), body=receipt.data["body"])

    def _store(self, *aggregates: Aggregate | None) -> dict[UUID, int]:
        """eventsourcing's save, without its runtime Protocol checks on every object (a
        noticeable share of recording a measurement: everything saved here is an Aggregate).
        Returns the log position of each saved aggregate's last event."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            if aggregate is not None:
                processing_event.events.extend(aggregate.collect_events())
                processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._remember(aggregates)
        self._notify(recordings)
        return {r.domain_event.originator_id: r.notification.id for r in recordings}

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """One snapshot per aggregate per save, however many intervals a batch crossed."""
        crossed: dict[UUID, int] = {}
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            version = event.originator_version
            if interval and version > 0 and version % interval == 0:
                crossed[event.originator_id] = version
        for aggregate_id, version in crossed.items():
            aggregate = processing_event.aggregates[aggregate_id]
            snapshot_class = getattr(type(aggregate), "Snapshot", None)
            if aggregate.version == version and snapshot_class and self.snapshots:
                # The saved aggregate is exactly that version: snapshot it without a re-read.
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                self.take_snapshot(aggregate_id, version=version, projector_func=replay)
