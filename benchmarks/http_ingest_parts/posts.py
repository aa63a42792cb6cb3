"""The HTTP side of the ingest benchmark: set-up, prepared request bodies, timed POSTs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks import _common
from benchmarks._common import observed_on
from benchmarks._http import ADMIN_TOKEN, API, Client, bench_benefits, concurrently

BENEFITS = 100
BATCH = 1000


def set_up(port: int) -> tuple[str, list[str]]:
    """An ingest key and 100 benefits (created over HTTP by a manager key)."""
    admin = Client(port, ADMIN_TOKEN)
    manager_token = admin.create("/api-keys", {"name": "bench-manager", "role": "manager"})["token"]
    ingest_token = admin.create("/api-keys", {"name": "bench-ingest", "role": "ingest"})["token"]
    admin.close()
    manager = Client(port, str(manager_token))
    _, benefit_ids = bench_benefits(manager.create, [f"Benefit {n}" for n in range(BENEFITS)])
    manager.close()
    return str(ingest_token), benefit_ids


@dataclass
class Tally:
    """Latencies (seconds) and statuses of the timed HTTP requests."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float, status: int, detail: bytes) -> None:
        """Record one request."""
        with self.lock:
            self.latencies.append(latency)
            self.statuses[status] += 1
            if status != 201 and len(self.errors) < 5:
                self.errors.append(f"{status}: {detail[:300]!r}")

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in seconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        return _common.percentile(self.latencies, p)

    @property
    def failed(self) -> int:
        """Requests that did not answer 201."""
        return sum(n for status, n in self.statuses.items() if status != 201)


class Feed:
    """Prepared request bodies, handed out in order to the client threads."""

    def __init__(self, bodies: list[tuple[str, bytes]]) -> None:
        self.bodies = iter(bodies)
        self.lock = threading.Lock()

    def next(self) -> tuple[str, bytes]:
        """The next (path, body)."""
        with self.lock:
            return next(self.bodies)


class Poster:
    """One client thread's work: POST the next prepared body, time it, tally the answer."""

    def __init__(self, port: int, token: str, feed: Feed, tally: Tally | None) -> None:
        self.client = Client(port, token)
        self.feed = feed
        self.tally = tally

    def __call__(self) -> None:
        path, body = self.feed.next()
        start = time.perf_counter()
        status, data = self.client.request("POST", path, body)
        latency = time.perf_counter() - start
        if self.tally is not None:
            self.tally.add(latency, status, data)

    def close(self) -> None:
        """Close the connection."""
        self.client.close()


def http_block(
    port: int, token: str, feed: Feed, tally: Tally | None, connections: int
) -> Callable[[int], None]:
    """A block of n POSTs over fresh keep-alive connections, one thread each."""

    def block(n: int) -> None:
        concurrently(n, connections, lambda: Poster(port, token, feed, tally))

    return block


def single_bodies(benefit_ids: list[str], count: int, prefix: str) -> list[tuple[str, bytes]]:
    """Single-measurement requests with unique external_ids, round-robin over the benefits."""
    out = []
    for k in range(count):
        benefit_id = benefit_ids[k % len(benefit_ids)]
        body = {
            "value": f"{k % 997}.{k % 100:02d}",
            "observed_on": observed_on(k).isoformat(),
            "source": "bench-http",
            "external_id": f"{prefix}-{k}",
        }
        out.append((f"{API}/benefits/{benefit_id}/measurements", json.dumps(body).encode()))
    return out


def batch_bodies(benefit_ids: list[str], count: int, prefix: str) -> list[tuple[str, bytes]]:
    """Batch requests of 1,000 items each, ten per benefit, with unique external_ids."""
    out = []
    for b in range(count):
        items = [
            {
                "benefit_id": benefit_ids[k % len(benefit_ids)],
                "value": f"{k}.{b % 100:02d}",
                "observed_on": observed_on(b * BATCH + k).isoformat(),
                "source": "bench-batch",
                "external_id": f"{prefix}-{b}-{k}",
            }
            for k in range(BATCH)
        ]
        out.append((f"{API}/measurements/batch", json.dumps({"items": items}).encode()))
    return out
