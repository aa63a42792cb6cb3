"""The application core: store settings, write plumbing (retries, receipts, one instant per
transaction) and reads of aggregates now, at a version, or as recorded at an instant."""

from __future__ import annotations

import contextlib
import copy
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar, cast
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Notification,
    Recording,
    Transcoding,
)

from domain.application import bulk
from domain.benefit import Benefit
from domain.clock import one_instant
from domain.errors import (
    ConcurrencyError,
    ExternalIdConflictError,
    IdempotencyKeyReuseError,
    NotFoundError,
    ValidationError,
    VersionMismatchError,
)
from domain.index import Index, benefits_of, index_id
from domain.initiative import Initiative
from domain.months import ensure_utc, utc_now
from domain.portfolio import Portfolio
from domain.receipt import Receipt, receipt_id
from domain.values import Meta, decimal

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: Measurements and spend commute: a version conflict is retried this many times.
COMMUTING_RETRIES = 30
BENEFIT_SNAPSHOT_INTERVAL = 100
DECISION_RECORDED = "valuetrail.initiative.DecisionRecorded.v1"


def topic_of(event: object) -> str:
    """The stable topic an event is stored under."""
    return str(getattr(type(event), "TOPIC", ""))


class DateAsISO(Transcoding):
    """Store `date` values as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def store_env(url: str, *, create_tables: bool = False) -> dict[str, str]:
    """Translate a `VALUETRAIL_DB` URL into eventsourcing persistence settings."""
    parsed = urlparse(url)
    create = "y" if create_tables else "n"
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValidationError("use sqlite:///path/to/file.db", "VALUETRAIL_DB")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": create,
        }
    if parsed.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "valuetrail",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "CREATE_TABLE": create,
        }
    raise ValidationError("must start with sqlite:/// or postgresql://", "VALUETRAIL_DB")


@dataclass(frozen=True)
class Written(Generic[T]):
    """The result of a write and the log position that includes it."""

    value: T
    log_position: int


@dataclass(frozen=True)
class IdempotentRequest:
    """An `Idempotency-Key` claim: scope (the API key), the key, and the request's fingerprint.

    `respond` turns the use case's result into the (status, body) to replay on a retry.
    """

    scope: str
    key: str
    fingerprint: str
    respond: Callable[[Any], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Replay:
    """A stored response to an already handled idempotent request."""

    status: int
    body: dict[str, Any]


class AlreadyHandledError(Exception):
    """The idempotent request was handled by a racing request; replay its response."""

    def __init__(self, replay: Replay) -> None:
        super().__init__("request already handled")
        self.replay = replay


@dataclass
class MeasurementOutcome:
    """A measurement as stored, and whether this call created it."""

    measurement: dict[str, Any]
    created: bool


@dataclass
class BatchOutcome:
    """Per-item outcomes of a batch of measurements."""

    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created(self) -> int:
        """How many measurements this batch stored."""
        return sum(1 for r in self.results if r["outcome"] == "created")

    @property
    def duplicates(self) -> int:
        """How many items were already stored."""
        return sum(1 for r in self.results if r["outcome"] == "duplicate")


class ApplicationCore(Application[UUID]):
    """Infrastructure every use case shares; `ValuetrailApplication` adds the use cases."""

    name = "valuetrail"
    # Cached aggregates are fast-forwarded from the store on every read (other processes'
    # writes are seen) and deep-copied before use, so a cache hit is never stale.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "20000"}
    snapshotting_intervals = {Benefit: BENEFIT_SNAPSHOT_INTERVAL}  # noqa: RUF012

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        """Build the application over the configured store."""
        super().__init__(env)
        # token hash -> key id; a token's receipt never changes, so this cannot go stale.
        self._token_keys: dict[str, UUID] = {}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Add dates to the library's UUID, Decimal and datetime transcodings."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- infrastructure helpers ------------------------------------------------------------

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
        for stored in bulk.events_of(self.recorder, ids):
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
        for stored in bulk.events_after(self.recorder, versions):
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

    def _load_for_change(
        self, cls: type[A], ident: UUID, kind: str, expected_version: int | None
    ) -> A:
        aggregate = self._load(cls, ident, kind)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(kind, ident, expected_version, aggregate.version)
        return aggregate

    def _store(self, *aggregates: Aggregate | None) -> int:
        # What Application.save does, minus its runtime Protocol checks on every object
        # (about 8 % of recording a measurement): everything saved here is an Aggregate.
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            if aggregate is not None:
                processing_event.events.extend(aggregate.collect_events())
                processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record_events(processing_event.events)
        self._take_snapshots(processing_event)
        self._remember(aggregates)
        self._notify(recordings)
        if not recordings:
            return self.head_position()
        return max(r.notification.id for r in recordings)

    def _record_events(self, events: Sequence[DomainEventProtocol[UUID]]) -> list[Recording[UUID]]:
        """What EventStore.put does, with our own insert where the store has one (PostgreSQL:
        a third of the CPU time for a large save, two thirds for a small one)."""
        stored = [self.mapper.to_stored_event(e) for e in events]
        ids = bulk.insert_events(self.recorder, stored)
        if ids is None:  # the recorder's own insert, with the events already encoded once
            ids = self.recorder.insert_events(stored)
        if not ids:
            return []
        return [
            Recording(
                event,
                Notification(
                    originator_id=s.originator_id,
                    originator_version=s.originator_version,
                    topic=s.topic,
                    state=s.state,
                    id=ident,
                ),
            )
            for event, s, ident in zip(events, stored, ids, strict=True)
        ]

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # One snapshot per aggregate per save, however many intervals a batch crossed.
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

    def _save_once(
        self,
        aggregates: Sequence[Aggregate | None],
        result: T,
        once: IdempotentRequest | None,
        meta: Meta,
    ) -> Written[T]:
        """Save aggregates (plus the idempotency receipt) in one transaction."""
        receipt = None
        if once is not None:
            status, body = once.respond(result)
            receipt = Receipt.issue(
                receipt_id_=receipt_id("idempotency", once.scope, once.key),
                kind="idempotency",
                key=once.key,
                subject_id=receipt_id("idempotency-scope", once.scope),
                data={"fingerprint": once.fingerprint, "status": status, "body": body},
                meta=meta,
            )
        try:
            position = self._store(*aggregates, receipt)
        except IntegrityError:
            if once is not None:
                replay = self.replay(once)
                if replay is not None:
                    raise AlreadyHandledError(replay) from None
            raise
        return Written(result, position)

    def replay(self, once: IdempotentRequest) -> Replay | None:
        """The stored response for an Idempotency-Key, if that key was used before."""
        receipt = self._find_receipt(receipt_id("idempotency", once.scope, once.key))
        if receipt is None:
            return None
        if receipt.data["fingerprint"] != once.fingerprint:
            raise IdempotencyKeyReuseError(once.key)
        return Replay(status=int(receipt.data["status"]), body=receipt.data["body"])

    def _write(
        self,
        attempt: Callable[[], tuple[Sequence[Aggregate | None], T]],
        *,
        meta: Meta,
        once: IdempotentRequest | None = None,
        commuting: bool = False,
        what: tuple[str, object] = ("resource", ""),
    ) -> Written[T]:
        """Run one attempt of a use case and save it; retry commuting writes on conflict."""
        tries = COMMUTING_RETRIES if commuting else 3
        for attempt_number in range(tries):
            with one_instant():
                aggregates, result = attempt()
                try:
                    return self._save_once(aggregates, result, once, meta)
                except IntegrityError:
                    if not commuting and not _only_new(aggregates):
                        raise ConcurrencyError(*what) from None
                    backoff(attempt_number)
        raise ConcurrencyError(*what)

    def _indexed(self, name: str, member_id: UUID, meta: Meta) -> Index:
        index = self._find(Index, index_id(name)) or Index.open(name, meta)
        index.add(member_id, meta)
        return index

    def _members(self, name: str, as_of: datetime | None = None) -> list[UUID]:
        index = self._index(name, as_of)
        return [] if index is None else list(index.members)

    def _same_portfolio(
        self, portfolio_id: UUID, ids: Sequence[UUID], field_name: str
    ) -> list[Initiative]:
        found = []
        for ident in ids:
            other = self._find(Initiative, ident)
            if other is None or other.portfolio_id != portfolio_id:
                raise ValidationError(
                    f"initiative {ident} does not exist in this portfolio", field_name
                )
            found.append(other)
        return found

    def _change_benefit(
        self,
        ident: UUID,
        change: Callable[[Benefit], T],
        *,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
        commuting: bool = False,
    ) -> Written[T]:
        def attempt() -> tuple[Sequence[Aggregate], T]:
            benefit = self._load_for_change(Benefit, ident, "benefit", expected_version)
            return [benefit], change(benefit)

        return self._write(
            attempt, meta=meta, once=once, commuting=commuting, what=("benefit", ident)
        )

    # -- reads -----------------------------------------------------------------------------

    def get_as_of(self, cls: type[A], ident: UUID, kind: str, as_of: datetime) -> A:
        """The aggregate folded from only the events recorded up to `as_of`."""
        instant = ensure_utc(as_of)
        aggregate: Any = None
        for stored in self.events.get(ident):
            event = cast(Aggregate.Event, stored)
            if event.timestamp > instant:
                break
            aggregate = event.mutate(aggregate)
        if aggregate is None or not isinstance(aggregate, cls):
            raise NotFoundError(kind, ident)
        return aggregate

    def _read(
        self, cls: type[A], ident: UUID, kind: str, as_of: datetime | None, version: int | None
    ) -> A:
        if as_of is not None:
            return self.get_as_of(cls, ident, kind, as_of)
        if version is not None:
            try:
                aggregate: Any = self.repository.get(ident, version=version)
            except AggregateNotFoundError:
                raise NotFoundError(kind, ident) from None
            if not isinstance(aggregate, cls):
                raise NotFoundError(kind, ident)
            return aggregate
        return self._load(cls, ident, kind)

    def get_portfolio(
        self, ident: UUID, *, as_of: datetime | None = None, version: int | None = None
    ) -> Portfolio:
        """A portfolio now, at a version, or as recorded at an instant."""
        return self._read(Portfolio, ident, "portfolio", as_of, version)

    def get_initiative(
        self, ident: UUID, *, as_of: datetime | None = None, version: int | None = None
    ) -> Initiative:
        """An initiative now, at a version, or as recorded at an instant."""
        return self._read(Initiative, ident, "initiative", as_of, version)

    def get_benefit(
        self, ident: UUID, *, as_of: datetime | None = None, version: int | None = None
    ) -> Benefit:
        """A benefit now, at a version, or as recorded at an instant."""
        return self._read(Benefit, ident, "benefit", as_of, version)

    def history(
        self, ident: UUID, *, as_of: datetime | None = None
    ) -> list[DomainEventProtocol[UUID]]:
        """Every event of one aggregate, oldest first (only those recorded by `as_of`)."""
        instant = None if as_of is None else ensure_utc(as_of)
        events = [
            e
            for e in self.events.get(ident)
            if instant is None or cast(Aggregate.Event, e).timestamp <= instant
        ]
        if not events:
            raise NotFoundError("resource", ident)
        return events

    def decisions(
        self, initiative_id: UUID, *, as_of: datetime | None = None
    ) -> list[DomainEventProtocol[UUID]]:
        """The decision events of one initiative, oldest first."""
        self.get_initiative(initiative_id, as_of=as_of)
        return [
            e for e in self.history(initiative_id, as_of=as_of) if topic_of(e) == DECISION_RECORDED
        ]

    def benefits_of(self, initiative_id: UUID, *, as_of: datetime | None = None) -> list[Benefit]:
        """The benefits that attribute a share to an initiative."""
        return [
            self.get_benefit(b, as_of=as_of)
            for b in self._members(benefits_of(initiative_id), as_of)
        ]

    def _index(self, name: str, as_of: datetime | None = None) -> Index | None:
        try:
            return (
                self.get_as_of(Index, index_id(name), "index", as_of)
                if as_of
                else self._find(Index, index_id(name))
            )
        except NotFoundError:
            return None


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Fold events onto an aggregate (the library's default also runs a costly Protocol check)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def backoff(attempt: int) -> None:
    """Wait a little, randomly, before retrying a commuting write, so racing writers spread out."""
    time.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))


def _only_new(aggregates: Sequence[Aggregate | None]) -> bool:
    """True when every aggregate in the save is new (a conflict then means a racing create)."""
    return all(a is None or a.version == len(a.pending_events) - 1 for a in aggregates)


def check_observed(items: Sequence[Mapping[str, Any]], *, single: bool = False) -> None:
    """Reject measurements observed in the future (a day's grace for time zones)."""
    today = utc_now().date()
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        observed = item.get("observed_on")
        if not isinstance(observed, date) or isinstance(observed, datetime):
            errors.setdefault(f"items.{index}.observed_on", []).append(
                "must be a date (YYYY-MM-DD)"
            )
        elif (observed - today).days > 1:
            errors.setdefault(f"items.{index}.observed_on", []).append("must not be in the future")
    if errors:
        if single:
            errors = {k.split(".", 2)[2]: v for k, v in errors.items()}
        raise ValidationError(errors)


def check_same_figures(
    kind: str, stored: Mapping[str, Any], sent: Mapping[str, Any], names: Sequence[str]
) -> None:
    """A repeat of a stored (source, external_id) must carry the same figures, or the sender
    is told (ExternalIdConflictError) rather than answered as if its figures were stored."""
    differs = [name for name in names if not _same_figure(stored.get(name), sent.get(name))]
    if differs:
        raise ExternalIdConflictError(kind, stored, differs)


def _same_figure(stored: Any, sent: Any) -> bool:
    if isinstance(stored, Decimal):
        return stored == decimal(sent, "value")  # 100 and "100.00" are one figure
    return str(stored) == str(sent)


def measurement_record(event: Any, benefit_id: UUID) -> dict[str, Any]:
    """The public shape of a MeasurementRecorded event."""
    return {
        "measurement_id": event.measurement_id,
        "benefit_id": benefit_id,
        "value": event.value,
        "observed_on": event.observed_on,
        "source": event.source,
        "external_id": event.external_id,
        "recorded_at": event.timestamp,
    }


def decision_record(event: Any) -> dict[str, Any]:
    """The public shape of a DecisionRecorded event."""
    return {
        "decision_id": event.decision_id,
        "initiative_id": event.originator_id,
        "decision": event.decision,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "rationale": event.rationale,
        "reason_code": event.reason_code,
        "decided_by": event.decided_by,
        "decided_on": event.decided_on,
        "conditions": event.conditions,
        "delay_until": event.delay_until,
        "next_review_on": event.next_review_on,
        "evidence_refs": list(event.evidence_refs),
        "scenario_id": event.scenario_id,
        "recorded_at": event.timestamp,
        "actor": event.actor,
        "request_id": event.request_id,
        "log_position": event.log_position,
        "evidence": dict(event.evidence),
    }
