"""A batch's items are read without marshmallow when they are well formed: exactly what the
item schema loads, and anything else is left to the schema, so errors read as they always did."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.schemas.common import schema
from service.schemas.measurements import MeasurementBatchItem, MeasurementBatchRequest, plain_items

BENEFIT = str(uuid4())


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "benefit_id": BENEFIT,
        "value": "12.50",
        "observed_on": "2025-01-31",
        "source": "meter",
        "external_id": "m-1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def schema_load(items: list[Any]) -> list[dict[str, Any]]:
    return list(MeasurementBatchItem(many=True).load(items))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"external_id": ...},
        {"external_id": None},
        {"value": 7},
        {"value": Decimal("-0.5")},
        {"value": Decimal("1E+3")},  # a JSON number in exponent form
        {"benefit_id": BENEFIT.upper()},
        {"benefit_id": "{" + BENEFIT + "}"},
        {"observed_on": "20250131"},
        {"source": "s" * 200},
    ],
)
def test_a_well_formed_item_loads_as_the_schema_loads_it(changes: dict[str, Any]) -> None:
    items = [item(**changes), item(external_id="m-2")]

    assert plain_items(items) == schema_load(items)


@pytest.mark.parametrize(
    "changes",
    [
        {"value": True},
        {"value": 1.5},
        {"value": "NaN"},
        {"value": "Infinity"},
        {"value": "abc"},
        {"value": "1E+3"},  # decimal strings are plain: -?[0-9]+(.[0-9]+)?
        {"value": " 3 "},
        {"value": "1_000"},
        {"value": "１２"},
        {"value": "+3"},
        {"value": ".5"},
        {"value": "1E+99"},
        {"value": None},
        {"value": ...},
        {"benefit_id": "nope"},
        {"benefit_id": 5},
        {"observed_on": "2025-02-30"},
        {"observed_on": 20250131},
        {"source": ""},
        {"source": "s" * 201},
        {"source": None},
        {"external_id": ""},
        {"external_id": 3},
        {"unit": "kWh"},
    ],
)
def test_anything_else_is_left_to_the_schema(changes: dict[str, Any]) -> None:
    items = [item(), item(**changes)]

    assert plain_items(items) is None
    errors: dict[str, Any] = MeasurementBatchRequest().validate({"items": items})
    assert list(errors["items"]) == [1]


def test_only_a_list_of_objects_is_read_directly() -> None:
    assert plain_items({"0": item()}) is None
    assert plain_items([item(), "m"]) is None
    assert plain_items([]) == []


def test_the_request_schema_still_bounds_the_batch() -> None:
    request = schema(MeasurementBatchRequest)

    assert "items" in request.validate({"items": []})
    assert "items" in request.validate({"items": [item()] * 1001})
    loaded = request.load({"items": [item()]})
    assert loaded["items"] == schema_load([item()])


@given(
    value=st.one_of(
        st.integers(min_value=-(10**20), max_value=10**20),
        st.decimals(allow_nan=False, allow_infinity=False, places=4).filter(
            lambda d: abs(d) < Decimal("1E+20")
        ),
    ),
    source=st.text(min_size=1, max_size=200),
    external_id=st.one_of(st.none(), st.text(min_size=1, max_size=200)),
    # Valid days are those of the months the API names (1900-2999).
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)).map(
        lambda d: d.isoformat()
    ),
)
def test_any_valid_item_loads_the_same_both_ways(
    value: int | Decimal, source: str, external_id: str | None, day: str
) -> None:
    items = [item(value=value, source=source, external_id=external_id, observed_on=day)]

    assert plain_items(items) == schema_load(items)


@given(day=st.dates().filter(lambda d: not date(1900, 1, 1) <= d <= date(2999, 12, 31)))
def test_a_day_outside_1900_to_2999_is_left_to_the_schema_which_refuses_it(day: date) -> None:
    items = [item(observed_on=day.isoformat())]

    assert plain_items(items) is None
    errors: dict[Any, Any] = MeasurementBatchItem(many=True).validate(items)
    assert "observed_on" in errors[0]
