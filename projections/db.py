"""Where the views live: one portable SQL dialect over SQLite or PostgreSQL.

Views write their rows and their tracking position through `ViewDatabase.transaction()`, so a
batch of events and the position after it commit together (exactly once). SQL is written with
`?` placeholders; the PostgreSQL adapter translates them. Anything PostgreSQL-specific about
the views' tables (advisory locks, LISTEN, COPY) stays in this module; reading the event log
itself is `projections.log`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import zlib
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from persistence import store_env
from projections.log import EventLogReader


class Cursor(Protocol):
    """The little of DB-API the views use."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class ViewDatabase(EventLogReader):
    """A connection factory for view tables, with a portable SQL dialect.

    It reads the event log too (`EventLogReader`): the log is in the same database.
    """

    url: str

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on error."""

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        """A cursor for reads (a transaction, so a read sees one consistent state)."""
        return self.transaction()

    @abstractmethod
    def exclusive(self, name: str) -> contextlib.AbstractContextManager[bool]:
        """Hold a process-wide lock named `name` while the block runs; yields False if taken."""

    @abstractmethod
    def wait_for_events(self, channel: str, timeout: float) -> None:
        """Block until new events may exist (notification or poll interval)."""

    def close(self) -> None:
        """Release connections."""

    @staticmethod
    def from_url(url: str) -> ViewDatabase:
        """The adapter for a `VALUETRAIL_DB` URL."""
        if url.startswith("sqlite:///"):
            return SQLiteViewDatabase(url[len("sqlite:///") :])
        if url.startswith(("postgresql://", "postgres://")):
            return PostgresViewDatabase(url)
        raise ValueError(f"unsupported database URL: {url.split(':', 1)[0]}")


class SQLiteViewDatabase(ViewDatabase):
    """Views in the same SQLite file as the event log; polled for new events."""

    POLL_SECONDS = 0.2

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        conn = self._connection()
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cursor.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Cursor]:
        conn = self._connection()
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        try:
            yield cursor
        finally:
            conn.rollback()
            cursor.close()

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        lock_path = f"{self.path}.{name}.lock"
        with open(lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(str(os.getpid()))
                handle.flush()
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def wait_for_events(self, channel: str, timeout: float) -> None:
        threading.Event().wait(min(timeout, self.POLL_SECONDS))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def empty_tables(cursor: Cursor, tables: Sequence[str]) -> None:
    """Delete every row of these tables (in the caller's transaction).

    On PostgreSQL with TRUNCATE: a DELETE would leave every row behind as a dead tuple, and
    until a vacuum the table and its indexes stay that large, slowing the rebuild that follows.
    """
    if not tables:
        return
    if isinstance(cursor, _PgCursor):
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    else:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")


def is_postgres(cursor: Cursor) -> bool:
    """Whether the cursor is on PostgreSQL (else SQLite)."""
    return isinstance(cursor, _PgCursor)


def execute_binary(cursor: Cursor, sql: str, params: Sequence[Any] = ()) -> None:
    """Run a query whose results come in binary format on PostgreSQL (bytea and numbers as
    they are, not encoded as text); a plain `execute` on SQLite."""
    if isinstance(cursor, _PgCursor):
        cursor.execute_binary(sql, params)
    else:
        cursor.execute(sql, params)


def table_columns(cursor: Cursor, table: str) -> set[str]:
    """The column names of a table in the current schema (empty if there is no such table)."""
    if isinstance(cursor, _PgCursor):
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {str(row[0]) for row in cursor.fetchall()}
    cursor.execute(f"PRAGMA table_info({table})")
    return {str(row[1]) for row in cursor.fetchall()}


def insert_rows(cursor: Cursor, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows (values for `columns`, "a, b, c") into a view table, all in one go.

    One COPY on PostgreSQL: every row in one stream, where a pipelined INSERT per row is far
    slower. `executemany` on SQLite, already a loop in C over one prepared statement.
    """
    if not rows:
        return
    names = [name.strip() for name in columns.split(",")]
    if isinstance(cursor, _PgCursor):
        cursor.copy_rows(table, names, rows)
    else:
        marks = ", ".join("?" * len(names))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)


#: What a view stores for a NUL (U+0000) in an event's text: PostgreSQL's text cannot hold
#: one. Events written before the API refused NUL still project; the log keeps the original.
NUL_STAND_IN = "\ufffd"


def storable_row(values: Sequence[Any]) -> Sequence[Any]:
    """The values with any NUL in their text replaced by NUL_STAND_IN (most rows: unchanged)."""
    if not any(type(value) is str and "\x00" in value for value in values):
        return values
    return [
        value.replace("\x00", NUL_STAND_IN) if type(value) is str else value for value in values
    ]


class _PgCursor:
    """A psycopg cursor that takes `?` placeholders."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(self._sql(sql), storable_row(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(self._sql(sql), [storable_row(row) for row in rows])

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY rows into a table (values adapted as for any statement)."""
        statement = SQL("COPY {} ({}) FROM STDIN").format(
            Identifier(table), SQL(", ").join(map(Identifier, columns))
        )
        with self._cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(storable_row(row))

    def execute_binary(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """`execute`, with results in binary format (no text encoding of bytea and numbers)."""
        return self._cursor.execute(self._sql(sql), params, binary=True)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


def pg_conninfo(url: str) -> str:
    """A libpq connection string from a postgresql:// URL (parsed once, by `store_env`)."""
    env = store_env(url)
    parts = {
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "dbname": env["POSTGRES_DBNAME"],
        "connect_timeout": env["POSTGRES_CONNECT_TIMEOUT"],
    }
    if env["POSTGRES_PASSWORD"]:
        parts["password"] = env["POSTGRES_PASSWORD"]
    return psycopg.conninfo.make_conninfo(**parts)


class PostgresViewDatabase(ViewDatabase):
    """Views in the event store's PostgreSQL database; woken by the store's NOTIFY."""

    def __init__(self, url: str, *, pool_size: int = 3) -> None:
        self.url = url
        self.conninfo = pg_conninfo(url)
        self._pool: ConnectionPool | None = None
        self._pool_size = pool_size
        self._pool_lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None

    @property
    def pool(self) -> ConnectionPool:
        """Connections for view reads and writes, opened on first use."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.conninfo, min_size=1, max_size=self._pool_size, open=True, timeout=10
                )
            return self._pool

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PgCursor(cursor)

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        key = zlib.crc32(f"valuetrail:{name}".encode())
        conn = psycopg.connect(self.conninfo, autocommit=True)
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            yield bool(row and row[0])
        finally:
            conn.close()  # closing the session releases the advisory lock

    def wait_for_events(self, channel: str, timeout: float) -> None:
        if self._listener is None or self._listener.closed:
            self._listener = psycopg.connect(self.conninfo, autocommit=True)
            self._listener.execute(f'LISTEN "{channel}"')
        for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            break

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
