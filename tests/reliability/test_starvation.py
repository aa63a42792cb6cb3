"""Requests waiting on `min_position` must not starve others of workers: with the projector
paused and every request thread of `valuetrail serve` (default settings) held by such a wait,
health checks and ordinary reads are still answered. The latencies are reported, not judged."""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from service.config import Settings
from service.gunicorn_conf import THREADS
from tests.ops.conftest import API
from tests.reliability.conftest import (
    REQUEST_TIMEOUT,
    call,
    created,
    projector_of,
    report,
    running,
    seed,
    size,
)

#: As many waiting requests as the default server has request threads.
SLOTS = Settings().workers * THREADS


def timed(request: Callable[[], requests.Response]) -> tuple[float, int]:
    """Seconds a request took, and its status."""
    started = time.monotonic()
    status = request().status_code
    return time.monotonic() - started, status


def latencies(base: str, portfolio_id: str, samples: int) -> dict[str, list[float]]:
    """Latencies of /healthz and of a plain read, one after another."""
    found: dict[str, list[float]] = {"healthz": [], "read": []}
    for _ in range(samples):
        elapsed, status = timed(lambda: requests.get(base + "/healthz", timeout=REQUEST_TIMEOUT))
        assert status == 200
        found["healthz"].append(elapsed)
        elapsed, status = timed(lambda: call("GET", f"{base}{API}/portfolios/{portfolio_id}"))
        assert status == 200
        found["read"].append(elapsed)
    return found


def summary(values: list[float]) -> dict[str, float]:
    """p50 and max in milliseconds."""
    return {"p50_ms": round(statistics.median(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}  # fmt: skip


def test_requests_waiting_on_min_position_leave_room_for_others(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "valuetrail.db")
    samples = size(5, 20)
    with running(url, tmp_path, workers=Settings().workers) as server:
        world = seed(server.base)
        idle = latencies(server.base, world.portfolio_id, samples)
        projector = projector_of(server.process.pid)
        os.kill(projector, signal.SIGSTOP)
        try:
            # A real position the views have not reached: the projector is paused.
            benefit = f"{server.base}{API}/benefits/{world.benefit_ids[0]}/measurements"
            reading = {"value": "1", "observed_on": "2025-01-31", "source": "ledger"}
            created(call("POST", benefit, json=reading))
            head = int(requests.get(server.base + "/readyz", timeout=10).json()["head_position"])
            answered: list[float] = []
            value = f"{server.base}{API}/portfolios/{world.portfolio_id}/value"

            def wait() -> None:
                call("GET", value, params={"min_position": str(head)})
                answered.append(time.monotonic())

            waiters = [threading.Thread(target=wait) for _ in range(SLOTS)]
            for waiter in waiters:
                waiter.start()
            time.sleep(0.5)  # every waiter has reached a request thread
            busy = latencies(server.base, world.portfolio_id, samples)
            probes_done = time.monotonic()
            for waiter in waiters:
                waiter.join(timeout=REQUEST_TIMEOUT + 10)
        finally:
            os.kill(projector, signal.SIGCONT)

    report(
        "starvation",
        {"workers": Settings().workers, "threads": THREADS, "waiting": SLOTS,
         "idle": {k: summary(v) for k, v in idle.items()},
         "while_waiting": {k: summary(v) for k, v in busy.items()}},
    )  # fmt: skip
    # Every probe was answered while requests still waited, not after the waits ran out.
    assert len(answered) == SLOTS
    assert probes_done < max(answered)
