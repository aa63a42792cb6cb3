"""Reads served from projections: the view database, freshness and read-your-writes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import cast

import flask
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.audit.heads import load_or_create_signing_key
from projections.audit_chain.sealer import SealerHalted, SealerView
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.catalog import build_projectors
from projections.db import ViewDatabase
from projections.runner import Projector, wait_for_position
from service.errors import ApiProblem
from service.gunicorn_conf import THREADS
from service.state import application, settings

_inline_lock = threading.Lock()
_key_lock = threading.Lock()


#: Reads of one worker that may wait for the projector at once (`min_position`). A wait holds
#: a request thread for up to `read_wait_seconds`; capped below the worker's threads, one always
#: stays free for health checks, writes and other reads. The others are told 503 at once.
MAX_WAITING = max(1, THREADS - 1)
_waiting = threading.BoundedSemaphore(MAX_WAITING)


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
