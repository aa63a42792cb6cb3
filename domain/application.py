"""The valuetrail Application: one method per use case, domain types in and out.

Every write loads the aggregates it touches, lets them decide (they raise domain errors),
and saves all resulting events in one transaction. Uniqueness ("only once") is decided by
the store through receipts saved in that same transaction, never by read-then-write.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar, cast
from urllib.parse import unquote, urlparse
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.api_key import ApiKey, token_sha256
from domain.benefit import Benefit
from domain.clock import one_instant
from domain.errors import (
    ConcurrencyError,
    IdempotencyKeyReuseError,
    NotFoundError,
    RuleViolationError,
    ValidationError,
    VersionMismatchError,
)
from domain.facts import benefit_facts, initiative_facts, terms_of
from domain.index import API_KEYS, PORTFOLIOS, Index, benefits_of, index_id, initiatives_of
from domain.initiative import Initiative
from domain.months import current_month, ensure_utc, utc_now
from domain.portfolio import Portfolio
from domain.receipt import Receipt, receipt_id
from domain.valuation import initiative_value
from domain.values import Meta

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


class ValuetrailApplication(Application[UUID]):
    """Every use case of valuetrail, over the event store chosen by configuration."""

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
        try:
            aggregate: Any = self.repository.get(ident, projector_func=replay)
        except AggregateNotFoundError:
            raise NotFoundError(kind, ident) from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(kind, ident)
        return aggregate

    def _find(self, cls: type[A], ident: UUID) -> A | None:
        try:
            aggregate: Any = self.repository.get(ident, projector_func=replay)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def _find_receipt(self, ident: UUID) -> Receipt | None:
        """A receipt, usually absent: one query, no snapshot lookup (receipts never change)."""
        receipt = replay(None, self.events.get(ident, limit=1))
        return receipt if isinstance(receipt, Receipt) else None

    def _load_for_change(
        self, cls: type[A], ident: UUID, kind: str, expected_version: int | None
    ) -> A:
        aggregate = self._load(cls, ident, kind)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(kind, ident, expected_version, aggregate.version)
        return aggregate

    def _store(self, *aggregates: Aggregate | None) -> int:
        recordings = self.save(*aggregates)
        if not recordings:
            return self.head_position()
        return max(r.notification.id for r in recordings)

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

    # -- portfolios ------------------------------------------------------------------------

    def create_portfolio(
        self,
        *,
        name: str,
        currency: str,
        discount_rate: object,
        base_month: str,
        rag_green: object = Decimal("90"),
        rag_amber: object = Decimal("75"),
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[Portfolio]:
        """Create a portfolio."""

        def attempt() -> tuple[Sequence[Aggregate], Portfolio]:
            portfolio = Portfolio.create(
                name=name,
                currency_code=currency,
                discount_rate=discount_rate,
                base_month=base_month,
                rag_green=rag_green,
                rag_amber=rag_amber,
                meta=meta,
            )
            return [portfolio, self._indexed(PORTFOLIOS, portfolio.id, meta)], portfolio

        return self._write(attempt, meta=meta, once=once, commuting=True)

    def _indexed(self, name: str, member_id: UUID, meta: Meta) -> Index:
        index = self._find(Index, index_id(name)) or Index.open(name, meta)
        index.add(member_id, meta)
        return index

    def _members(self, name: str, as_of: datetime | None = None) -> list[UUID]:
        index = self._index(name, as_of)
        return [] if index is None else list(index.members)

    def list_portfolios(self, *, as_of: datetime | None = None) -> list[Portfolio]:
        """Every portfolio, oldest first."""
        return [self.get_portfolio(p, as_of=as_of) for p in self._members(PORTFOLIOS, as_of)]

    def list_initiatives(
        self, portfolio_id: UUID, *, status: str | None = None, as_of: datetime | None = None
    ) -> list[Initiative]:
        """The initiatives of a portfolio, oldest first, optionally of one status."""
        found = [
            self.get_initiative(i, as_of=as_of)
            for i in self._members(initiatives_of(portfolio_id), as_of)
        ]
        return [i for i in found if status is None or i.status == status]

    def _change_portfolio(
        self,
        ident: UUID,
        change: Callable[[Portfolio], T],
        *,
        meta: Meta,
        expected_version: int | None,
        once: IdempotentRequest | None = None,
    ) -> Written[T]:
        def attempt() -> tuple[Sequence[Aggregate], T]:
            portfolio = self._load_for_change(Portfolio, ident, "portfolio", expected_version)
            return [portfolio], change(portfolio)

        return self._write(attempt, meta=meta, once=once, what=("portfolio", ident))

    def add_goal(
        self,
        portfolio_id: UUID,
        *,
        title: str,
        description: str,
        weight: object,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[dict[str, Any]]:
        """Add a strategic goal to a portfolio; returns the goal."""

        def change(p: Portfolio) -> dict[str, Any]:
            goal_id = p.add_goal(title=title, description=description, weight=weight, meta=meta)
            return dict(p.goals[goal_id])

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_goal(
        self,
        portfolio_id: UUID,
        goal_id: UUID,
        *,
        title: str | None = None,
        description: str | None = None,
        weight: object = None,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[dict[str, Any]]:
        """Revise a goal's title, description or weight."""

        def change(p: Portfolio) -> dict[str, Any]:
            p.revise_goal(
                goal_id,
                title=title,
                description=description,
                weight=weight,
                reason=reason,
                meta=meta,
            )
            return dict(p.goals[goal_id])

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version
        )

    def retire_goal(
        self,
        portfolio_id: UUID,
        goal_id: UUID,
        *,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[None]:
        """Retire a goal."""
        return self._change_portfolio(
            portfolio_id,
            lambda p: p.retire_goal(goal_id, reason=reason, meta=meta),
            meta=meta,
            expected_version=expected_version,
        )

    def set_capacity(
        self,
        portfolio_id: UUID,
        *,
        budget: dict[str, object],
        people: dict[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Portfolio]:
        """Replace a portfolio's budget by month and people by role."""

        def change(p: Portfolio) -> Portfolio:
            p.set_capacity(budget=budget, people=people, reason=reason, meta=meta)
            return p

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version
        )

    def record_scenario(
        self,
        portfolio_id: UUID,
        *,
        kind: str,
        parameters: dict[str, Any],
        result: dict[str, Any],
        meta: Meta,
    ) -> Written[UUID]:
        """Store an evaluated downturn scenario."""
        return self._change_portfolio(
            portfolio_id,
            lambda p: p.record_scenario(kind=kind, parameters=parameters, result=result, meta=meta),
            meta=meta,
            expected_version=None,
        )

    # -- initiatives -----------------------------------------------------------------------

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

    def propose_initiative(
        self,
        *,
        portfolio_id: UUID,
        kind: str,
        name: str,
        sponsor: str,
        start_month: str,
        end_month: str,
        confidence: object,
        description: str = "",
        parent_id: UUID | None = None,
        leader: str | None = None,
        mandatory: bool = False,
        depends_on: Sequence[UUID] = (),
        people_demand: Mapping[str, object] | None = None,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[Initiative]:
        """Propose a new initiative in a portfolio."""

        def attempt() -> tuple[Sequence[Aggregate], Initiative]:
            if self._find(Portfolio, portfolio_id) is None:
                raise ValidationError(f"portfolio {portfolio_id} does not exist", "portfolio_id")
            if parent_id is not None:
                (parent,) = self._same_portfolio(portfolio_id, [parent_id], "parent_id")
                if parent.kind != "programme":
                    raise ValidationError("the parent must be a programme", "parent_id")
            self._same_portfolio(portfolio_id, list(depends_on), "depends_on")
            initiative = Initiative.propose(
                portfolio_id=portfolio_id,
                kind=kind,
                parent_id=parent_id,
                name=name,
                description=description,
                sponsor=sponsor,
                leader=leader,
                start_month=start_month,
                end_month=end_month,
                confidence=confidence,
                mandatory=mandatory,
                depends_on=list(depends_on),
                people_demand=dict(people_demand or {}),
                meta=meta,
            )
            index = self._indexed(initiatives_of(portfolio_id), initiative.id, meta)
            return [initiative, index], initiative

        return self._write(attempt, meta=meta, once=once, commuting=True)

    def _change_initiative(
        self,
        ident: UUID,
        change: Callable[[Initiative], T],
        *,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
        commuting: bool = False,
        extra: Callable[[], Sequence[Aggregate | None]] | None = None,
    ) -> Written[T]:
        def attempt() -> tuple[Sequence[Aggregate | None], T]:
            initiative = self._load_for_change(Initiative, ident, "initiative", expected_version)
            result = change(initiative)
            return [initiative, *(extra() if extra else [])], result

        return self._write(
            attempt, meta=meta, once=once, commuting=commuting, what=("initiative", ident)
        )

    def revise_initiative(
        self,
        initiative_id: UUID,
        *,
        changes: dict[str, Any],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Revise an initiative's details."""

        def change(i: Initiative) -> Initiative:
            if "depends_on" in changes:
                self._same_portfolio(i.portfolio_id, list(changes["depends_on"]), "depends_on")
            i.revise_details(changes=changes, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )

    def revise_cost_forecast(
        self,
        initiative_id: UUID,
        *,
        periods: Mapping[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Record a new cost forecast revision."""

        def change(i: Initiative) -> Initiative:
            i.revise_cost_forecast(periods_=dict(periods), reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )

    def record_spend(
        self,
        initiative_id: UUID,
        *,
        month: str,
        amount: object,
        source: str,
        external_id: str | None = None,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[dict[str, Any]]:
        """Record actual spend; the same (source, external_id) is stored once."""
        for attempt_number in range(COMMUTING_RETRIES):
            with one_instant():
                initiative = self._load(Initiative, initiative_id, "initiative")
                key = f"{initiative_id}|{source}|{external_id}"
                receipt = None
                if external_id:
                    spend_id = receipt_id("spend", initiative_id, source, external_id)
                    existing = self._find_receipt(spend_id)
                    if existing is not None:
                        duplicate = dict(existing.data, created=False)
                        if once is None:
                            return Written(duplicate, self.head_position())
                        return self._save_once([], duplicate, once, meta)
                else:
                    spend_id = uuid4()
                initiative.record_spend(
                    spend_id=spend_id,
                    month=month,
                    amount_=amount,
                    source=source,
                    external_id=external_id,
                    meta=meta,
                )
                recorded = initiative.pending_events[-1]
                spend = {
                    "spend_id": spend_id,
                    "initiative_id": initiative_id,
                    "month": month,
                    "amount": recorded.amount,  # type: ignore[attr-defined]
                    "source": source,
                    "external_id": external_id,
                    "recorded_at": recorded.timestamp,
                }
                if external_id:
                    receipt = Receipt.issue(
                        receipt_id_=spend_id,
                        kind="spend",
                        key=key,
                        subject_id=initiative_id,
                        data=spend,
                        meta=meta,
                    )
                try:
                    return self._save_once(
                        [initiative, receipt], dict(spend, created=True), once, meta
                    )
                except IntegrityError:
                    backoff(attempt_number)
        raise ConcurrencyError("initiative", initiative_id)

    def assess_confidence(
        self,
        initiative_id: UUID,
        *,
        confidence: object,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Initiative]:
        """Record a new confidence (probability of delivering)."""

        def change(i: Initiative) -> Initiative:
            i.assess_confidence(confidence=confidence, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def assign_leader(
        self,
        initiative_id: UUID,
        *,
        leader: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Initiative]:
        """Assign a new leader."""

        def change(i: Initiative) -> Initiative:
            i.assign_leader(leader=leader, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def evidence(self, initiative: Initiative) -> dict[str, Any]:
        """The initiative's value figures as they stand now, plus the log position."""
        position = self.head_position()
        portfolio = self._load(Portfolio, initiative.portfolio_id, "portfolio")
        benefits = self.benefits_of(initiative.id)
        figures = initiative_value(
            initiative_facts(initiative),
            [benefit_facts(b) for b in benefits],
            terms_of(portfolio),
            current_month(),
        )
        return {
            "pv_benefits": figures.pv_benefits,
            "pv_costs": figures.pv_costs,
            "npv": figures.npv,
            "bcr": figures.bcr,
            "roi": figures.roi,
            "risk_adjusted_npv": figures.risk_adjusted_npv,
            "vfm_band": figures.vfm_band,
            "realised_to_date": figures.realised_to_date,
            "forecast_to_date": figures.forecast_to_date,
            "realisation_pct": figures.realisation_pct,
            "spend_to_date": figures.spend_to_date,
            "confidence": initiative.confidence,
            "status": initiative.status,
            "cost_forecast_revision": initiative.cost_forecast_revision,
            "benefit_forecast_revisions": {str(b.id): b.forecast_revision for b in benefits},
            "as_of_month": current_month(),
            "log_position": position,
        }

    def record_decision(
        self,
        initiative_id: UUID,
        *,
        decision: str,
        rationale: str,
        decided_by: str,
        decided_on: date,
        reason_code: str | None = None,
        conditions: str | None = None,
        delay_until: str | None = None,
        next_review_on: date | None = None,
        evidence_refs: Sequence[str] = (),
        scenario_id: UUID | None = None,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[dict[str, Any]]:
        """Record a board decision; the evidence is captured here, never taken from the caller."""

        def attempt() -> tuple[Sequence[Aggregate], dict[str, Any]]:
            initiative = self._load_for_change(
                Initiative, initiative_id, "initiative", expected_version
            )
            initiative.check_decision(decision)
            if scenario_id is not None:
                self._load(Portfolio, initiative.portfolio_id, "portfolio").check_scenario(
                    scenario_id
                )
            evidence = self.evidence(initiative)
            initiative.record_decision(
                decision=decision,
                rationale=rationale,
                reason_code=reason_code,
                decided_by=decided_by,
                decided_on=decided_on,
                conditions=conditions,
                delay_until=delay_until,
                next_review_on=next_review_on,
                evidence_refs=list(evidence_refs),
                scenario_id=scenario_id,
                evidence=evidence,
                log_position=evidence["log_position"],
                meta=meta,
            )
            return [initiative], decision_record(initiative.pending_events[-1])

        return self._write(attempt, meta=meta, once=once, what=("initiative", initiative_id))

    def record_lesson(
        self,
        initiative_id: UUID,
        *,
        text: str,
        category: str,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[dict[str, Any]]:
        """Record a lesson learned."""

        def change(i: Initiative) -> dict[str, Any]:
            lesson_id = i.record_lesson(lesson_text=text, category=category, meta=meta)
            return next(dict(lesson) for lesson in i.lessons if lesson["lesson_id"] == lesson_id)

        return self._change_initiative(initiative_id, change, meta=meta, once=once, commuting=True)

    def set_contingency_plan(
        self,
        initiative_id: UUID,
        *,
        plan: str,
        trigger: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Set plan B."""

        def change(i: Initiative) -> Initiative:
            i.set_contingency_plan(plan=plan, trigger=trigger, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )

    # -- benefits --------------------------------------------------------------------------

    def _link(
        self,
        initiative_ids: Sequence[UUID],
        benefit_id: UUID,
        meta: Meta,
        *,
        unlink: Sequence[UUID] = (),
    ) -> list[Index]:
        changed = []
        for initiative_id, add in [
            *((i, True) for i in initiative_ids),
            *((i, False) for i in unlink),
        ]:
            name = benefits_of(initiative_id)
            index = self._find(Index, index_id(name)) or Index.open(name, meta)
            if add:
                index.add(benefit_id, meta)
            else:
                index.remove(benefit_id, meta)
            changed.append(index)
        return changed

    def _check_contributions(
        self, portfolio_id: UUID, contributions: Sequence[Mapping[str, Any]]
    ) -> None:
        ids = [c.get("initiative_id") for c in contributions]
        self._same_portfolio(portfolio_id, [i for i in ids if isinstance(i, UUID)], "contributions")

    def identify_benefit(
        self,
        *,
        initiative_id: UUID,
        title: str,
        category: str,
        owner: str,
        measure: Mapping[str, Any],
        baseline: Mapping[str, Any],
        description: str = "",
        disbenefit: bool = False,
        goal_id: UUID | None = None,
        target: Mapping[str, Any] | None = None,
        contributions: Sequence[Mapping[str, Any]] = (),
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[Benefit]:
        """Identify a benefit an initiative is accountable for."""

        def attempt() -> tuple[Sequence[Aggregate], Benefit]:
            initiative = self._find(Initiative, initiative_id)
            if initiative is None:
                raise ValidationError(f"initiative {initiative_id} does not exist", "initiative_id")
            portfolio = self._load(Portfolio, initiative.portfolio_id, "portfolio")
            if goal_id is not None:
                try:
                    portfolio.live_goal(goal_id)
                except NotFoundError:
                    raise ValidationError(
                        f"goal {goal_id} is not a live goal of this portfolio", "goal_id"
                    ) from None
            self._check_contributions(portfolio.id, contributions)
            benefit = Benefit.identify(
                portfolio_id=portfolio.id,
                initiative_id=initiative_id,
                title=title,
                description=description,
                category=category,
                disbenefit=disbenefit,
                owner=owner,
                goal_id=goal_id,
                measure=measure,
                baseline=baseline,
                target=target,
                contributions=contributions,
                meta=meta,
            )
            return [benefit, *self._link(benefit.attributed_to, benefit.id, meta)], benefit

        return self._write(attempt, meta=meta, once=once, commuting=True)

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

    def revise_benefit_forecast(
        self,
        benefit_id: UUID,
        *,
        periods: Mapping[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Benefit]:
        """Record a new benefit forecast revision."""

        def change(b: Benefit) -> Benefit:
            b.revise_forecast(periods_=periods, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version
        )

    def change_attribution(
        self,
        benefit_id: UUID,
        *,
        contributions: Sequence[Mapping[str, Any]],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Benefit]:
        """Replace who claims which share of a benefit."""

        def attempt() -> tuple[Sequence[Aggregate], Benefit]:
            benefit = self._load_for_change(Benefit, benefit_id, "benefit", expected_version)
            self._check_contributions(benefit.portfolio_id, contributions)
            before = set(benefit.attributed_to)
            benefit.change_attribution(contributions=contributions, reason=reason, meta=meta)
            after = benefit.attributed_to
            indexes = self._link(
                after, benefit.id, meta, unlink=[i for i in before if i not in after]
            )
            return [benefit, *indexes], benefit

        return self._write(attempt, meta=meta, what=("benefit", benefit_id))

    def change_owner(
        self,
        benefit_id: UUID,
        *,
        owner: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Benefit]:
        """Hand a benefit to a new owner."""

        def change(b: Benefit) -> Benefit:
            b.change_owner(owner=owner, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_baseline(
        self,
        benefit_id: UUID,
        *,
        value: object,
        as_of: date,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Benefit]:
        """Revise a benefit's baseline."""

        def change(b: Benefit) -> Benefit:
            b.revise_baseline(value=value, as_of=as_of, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_target(
        self,
        benefit_id: UUID,
        *,
        value: object,
        by_month: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Benefit]:
        """Revise a benefit's target."""

        def change(b: Benefit) -> Benefit:
            b.revise_target(value=value, by_month=by_month, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def close_benefit(
        self,
        benefit_id: UUID,
        *,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: IdempotentRequest | None = None,
    ) -> Written[Benefit]:
        """Close a benefit."""

        def change(b: Benefit) -> Benefit:
            b.close(reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    # -- measurements ----------------------------------------------------------------------

    def record_measurement(
        self,
        benefit_id: UUID,
        *,
        value: object,
        observed_on: date,
        source: str,
        external_id: str | None = None,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[MeasurementOutcome]:
        """Record one measurement; the same (benefit, source, external_id) is stored once."""
        item = {
            "benefit_id": benefit_id,
            "value": value,
            "observed_on": observed_on,
            "source": source,
            "external_id": external_id,
        }
        outcome = self._record_measurements([item], meta=meta, once=once, single=True)
        return cast(Written[MeasurementOutcome], outcome)

    def record_measurements(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[BatchOutcome]:
        """Record measurements all-or-nothing: every item is validated before anything is stored."""
        outcome = self._record_measurements(items, meta=meta, once=once, single=False)
        return cast(Written[BatchOutcome], outcome)

    def _record_measurements(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        meta: Meta,
        once: IdempotentRequest | None,
        single: bool,
    ) -> Written[Any]:
        check_observed(items, single=single)
        for attempt_number in range(COMMUTING_RETRIES):
            with one_instant():
                benefits: dict[UUID, Benefit] = {}
                receipts: list[Receipt] = []
                outcome = BatchOutcome()
                errors: dict[str, list[str]] = {}
                seen: dict[UUID, dict[str, Any]] = {}
                one: MeasurementOutcome | None = None
                for index, item in enumerate(items):
                    prefix = "" if single else f"items.{index}."
                    benefit_id = item["benefit_id"]
                    try:
                        benefit = benefits.get(benefit_id) or self._load(
                            Benefit, benefit_id, "benefit"
                        )
                        benefits[benefit_id] = benefit
                        measured = self._measure(
                            benefit, item, seen, meta, lookup=attempt_number > 0
                        )
                    except NotFoundError as error:
                        if single:
                            raise
                        errors.setdefault(f"{prefix}benefit_id", []).append(error.message)
                        continue
                    except ValidationError as error:
                        for name, messages in error.errors.items():
                            errors.setdefault(f"{prefix}{name}", []).extend(messages)
                        continue
                    except RuleViolationError as error:
                        if single:
                            raise
                        errors.setdefault(f"{prefix}benefit_id", []).append(error.message)
                        continue
                    measurement, receipt = measured
                    created = receipt is not None
                    if receipt is not None:
                        receipts.append(receipt)
                    outcome.results.append(
                        {
                            "benefit_id": benefit_id,
                            "measurement_id": measurement["measurement_id"],
                            "outcome": "created" if created else "duplicate",
                        }
                    )
                    one = MeasurementOutcome(measurement, created)
                if errors:
                    raise ValidationError(errors)
                result: Any = one if single else outcome
                changed = [b for b in benefits.values() if b.pending_events]
                if not changed and once is None:
                    return Written(result, self.head_position())
                try:
                    return self._save_once([*changed, *receipts], result, once, meta)
                except IntegrityError:
                    if (
                        attempt_number > 0
                    ):  # the first refusal is often a duplicate: look, then retry
                        backoff(attempt_number)
        raise ConcurrencyError("benefit", ", ".join(str(i["benefit_id"]) for i in items[:3]))

    def _measure(
        self,
        benefit: Benefit,
        item: Mapping[str, Any],
        seen: dict[UUID, dict[str, Any]],
        meta: Meta,
        *,
        lookup: bool,
    ) -> tuple[dict[str, Any], Receipt | None]:
        """Apply one measurement to a loaded benefit; a known key returns the stored one instead."""
        source, external_id = item["source"], item.get("external_id")
        if external_id:
            measurement_id = receipt_id("measurement", benefit.id, source, external_id)
            if measurement_id in seen:
                return seen[measurement_id], None
            # The first attempt relies on the store to refuse a duplicate receipt; only a retry
            # (after such a refusal, or a version conflict) pays for the lookups.
            existing = self._find_receipt(measurement_id) if lookup else None
            if existing is not None:
                return dict(existing.data), None
        else:
            measurement_id = uuid4()
        benefit.record_measurement(
            measurement_id=measurement_id,
            value=item["value"],
            observed_on=item["observed_on"],
            source=source,
            external_id=external_id,
            meta=meta,
        )
        recorded = benefit.pending_events[-1]
        measurement = measurement_record(recorded, benefit.id)
        seen[measurement_id] = measurement
        receipt = Receipt.issue(
            receipt_id_=measurement_id,
            kind="measurement",
            key=f"{benefit.id}|{source}|{external_id or ''}",
            subject_id=benefit.id,
            data=measurement,
            meta=meta,
        )
        return measurement, receipt

    def get_measurement(self, benefit_id: UUID, measurement_id: UUID) -> dict[str, Any]:
        """A measurement as first recorded."""
        receipt = self._find_receipt(measurement_id)
        if receipt is None or receipt.kind != "measurement" or receipt.subject_id != benefit_id:
            raise NotFoundError("measurement", measurement_id)
        return dict(receipt.data)

    def correct_measurement(
        self,
        benefit_id: UUID,
        measurement_id: UUID,
        *,
        value: object,
        reason: str,
        meta: Meta,
        once: IdempotentRequest | None = None,
    ) -> Written[dict[str, Any]]:
        """Correct a measurement; the original event is never edited."""
        original = self.get_measurement(benefit_id, measurement_id)

        def change(b: Benefit) -> dict[str, Any]:
            b.correct_measurement(
                measurement_id=measurement_id,
                original_value=original["value"],
                observed_on=original["observed_on"],
                value=value,
                reason=reason,
                meta=meta,
            )
            event = b.pending_events[-1]
            return {
                "measurement_id": measurement_id,
                "benefit_id": benefit_id,
                "value": event.value,  # type: ignore[attr-defined]
                "previous_value": event.previous_value,  # type: ignore[attr-defined]
                "reason": reason,
                "recorded_at": event.timestamp,
            }

        return self._change_benefit(benefit_id, change, meta=meta, once=once, commuting=True)

    # -- API keys --------------------------------------------------------------------------

    def issue_api_key(
        self, *, name: str, role: str, meta: Meta, token: str | None = None
    ) -> Written[tuple[ApiKey, str]]:
        """Issue a key; returns it with its token (shown once, stored only as a hash)."""
        secret = token or "vt_" + secrets.token_urlsafe(32)
        digest = token_sha256(secret)

        def attempt() -> tuple[Sequence[Aggregate], tuple[ApiKey, str]]:
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

        return self._write(attempt, meta=meta, commuting=True)

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
        # The key itself is read every time, so a revocation anywhere takes effect at once.
        key = self._find(ApiKey, key_id)
        return None if key is None or key.revoked else key

    def list_api_keys(self) -> list[ApiKey]:
        """Every key ever issued, revoked ones included."""
        return [self._load(ApiKey, k, "API key") for k in self._members(API_KEYS)]

    def get_api_key(self, key_id: UUID) -> ApiKey:
        """One key."""
        return self._load(ApiKey, key_id, "API key")

    def revoke_api_key(self, key_id: UUID, *, reason: str, meta: Meta) -> Written[ApiKey]:
        """Revoke a key; it stops working at once."""

        def attempt() -> tuple[Sequence[Aggregate], ApiKey]:
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
