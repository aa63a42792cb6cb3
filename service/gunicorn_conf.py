"""Gunicorn settings for the API workers, derived from valuetrail's Settings (DESIGN §7, §8).

`valuetrail serve` also runs the projector as a child of the gunicorn master (`projector_hooks`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gunicorn.config import KNOWN_SETTINGS

from projections.process import PARENT_ENV
from service.config import Settings
from service.metrics import gunicorn_hooks as metrics_hooks

#: Threads per worker: views mostly wait on the database, so a few threads keep a worker busy.
THREADS = 4


def _supported() -> frozenset[str]:
    return frozenset(setting.name for setting in KNOWN_SETTINGS)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn configuration for `settings`.

    No `preload_app`: each worker builds its own Application (and connection pool) after the
    fork. Workers never create tables; that happens once, before they start.
    """
    options: dict[str, Any] = {
        "bind": [f"{settings.host}:{settings.port}"],
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        "preload_app": False,
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "valuetrail",
        "pre_request": close_after_large_body(settings.max_body_bytes),
    }
    # Gunicorn 25.1+ opens a control socket under $HOME by default; the service needs none,
    # and several instances on one host would contend for the same path.
    if "control_socket_disable" in _supported():
        options["control_socket_disable"] = True
    if settings.metrics:
        options |= metrics_hooks()
    return options


def close_after_large_body(limit: int) -> Callable[[Any, Any], None]:
    """A `pre_request` hook: a body the app refuses unread (413), or may refuse midway
    (chunked), leaves bytes on the connection that are no request, so it is closed after."""

    def pre_request(_worker: Any, req: Any) -> None:
        for name, value in req.headers:
            too_long = name == "CONTENT-LENGTH" and value.isdigit() and int(value) > limit
            if too_long or name == "TRANSFER-ENCODING":
                req.must_close = True

    return pre_request


class _Log(Protocol):
    """The little of gunicorn's logger the supervisor uses."""

    def info(self, msg: str, *args: Any) -> None: ...
    def warning(self, msg: str, *args: Any) -> None: ...


class ProjectorChild:
    """The projector as a child of the gunicorn master: started, kept alive, stopped on exit.

    Started from `when_ready`, so only the master ever runs the supervising thread (workers are
    forked later and do not inherit threads). The child gets a session of its own, so a Ctrl-C
    at the terminal reaches the master only and the child stops when the master says so, not
    before (or it would be restarted mid-shutdown); it also stops by itself if the master dies.
    """

    #: A child that ran this long before exiting is restarted at once, not after a back-off.
    HEALTHY_SECONDS = 60.0

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self.command = list(command or [sys.executable, "-m", "projections"])
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, log: _Log) -> None:
        """Start the child and the thread that restarts it if it exits unexpectedly."""
        with self._lock:
            self._spawn(log)
        self._thread = threading.Thread(
            target=self._supervise, args=(log,), name="projector-supervisor", daemon=True
        )
        self._thread.start()

    def _spawn(self, log: _Log) -> None:
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        self.process = subprocess.Popen(self.command, env=env, start_new_session=True)
        log.info("projector started (pid %d)", self.process.pid)

    def _supervise(self, log: _Log) -> None:
        failures = 0
        while self.process is not None:
            process, started = self.process, time.monotonic()
            # The master's own reaping may collect the child first; the exit status is then 0.
            status = process.wait()
            if self._stopping.is_set():
                return
            failures = 1 if time.monotonic() - started > self.HEALTHY_SECONDS else failures + 1
            delay = min(30.0, 2.0 ** (failures - 1))
            log.warning(
                "projector (pid %d) exited with status %s; restarting in %.0f s",
                process.pid,
                status,
                delay,
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn(log)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the child to finish its batch and exit; kill it if it has not after `timeout`."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def projector_hooks(options: dict[str, Any], child: ProjectorChild) -> dict[str, Any]:
    """`options` plus server hooks that run `child` beside the workers while the master runs.

    A hook already in `options` (metrics use some) still runs, before the projector's.
    """
    hooks: dict[str, Callable[[Any], None]] = {
        "when_ready": lambda server: child.start(server.log),
        "on_exit": lambda server: _stopped(child, server),
    }
    merged = dict(options)
    for name, hook in hooks.items():
        earlier = merged.get(name)
        merged[name] = hook if earlier is None else _chain(earlier, hook)
    return merged


def _stopped(child: ProjectorChild, server: Any) -> None:
    child.stop()
    server.log.info("projector stopped")


def _chain(first: Callable[[Any], None], then: Callable[[Any], None]) -> Callable[[Any], None]:
    def both(server: Any) -> None:
        first(server)
        then(server)

    return both
