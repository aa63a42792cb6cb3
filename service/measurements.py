"""Measurements, corrections and batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.application import (
    BatchOutcome,
    MeasurementOutcome,
    Written,
    measurement_record,
    topic_of,
)
from domain.errors import NotFoundError
from domain.months import ensure_utc
from projections.measurement_series.queries import measurements
from projections.measurement_series.writer import SeriesView
from service.auth import ANY, INGEST, require
from service.blueprint import Blueprint
from service.http import meta, write
from service.metrics import remember_batch_outcome
from service.paging import after_cursor, keyset_page
from service.reads import fresh, views
from service.schemas.common import AsOfArgs
from service.schemas.measurements import (
    MeasurementBatchRequest,
    MeasurementBatchResponse,
    MeasurementCorrectionRequest,
    MeasurementCorrectionResponse,
    MeasurementCreate,
    MeasurementDetail,
    MeasurementList,
    MeasurementListArgs,
    MeasurementResponse,
)
from service.state import application

blp = Blueprint(
    "measurements",
    __name__,
    url_prefix="/api/v1",
    description="Measurements, corrections and batches",
)

IDENTIFIED = "valuetrail.benefit.Identified.v1"
RECORDED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"


def series(benefit_id: UUID, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every measurement of a benefit in recording order, corrections applied."""
    try:
        events: list[Any] = list(application().history(benefit_id, as_of=as_of))
    except NotFoundError:
        raise NotFoundError("benefit", benefit_id) from None
    if topic_of(events[0]) != IDENTIFIED:
        raise NotFoundError("benefit", benefit_id)
    found: dict[UUID, dict[str, Any]] = {}
    for event in events:
        topic = topic_of(event)
        if topic == RECORDED:
            record = measurement_record(event, benefit_id)
            found[event.measurement_id] = {
                **record,
                "original_value": record["value"],
                "corrections": [],
            }
        elif topic == CORRECTED and event.measurement_id in found:
            measurement = found[event.measurement_id]
            measurement["value"] = event.value
            measurement["corrections"].append(
                {"value": event.value, "reason": event.reason, "recorded_at": event.timestamp}
            )
    return list(found.values())


def check_benefit(benefit_id: UUID, as_of: datetime | None) -> None:
    """404 unless `benefit_id` names a benefit (recorded by `as_of`): one read of the log."""
    first: Any = next(iter(application().events.get(benefit_id, limit=1)), None)
    if first is None or topic_of(first) != IDENTIFIED:
        raise NotFoundError("benefit", benefit_id)
    if as_of is not None and first.timestamp > ensure_utc(as_of):
        raise NotFoundError("benefit", benefit_id)


def _url(benefit_id: UUID, measurement_id: UUID) -> str:
    return flask.url_for(
        "measurements.MeasurementItem", benefit_id=benefit_id, measurement_id=measurement_id
    )


@blp.route("/benefits/<uuid:benefit_id>/measurements")
class Measurements(MethodView):
    """The measurements of one benefit."""

    @blp.arguments(MeasurementCreate)
    @blp.response(201, MeasurementResponse)
    @blp.alt_response(200, schema=MeasurementResponse, description="already stored")
    @require(INGEST)
    def post(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Record one measurement; the same (source, external_id) answers 200 with the original."""
        return write(
            lambda once: application().record_measurement(
                benefit_id, **data, meta=meta(), once=once
            ),
            lambda outcome: outcome.measurement,
            status=201,
            location=lambda outcome: _url(benefit_id, outcome.measurement["measurement_id"]),
            status_of=_status_of,
        )

    @blp.arguments(MeasurementListArgs, location="query")
    @blp.response(200, MeasurementList)
    @require(ANY)
    def get(self, args: dict[str, Any], benefit_id: UUID) -> Any:
        """List measurements observed between `from` and `to`, as recorded by `as_of`."""
        as_of = args.get("as_of")
        check_benefit(benefit_id, as_of)
        fresh([SeriesView.name], args.get("min_position"))
        found, next_after = measurements(
            views(),
            benefit_id,
            observed_from=args.get("from_"),
            observed_to=args.get("to"),
            as_of=as_of,
            after=after_cursor(args),
            limit=args["limit"],
        )
        return keyset_page([m.record() for m in found], next_after)


def _status_of(outcome: MeasurementOutcome) -> int:
    return 201 if outcome.created else 200


@blp.route("/benefits/<uuid:benefit_id>/measurements/<uuid:measurement_id>")
class MeasurementItem(MethodView):
    """One measurement."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, MeasurementDetail)
    @require(ANY)
    def get(self, args: dict[str, Any], benefit_id: UUID, measurement_id: UUID) -> Any:
        """Read a measurement with its corrections."""
        for measurement in series(benefit_id, args.get("as_of")):
            if measurement["measurement_id"] == measurement_id:
                return measurement
        raise NotFoundError("measurement", measurement_id)


@blp.route("/benefits/<uuid:benefit_id>/measurements/<uuid:measurement_id>/corrections")
class Corrections(MethodView):
    """Corrections of a measurement (the original is never edited)."""

    @blp.arguments(MeasurementCorrectionRequest)
    @blp.response(201, MeasurementCorrectionResponse)
    @require(INGEST)
    def post(self, data: dict[str, Any], benefit_id: UUID, measurement_id: UUID) -> Any:
        """Correct a measurement's value, with a reason."""
        return write(
            lambda once: application().correct_measurement(
                benefit_id, measurement_id, **data, meta=meta(), once=once
            ),
            status=201,
            location=lambda _correction: _url(benefit_id, measurement_id),
        )


@blp.route("/measurements/batch")
class Batch(MethodView):
    """Many measurements at once, all or nothing."""

    @blp.arguments(MeasurementBatchRequest)
    @blp.response(201, MeasurementBatchResponse)
    @require(INGEST)
    def post(self, data: dict[str, Any]) -> Any:
        """Record up to 1,000 measurements; each result is `created` or `duplicate`."""
        return write(
            lambda once: application().record_measurements(data["items"], meta=meta(), once=once),
            _batch_view,
            status=201,
            ready=True,
            finish=_batch_finished,
        )


def _batch_view(outcome: BatchOutcome) -> dict[str, Any]:
    # What MeasurementBatchResponse dumps (ids as text), built directly: a thousand nested
    # dumps cost more than the rest of the answer.
    return {
        "results": [
            {
                "benefit_id": str(r["benefit_id"]),
                "measurement_id": str(r["measurement_id"]),
                "outcome": r["outcome"],
            }
            for r in outcome.results
        ],
        "created": outcome.created,
        "duplicates": outcome.duplicates,
    }


def _batch_finished(
    body: dict[str, Any], log_position: int, _written: Written[Any] | None
) -> dict[str, Any]:
    # A write's body is built before the save (an idempotent replay is stored in the same
    # transaction), so the position the save ends at is added only now.
    remember_batch_outcome(int(body.get("created", 0)), int(body.get("duplicates", 0)))
    return {**body, "log_position": log_position}
