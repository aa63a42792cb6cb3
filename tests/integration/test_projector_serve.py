"""`valuetrail serve` runs the projector beside two workers, restarts it if it dies, stops both."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.integration.processes import Running, environment, eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "service.cli", "serve"]


def projector_pids(running: Running) -> list[int]:
    return [int(pid) for pid in re.findall(r"projector started \(pid (\d+)\)", running.output())]


def backends(url: str) -> int:
    """Sessions connected to this database other than the caller's."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.slow
def test_serve_runs_the_projector_beside_two_workers_and_stops_both(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    port = free_port()
    env = environment(
        fresh_postgres_url,
        tmp_path,
        VALUETRAIL_ADMIN_KEY="serve-admin-token-for-the-projector",
        VALUETRAIL_PORT=str(port),
        VALUETRAIL_WORKERS="2",
    )
    server = spawn(serve_command(), env, "serve")
    base = f"http://127.0.0.1:{port}/api/v1"
    http = requests.Session()
    http.headers["Authorization"] = "Bearer serve-admin-token-for-the-projector"

    def healthy() -> bool:
        assert server.process.poll() is None, server.output()
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
        except requests.ConnectionError:
            return False

    def post(path: str, body: dict[str, Any]) -> requests.Response:
        response = http.post(base + path, json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response

    def realised_after(portfolio_id: str, response: requests.Response) -> str:
        """The portfolio's realised benefits once the value view includes a write."""
        value = http.get(
            f"{base}/portfolios/{portfolio_id}/value",
            params={"min_position": response.headers["X-Log-Position"]},
            timeout=15,
        )
        assert value.status_code == 200, value.text  # 503 if no projector were running
        return str(value.json()["totals"]["realised_to_date"])

    def measurements_after(benefit_id: str, response: requests.Response) -> list[Any]:
        """The benefit's measurements as the series view has them once it includes a write."""
        listed = http.get(
            f"{base}/benefits/{benefit_id}/measurements",
            params={"min_position": response.headers["X-Log-Position"], "limit": "100"},
            timeout=15,
        )
        assert listed.status_code == 200, listed.text  # 503 if no projector were running
        items: list[Any] = listed.json()["items"]
        return items

    eventually(healthy, "serve to answer", timeout=30)
    portfolio = post(
        "/portfolios",
        {"name": "Digital", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"},
    ).json()
    initiative = post(
        "/initiatives",
        {
            "portfolio_id": portfolio["id"],
            "kind": "project",
            "name": "Portal",
            "sponsor": "COO",
            "start_month": "2025-01",
            "end_month": "2026-12",
            "confidence": "0.8",
        },
    ).json()
    benefit = post(
        "/benefits",
        {
            "initiative_id": initiative["id"],
            "title": "Lower cost to serve",
            "category": "cashable",
            "owner": "Ops director",
            "measure": {"name": "saving", "unit": "GBP", "kind": "flow", "direction": "increase"},
            "baseline": {"value": "0", "as_of": "2025-01-01"},
            "target": {"value": "1200", "by_month": "2025-12"},
        },
    ).json()
    for n in range(5):
        measured = post(
            f"/benefits/{benefit['id']}/measurements",
            {"value": "90", "observed_on": f"2025-0{n + 1}-28", "source": "ledger"},
        )
    assert realised_after(portfolio["id"], measured) == "450.00"
    assert len(measurements_after(benefit["id"], measured)) == 5

    # The supervisor restarts a projector that dies, and the views keep up.
    [first_pid] = projector_pids(server)
    os.kill(first_pid, signal.SIGKILL)
    eventually(lambda: len(projector_pids(server)) == 2, "the projector to be restarted")
    measured = post(
        f"/benefits/{benefit['id']}/measurements",
        {"value": "95", "observed_on": "2025-06-28", "source": "ledger"},
    )
    assert realised_after(portfolio["id"], measured) == "545.00"
    assert len(measurements_after(benefit["id"], measured)) == 6

    assert server.stop(timeout=30) == 0, server.output()
    output = server.output()
    assert "Traceback" not in output
    assert f"projector pid {projector_pids(server)[-1]} stopped" in output
    for pid in projector_pids(server):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert backends(fresh_postgres_url) == 0
