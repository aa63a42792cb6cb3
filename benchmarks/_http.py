"""What the HTTP benchmarks share: a real server, keep-alive clients, concurrent blocks, set-up.

The servers run as `valuetrail serve` or `valuetrail api` (gunicorn, WORKERS workers) on a free
loopback port; the client threads each hold one keep-alive `http.client` connection.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT

WORKERS = 2  # gunicorn workers
ADMIN_TOKEN = "bench-admin-token-for-benchmarks"
START_TIMEOUT = 30.0
API = "/api/v1"


# -- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    """A running `valuetrail serve` (or `api`) and its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def tail(self, lines: int = 40) -> str:
        """The end of the server's output."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def valuetrail_command(*args: str) -> list[str]:
    """The `valuetrail` command with `args`: the installed script, else `python -m service.cli`."""
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "service.cli", *args]


@contextmanager
def running(
    command: str, *, env: dict[str, str], cwd: Path | str, log: Path, timeout: float
) -> Iterator[Server]:
    """`valuetrail <command>` on the port `env` names, once it answers `/healthz`; SIGTERM (then
    kill) when done."""
    port = int(env["VALUETRAIL_PORT"])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            valuetrail_command(command), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(process, port, log)
    try:
        _wait_until_healthy(server, command, timeout)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_healthy(server: Server, command: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"valuetrail {command} exited early:\n{server.tail()}")
        try:
            status, _ = Client(server.port).request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"valuetrail {command} did not answer within {timeout} s:\n{server.tail()}")


@contextmanager
def serving(url: str) -> Iterator[Server]:
    """`valuetrail serve` on `url` with 2 workers; SIGTERM (then kill) when done."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="valuetrail_bench_http_") as home:
        env = {
            **os.environ,
            "VALUETRAIL_DB": url,
            "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
            "VALUETRAIL_HOST": "127.0.0.1",
            "VALUETRAIL_PORT": str(port),
            "VALUETRAIL_WORKERS": str(WORKERS),
            "HOME": home,
        }
        with running(
            "serve", env=env, cwd=ROOT, log=Path(home) / "serve.log", timeout=START_TIMEOUT
        ) as server:
            yield server


# -- the client ------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request; return the status and body."""
        self.connection.request(method, path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST that must answer 201; its JSON body."""
        status, data = self.request("POST", API + path, json.dumps(body).encode())
        if status != 201:
            raise SystemExit(f"POST {path} answered {status}: {data[:500]!r}")
        result: dict[str, Any] = json.loads(data)
        return result

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def concurrently(n: int, threads: int, make_worker: Callable[[], Callable[[], None]]) -> None:
    """Run n operations over `threads` threads; each thread builds its own worker first."""
    counter = itertools.count()
    lock = threading.Lock()
    ready = threading.Barrier(threads)
    problems: list[BaseException] = []

    def run() -> None:
        try:
            op = make_worker()
        except BaseException as error:
            problems.append(error)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        try:
            while True:
                with lock:
                    k = next(counter)
                if k >= n:
                    return
                op()
        except BaseException as error:
            problems.append(error)
        finally:
            closer = getattr(op, "close", None)
            if closer is not None:
                closer()

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    if problems:
        raise problems[0]


# -- set-up ----------------------------------------------------------------------------------


def bench_benefits(
    create: Callable[[str, dict[str, Any]], dict[str, Any]], titles: list[str]
) -> tuple[str, list[str]]:
    """A portfolio, an initiative and a benefit per title, each made by `create` (a POST under
    the API that must answer 201); the portfolio's id and the benefits' ids."""
    portfolio = create(
        "/portfolios",
        {"name": "Bench", "currency": "EUR", "discount_rate": "0.035", "base_month": "2023-01"},
    )
    initiative = create(
        "/initiatives",
        {
            "portfolio_id": portfolio["id"],
            "kind": "project",
            "name": "Bench initiative",
            "sponsor": "bench",
            "start_month": "2023-01",
            "end_month": "2027-12",
            "confidence": "0.8",
        },
    )
    benefit_ids = [
        str(
            create(
                "/benefits",
                {
                    "initiative_id": initiative["id"],
                    "title": title,
                    "category": "cashable",
                    "owner": "bench",
                    "measure": {"name": "savings", "unit": "EUR", "kind": "flow"},
                    "baseline": {"value": "0", "as_of": "2023-01-01"},
                },
            )["id"]
        )
        for title in titles
    ]
    return str(portfolio["id"]), benefit_ids
