"""Operations tests: real gunicorn, a real Prometheus, promtool and docker-compose.

The external tools come from Debian's `prometheus` and `docker-compose` packages (`make test`
installs them). Without them these tests are skipped, unless VALUETRAIL_REQUIRE_OPS_TOOLS=1
(`.ci/run` sets it), in which case they fail: a green CI run must have used them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import _temporary_database
from tests.e2e.conftest import Api, build_app

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
REQUIRE_TOOLS_ENV = "VALUETRAIL_REQUIRE_OPS_TOOLS"
ADMIN_TOKEN = "ops-admin-token-for-the-ops-tests"
START_TIMEOUT = 40.0
STOP_TIMEOUT = 40.0
API = "/api/v1"
PORTFOLIO = {"name": "Ops", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}


def tool(name: str) -> str:
    """The path of an external program; skip (or fail under CI) if it is not installed."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install prometheus docker-compose)"
        if os.environ.get(REQUIRE_TOOLS_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_TOOLS_ENV}=1 requires it", pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a text exposition, by sample name (`x_total`, `x_bucket`, ...)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        value
        for sample_labels, value in samples(text).get(name, [])
        if all(sample_labels.get(k) == v for k, v in labels.items())
    )


@dataclass
class Server:
    """A running `valuetrail serve` (or `api`) and where it answers."""

    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def projector_metrics(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def metrics(self) -> str:
        response = requests.get(self.base + "/metrics", timeout=10)
        assert response.status_code == 200, response.text
        return response.text

    def stop(self) -> int:
        """SIGTERM, then wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            pytest.fail(f"the server did not stop within {STOP_TIMEOUT} s:\n{self.output()}")


def _command(name: str) -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), name]
    return [sys.executable, "-m", "service.cli", name]


def start_server(
    db_url: str,
    folder: Path,
    *,
    command: str = "serve",
    workers: int = 3,
    env: Mapping[str, str] | None = None,
    wait_for_projector: bool = True,
    prefix: Sequence[str] = (),
) -> Server:
    """Start `valuetrail <command>` on free ports and wait until it (and its projector) answer.

    `prefix` runs it through another program (`setpriv ...`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    port, metrics_port = free_port(), free_port()
    full_env = {
        **os.environ,
        "VALUETRAIL_DB": db_url,
        "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
        "VALUETRAIL_HOST": "127.0.0.1",
        "VALUETRAIL_PORT": str(port),
        "VALUETRAIL_WORKERS": str(workers),
        "VALUETRAIL_PROJECTOR_METRICS_PORT": str(metrics_port),
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(folder / "audit_signing_key.pem"),
        "VALUETRAIL_AUDIT_STATE": str(folder / "audit_state.json"),
        "VALUETRAIL_AUDIT_VERIFY_SECONDS": "1",
        "HOME": str(folder),
        **(env or {}),
    }
    log = folder / f"{command}-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*prefix, *_command(command)],
            cwd=folder,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, metrics_port, log, full_env)
    try:
        _wait_for(server, server.base + "/healthz")
        if wait_for_projector and command == "serve":
            _wait_for(server, server.projector_metrics)
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        raise
    return server


def _wait_for(server: Server, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT} s:\n{server.output()}")


def bearer(token: str = ADMIN_TOKEN) -> dict[str, str]:
    """Authorization headers for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def ops_database(_postgres_server: None) -> Iterator[str]:
    """A PostgreSQL database for the module's shared server, dropped after the module."""
    yield from _temporary_database()


@pytest.fixture(scope="module")
def ops_server(ops_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `valuetrail serve` (2 workers and a projector) shared by a module's read-only tests.

    Module-scoped, so it is stopped before the next module starts servers of its own: a serve
    holds about 30 PostgreSQL connections (DEPLOYMENT.md), and the test server may be shared.
    """
    server = start_server(ops_database, tmp_path_factory.mktemp("ops-server"), workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A test client of an app over a fresh SQLite store (admin token `admin-token`)."""
    client = Api(build_app(tmp_path))
    try:
        yield client
    finally:
        client.vt.close()


@dataclass(frozen=True)
class Traffic:
    """What `ops_traffic` did through the shared server."""

    portfolio_id: str
    head: int


@pytest.fixture(scope="module")
def ops_traffic(ops_server: Server) -> Traffic:
    """Some of every kind of request through the shared server, and the views caught up on it."""
    base, headers = ops_server.base + API, bearer()

    def post(path: str, body: Mapping[str, object], status: int = 201) -> dict[str, object]:
        response = requests.post(base + path, json=body, headers=headers, timeout=30)
        assert response.status_code == status, response.text
        body_out: dict[str, object] = response.json()
        return body_out

    portfolio = post("/portfolios", PORTFOLIO)
    initiative = post(
        "/initiatives",
        {
            "portfolio_id": portfolio["id"],
            "kind": "project",
            "name": "Observability",
            "sponsor": "COO",
            "start_month": "2025-01",
            "end_month": "2026-12",
            "confidence": "0.8",
        },
    )
    post(
        f"/initiatives/{initiative['id']}/decisions",
        {
            "decision": "invest",
            "rationale": "Strong case",
            "decided_by": "Board",
            "decided_on": "2025-02-10",
        },
    )
    benefit = post(
        "/benefits",
        {
            "initiative_id": initiative["id"],
            "title": "Lower cost to serve",
            "category": "cashable",
            "owner": "Ops",
            "measure": {"name": "saving", "unit": "GBP", "kind": "flow"},
            "baseline": {"value": "0", "as_of": "2025-01-01"},
            "target": {"value": "1200", "by_month": "2025-12"},
        },
    )
    reading = {"value": "90", "observed_on": "2025-01-31", "source": "ledger", "external_id": "1"}
    post(f"/benefits/{benefit['id']}/measurements", reading)
    post(f"/benefits/{benefit['id']}/measurements", reading, status=200)
    post(f"/benefits/{benefit['id']}/measurements", {"value": "x"}, status=422)
    requests.get(base + "/no-such-thing", timeout=10)
    head = int(requests.get(ops_server.base + "/readyz", timeout=10).json()["head_position"])
    deadline = time.monotonic() + 30
    while True:
        text = requests.get(ops_server.projector_metrics, timeout=10).text
        found = samples(text)
        positions = found.get("valuetrail_projection_position", [])
        valued = any(
            labels["portfolio"] == portfolio["id"]
            for labels, _ in found.get("valuetrail_portfolio_npv", [])
        )
        if positions and min(value for _, value in positions) >= head and valued:
            break
        assert time.monotonic() < deadline, f"views did not catch up to {head}:\n{text}"
        time.sleep(0.1)
    return Traffic(str(portfolio["id"]), head)


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of the provisioned Grafana dashboard."""
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "valuetrail.json").read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
