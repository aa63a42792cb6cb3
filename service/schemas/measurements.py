"""Schemas of measurements, corrections and batches: request bodies, queries and answers."""

from __future__ import annotations

import decimal
from datetime import date
from typing import Any
from uuid import UUID

import marshmallow as ma

from domain.errors import ValidationError as DomainValidationError
from domain.months import check_day
from domain.values import DECIMAL_TEXT, check_magnitude
from service.schemas.common import DateRangeArgs, Day, Decimal, FreshArgs, Instant, PageArgs, reason

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


class MeasurementListArgs(PageArgs, FreshArgs, DateRangeArgs):
    """Query of GET /benefits/{id}/measurements."""

    from_ = ma.fields.Date(data_key="from", metadata={"description": "observed on or after"})
    to = ma.fields.Date(metadata={"description": "observed on or before"})
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


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
