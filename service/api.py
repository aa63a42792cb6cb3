"""The flask-smorest Api, documenting errors as RFC 9457 problem+json and decimals as strings."""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest.spec import prepare_response

from service.errors import PROBLEM_JSON
from service.links import LinksPlugin
from service.schemas.common import MONTH_PATTERN, Decimal, Month
from service.schemas.problem import ProblemSchema


def month_keys(self: Any, field: ma.fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    """Document the keys of month-keyed maps (budget, periods, forecasts)."""
    if isinstance(field, ma.fields.Dict) and isinstance(field.key_field, Month):
        return {"propertyNames": {"pattern": MONTH_PATTERN}}
    return {}


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest Api whose default error responses are application/problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Any) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [LinksPlugin()]})
        self.register_field(Decimal, "string", None)
        self.ma_plugin.converter.add_attribute_function(month_keys)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An RFC 9457 problem", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
