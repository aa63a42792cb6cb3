"""Settings from the environment (DESIGN §7); `create_app(overrides)` may replace any of them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_DB = "sqlite:///var/valuetrail.db"
_OFF = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    db: str = DEFAULT_DB
    admin_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    audit_signing_key: str = "var/audit_signing_key.pem"
    #: The audit sealer's last signed head, kept outside the database (DESIGN §5.5).
    audit_state: str = "var/audit_state.json"
    log_format: str = "text"
    max_body_bytes: int = 1024 * 1024
    read_wait_seconds: float = 5.0
    create_tables: bool = False
    #: Catch views up inside the request when they are behind (tests, single-process use);
    #: `valuetrail serve` turns it off and runs the projector beside the workers instead.
    projector_inline: bool = True
    #: Prometheus metrics on /metrics (VALUETRAIL_METRICS=0 turns them off).
    metrics: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read VALUETRAIL_* variables."""
        env = os.environ if environ is None else environ
        log_format = env.get("VALUETRAIL_LOG_FORMAT", "text")
        if log_format not in ("text", "json"):
            raise ValueError(f"VALUETRAIL_LOG_FORMAT must be text or json, not {log_format!r}")
        return cls(
            db=env.get("VALUETRAIL_DB", DEFAULT_DB),
            admin_key=admin_key_from(env.get("VALUETRAIL_ADMIN_KEY")),
            host=env.get("VALUETRAIL_HOST", "127.0.0.1"),
            port=int(env.get("VALUETRAIL_PORT", "8000")),
            workers=int(env.get("VALUETRAIL_WORKERS", "2")),
            audit_signing_key=env.get("VALUETRAIL_AUDIT_SIGNING_KEY", "var/audit_signing_key.pem"),
            audit_state=env.get("VALUETRAIL_AUDIT_STATE", "var/audit_state.json"),
            log_format=log_format,
            metrics=env.get("VALUETRAIL_METRICS", "1").strip().lower() not in _OFF,
        )

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Settings:
        """A copy with the named fields replaced (unknown names are an error)."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, **dict(overrides))


#: The shortest VALUETRAIL_ADMIN_KEY accepted: an admin token must not be guessable.
MIN_ADMIN_KEY_LENGTH = 24


def admin_key_from(value: str | None) -> str | None:
    """The admin token VALUETRAIL_ADMIN_KEY sets, or ValueError if it is guessable."""
    if not value:
        return None
    if "${" in value:
        raise ValueError(
            "VALUETRAIL_ADMIN_KEY holds an unexpanded placeholder (${...}): the tool that "
            "started the service passed it through literally. Set the variable to a random "
            "token, or leave it unset to have a key generated"
        )
    if len(value) < MIN_ADMIN_KEY_LENGTH:
        raise ValueError(
            f"VALUETRAIL_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters "
            f"(it has {len(value)}); use a random token, e.g. the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return value


def ensure_sqlite_dir(db_url: str) -> None:
    """Create the folder of a SQLite database file so a fresh checkout can start."""
    if db_url.startswith("sqlite:///"):
        folder = os.path.dirname(db_url[len("sqlite:///") :])
        if folder:
            os.makedirs(folder, exist_ok=True)
