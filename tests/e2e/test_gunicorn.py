"""`valuetrail serve` as a real gunicorn process on PostgreSQL: an integrator's first session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "gunicorn-admin-token-for-tests"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
PORTFOLIO = {
    "name": "Digital services",
    "currency": "GBP",
    "discount_rate": "0.035",
    "base_month": "2025-01",
}

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Server:
    """A running `valuetrail serve` and where it answers."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def api(self) -> str:
        return self.base + "/api/v1"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command() -> list[str]:
    """The installed console script if there is one, else the module."""
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "service.cli", "serve"]


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"serve exited with {server.process.returncode}:\n{server.output()}")
        try:
            if requests.get(server.base + "/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"serve did not answer /healthz within {START_TIMEOUT} s:\n{server.output()}")


@pytest.fixture
def server(fresh_postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "VALUETRAIL_DB": fresh_postgres_url,
        "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
        "VALUETRAIL_HOST": "127.0.0.1",
        "VALUETRAIL_PORT": str(port),
        "VALUETRAIL_WORKERS": "2",
        "HOME": str(tmp_path),  # anything gunicorn might write under $HOME stays here
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command(), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    running = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def test_serve_walks_the_integrators_path_and_stops_cleanly(server: Server) -> None:
    api = server.api
    with session(ADMIN_TOKEN) as admin:
        assert requests.get(server.base + "/readyz", timeout=10).status_code == 200
        spec = requests.get(server.base + "/openapi.json", timeout=10).json()
        assert spec["openapi"].startswith("3.1")

        issued = {}
        for role in ("manager", "ingest"):
            r = admin.post(
                f"{api}/api-keys", json={"name": f"first-{role}", "role": role}, timeout=10
            )
            assert r.status_code == 201, r.text
            issued[role] = r.json()

        with session(issued["manager"]["token"]) as manager:
            r = manager.post(f"{api}/portfolios", json=PORTFOLIO, timeout=10)
            assert r.status_code == 201, r.text
            assert int(r.headers["X-Log-Position"]) > 0
            portfolio = r.json()
            location = server.base + r.headers["Location"].removeprefix(server.base)
            r = manager.post(
                f"{api}/portfolios/{portfolio['id']}/goals",
                json={"title": "Cheaper services", "weight": "2"},
                timeout=10,
            )
            assert r.status_code == 201, r.text
            goal_id = r.json()["goal_id"]
            written = r.headers["X-Log-Position"]

            # A new connection each time, so the reads spread over both workers.
            for _ in range(6):
                r = requests.get(location, headers=manager.headers, timeout=10)
                assert r.status_code == 200
                assert [g["goal_id"] for g in r.json()["goals"]] == [goal_id]
                assert r.headers["ETag"] == f'"v{r.json()["version"]}"'

        with session(issued["ingest"]["token"]) as ingest:
            assert (
                # Lists read the views, which the projector process keeps: read your writes.
                ingest.get(
                    f"{api}/portfolios", params={"min_position": written}, timeout=10
                ).json()["items"][0]["id"]
                == portfolio["id"]
            )
            r = ingest.post(f"{api}/portfolios", json=PORTFOLIO, timeout=10)
            assert r.status_code == 403
            assert r.headers["Content-Type"].startswith("application/problem+json")

            revoked = admin.delete(f"{api}/api-keys/{issued['ingest']['id']}", timeout=10)
            assert revoked.status_code == 200, revoked.text
            # Revocation holds on every worker, at once.
            for _ in range(6):
                r = requests.get(f"{api}/portfolios", headers=ingest.headers, timeout=10)
                assert r.status_code == 401
                assert "Bearer" in r.headers["WWW-Authenticate"]

        keys = admin.get(f"{api}/api-keys", timeout=10).json()["items"]
        assert [(k["name"], k["revoked"]) for k in keys] == [
            ("bootstrap-admin", False),
            ("first-manager", False),
            ("first-ingest", True),
        ]
        assert all("token" not in k for k in keys)

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=STOP_TIMEOUT) == 0, server.output()
    output = server.output()
    assert "Traceback" not in output
    assert "shown ONCE" not in output  # VALUETRAIL_ADMIN_KEY was set: no generated key


def _exchange(sock: socket.socket, raw: bytes) -> str:
    """Send raw bytes; the response's status line and headers, or "closed"."""
    sock.sendall(raw)
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return "closed"
        data += piece
    return data.partition(b"\r\n\r\n")[0].decode("latin-1")


def _chunked(body: bytes) -> bytes:
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_a_body_over_the_limit_is_413_and_closes_the_connection_chunked_or_not(
    server: Server,
) -> None:
    port = int(server.base.rsplit(":", 1)[1])
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    head = (
        f"POST /api/v1/portfolios HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    sent = {
        "chunked": head + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(big),
        # Only the start of the body: a client that stops sending once it sees the 413.
        "declared": head + f"Content-Length: {len(big)}\r\n\r\n".encode() + big[:1000],
    }
    for name, raw in sent.items():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            answer = _exchange(sock, raw)
            assert answer.startswith("HTTP/1.1 413"), (name, answer)
            assert "Connection: close" in answer, (name, answer)
            assert _exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n") == "closed"
    with session(ADMIN_TOKEN) as admin:
        listed = admin.get(server.api + "/portfolios", timeout=10).json()
    assert listed["items"] == []
