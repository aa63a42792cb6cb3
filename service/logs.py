"""Structured logs (VALUETRAIL_LOG_FORMAT=text|json): an access line per request, ids on each line.

An access line carries the request id, method, route template, status, duration and the acting
key's name. Never a token, a header value other than X-Request-ID, a query string or a body: the
route template says what was called without the values in it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

import flask

log = logging.getLogger("valuetrail")
access_log = logging.getLogger("valuetrail.access")

#: The route label of a request no URL rule matched (404, 405), so raw paths never become labels.
UNMATCHED = "<unmatched>"
#: WSGI environ key under which a request's facts are left for the middleware (see `remember`).
FACTS = "valuetrail.facts"
FORMATS = ("text", "json")
_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")
_TEXT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@functools.lru_cache(maxsize=1024)
def route_template(rule: str) -> str:
    """A Flask URL rule as an OpenAPI-style template: `<uuid:initiative_id>` → `{initiative_id}`."""
    return _PARAM.sub(r"{\1}", rule)


def request_facts() -> dict[str, str]:
    """Route template, request id and actor of the current request (safe to log and label)."""
    rule = flask.request.url_rule
    key = flask.g.get("api_key")
    return {
        "route": route_template(rule.rule) if rule is not None else UNMATCHED,
        "request_id": str(flask.g.get("request_id", "")),
        "actor": str(getattr(key, "name", "")) or "anonymous",
    }


def remember(_error: BaseException | None = None) -> None:
    """Leave the request's facts in its WSGI environ: the middleware logs after Flask is done."""
    flask.request.environ[FACTS] = request_facts()


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is now (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _RequestId(logging.Filter):
    """Stamp every record logged inside a request with its request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            has_id = flask.has_request_context() and "request_id" in flask.g
            record.request_id = str(flask.g.request_id) if has_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, pid, message, request id and fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A line for people: the message, then `request_id=...` when there is one."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", "")
        return f"{line} request_id={request_id}" if request_id else line


def configure(log_format: str) -> None:
    """Send valuetrail's logs to stderr as `text` or `json` (idempotent: one handler)."""
    if log_format not in FORMATS:
        raise ValueError(f"VALUETRAIL_LOG_FORMAT must be one of {', '.join(FORMATS)}")
    handler = next((h for h in log.handlers if isinstance(h, _Stderr)), None)
    if handler is None:
        handler = _Stderr()
        handler.addFilter(_RequestId())
        log.addHandler(handler)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    log.setLevel(logging.INFO)
    log.propagate = False  # one line per event, whatever the root logger does


class AccessLog:
    """WSGI middleware writing one access line per request, after the response is made."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[int] = [500]

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = int(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info)

        try:
            return self.app(environ, capture)
        finally:
            write_access_line(environ, status[0], time.perf_counter() - started)


def write_access_line(environ: dict[str, Any], status: int, seconds: float) -> None:
    """Log one request: facts Flask left in the environ, its status and its duration."""
    facts = environ.get(FACTS) or {"route": UNMATCHED, "request_id": "", "actor": "anonymous"}
    method = str(environ.get("REQUEST_METHOD", ""))
    duration_ms = round(seconds * 1000, 2)
    access_log.info(
        "%s %s %d %.2fms actor=%s",
        method,
        facts["route"],
        status,
        duration_ms,
        facts["actor"],
        extra={
            "request_id": facts["request_id"],
            "fields": {
                "method": method,
                "route": facts["route"],
                "status": status,
                "duration_ms": duration_ms,
                "actor": facts["actor"],
            },
        },
    )


def register_access_log(app: flask.Flask, log_format: str) -> None:
    """Configure logging and write an access line for every request of `app`."""
    configure(log_format)
    app.teardown_request(remember)
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
