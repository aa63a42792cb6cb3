"""Gunicorn settings for the API workers, derived from valuetrail's Settings (DESIGN §7, §8)."""

from __future__ import annotations

from typing import Any

from gunicorn.config import KNOWN_SETTINGS

from service.config import Settings

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
    }
    # Gunicorn 25.1+ opens a control socket under $HOME by default; the service needs none,
    # and several instances on one host would contend for the same path.
    if "control_socket_disable" in _supported():
        options["control_socket_disable"] = True
    return options
