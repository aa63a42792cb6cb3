"""What use cases hand back: the written result, measurement outcomes and the public shapes of
stored events, with the checks on figures sent twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.errors import ExternalIdConflictError, ValidationError
from domain.months import utc_now
from domain.values import decimal

T = TypeVar("T")

DECISION_RECORDED = "valuetrail.initiative.DecisionRecorded.v1"


def topic_of(event: object) -> str:
    """The stable topic an event is stored under."""
    return str(getattr(type(event), "TOPIC", ""))


@dataclass(frozen=True)
class Written(Generic[T]):
    """The result of a write and the log position that includes it."""

    value: T
    log_position: int
    #: The log position of each saved aggregate's last event (empty when nothing was saved).
    positions: Mapping[UUID, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioRecord:
    """A scenario as its `Portfolio.ScenarioEvaluated` event records it."""

    scenario_id: UUID
    kind: str
    parameters: dict[str, Any]
    result: dict[str, Any]
    recorded_at: datetime


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
    differs = [name for name in names if not _same_figure(stored.get(name), sent.get(name), name)]
    if differs:
        raise ExternalIdConflictError(kind, stored, differs)


def _same_figure(stored: Any, sent: Any, name: str) -> bool:
    if isinstance(stored, Decimal):
        return stored == decimal(sent, name)  # 100 and "100.00" are one figure
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
