"""Measurements, corrections and batches."""

from __future__ import annotations

import decimal
from datetime import date, datetime
from typing import Any
from uuid import UUID

import flask
import marshmallow as ma
from flask.views import MethodView

from domain.application import (
    BatchOutcome,
    MeasurementOutcome,
    measurement_record,
    topic_of,
)
from domain.errors import NotFoundError
from domain.errors import ValidationError as DomainValidationError
from domain.months import check_day, ensure_utc
from domain.values import DECIMAL_TEXT, check_magnitude
from projections.measurement_series.queries import measurements
from projections.measurement_series.writer import SeriesView
from service.auth import ANY, INGEST, require
from service.blueprint import Blueprint
from service.http import PageArgs, json_response, meta, write
from service.metrics import remember_batch_outcome
from service.reads import FreshArgs, after_cursor, fresh, keyset_page, views
from service.schemas.common import AsOfArgs, Day, Decimal, Instant, reason, schema
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
MAX_BATCH = 1000


class MeasurementCreate(ma.Schema):
    """Body of POST /benefits/{id}/measurements."""

    value = Decimal(required=True)
    observed_on = Day(required=True, metadata={"description": "not in the future"})
    source = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    external_id = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={
            "description": "the source's own id: the same (source, external_id) is stored once"
        },
    )


class MeasurementCorrectionRequest(ma.Schema):
    """Body of POST /benefits/{id}/measurements/{measurement_id}/corrections."""

    value = Decimal(required=True)
    reason = reason()


class MeasurementBatchItem(MeasurementCreate):
    """One measurement of a batch."""

    benefit_id = ma.fields.UUID(required=True)


class BatchItems(ma.fields.List[Any]):
    """The items of a batch: plain well-formed items are read directly (marshmallow per item
    is most of the time a batch spends before the use case); any other list goes through the
    nested schema, which so answers every error exactly as before."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        plain = plain_items(value)
        if plain is not None:
            return plain
        return super()._deserialize(value, attr, data, **kwargs)


class MeasurementBatchRequest(ma.Schema):
    """Body of POST /measurements/batch."""

    items = BatchItems(
        ma.fields.Nested(MeasurementBatchItem),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_BATCH),
    )


_ITEM_FIELDS = frozenset({"benefit_id", "value", "observed_on", "source", "external_id"})
_NUMBERS = (str, int, decimal.Decimal)


def plain_items(value: Any) -> list[dict[str, Any]] | None:
    """What MeasurementBatchItem would load from each item, if every item is one it loads
    without an error; None as soon as one is not (the schema then says why)."""
    if not isinstance(value, list):
        return None
    loaded = []
    for item in value:
        if not isinstance(item, dict) or not _ITEM_FIELDS.issuperset(item):
            return None
        external_id = item.get("external_id")
        source = item.get("source")
        if not (isinstance(source, str) and 0 < len(source) <= 200) or not (
            external_id is None or (isinstance(external_id, str) and 0 < len(external_id) <= 200)
        ):
            return None
        benefit_id, number, observed = (
            item.get("benefit_id"),
            item.get("value"),
            item.get("observed_on"),
        )
        # Exactly the conversions the fields make (bool is an int: refused, as Decimal does).
        if not isinstance(benefit_id, str) or not isinstance(observed, str):
            return None
        if type(number) not in _NUMBERS or (
            isinstance(number, str) and not DECIMAL_TEXT.fullmatch(number)
        ):
            return None
        try:
            amount = decimal.Decimal(str(number))
            if not amount.is_finite():
                return None
            check_magnitude(amount, "value")
            loaded.append(
                {
                    "benefit_id": UUID(benefit_id),
                    "value": amount,
                    "observed_on": check_day(date.fromisoformat(observed), "observed_on"),
                    "source": source,
                    "external_id": external_id,
                }
            )
        except (ValueError, ArithmeticError, DomainValidationError):
            return None
    return loaded


class MeasurementListArgs(PageArgs, FreshArgs):
    """Query of GET /benefits/{id}/measurements."""

    from_ = ma.fields.Date(data_key="from", metadata={"description": "observed on or after"})
    to = ma.fields.Date(metadata={"description": "observed on or before"})
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and end < start:
            raise ma.ValidationError("must not be before from", "to")


class MeasurementResponse(ma.Schema):
    """A measurement as recorded."""

    measurement_id = ma.fields.UUID()
    benefit_id = ma.fields.UUID()
    value = Decimal()
    observed_on = ma.fields.Date()
    source = ma.fields.String()
    external_id = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.AwareDateTime()


class MeasurementCorrectionEntry(ma.Schema):
    """One correction of a measurement."""

    value = Decimal()
    reason = ma.fields.String()
    recorded_at = ma.fields.AwareDateTime()


class MeasurementDetail(MeasurementResponse):
    """A measurement with its corrections: `value` is the one now in force."""

    original_value = Decimal()
    corrections = ma.fields.List(ma.fields.Nested(MeasurementCorrectionEntry))


class MeasurementList(ma.Schema):
    """A page of measurements."""

    items = ma.fields.List(ma.fields.Nested(MeasurementDetail))
    next_cursor = ma.fields.String(allow_none=True)


class MeasurementCorrectionResponse(ma.Schema):
    """A recorded correction."""

    measurement_id = ma.fields.UUID()
    benefit_id = ma.fields.UUID()
    value = Decimal()
    previous_value = Decimal()
    reason = ma.fields.String()
    recorded_at = ma.fields.AwareDateTime()


class MeasurementBatchResult(ma.Schema):
    """The outcome of one batch item."""

    benefit_id = ma.fields.UUID()
    measurement_id = ma.fields.UUID()
    outcome = ma.fields.String(metadata={"enum": ["created", "duplicate"]})


class MeasurementBatchResponse(ma.Schema):
    """The outcome of a batch."""

    results = ma.fields.List(ma.fields.Nested(MeasurementBatchResult))
    created = ma.fields.Integer()
    duplicates = ma.fields.Integer()
    log_position = ma.fields.Integer()


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
            lambda outcome: dict(schema(MeasurementResponse).dump(outcome.measurement)),
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
        detail = schema(MeasurementDetail)
        return keyset_page([detail.dump(m.record()) for m in found], next_after)


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
                return json_response(schema(MeasurementDetail).dump(measurement))
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
            lambda correction: dict(schema(MeasurementCorrectionResponse).dump(correction)),
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


def _batch_finished(body: dict[str, Any], log_position: int) -> dict[str, Any]:
    # A write's body is built before the save (an idempotent replay is stored in the same
    # transaction), so the position the save ends at is added only now.
    remember_batch_outcome(int(body.get("created", 0)), int(body.get("duplicates", 0)))
    return {**body, "log_position": log_position}
