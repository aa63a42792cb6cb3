"""The Benefit aggregate: a promised improvement, its forecast and its measurements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock
from domain.errors import RuleViolationError, ValidationError
from domain.months import check_day, check_month, month_of
from domain.values import (
    BENEFIT_CATEGORIES,
    DIRECTIONS,
    MEASURE_KINDS,
    Meta,
    amount,
    choice,
    decimal,
    share,
    text,
)


def clean_measure(measure: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a measure {name, unit, kind, direction, value_per_unit?}."""
    if not isinstance(measure, Mapping):
        raise ValidationError("must be an object", "measure")
    vpu = measure.get("value_per_unit")
    return {
        "name": text(measure.get("name"), "measure.name", limit=300),
        "unit": text(measure.get("unit"), "measure.unit", limit=50),
        "kind": choice(measure.get("kind"), MEASURE_KINDS, "measure.kind"),
        "direction": choice(measure.get("direction", "increase"), DIRECTIONS, "measure.direction"),
        "value_per_unit": None if vpu is None else amount(vpu, "measure.value_per_unit"),
    }


def clean_contributions(contributions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate contributions: shares in (0, 1], each initiative once, summing to at most 1."""
    result: list[dict[str, Any]] = []
    seen: set[UUID] = set()
    for index, item in enumerate(contributions):
        field = f"contributions.{index}"
        initiative_id = item.get("initiative_id")
        if not isinstance(initiative_id, UUID):
            raise ValidationError("must be an initiative id", f"{field}.initiative_id")
        if initiative_id in seen:
            raise ValidationError("names an initiative twice", f"{field}.initiative_id")
        seen.add(initiative_id)
        result.append(
            {"initiative_id": initiative_id, "share": share(item.get("share"), f"{field}.share")}
        )
    total = sum((c["share"] for c in result), Decimal(0))
    if total > 1:
        raise ValidationError(
            f"shares sum to {total}; a benefit cannot be counted more than once (at most 1)",
            "contributions",
        )
    return result


def _copy_level(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


class Benefit(Aggregate):
    """A benefit (or dis-benefit) an initiative is accountable for, forecast and measured."""

    TOPIC = "valuetrail.benefit.Benefit.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    class Created(Aggregate.Created):
        """Base of the creation event (never stored under this name)."""

        TOPIC = "valuetrail.benefit.Created.v1"

    @classmethod
    def identify(
        cls,
        *,
        portfolio_id: UUID,
        initiative_id: UUID,
        title: str,
        description: str,
        category: str,
        disbenefit: bool,
        owner: str,
        goal_id: UUID | None,
        measure: Mapping[str, Any],
        baseline: Mapping[str, Any],
        target: Mapping[str, Any] | None,
        contributions: Sequence[Mapping[str, Any]],
        meta: Meta,
    ) -> Benefit:
        """Validate and record a newly identified benefit."""
        as_of = baseline.get("as_of") if isinstance(baseline, Mapping) else None
        if not isinstance(as_of, date):
            raise ValidationError("must be a date", "baseline.as_of")
        clean_target = None
        if target is not None:
            clean_target = {
                "value": decimal(target.get("value"), "target.value"),
                "by_month": check_month(target.get("by_month", ""), "target.by_month"),
            }
        return cls(
            portfolio_id=portfolio_id,
            initiative_id=initiative_id,
            title=text(title, "title", limit=500),
            description=text(description, "description", required=False),
            category=choice(category, BENEFIT_CATEGORIES, "category"),
            disbenefit=bool(disbenefit),
            owner=text(owner, "owner", limit=300),
            goal_id=goal_id,
            measure=clean_measure(measure),
            baseline={"value": decimal(baseline.get("value"), "baseline.value"), "as_of": as_of},
            target=clean_target,
            contributions=clean_contributions(contributions),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("Identified", topic="valuetrail.benefit.Identified.v1")
    def __init__(
        self,
        portfolio_id: UUID,
        initiative_id: UUID,
        title: str,
        description: str,
        category: str,
        disbenefit: bool,
        owner: str,
        goal_id: UUID | None,
        measure: dict[str, Any],
        baseline: dict[str, Any],
        target: dict[str, Any] | None,
        contributions: list[dict[str, Any]],
        actor: str,
        request_id: str,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.initiative_id = initiative_id
        self.title = title
        self.description = description
        self.category = category
        self.disbenefit = disbenefit
        self.owner = owner
        self.goal_id = goal_id
        self.measure = dict(measure)
        self.baseline = dict(baseline)
        self.target = None if target is None else dict(target)
        self.contributions = [dict(c) for c in contributions]
        self.status = "active"
        self.forecast: dict[str, Decimal] = {}
        self.forecast_revision = 0
        # Only what invariants and evidence need: monthly actuals, not the series itself.
        self.measurement_count = 0
        self.actuals: dict[str, Decimal] = {}
        self.month_latest: dict[
            str, list[str]
        ] = {}  # level: month -> [observed_on, measurement_id]
        self.corrected: dict[str, Decimal] = {}  # measurement_id -> value now in force

    def __deepcopy__(self, memo: dict[int, Any]) -> Benefit:
        """A copy for a command (the aggregate cache hands out copies): state is at most two
        levels of dicts and lists of immutable values, so copying two levels is a deep copy."""
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            if isinstance(value, dict):
                value = {k: _copy_level(v) for k, v in value.items()}
            elif isinstance(value, list):
                value = [_copy_level(v) for v in value]
            clone.__dict__[name] = value
        return clone

    @property
    def attributed_to(self) -> list[UUID]:
        """Initiatives that claim a share of this benefit."""
        if not self.contributions:
            return [self.initiative_id]
        return [c["initiative_id"] for c in self.contributions]

    def _check_active(self, what: str) -> None:
        if self.status != "active":
            raise RuleViolationError(f"cannot {what} benefit {self.id}: it is closed")

    # -- forecast and attribution ----------------------------------------------------------

    def revise_forecast(self, *, periods_: Mapping[str, object], reason: str, meta: Meta) -> int:
        """Record a new forecast revision {month: value}; returns its number."""
        self._check_active("revise the forecast of")
        if not isinstance(periods_, Mapping):
            raise ValidationError("must map months (YYYY-MM) to values", "periods")
        clean: dict[str, Decimal] = {}
        for month in sorted(periods_):
            check_month(month, f"periods.{month}")
            clean[month] = decimal(periods_[month], f"periods.{month}")
        revision = self.forecast_revision + 1
        self._forecast_revised(
            revision=revision,
            periods=clean,
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return revision

    @event("ForecastRevised", topic="valuetrail.benefit.ForecastRevised.v1")
    def _forecast_revised(
        self, revision: int, periods: dict[str, Decimal], reason: str, actor: str, request_id: str
    ) -> None:
        self.forecast = dict(periods)
        self.forecast_revision = revision

    def change_attribution(
        self, *, contributions: Sequence[Mapping[str, Any]], reason: str, meta: Meta
    ) -> None:
        """Replace the contributions (who claims which share)."""
        self._attribution_changed(
            contributions=clean_contributions(contributions),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("AttributionChanged", topic="valuetrail.benefit.AttributionChanged.v1")
    def _attribution_changed(
        self, contributions: list[dict[str, Any]], reason: str, actor: str, request_id: str
    ) -> None:
        self.contributions = [dict(c) for c in contributions]

    def change_owner(self, *, owner: str, reason: str, meta: Meta) -> None:
        """Hand the benefit to a new owner."""
        self._owner_changed(
            owner=text(owner, "owner", limit=300),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("OwnerChanged", topic="valuetrail.benefit.OwnerChanged.v1")
    def _owner_changed(self, owner: str, reason: str, actor: str, request_id: str) -> None:
        self.owner = owner

    def revise_baseline(self, *, value: object, as_of: date, reason: str, meta: Meta) -> None:
        """Record a corrected baseline."""
        self._baseline_revised(
            value=decimal(value, "value"),
            as_of=as_of,
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("BaselineRevised", topic="valuetrail.benefit.BaselineRevised.v1")
    def _baseline_revised(
        self, value: Decimal, as_of: date, reason: str, actor: str, request_id: str
    ) -> None:
        self.baseline = {"value": value, "as_of": as_of}

    def revise_target(self, *, value: object, by_month: str, reason: str, meta: Meta) -> None:
        """Record a new target."""
        self._target_revised(
            value=decimal(value, "value"),
            by_month=check_month(by_month, "by_month"),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("TargetRevised", topic="valuetrail.benefit.TargetRevised.v1")
    def _target_revised(
        self, value: Decimal, by_month: str, reason: str, actor: str, request_id: str
    ) -> None:
        self.target = {"value": value, "by_month": by_month}

    def close(self, *, reason: str, meta: Meta) -> None:
        """Close the benefit: no more forecasts or measurements."""
        self._check_active("close")
        self._closed(reason=text(reason, "reason"), actor=meta.actor, request_id=meta.request_id)

    @event("Closed", topic="valuetrail.benefit.Closed.v1")
    def _closed(self, reason: str, actor: str, request_id: str) -> None:
        self.status = "closed"

    # -- measurements ----------------------------------------------------------------------

    def record_measurement(
        self,
        *,
        measurement_id: UUID,
        value: object,
        observed_on: date,
        source: str,
        external_id: str | None,
        meta: Meta,
    ) -> None:
        """Record one observed value (flow: amount in the period; level: the level observed)."""
        self._check_active("record a measurement on")
        check_day(observed_on, "observed_on")
        self._measurement_recorded(
            measurement_id=measurement_id,
            value=decimal(value, "value"),
            observed_on=observed_on,
            source=text(source, "source", limit=200),
            external_id=external_id,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("MeasurementRecorded", topic="valuetrail.benefit.MeasurementRecorded.v1")
    def _measurement_recorded(
        self,
        measurement_id: UUID,
        value: Decimal,
        observed_on: date,
        source: str,
        external_id: str | None,
        actor: str,
        request_id: str,
    ) -> None:
        self.measurement_count += 1
        month = month_of(observed_on)
        if self.measure["kind"] == "flow":
            self.actuals[month] = self.actuals.get(month, Decimal(0)) + value
            return
        latest = self.month_latest.get(month)
        if latest is None or observed_on.isoformat() >= latest[0]:
            self.actuals[month] = value
            self.month_latest[month] = [observed_on.isoformat(), str(measurement_id)]

    def correct_measurement(
        self,
        *,
        measurement_id: UUID,
        original_value: Decimal,
        observed_on: date,
        value: object,
        reason: str,
        meta: Meta,
    ) -> None:
        """Correct a measurement; the original stays in history untouched."""
        new_value = decimal(value, "value")
        previous = self.corrected.get(str(measurement_id), original_value)
        self._measurement_corrected(
            measurement_id=measurement_id,
            value=new_value,
            reason=text(reason, "reason"),
            observed_on=observed_on,
            previous_value=previous,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("MeasurementCorrected", topic="valuetrail.benefit.MeasurementCorrected.v1")
    def _measurement_corrected(
        self,
        measurement_id: UUID,
        value: Decimal,
        reason: str,
        observed_on: date,
        previous_value: Decimal,
        actor: str,
        request_id: str,
    ) -> None:
        self.corrected[str(measurement_id)] = value
        month = month_of(observed_on)
        if self.measure["kind"] == "flow":
            self.actuals[month] = self.actuals.get(month, Decimal(0)) - previous_value + value
        elif self.month_latest.get(month, ["", ""])[1] == str(measurement_id):
            self.actuals[month] = value
