"""Readiness within a probe's timeout: ask the store in the background, one question at a time.

With the store unreachable, eventsourcing retries a read for up to about a minute (ten attempts
of a 5 s connection timeout). A readiness probe must answer within seconds, and probes arriving
meanwhile must not each tie up a worker thread, so /readyz waits a bounded time on the one
question in flight and answers 503 if it has no answer yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import cast

import flask

#: How long /readyz waits for the store before answering 503.
READY_TIMEOUT_SECONDS = 2.0


class StoreProbe:
    """The store's head position, asked in a daemon thread; concurrent callers share a question."""

    def __init__(self, ask: Callable[[], int]) -> None:
        self._ask = ask
        self._lock = threading.Lock()
        self._pending: Future[int] | None = None

    def head_position(self, timeout: float = READY_TIMEOUT_SECONDS) -> int:
        """The head position, or TimeoutError / the store's error."""
        with self._lock:
            if self._pending is None or self._pending.done():
                future: Future[int] = Future()
                asking = threading.Thread(target=self._run, args=(future,), daemon=True)
                asking.start()
                self._pending = future
            pending = self._pending
        try:
            return pending.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"no answer from the store within {timeout:g} s") from None

    def _run(self, future: Future[int]) -> None:
        try:
            future.set_result(self._ask())
        except BaseException as error:  # handed to the waiting probe, not lost
            future.set_exception(error)


def store_probe(app: flask.Flask) -> StoreProbe:
    """The app's probe (made on first use, so after gunicorn forks)."""
    extensions = app.extensions
    if "valuetrail.store_probe" not in extensions:
        ask = extensions["valuetrail"].head_position
        extensions.setdefault("valuetrail.store_probe", StoreProbe(ask))
    return cast(StoreProbe, extensions["valuetrail.store_probe"])
