"""Cursor pages: the one page body (`items`, `next_cursor`), the one Link header, and the two
opaque cursors the API gives out (an offset into a list, or the log position a view page ends
at). `/audit/events` pages by the plain log position, as its contract says, through the same
page body and Link header.

A page is its data and headers, `(body, headers)`, which a view returns for its declared list
schema to dump."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import flask

from service.errors import ApiProblem
from service.schemas.common import MAX_POSITION

_KEYSET_PREFIX = "k"

#: A page as a view returns it: the body (items not yet dumped) and its Link header, if any.
Page = tuple[dict[str, Any], dict[str, str]]


def next_url(drop: Sequence[str] = (), **replace: str) -> str:
    """This request's URL with some query parameters replaced and those in `drop` left out."""
    query: dict[str, Any] = {
        k: v for k, v in flask.request.args.items() if k not in replace and k not in drop
    }
    query.update(replace)
    params: dict[str, Any] = {**(flask.request.view_args or {}), **query}
    return flask.url_for(flask.request.endpoint or "", **params)


def next_link(drop: Sequence[str] = (), **replace: str) -> str:
    """The Link header pointing at the next page: this URL with `replace` in its query."""
    return f'<{next_url(drop, **replace)}>; rel="next"'


def cursor_page(
    items: Sequence[Any],
    next_cursor: str | None,
    *,
    key: str = "items",
    extra: dict[str, Any] | None = None,
    link_param: str = "cursor",
    drop: Sequence[str] = (),
) -> Page:
    """A page of items with `next_cursor`, and a Link header (the next cursor passed as
    `link_param`, the parameters in `drop` left out) when more follow; `extra` members go after
    them."""
    headers: dict[str, str] = {}
    if next_cursor is not None:
        headers["Link"] = next_link(drop, **{link_param: next_cursor})
    body = {key: list(items), "next_cursor": next_cursor, **(extra or {})}
    return body, headers


def unknown_cursor() -> ApiProblem:
    """The 422 for a cursor this API did not give out (or one past what it can hold)."""
    return ApiProblem(
        422,
        "the cursor is not one this API gave out",
        slug="validation-error",
        errors={"cursor": ["unknown cursor"]},
    )


# -- offset cursors: a slice of a list already in hand ---------------------------------------


def paginate(items: Sequence[Any], args: dict[str, Any], key: str = "items") -> Page:
    """Slice a list by an opaque offset cursor, with `next_cursor` and a Link header."""
    start = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
            if start < 0:
                raise ValueError(start)
        except (ValueError, UnicodeDecodeError):
            raise unknown_cursor() from None
    limit = int(args.get("limit", 50))
    next_cursor = None
    if start + limit < len(items):
        next_cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return cursor_page(items[start : start + limit], next_cursor, key=key)


# -- keyset cursors: the log position a view's page ends at ----------------------------------


def after_cursor(args: dict[str, Any]) -> int:
    """The log position a `cursor` from `next_cursor` continues after (0 without one)."""
    cursor = args.get("cursor")
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        if not text.startswith(_KEYSET_PREFIX) or not text[1:].isdigit():
            raise ValueError(text)
        position = int(text[1:])
        if position >= MAX_POSITION:
            raise ValueError(text)
        return position
    except (ValueError, UnicodeError, binascii.Error):
        raise unknown_cursor() from None


def keyset_page(
    items: Sequence[Any],
    next_after: int | None,
    key: str = "items",
    extra: dict[str, Any] | None = None,
) -> Page:
    """A page of items with `next_cursor` (and a Link header) when more follow; `extra` members
    go after them."""
    next_cursor = None
    if next_after is not None:
        next_cursor = base64.urlsafe_b64encode(f"{_KEYSET_PREFIX}{next_after}".encode()).decode()
    return cursor_page(items, next_cursor, key=key, extra=extra)
