"""A throwaway PostgreSQL cluster: its own directory, port and server, stopped and started at will.

The reliability tests take PostgreSQL down and bring it back; they never touch the server other
tests share. The cluster runs as the `postgres` OS user when the tests run as root (PostgreSQL
refuses to run as root), as the current user otherwise.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.ops.conftest import free_port

#: Every pg_ctl call waits at most this long (its own -t) and the subprocess a little longer.
PG_CTL_TIMEOUT = 60


def server_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: pg_config's, else the newest Debian one, else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False
        )
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += [Path(path) for path in debian]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


class Cluster:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="valuetrail-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.root.chmod(0o700)

    def _run(self, *args: str, timeout: float = PG_CTL_TIMEOUT + 10) -> None:
        command = list(args)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        """Create the cluster: trust on 127.0.0.1, sockets in its own folder, room for servers."""
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        settings = (
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "max_connections = 300\n"
            # The faults here kill processes, not the machine: what is written to the kernel
            # survives, so flushing it to disk is not needed. (Commits must still reach the
            # kernel before they are acknowledged: synchronous_commit stays on, or an immediate
            # stop loses writes the service has acknowledged.)
            "fsync = off\n"
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", str(PG_CTL_TIMEOUT), "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (immediate: as if it crashed; clients see their connections drop)."""
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
            "-w", "-t", str(PG_CTL_TIMEOUT), "stop",
        )  # fmt: skip

    def running(self) -> bool:
        """True when the server's postmaster is up."""
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        """A URL `VALUETRAIL_DB` takes for a database of this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database; its URL."""
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete every file of the cluster."""
        try:
            if self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
