"""JSON in and out: numbers parse as Decimal (never float), NaN and Infinity are refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import flask
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import Headers

from domain.errors import ValidationError
from domain.values import UNSTORABLE_MESSAGE, UNSTORABLE_TEXT

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: JSON escapes that can stand for a control character no store holds (\\b, \\f, \\u0000-\\u001f);
#: a quick scan of the text, so only bodies that have one are walked string by string.
_CONTROL_ESCAPE = re.compile(rb"\\(?:u00[01][0-9a-fA-F]|[bf])")


#: Headers as a list of (name, value) pairs, as a view may return them.
Pairs = Iterable[tuple[str, str]]


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number JSON allows", name, 0)


def loads(data: str | bytes) -> Any:
    """Parse JSON text with exact decimals; anything unparseable is a JSONDecodeError, and
    text no store can hold (a control character) a ValidationError naming where it is."""
    try:
        result = json.loads(data, parse_float=Decimal, parse_constant=_no_constants)
        if _may_hold_surrogates(data):
            _check_text(result)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as error:
        # Too deeply nested, an integer too long to convert, or text that is not Unicode.
        raise json.JSONDecodeError(f"unusable JSON: {type(error).__name__}", "?", 0) from None
    if _CONTROL_ESCAPE.search(data.encode("utf-8", "replace") if isinstance(data, str) else data):
        _check_storable(result)
    return result


def _check_storable(value: Any) -> None:
    """Refuse (422, naming each field) strings holding characters that no store can hold."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE_TEXT.search(item):
                errors.setdefault(path or "_schema", []).append(UNSTORABLE_MESSAGE)
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{path}.{key}" if path else str(key)
                if UNSTORABLE_TEXT.search(key):
                    errors.setdefault(path or "_schema", []).append(f"a key {UNSTORABLE_MESSAGE}")
                    continue
                stack.append((inner_path, inner))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(item))
    if errors:
        raise ValidationError(errors)


def _may_hold_surrogates(data: str | bytes) -> bool:
    """Whether parsed text could hold a lone surrogate: only if the text itself is not clean
    UTF-8 or has a \\uD800-\\uDFFF escape (a quick scan, instead of walking every string)."""
    try:
        if isinstance(data, bytes):
            text = data.decode("utf-8")
        else:
            text = data
            text.encode("utf-8")
    except UnicodeError:
        return True
    return _SURROGATE_ESCAPE.search(text) is not None


def _check_text(value: Any) -> None:
    """Refuse strings that cannot be stored as UTF-8 (lone surrogates such as \\ud800)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_response(
    body: Any, status: int = 200, headers: Headers | Mapping[str, str] | Pairs | None = None
) -> flask.Response:
    """A JSON response (exact decimals, keys in the order given) from already-dumped data."""
    response = flask.current_app.response_class(
        json.dumps(body, default=to_jsonable), status=status, mimetype="application/json"
    )
    items = headers.items() if isinstance(headers, (Headers, Mapping)) else headers or ()
    for key, value in items:
        response.headers[key] = value
    return response


def to_jsonable(value: Any) -> Any:
    """Encode the types the domain uses: Decimal as string, UUID, dates and instants as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


class JSONProvider(DefaultJSONProvider):
    """Flask JSON provider using exact decimals and ISO dates."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON with exact decimals."""
        return loads(s)

    @staticmethod
    def default(o: Any) -> Any:
        """Encode domain types."""
        return to_jsonable(o)


class DecimalFlaskParser(FlaskParser):
    """webargs parser that reads JSON bodies with exact decimals."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return loads(req.get_data(cache=True))
