"""Per-process state the views share: the application and the settings."""

from __future__ import annotations

from typing import cast

import flask

from domain.application import ValuetrailApplication
from service.config import Settings


def application() -> ValuetrailApplication:
    """The event-sourced application of this process."""
    return cast(ValuetrailApplication, flask.current_app.extensions["valuetrail"])


def settings() -> Settings:
    """The settings the app was built with."""
    return cast(Settings, flask.current_app.extensions["valuetrail.settings"])
