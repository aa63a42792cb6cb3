"""Persistence adapters: one recorder subclass per store, chosen by `PERSISTENCE_MODULE`.

`persistence.sqlite` (embedded), `persistence.postgres` (production, scale-out) and
`persistence.memory` (unit tests) each hold a `Factory` that builds the store's
`ValuetrailRecorder`. The rest of the code names a store only through `store_env`.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from domain.errors import ValidationError

SQLITE_MODULE = "persistence.sqlite"
POSTGRES_MODULE = "persistence.postgres"
MEMORY_MODULE = "persistence.memory"

__all__ = ["MEMORY_MODULE", "POSTGRES_MODULE", "SQLITE_MODULE", "store_env"]


def store_env(url: str, *, create_tables: bool = False) -> dict[str, str]:
    """Translate a `VALUETRAIL_DB` URL into eventsourcing persistence settings."""
    parsed = urlparse(url)
    create = "y" if create_tables else "n"
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValidationError("use sqlite:///path/to/file.db", "VALUETRAIL_DB")
        return {
            "PERSISTENCE_MODULE": SQLITE_MODULE,
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": create,
        }
    if parsed.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": POSTGRES_MODULE,
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "valuetrail",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "CREATE_TABLE": create,
        }
    raise ValidationError("must start with sqlite:/// or postgresql://", "VALUETRAIL_DB")
