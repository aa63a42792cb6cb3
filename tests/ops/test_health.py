"""Health: /healthz, /readyz against a store that goes away, and SIGTERM draining writes."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import pytest
import requests
from flask.testing import FlaskClient

from domain.application import ValuetrailApplication, topic_of
from persistence import store_env
from service.app import create_app
from service.health import READY_TIMEOUT_SECONDS
from tests.ops.conftest import API, PORTFOLIO, bearer, free_port, start_server

RECORDED = "valuetrail.benefit.MeasurementRecorded.v1"


class Proxy:
    """A TCP relay to PostgreSQL that can be cut (listener and live connections) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def open(self) -> None:
        """Accept connections on `port` and relay them."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Close the port and every relayed connection: the store is now unreachable."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()


def through(url: str, port: int) -> str:
    """The same database URL, reached through another port on 127.0.0.1."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def proxy(fresh_postgres_url: str) -> Iterator[Proxy]:
    parts = urlsplit(fresh_postgres_url)
    relay = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.open()
    try:
        yield relay
    finally:
        relay.cut()


def _readyz(client: FlaskClient) -> tuple[int, dict[str, object], dict[str, str]]:
    response = client.get("/readyz")
    return response.status_code, response.get_json(), dict(response.headers)


@pytest.mark.postgres
@pytest.mark.slow
def test_readyz_answers_503_while_the_store_is_unreachable_and_recovers(
    fresh_postgres_url: str, proxy: Proxy
) -> None:
    app = create_app({"db": through(fresh_postgres_url, proxy.port), "create_tables": True})
    try:
        client = app.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        status, body, _ = _readyz(client)
        assert status == 200 and body["status"] == "ready"

        proxy.cut()
        asked = time.monotonic()
        status, body, headers = _readyz(client)
        # A probe gets its answer within its timeout, not after the store's minute of retries.
        assert time.monotonic() - asked < READY_TIMEOUT_SECONDS + 8
        assert status == 503, body
        assert headers["Content-Type"].startswith("application/problem+json")
        assert headers["Retry-After"] == "5"
        assert "not reachable" in str(body["detail"])
        assert client.get("/healthz").status_code == 200  # alive, just not ready

        proxy.open()
        deadline = time.monotonic() + 20
        while _readyz(client)[0] != 200:
            assert time.monotonic() < deadline, "readyz did not recover with the store"
            time.sleep(0.2)
    finally:
        app.extensions["valuetrail"].close()


@pytest.mark.postgres
def test_create_app_builds_while_the_store_is_unreachable(fresh_postgres_url: str) -> None:
    closed = free_port()
    app = create_app({"db": through(fresh_postgres_url, closed), "admin_key": None})
    try:
        assert app.test_client().get("/healthz").status_code == 200
        assert app.test_client().get("/readyz").status_code == 503
    finally:
        app.extensions["valuetrail"].close()


@dataclass(frozen=True)
class Ack:
    """An acknowledged batch: its measurement ids, and when it was sent and answered."""

    ids: tuple[UUID, ...]
    sent: float
    answered: float


@pytest.mark.postgres
@pytest.mark.slow
def test_sigterm_drains_in_flight_writes_and_loses_no_acknowledged_one(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    server = start_server(fresh_postgres_url, tmp_path / "drain", workers=2)
    headers = bearer()
    portfolio = requests.post(f"{server.base}{API}/portfolios", json=PORTFOLIO, headers=headers)
    initiative = requests.post(
        f"{server.base}{API}/initiatives",
        json={
            "portfolio_id": portfolio.json()["id"],
            "kind": "project",
            "name": "Drain",
            "sponsor": "S",
            "start_month": "2025-01",
            "end_month": "2026-12",
            "confidence": "0.8",
        },
        headers=headers,
    )
    benefit_ids = []
    for n in range(8):
        created = requests.post(
            f"{server.base}{API}/benefits",
            json={
                "initiative_id": initiative.json()["id"],
                "title": f"Benefit {n}",
                "category": "cashable",
                "owner": "O",
                "measure": {"name": "saving", "unit": "GBP", "kind": "flow"},
                "baseline": {"value": "0", "as_of": "2025-01-01"},
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        benefit_ids.append(created.json()["id"])

    acks: list[Ack] = []
    sigterm_at: list[float] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        batch = 0
        while not stop.is_set():
            batch += 1
            items = [
                {
                    "benefit_id": benefit_ids[n],
                    "value": "1",
                    "observed_on": "2025-03-01",
                    "source": "drain",
                    "external_id": f"{n}-{batch}-{i}",
                }
                for i in range(150)
            ]
            sent = time.monotonic()
            try:
                response = requests.post(
                    f"{server.base}{API}/measurements/batch",
                    json={"items": items},
                    headers=headers,
                    timeout=60,
                )
            except requests.ConnectionError:
                return  # refused or reset: never acknowledged
            if response.status_code != 201:
                return
            ids = tuple(UUID(r["measurement_id"]) for r in response.json()["results"])
            acks.append(Ack(ids, sent, time.monotonic()))

    with ThreadPoolExecutor(len(benefit_ids)) as pool:
        futures = [pool.submit(writer, n) for n in range(len(benefit_ids))]
        deadline = time.monotonic() + 30
        while len(acks) < 8:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        sigterm_at.append(time.monotonic())
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0, server.output()
        stop.set()
        for future in futures:
            future.result()

    drained = [a for a in acks if a.sent < sigterm_at[0] < a.answered]
    assert drained, "no write was in flight when SIGTERM arrived; the test proved nothing"
    app = ValuetrailApplication(env=store_env(fresh_postgres_url))
    try:
        stored = {
            getattr(event, "measurement_id", None)
            for benefit_id in benefit_ids
            for event in app.history(UUID(benefit_id))
            if topic_of(event) == RECORDED
        }
    finally:
        app.close()
    acknowledged = {m for ack in acks for m in ack.ids}
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged writes were lost"
    for crash in ("Worker failed to boot", "WORKER TIMEOUT", "Exception in worker process"):
        assert crash not in server.output()
