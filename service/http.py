"""Small HTTP helpers the resources share: meta, ETag/If-Match, answers, idempotency."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from domain.application import AlreadyHandledError, Claim, Idempotency, Replay, Written
from domain.values import Meta
from service.auth import current_key
from service.blueprint import declared_schema
from service.errors import ApiProblem
from service.jsonio import json_response, loads, to_jsonable
from service.state import application

_ETAG = re.compile(r'^(?:W/)?"v(\d+)"$')


def meta() -> Meta:
    """Who is acting in this request."""
    return Meta(actor=current_key().name, request_id=str(flask.g.get("request_id", "")))


def expected_version() -> int | None:
    """The version named by If-Match, if any (`*` means any version)."""
    header = flask.request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match:
        raise ApiProblem(
            412, 'If-Match must be an ETag this API gave out, like "v3"', slug="version-mismatch"
        )
    return int(match.group(1))


#: What a view returns for its declared response schema to dump: data, status and headers.
Answer = tuple[Any, int, dict[str, str]]


def resource(data: Any, version: int) -> tuple[Any, dict[str, str]]:
    """A single-resource GET's data with its ETag."""
    return data, {"ETag": f'"v{version}"'}


def fingerprint() -> str:
    """A hash of what makes two requests the same: method, path, query and body."""
    digest = hashlib.sha256()
    digest.update(flask.request.method.encode())
    digest.update(flask.request.full_path.encode())
    raw = flask.request.get_data(cache=True)
    with contextlib.suppress(ValueError):
        # The same JSON sent with other spacing or key order is the same request.
        raw = json.dumps(loads(raw), sort_keys=True, default=to_jsonable).encode()
    digest.update(raw)
    return digest.hexdigest()


#: Completes a body once the log position it answers with is known: `(body, position,
#: written)`, the position the write's save ended at and what it wrote, or for a replay the
#: head and None.
Finish = Callable[[dict[str, Any], int, Written[Any] | None], dict[str, Any]]


@dataclass(frozen=True)
class HttpIdempotency:
    """The HTTP side of the idempotency port: the request's `Idempotency-Key` claim and the
    response the application records for a result (`replayed` answers with it later)."""

    claim: Claim
    dump: Callable[[Any], dict[str, Any]]
    status: int
    location: Callable[[Any], str] | None = None
    status_of: Callable[[Any], int] | None = None

    def record(self, result: Any) -> Replay:
        """The status and JSON body to replay for this result (with its Location, if any)."""
        body = self.dump(result)
        code = self.status_of(result) if self.status_of else self.status
        if self.location is not None:
            body = {**body, "_location": self.location(result)}
        return Replay(code, json.loads(json.dumps(body, default=to_jsonable)))


def replayed(replay: Replay, finish: Finish | None) -> flask.Response:
    """A stored response, marked as replayed, at the current log position."""
    body = dict(replay.body)
    position = application().head_position()
    headers = {"Idempotent-Replayed": "true", "X-Log-Position": str(position)}
    location = body.pop("_location", None)
    if location:
        headers["Location"] = location
    if finish is not None:
        body = finish(body, position, None)
    return json_response(body, replay.status, headers)


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key`, if sent (1 to 255 characters, or 422)."""
    key = flask.request.headers.get("Idempotency-Key")
    if key is not None and (not key.strip() or len(key) > 255):
        raise ApiProblem(
            422,
            "Idempotency-Key must be 1 to 255 characters",
            slug="validation-error",
            errors={"Idempotency-Key": ["must be 1 to 255 characters"]},
        )
    return key


def _same(value: Any) -> Any:
    return value


def _declared_dump(present: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    """`present` then the view's declared response schema: the body a replay is stored as."""
    declared = declared_schema()
    if declared is None:
        return lambda value: dict(present(value))
    return lambda value: dict(declared.dump(present(value)))


def write(
    run: Callable[[Idempotency | None], Written[Any]],
    present: Callable[[Any], Any] = _same,
    *,
    status: int = 200,
    location: Callable[[Any], str] | None = None,
    status_of: Callable[[Any], int] | None = None,
    ready: bool = False,
    finish: Finish | None = None,
) -> Answer | flask.Response:
    """Run a write use case, honouring Idempotency-Key, and answer with X-Log-Position.

    The answer is `present(result)` with its status and headers, for the view's declared
    response schema to dump (an idempotent replay is stored dumped through that schema). With
    `ready`, `present` already gives the JSON body (built by hand where a schema dump would cost
    more, or as a view stores it) and the answer is that body; `finish(body, log_position,
    written)` then completes it (fresh or replayed) once the position it answers with is known,
    and the stored replay is the body before it. A replay answers with the stored bytes as they
    were sent, completed by `finish`.
    """
    key = idempotency_key()
    once = None
    if key is not None:
        claim = Claim(str(current_key().id), key, fingerprint())
        dump = present if ready else _declared_dump(present)
        once = HttpIdempotency(claim, dump, status, location, status_of)
        stored = application().replay(once)
        if stored is not None:
            return replayed(stored, finish)
    try:
        written = run(once)
    except AlreadyHandledError as handled:
        return replayed(handled.replay, finish)
    headers = {"X-Log-Position": str(written.log_position)}
    if location is not None:
        headers["Location"] = location(written.value)
    code = status_of(written.value) if status_of else status
    if not ready:
        return present(written.value), code, headers
    body = present(written.value)
    if finish is not None:
        body = finish(body, written.log_position, written)
    return json_response(body, code, headers)
