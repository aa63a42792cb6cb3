"""Per-process state the views share: the application (built on first use) and the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import flask

from domain.application import ValuetrailApplication
from domain.errors import StoreUnavailableError
from service.config import Settings


class LazyApplication:
    """The event-sourced application, built on first use.

    Building it connects to the store; doing that lazily lets a worker start, answer
    /healthz and report /readyz 503 while the store is down, and recover when it returns.
    """

    def __init__(self, factory: Callable[[], ValuetrailApplication]) -> None:
        self._factory = factory
        self._application: ValuetrailApplication | None = None
        self._lock = threading.Lock()

    def get(self) -> ValuetrailApplication:
        """The application, building it now if needed (503 while the store is unreachable)."""
        if self._application is None:
            with self._lock:
                if self._application is None:
                    try:
                        self._application = self._factory()
                    except Exception as error:  # any failure to connect means: not available
                        raise StoreUnavailableError(
                            f"the event store is unavailable ({type(error).__name__})"
                        ) from error
        return self._application

    @property
    def built(self) -> bool:
        """Whether the application exists yet."""
        return self._application is not None

    def close(self) -> None:
        """Close the application's connections, if it was ever built."""
        if self._application is not None:
            self._application.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def application() -> ValuetrailApplication:
    """The event-sourced application of this process."""
    return cast(LazyApplication, flask.current_app.extensions["valuetrail"]).get()


def settings() -> Settings:
    """The settings the app was built with."""
    return cast(Settings, flask.current_app.extensions["valuetrail.settings"])
