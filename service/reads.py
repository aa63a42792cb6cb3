"""Reads served from projections: the view database, freshness and read-your-writes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

import flask
import marshmallow as ma

from projections.catalog import build_projectors
from projections.db import ViewDatabase
from projections.runner import Projector, wait_for_position
from service.errors import ApiProblem
from service.state import application, settings

_inline_lock = threading.Lock()


class FreshArgs(ma.Schema):
    """`?min_position=` for read-your-writes."""

    min_position = ma.fields.Integer(
        validate=ma.validate.Range(min=0),
        metadata={"description": "wait (up to ~5 s) until the view includes this log position"},
    )


def views() -> ViewDatabase:
    """The database holding the views."""
    return cast(ViewDatabase, flask.current_app.extensions["valuetrail.views"])


def _projectors() -> dict[str, Projector]:
    extensions = flask.current_app.extensions
    with _inline_lock:
        if "valuetrail.projectors" not in extensions:
            extensions["valuetrail.projectors"] = build_projectors(application(), views())
        return cast(dict[str, Projector], extensions["valuetrail.projectors"])


def fresh(names: Sequence[str], min_position: int | None) -> None:
    """Make sure the named views are recent enough to answer this read.

    Inline (tests, one process): catch the views up to the head now. Otherwise, with
    `min_position`, wait a bounded time for the projector, then 503 with Retry-After.
    """
    if settings().projector_inline:
        projectors = _projectors()
        with _inline_lock:
            for name in names:
                projectors[name].catch_up()
        return
    if min_position is None:
        return
    if not wait_for_position(views(), names, min_position, settings().read_wait_seconds):
        raise ApiProblem(
            503,
            f"the view has not reached position {min_position} yet; retry shortly",
            slug="view-behind",
            headers={"Retry-After": "1"},
        )
