"""Mixed traffic on PostgreSQL for a long time (30 minutes under `make reliability`; a few seconds
otherwise, so the soak itself keeps working): no errors, nothing lost, workers that stay up, and
memory and latency figures per window for docs/RELIABILITY.md.

VALUETRAIL_SOAK_SECONDS sets another duration (a 3-minute run checks the set-up)."""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.ops.conftest import API
from tests.reliability.conftest import (
    Feed,
    all_workers,
    assert_stored_once,
    call,
    report,
    running,
    seed,
    size,
    workers_of,
)

SECONDS = float(os.environ.get("VALUETRAIL_SOAK_SECONDS") or size(5, 1800))
#: Latency is summarised per window: 5 minutes in a long soak, a sixth of a short one.
WINDOW = min(300.0, max(1.0, SECONDS / 6))
READERS = 3


def rss_kib(pid: int) -> int:
    """A process's resident memory in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_a_soak_of_mixed_traffic_holds_its_memory_and_loses_nothing(
    cluster_db: str, tmp_path: Path
) -> None:
    with running(cluster_db, tmp_path) as server:
        world = seed(server.base, benefits=2)
        api = server.base + API
        feeds = [
            Feed(server.base, benefit, f"soak-{n}") for n, benefit in enumerate(world.benefit_ids)
        ]
        samples: list[tuple[float, str, int, float]] = []  # (when, kind, status, seconds)
        lock = threading.Lock()
        stop = threading.Event()
        started = time.monotonic()

        def timed(kind: str, request: Callable[[], requests.Response]) -> None:
            begun = time.monotonic()
            try:
                status = request().status_code
            except requests.RequestException:
                status = 0  # no answer
            with lock:
                samples.append((begun - started, kind, status, time.monotonic() - begun))

        reads: list[tuple[str, Callable[[], requests.Response]]] = [
            ("portfolio", lambda: call("GET", f"{api}/portfolios/{world.portfolio_id}")),
            ("value", lambda: call("GET", f"{api}/portfolios/{world.portfolio_id}/value")),
            ("series", lambda: call("GET", f"{api}/benefits/{world.benefit_ids[0]}/measurements",
                                    params={"limit": 50})),
            ("lists", lambda: call("GET", f"{api}/initiatives",
                                   params={"portfolio_id": world.portfolio_id})),
            ("audit", lambda: call("GET", f"{api}/audit/events", params={"limit": 50})),
            ("healthz", lambda: requests.get(server.base + "/healthz", timeout=10)),
        ]  # fmt: skip

        def read(rng: random.Random) -> None:
            while not stop.is_set():
                timed(*rng.choice(reads))

        def ingest(feed: Feed) -> None:
            n = 0
            while not stop.is_set():
                begun = time.monotonic()
                ok = feed.post(f"{feed.name}-{n}", value=str(n % 97))
                with lock:
                    samples.append((begun - started, "ingest", 201 if ok else 0,
                                    time.monotonic() - begun))  # fmt: skip
                n += 1

        def spend() -> None:
            url = f"{api}/initiatives/{world.initiative_id}/spend"
            n = 0
            while not stop.is_set():
                body = {"month": "2025-03", "amount": "12.50", "source": "soak",
                        "external_id": f"S-{n}"}  # fmt: skip
                timed("spend", lambda body=body: call("POST", url, json=body))  # type: ignore[misc]
                n += 1
                time.sleep(0.05)

        workers = all_workers(server.process.pid, 2)
        threads = [threading.Thread(target=read, args=(random.Random(n),)) for n in range(READERS)]
        threads += [threading.Thread(target=ingest, args=(feed,)) for feed in feeds]
        threads.append(threading.Thread(target=spend))
        for thread in threads:
            thread.start()
        try:
            time.sleep(min(5.0, SECONDS / 2))  # warm-up: caches and pools filled
            rss_start = {pid: rss_kib(pid) for pid in workers}
            while time.monotonic() - started < SECONDS:
                time.sleep(min(1.0, SECONDS))
            rss_end = {pid: rss_kib(pid) for pid in workers}
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=180)
        workers_after = workers_of(server.process.pid)
        stored = assert_stored_once(server.base, feeds)

    errors = [sample for sample in samples if not 200 <= sample[2] < 300]
    windows = []
    for start in range(0, int(SECONDS), int(WINDOW) or 1):
        within = [s[3] for s in samples if start <= s[0] < start + WINDOW]
        if len(within) >= 2:
            cuts = statistics.quantiles(within, n=100)
            windows.append({"from_s": start, "requests": len(within),
                            "p50_ms": round(cuts[49] * 1000, 1),
                            "p99_ms": round(cuts[98] * 1000, 1)})  # fmt: skip
    report(
        "soak",
        {"seconds": SECONDS, "requests": len(samples), "errors": len(errors),
         "acknowledged_readings": sum(len(f.acknowledged) for f in feeds), "stored": stored,
         "rss_kib_start": rss_start, "rss_kib_end": rss_end, "windows": windows},
    )  # fmt: skip
    assert errors[:5] == []
    assert workers_after == workers  # no worker died or was replaced
    assert all(len(feed.acknowledged) > 0 for feed in feeds)
