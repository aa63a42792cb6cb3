"""flask-smorest Blueprint that parses JSON bodies with exact decimals and answers through the
response schema a view declares, serialised with the project's JSON rules."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from flask_smorest.utils import set_status_and_headers_in_response, unpack_tuple_response
from werkzeug.wrappers import Response

from service.jsonio import DecimalFlaskParser, json_response
from service.schemas.common import schema as shared

#: Where the running view's declared response schema is kept for the request.
_DECLARED = "_valuetrail_response_schema"


def declared_schema() -> ma.Schema | None:
    """The response schema the running view declared with `@blp.response` (None: none)."""
    found: ma.Schema | None = flask.g.get(_DECLARED)
    return found


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """Blueprint whose request bodies keep decimals exact and whose views return data."""

    ARGUMENTS_PARSER = DecimalFlaskParser()

    def arguments(self, schema: type[ma.Schema] | ma.Schema, **kwargs: Any) -> Any:
        """Parse with one shared instance of a schema class (from a class, webargs builds one
        per request, copying and binding every field each time)."""
        if isinstance(schema, type):
            schema = shared(schema)
        return super().arguments(schema, **kwargs)

    def response(
        self,
        status_code: int,
        schema: type[ma.Schema] | ma.Schema | dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document the response as flask-smorest does, and answer with what the view returns:
        data (or `(data, status)`, `(data, headers)`, `(data, status, headers)`) dumped through
        `schema` and sent as JSON with exact decimals, keys in the schema's order (None: no
        content); a ready-made Response passes through unchanged."""
        if isinstance(schema, type):
            schema = shared(schema)
        document = super().response(status_code, schema, **kwargs)
        default_status = int(status_code)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            documented = document(func)

            @wraps(func)
            def wrapper(*args: Any, **kw: Any) -> Any:
                setattr(flask.g, _DECLARED, schema)
                body, status, headers = unpack_tuple_response(
                    flask.current_app.ensure_sync(func)(*args, **kw)
                )
                if isinstance(body, Response):
                    set_status_and_headers_in_response(body, status, headers)
                    return body
                code = default_status if status is None else status
                if body is None:  # no content: an empty body, as Flask sends one
                    response = flask.current_app.response_class(status=code)
                    set_status_and_headers_in_response(response, None, headers)
                    return response
                dumped = schema.dump(body) if isinstance(schema, ma.Schema) else body
                return json_response(dumped, code, headers)

            wrapper._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return wrapper

        return decorator
