"""flask-smorest Blueprint that parses JSON bodies with exact decimals."""

from __future__ import annotations

from typing import Any

import flask_smorest
import marshmallow as ma

from service.jsonio import DecimalFlaskParser
from service.schemas.common import schema as shared


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """Blueprint whose request bodies keep decimals exact."""

    ARGUMENTS_PARSER = DecimalFlaskParser()

    def arguments(self, schema: type[ma.Schema] | ma.Schema, **kwargs: Any) -> Any:
        """Parse with one shared instance of a schema class (from a class, webargs builds one
        per request, copying and binding every field each time)."""
        if isinstance(schema, type):
            schema = shared(schema)
        return super().arguments(schema, **kwargs)
