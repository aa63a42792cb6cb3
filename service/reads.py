"""Reads served from projections: the view database, freshness, read-your-writes and paging."""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from collections.abc import Sequence
from typing import Any, cast

import flask
import marshmallow as ma
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.audit.heads import load_or_create_signing_key
from projections.audit_chain.sealer import SealerHalted, SealerView
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import build_projectors
from projections.db import ViewDatabase
from projections.runner import Projector, wait_for_position
from service.errors import ApiProblem
from service.gunicorn_conf import THREADS
from service.http import json_response
from service.state import application, settings

_inline_lock = threading.Lock()
_key_lock = threading.Lock()
_CURSOR_PREFIX = "k"


#: The largest log position either store can hold (a signed 64-bit integer): a position,
#: `after` or cursor beyond it is refused (422) rather than sent to the database.
MAX_POSITION = 2**63 - 1
#: Reads of one worker that may wait for the projector at once (`min_position`). A wait holds
#: a request thread for up to `read_wait_seconds`; capped below the worker's threads, one always
#: stays free for health checks, writes and other reads. The others are told 503 at once.
MAX_WAITING = max(1, THREADS - 1)
_waiting = threading.BoundedSemaphore(MAX_WAITING)


def position_field(**kwargs: Any) -> ma.fields.Integer:
    """A log position (0 up to the largest either store holds)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=0, max=MAX_POSITION - 1), **kwargs)


class FreshArgs(ma.Schema):
    """`?min_position=` for read-your-writes."""

    min_position = position_field(
        metadata={
            "description": "wait (up to ~5 s) until the view includes this log position; "
            "a position beyond the log's head is refused (422)"
        },
    )


def views() -> ViewDatabase:
    """The database holding the views."""
    return cast(ViewDatabase, flask.current_app.extensions["valuetrail.views"])


def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key that signs audit checkpoints (created on first use if missing)."""
    extensions = flask.current_app.extensions
    with _key_lock:
        if "valuetrail.signing_key" not in extensions:
            path = settings().audit_signing_key
            extensions["valuetrail.signing_key"] = load_or_create_signing_key(path)
        return cast(Ed25519PrivateKey, extensions["valuetrail.signing_key"])


def _projectors(names: Sequence[str]) -> dict[str, Projector]:
    """The inline projectors (the caller holds `_inline_lock`); the sealer joins when needed."""
    extensions = flask.current_app.extensions
    if "valuetrail.projectors" not in extensions:
        extensions["valuetrail.projectors"] = build_projectors(application(), views())
    projectors = cast(dict[str, Projector], extensions["valuetrail.projectors"])
    if AUDIT_CHAIN in names and AUDIT_CHAIN not in projectors:
        # Only audit reads need the chain, so only they need the signing key.
        view = SealerView(signing_key(), state_path=settings().audit_state, app=application())
        sealer = Projector(application(), views(), view)
        sealer.setup()
        projectors[AUDIT_CHAIN] = sealer
    return projectors


def fresh(names: Sequence[str], min_position: int | None) -> None:
    """Make sure the named views are recent enough to answer this read.

    Inline (tests, one process): catch the views up to the head now. Otherwise, with
    `min_position`, wait a bounded time for the projector, then 503 with Retry-After.
    """
    if min_position is not None:
        _check_seen(min_position)
    if settings().projector_inline:
        with _inline_lock:
            projectors = _projectors(names)
            for name in names:
                # A halted sealer seals nothing more; /audit/verify says why.
                with contextlib.suppress(SealerHalted):
                    projectors[name].catch_up()
        return
    if min_position is None:
        return
    if wait_for_position(views(), names, min_position, 0):
        return
    if not _waiting.acquire(blocking=False):
        raise _behind(min_position)
    try:
        if not wait_for_position(views(), names, min_position, settings().read_wait_seconds):
            raise _behind(min_position)
    finally:
        _waiting.release()


def _check_seen(min_position: int) -> None:
    """Refuse a position no write has answered yet: no client can have seen it."""
    head = application().head_position()
    if min_position > head:
        raise ApiProblem(
            422,
            f"min_position {min_position} is beyond the log's head ({head}): pass the"
            " X-Log-Position a write answered",
            slug="validation-error",
            errors={"min_position": [f"must be at most the log's head position, {head}"]},
        )


def _behind(min_position: int) -> ApiProblem:
    return ApiProblem(
        503,
        f"the view has not reached position {min_position} yet; retry shortly",
        slug="view-behind",
        headers={"Retry-After": "1"},
    )


# -- keyset pages ----------------------------------------------------------------------------


def after_cursor(args: dict[str, Any]) -> int:
    """The log position a `cursor` from `next_cursor` continues after (0 without one)."""
    cursor = args.get("cursor")
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        if not text.startswith(_CURSOR_PREFIX) or not text[1:].isdigit():
            raise ValueError(text)
        position = int(text[1:])
        if position >= MAX_POSITION:
            raise ValueError(text)
        return position
    except (ValueError, UnicodeError, binascii.Error):
        raise ApiProblem(
            422,
            "the cursor is not one this API gave out",
            slug="validation-error",
            errors={"cursor": ["unknown cursor"]},
        ) from None


def keyset_page(
    items: Sequence[Any],
    next_after: int | None,
    key: str = "items",
    extra: dict[str, Any] | None = None,
) -> flask.Response:
    """A page of items with `next_cursor` (and a Link header) when more follow; `extra` members
    go after them."""
    next_cursor = None
    headers: dict[str, str] = {}
    if next_after is not None:
        next_cursor = base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{next_after}".encode()).decode()
        headers["Link"] = f'<{next_url(cursor=next_cursor)}>; rel="next"'
    body = {key: list(items), "next_cursor": next_cursor, **(extra or {})}
    return json_response(body, headers=headers)


def next_url(**replace: str) -> str:
    """This request's URL with some query parameters replaced (the others kept)."""
    query: dict[str, Any] = {k: v for k, v in flask.request.args.items() if k not in replace}
    query.update(replace)
    params: dict[str, Any] = {**(flask.request.view_args or {}), **query}
    return flask.url_for(flask.request.endpoint or "", **params)
