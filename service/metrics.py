"""Prometheus metrics of the API workers (DESIGN §6), right under gunicorn's several processes.

`valuetrail serve` and `valuetrail api` run in prometheus_client's multiprocess mode: gunicorn's
master empties a metrics directory before forking (`prepare_multiprocess_dir`), each worker
writes its values to files there, `/metrics` merges them, and the master marks a worker dead when
it exits (`worker_exited`) so live-only gauges forget it. Without PROMETHEUS_MULTIPROC_DIR (tests,
one process) the values stay in memory. The projector's metrics (positions, lag, audit chain,
portfolio value) come from the projector process on a port of its own: `projections.metrics`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import flask
from eventsourcing.persistence import Recording
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from domain.application import DECISION_RECORDED, ValuetrailApplication
from domain.values import DECISIONS
from service.logs import FACTS, UNMATCHED, StartResponse, WSGIApp, remember

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Request latency buckets (seconds): fast reads to 1,000-item batches.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Method label values; any other method a client sends is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_INGEST_SINGLE = "measurements.Measurements"
_INGEST_BATCH = "measurements.Batch"


@dataclass(frozen=True)
class Instruments:
    """The metrics the API workers write."""

    requests: Counter
    duration: Histogram
    in_flight: Gauge
    events: Counter
    ingested: Counter
    decisions: Counter


_registry = CollectorRegistry()
_lock = threading.Lock()
_instruments: Instruments | None = None


def instruments() -> Instruments:
    """This process's metrics, made on first use (after gunicorn forks, so in the right mode)."""
    global _instruments
    with _lock:
        if _instruments is None:
            _values_follow_environment()
            made = _make(_registry)
            # Known label values start at 0, so rates and alerts work before the first one.
            for outcome in ("created", "duplicate", "rejected"):
                made.ingested.labels(outcome)
            for decision in DECISIONS:
                made.decisions.labels(decision)
            _instruments = made
        return _instruments


def _values_follow_environment() -> None:
    # prometheus_client chooses in-memory or file-backed values when it is first imported, and
    # the CLI imports it before gunicorn's master sets PROMETHEUS_MULTIPROC_DIR: choose again.
    if os.environ.get(MULTIPROC_ENV) and values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def _make(registry: CollectorRegistry) -> Instruments:
    return Instruments(
        requests=Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        ),
        duration=Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        ),
        in_flight=Gauge(
            "http_requests_in_flight",
            "HTTP requests being answered now, over every live worker.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        events=Counter(
            "valuetrail_events_appended",
            "Events appended to the event log by the API, by stored topic.",
            ["type"],
            registry=registry,
        ),
        ingested=Counter(
            "valuetrail_measurements_ingested",
            "Measurements sent to the API, by outcome: created, duplicate or rejected.",
            ["outcome"],
            registry=registry,
        ),
        decisions=Counter(
            "valuetrail_decisions",
            "Investment decisions recorded, by decision.",
            ["decision"],
            registry=registry,
        ),
    )


# -- gunicorn's master -----------------------------------------------------------------------


def prepare_multiprocess_dir() -> str:
    """Make PROMETHEUS_MULTIPROC_DIR an empty directory; call in the master before forking.

    An operator's PROMETHEUS_MULTIPROC_DIR is emptied of metric files (values of a previous run
    would otherwise be added to this one's); without one, a private temporary directory is made
    and removed when the master exits.
    """
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix="valuetrail-metrics-")
        atexit.register(_remove_if_owner, path, os.getpid())
    os.environ[MULTIPROC_ENV] = path
    return path


def _remove_if_owner(path: str, owner: int) -> None:
    # Forked workers inherit atexit handlers; only the master that made the directory removes it.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters stay: what it counted still happened)."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


# -- the app ---------------------------------------------------------------------------------


def exposition() -> bytes:
    """The text exposition of every worker's metrics (or this process's, outside gunicorn)."""
    instruments()  # every family appears from the first scrape, even before any request
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(_registry)


class RequestMetrics:
    """WSGI middleware counting and timing every request by method, route template and status."""

    def __init__(self, app: WSGIApp, metrics: Instruments) -> None:
        self.app = app
        self.metrics = metrics
        # Children by labels, so a request skips prometheus_client's locked label lookup.
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["500"]

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code[:3]
            return start_response(code, headers, exc_info)

        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            return self.app(environ, capture)
        finally:
            in_flight.dec()
            elapsed = time.perf_counter() - started
            method = str(environ.get("REQUEST_METHOD", ""))
            method = method if method in METHODS else "other"  # clients choose methods freely
            route = (environ.get(FACTS) or {}).get("route", UNMATCHED)
            self._counter(method, route, status[0]).inc()
            self._histogram(method, route).observe(elapsed)

    def _counter(self, method: str, route: str, status: str) -> Any:
        key = (method, route, status)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = self.metrics.requests.labels(*key)
        return child

    def _histogram(self, method: str, route: str) -> Any:
        key = (method, route)
        child = self._timed.get(key)
        if child is None:
            child = self._timed[key] = self.metrics.duration.labels(*key)
        return child


def count_appended(metrics: Instruments, recordings: Iterable[Recording[Any]]) -> None:
    """Count saved events by topic, and decisions by kind."""
    for recording in recordings:
        topic = recording.notification.topic
        metrics.events.labels(topic).inc()
        if topic == DECISION_RECORDED:
            metrics.decisions.labels(str(getattr(recording.domain_event, "decision", ""))).inc()


def instrument_application(
    application: ValuetrailApplication, metrics: Instruments | None = None
) -> None:
    """Count what `application` saves, through its after-save hook `on_saved`."""
    metrics = metrics or instruments()
    application.on_saved(lambda recordings: count_appended(metrics, recordings))


def ingest_outcomes(response: flask.Response) -> dict[str, int]:
    """How many measurements a measurement POST created, found stored already, or rejected."""
    batch = flask.request.endpoint == _INGEST_BATCH
    status = response.status_code
    if status >= 500:
        return {}
    if 400 <= status < 500:
        return {"rejected": _items_sent() if batch else 1}
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    if not batch:
        return {"duplicate" if replayed or status == 200 else "created": 1}
    counts = flask.g.get(_BATCH_OUTCOME)
    if counts is None:  # not told by the view: read the answer
        body = response.get_json(silent=True) or {}
        counts = (int(body.get("created", 0)), int(body.get("duplicates", 0)))
    created, duplicates = counts
    if replayed:
        return {"duplicate": created + duplicates}
    return {"created": created, "duplicate": duplicates}


def remember_batch_outcome(created: int, duplicates: int) -> None:
    """Tell the ingest counters a batch's outcome, so they need not parse its answer again."""
    flask.g.setdefault(_BATCH_OUTCOME, (created, duplicates))


_BATCH_OUTCOME = "valuetrail_batch_outcome"


def _items_sent() -> int:
    try:
        body = flask.request.get_json(silent=True)
    except Exception:  # a body too large or unreadable: one rejected request
        return 1
    items = body.get("items") if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) and items else 1


def register_metrics(app: flask.Flask) -> None:
    """Serve /metrics and count requests, decisions and ingest outcomes.

    Appended events are counted by `instrument_application`, called when the (lazily built)
    application is created.
    """
    metrics = instruments()
    if remember not in app.teardown_request_funcs.get(None, []):
        app.teardown_request(remember)
    app.wsgi_app = RequestMetrics(app.wsgi_app, metrics)  # type: ignore[method-assign]

    @app.after_request
    def _count_ingest(response: flask.Response) -> flask.Response:
        if flask.request.method == "POST" and flask.request.endpoint in (
            _INGEST_SINGLE,
            _INGEST_BATCH,
        ):
            for outcome, count in ingest_outcomes(response).items():
                if count:
                    metrics.ingested.labels(outcome).inc(count)
        return response

    @app.get("/metrics")
    def prometheus_metrics() -> flask.Response:
        return flask.Response(exposition(), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def gunicorn_hooks() -> dict[str, Any]:
    """Gunicorn server hooks for multiprocess metrics (they run in the master)."""

    def on_starting(_server: Any) -> None:
        prepare_multiprocess_dir()

    def child_exit(_server: Any, worker: Any) -> None:
        worker_exited(int(worker.pid))

    return {"on_starting": on_starting, "child_exit": child_exit}
