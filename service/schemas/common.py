"""Field types and query arguments every resource uses: decimals as strings, months, instants
with offsets, log positions, cursor pages and read-your-writes."""

from __future__ import annotations

import functools
from typing import Any

import marshmallow as ma

from domain.errors import ValidationError as DomainValidationError
from domain.months import FIRST_DAY, LAST_DAY, check_month
from domain.values import DECIMAL_TEXT, check_magnitude

MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class Decimal(ma.fields.Decimal):
    """A decimal: accepted as a string or a JSON number, always answered as a string."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("example", "1234.50")
        kwargs["metadata"].setdefault("pattern", DECIMAL_PATTERN)
        super().__init__(as_string=True, allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, (bool, float)) or (
            isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value)
        ):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            check_magnitude(result, attr or "value")
        except DomainValidationError as error:
            raise ma.ValidationError(error.message.split(": ", 1)[-1]) from None
        return result


class Month(ma.fields.String):
    """A calendar month, `YYYY-MM`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].update({"pattern": MONTH_PATTERN, "example": "2025-01"})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_month(text)
        except DomainValidationError as error:
            raise ma.ValidationError(error.errors.get("month", [error.message])) from None


class Day(ma.fields.Date):
    """A date (`YYYY-MM-DD`) in the years months may name (1900 to 2999)."""

    def __init__(self, **kwargs: Any) -> None:
        message = f"must be between {FIRST_DAY} and {LAST_DAY}"
        kwargs.setdefault("validate", ma.validate.Range(FIRST_DAY, LAST_DAY, error=message))
        super().__init__(**kwargs)


class Instant(ma.fields.AwareDateTime):
    """An RFC 3339 instant with an offset."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)


def month_map(**kwargs: Any) -> ma.fields.Dict:
    """{YYYY-MM: decimal}."""
    return ma.fields.Dict(keys=Month(), values=Decimal(), **kwargs)


def role_map(**kwargs: Any) -> ma.fields.Dict:
    """{role: fte}."""
    return ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=200)),
        values=Decimal(),
        **kwargs,
    )


def non_blank(value: str) -> None:
    """Refuse text that is empty or only whitespace."""
    if not value.strip():
        raise ma.ValidationError("must not be blank")


def reason(**kwargs: Any) -> ma.fields.String:
    """A required, non-blank reason."""
    return ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=10_000), non_blank], **kwargs
    )


#: The largest log position either store can hold (a signed 64-bit integer): a position,
#: `after` or cursor beyond it is refused (422) rather than sent to the database.
MAX_POSITION = 2**63 - 1


def position_field(**kwargs: Any) -> ma.fields.Integer:
    """A log position (0 up to the largest either store holds)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=0, max=MAX_POSITION - 1), **kwargs)


class PageArgs(ma.Schema):
    """Cursor pagination arguments."""

    cursor = ma.fields.String(metadata={"description": "opaque cursor from next_cursor"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


class FreshArgs(ma.Schema):
    """`?min_position=` for read-your-writes."""

    min_position = position_field(
        metadata={
            "description": "wait (up to ~5 s) until the view includes this log position; "
            "a position beyond the log's head is refused (422)"
        },
    )


class DateRangeArgs(ma.Schema):
    """`?from=` and `?to=` (each subclass says what the dates are): `to` is not before `from`."""

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and end < start:
            raise ma.ValidationError("must not be before from", "to")


class AsOfArgs(ma.Schema):
    """`?as_of=` for reads as recorded at a past instant."""

    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


@functools.cache
def schema(cls: type[ma.Schema]) -> ma.Schema:
    """One shared instance per schema class (building one copies and binds every field, work a
    request need not repeat)."""
    return cls()
