"""The application core: settings, the helpers use cases share, and reads of aggregates now, at
a version, or as recorded at an instant. Writes go through the pipeline in `unit_of_work`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.application.idempotency import Idempotency
from domain.application.records import DECISION_RECORDED, Written, topic_of
from domain.application.unit_of_work import COMMUTING, EXCLUSIVE, UnitOfWork
from domain.benefit import Benefit
from domain.errors import NotFoundError, ValidationError, VersionMismatchError
from domain.index import Index, benefits_of, index_id
from domain.initiative import Initiative
from domain.months import ensure_utc
from domain.portfolio import Portfolio
from domain.values import Meta

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

BENEFIT_SNAPSHOT_INTERVAL = 100


class DateAsISO(Transcoding):
    """Store `date` values as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ApplicationCore(UnitOfWork):
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

    # -- helpers the use cases share -------------------------------------------------------

    def _load_for_change(
        self, cls: type[A], ident: UUID, kind: str, expected_version: int | None
    ) -> A:
        aggregate = self._load(cls, ident, kind)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(kind, ident, expected_version, aggregate.version)
        return aggregate

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

    def _refuse_cycle(self, initiative_id: UUID, ids: Sequence[UUID], field_name: str) -> None:
        """Raise unless depending on `ids` keeps the initiative out of its own dependencies."""
        # One walk over the graph: what an earlier dependency reached without meeting the
        # initiative cannot lead to it from a later one.
        seen: set[UUID] = set()
        for first in ids:
            waiting = [first]
            while waiting:
                ident = waiting.pop()
                if ident == initiative_id:
                    raise ValidationError(
                        f"initiative {first} already depends on this initiative, directly or "
                        "through others: the dependencies would form a cycle",
                        field_name,
                    )
                if ident not in seen:
                    seen.add(ident)
                    other = self._find(Initiative, ident)
                    waiting.extend(other.depends_on if other is not None else ())

    def _change_benefit(
        self,
        ident: UUID,
        change: Callable[[Benefit], T],
        *,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
        commuting: bool = False,
    ) -> Written[T]:
        def attempt(_: int) -> tuple[Sequence[Aggregate], T]:
            benefit = self._load_for_change(Benefit, ident, "benefit", expected_version)
            return [benefit], change(benefit)

        policy = COMMUTING if commuting else EXCLUSIVE
        return self._write(attempt, meta=meta, once=once, policy=policy, what=("benefit", ident))

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
