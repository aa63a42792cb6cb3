"""The projector process: every view kept up to date from the event log, one thread per view.

Each thread runs `Projector.run`: it is active while it holds its view's lock and stands by
otherwise, so a second process started beside the first takes over when the first dies
(DESIGN §4). SIGTERM or SIGINT stops every thread between batches; the process then exits 0.
Configured by the same VALUETRAIL_* variables as the service, plus VALUETRAIL_PROJECTOR_BATCH.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType

from domain.application import ValuetrailApplication
from domain.errors import DomainError
from persistence import POSTGRES_MODULE, store_env
from projections.catalog import audit_views, build_views
from projections.db import PostgresViewDatabase, ViewDatabase
from projections.metrics import start_exporter
from projections.runner import Projector
from projections.wakeups import Wakeups, WokenViewDatabase

log = logging.getLogger("valuetrail.projector")

# The service's defaults (service.config.Settings); projections may not import the service.
DEFAULT_DB = "sqlite:///var/valuetrail.db"
DEFAULT_SIGNING_KEY = "var/audit_signing_key.pem"
BATCH_ENV = "VALUETRAIL_PROJECTOR_BATCH"
#: Set by a supervising parent: the projector stops when that process is gone.
PARENT_ENV = "VALUETRAIL_PROJECTOR_PARENT_PID"
#: How long a stopping projector waits for its threads to finish their batch.
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class ProjectorConfig:
    """What the projector process reads from its environment."""

    db: str = DEFAULT_DB
    audit_signing_key: str = DEFAULT_SIGNING_KEY
    batch_size: int = 500
    idle_wait: float = 1.0
    parent_pid: int | None = None
    log_format: str = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProjectorConfig:
        """Read VALUETRAIL_* variables (the service's, plus the projector's own)."""
        env = os.environ if environ is None else environ
        batch_size = int(env.get(BATCH_ENV, "500"))
        if batch_size < 1:
            raise ValueError(f"{BATCH_ENV} must be at least 1")
        parent = env.get(PARENT_ENV)
        return cls(
            db=env.get("VALUETRAIL_DB", DEFAULT_DB),
            audit_signing_key=env.get("VALUETRAIL_AUDIT_SIGNING_KEY", DEFAULT_SIGNING_KEY),
            batch_size=batch_size,
            parent_pid=int(parent) if parent else None,
            log_format=env.get("VALUETRAIL_LOG_FORMAT", "text"),
        )


def open_store(url: str) -> ValuetrailApplication:
    """The application over an existing store, for a reader that runs for days.

    Pooled PostgreSQL connections are checked before use, so a connection dropped while idle
    (a database restart, a failover) is replaced instead of failing the next batch. The pool
    keeps two open and grows while every view reads at once.
    """
    if url.startswith("sqlite:///"):
        folder = os.path.dirname(url[len("sqlite:///") :])
        if folder:
            os.makedirs(folder, exist_ok=True)
    env = store_env(url, create_tables=False)
    if env["PERSISTENCE_MODULE"] == POSTGRES_MODULE:
        env |= {"POSTGRES_PRE_PING": "y", "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "8"}
    return ValuetrailApplication(env=env)


def view_database(url: str, *, connections: int) -> ViewDatabase:
    """The views' database, with a connection for every view thread (plus one for scrapes)."""
    db = ViewDatabase.from_url(url)
    if isinstance(db, PostgresViewDatabase):
        return PostgresViewDatabase(url, pool_size=connections)
    return db


class ProjectorProcess:
    """Every view's projector, each in a thread of its own, woken by one shared listener."""

    def __init__(self, config: ProjectorConfig) -> None:
        self.config = config
        self.app = open_store(config.db)
        views = build_views(self.app, audit_views(config.audit_signing_key))
        channel = str(getattr(self.app.recorder, "channel_name", "valuetrail_events"))
        self.wakeups = Wakeups(ViewDatabase.from_url(config.db), channel)
        self.db = view_database(config.db, connections=len(views) + 1)
        self.projectors = {
            name: Projector(
                self.app,
                WokenViewDatabase(self.db, self.wakeups),
                view,
                batch_size=config.batch_size,
            )
            for name, view in views.items()
        }
        self._threads: list[threading.Thread] = []

    def create_tables(self, attempts: int = 3) -> None:
        """Create every view's tables one view at a time, before any thread runs.

        Concurrent `CREATE TABLE IF NOT EXISTS` of one table fails on PostgreSQL, so the threads
        must not be the first to create them. A failure here (another process creating them at
        this moment, the database still starting) is retried, then left to the threads, which
        set up again when they become active and back off while the database is unavailable.
        """
        for attempt in range(1, attempts + 1):
            try:
                for projector in self.projectors.values():
                    projector.setup()
                return
            except Exception as error:
                log.warning("creating the views' tables failed (%s); attempt %d", error, attempt)
                time.sleep(0.2 * attempt)

    def start(self, stop: threading.Event) -> None:
        """Start the listener and one thread per view; they run until `stop` is set."""
        listener = threading.Thread(
            target=self.wakeups.run, args=(stop,), name="projector-wakeups", daemon=True
        )
        listener.start()
        self._threads.append(listener)
        for name, projector in self.projectors.items():
            thread = threading.Thread(
                target=projector.run,
                args=(stop,),
                kwargs={"idle_wait": self.config.idle_wait},
                name=f"projector-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float) -> bool:
        """Wait for the threads to finish; False if one is still busy after `timeout`."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def close(self) -> None:
        """Release every connection (only once the threads have stopped)."""
        self.db.close()
        self.wakeups.db.close()
        self.app.close()


def run(config: ProjectorConfig, stop: threading.Event) -> int:
    """Run the projector until `stop` is set (or the supervising parent is gone)."""
    try:
        process = ProjectorProcess(config)
    except (DomainError, ValueError, OSError) as error:  # a bad URL, an unreadable key file
        log.error("projector cannot start: %s", error)
        return 1
    log.info(
        "projector pid %d starting: views %s, batches of %d",
        os.getpid(),
        ", ".join(process.projectors),
        config.batch_size,
    )
    process.create_tables()
    process.start(stop)
    exporter = start_exporter(process.app, process.projectors, config.audit_signing_key)
    while not stop.wait(0.5):
        if config.parent_pid is not None and os.getppid() != config.parent_pid:
            log.warning("projector's parent %d is gone; stopping", config.parent_pid)
            stop.set()
    exporter.close()
    if not process.join(STOP_SECONDS):
        # Daemon threads die with the process; their open transactions roll back.
        log.warning("projector stopped with a batch still running")
        return 0
    process.close()
    log.info("projector pid %d stopped", os.getpid())
    return 0


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(log_format: str) -> None:
    """Log to stderr as text or as one JSON object a line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main() -> int:
    """`python -m projections` and `valuetrail project`: run until SIGTERM or SIGINT."""
    try:
        config = ProjectorConfig.from_env()
    except ValueError as error:
        print(f"valuetrail projector: invalid configuration: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_format)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return run(config, stop)
