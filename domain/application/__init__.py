"""The valuetrail Application: one method per use case, domain types in and out.

Every write loads the aggregates it touches, lets them decide (they raise domain errors),
and saves all resulting events in one transaction. Uniqueness ("only once") is decided by
the store through receipts saved in that same transaction, never by read-then-write. The use
cases are grouped by aggregate in the modules of this package; `ValuetrailApplication`
combines them. Every write runs through one pipeline (`unit_of_work`), and the store is reached
only through the `ValuetrailRecorder` port, implemented per store in `persistence/`.
"""

from __future__ import annotations

from domain.application.api_keys import ApiKeyUseCases
from domain.application.benefits import BenefitUseCases
from domain.application.core import BENEFIT_SNAPSHOT_INTERVAL, DateAsISO
from domain.application.idempotency import (
    AlreadyHandledError,
    Claim,
    Idempotency,
    IdempotentRequest,
    Replay,
)
from domain.application.initiatives import InitiativeUseCases
from domain.application.loading import replay
from domain.application.measurements import MeasurementUseCases
from domain.application.portfolios import PortfolioUseCases
from domain.application.recorder import ValuetrailRecorder
from domain.application.records import (
    DECISION_RECORDED,
    BatchOutcome,
    MeasurementOutcome,
    ScenarioRecord,
    Written,
    check_observed,
    decision_record,
    measurement_record,
    topic_of,
)
from domain.application.unit_of_work import (
    COMMUTING,
    COMMUTING_RETRIES,
    EXCLUSIVE,
    INGEST,
    RetryPolicy,
    backoff,
)

__all__ = [
    "BENEFIT_SNAPSHOT_INTERVAL",
    "COMMUTING",
    "COMMUTING_RETRIES",
    "DECISION_RECORDED",
    "EXCLUSIVE",
    "INGEST",
    "AlreadyHandledError",
    "BatchOutcome",
    "Claim",
    "DateAsISO",
    "Idempotency",
    "IdempotentRequest",
    "MeasurementOutcome",
    "Replay",
    "RetryPolicy",
    "ScenarioRecord",
    "ValuetrailApplication",
    "ValuetrailRecorder",
    "Written",
    "backoff",
    "check_observed",
    "decision_record",
    "measurement_record",
    "replay",
    "topic_of",
]


class ValuetrailApplication(
    PortfolioUseCases,
    InitiativeUseCases,
    BenefitUseCases,
    MeasurementUseCases,
    ApiKeyUseCases,
):
    """Every use case of valuetrail, over the event store chosen by configuration."""

    # The name prefixes the store's table names: it must never change.
    name = "valuetrail"
