"""flask-smorest Blueprint that parses JSON bodies with exact decimals."""

from __future__ import annotations

import flask_smorest

from service.jsonio import DecimalFlaskParser


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """Blueprint whose request bodies keep decimals exact."""

    ARGUMENTS_PARSER = DecimalFlaskParser()
