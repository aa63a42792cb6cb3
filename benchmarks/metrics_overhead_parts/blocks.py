"""The metrics overhead benchmark's workloads and their blocks, metrics off and on, ABBA."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks._common import observed_on
from benchmarks._http import ADMIN_TOKEN, API, Client, Server, concurrently
from benchmarks.metrics_overhead_parts.servers import cpu_seconds

CONNECTIONS = 8


@dataclass(frozen=True)
class Sizes:
    """Rounds and requests per block, per workload."""

    rounds: int
    warmup: int
    blocks: dict[str, int]


FULL = Sizes(rounds=8, warmup=200, blocks={"healthz": 2000, "read": 800, "write": 300})
QUICK = Sizes(rounds=4, warmup=50, blocks={"healthz": 400, "read": 200, "write": 80})


class Requester:
    """One client thread: its own keep-alive connection; every answer must be the expected one."""

    def __init__(self, port: int, make: Callable[[], tuple[str, str, bytes | None]]) -> None:
        self.client = Client(port, ADMIN_TOKEN)
        self.make = make

    def __call__(self) -> None:
        method, path, body = self.make()
        status, data = self.client.request(method, path, body)
        if status not in (200, 201):
            raise SystemExit(f"{method} {path} answered {status}: {data[:300]!r}")

    def close(self) -> None:
        """Close the connection."""
        self.client.close()


def workloads(
    portfolio_id: str, benefit_id: str
) -> dict[str, Callable[[], tuple[str, str, bytes | None]]]:
    """What each workload sends, as a request factory (safe to call from many threads)."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def measurement() -> tuple[str, str, bytes | None]:
        with lock:
            k = next(counter)
        body = {
            "value": f"{k % 997}",
            "observed_on": observed_on(k).isoformat(),
            "source": "bench-metrics",
            "external_id": f"m-{k}",
        }
        return "POST", f"{API}/benefits/{benefit_id}/measurements", json.dumps(body).encode()

    return {
        "healthz": lambda: ("GET", "/healthz", None),
        "read": lambda: ("GET", f"{API}/portfolios/{portfolio_id}", None),
        "write": measurement,
    }


def block(port: int, make: Callable[[], tuple[str, str, bytes | None]]) -> Callable[[int], None]:
    """n requests over fresh keep-alive connections, CONNECTIONS at a time."""
    return lambda n: concurrently(n, CONNECTIONS, lambda: Requester(port, make))


@dataclass(frozen=True)
class Sample:
    """One block: wall-clock and server CPU seconds per request."""

    wall: float
    cpu: float


def sample(server: Server, run_block: Callable[[int], None], n: int) -> Sample:
    """Time one block of n requests against `server`."""
    cpu, start = cpu_seconds(server), time.perf_counter()
    run_block(n)
    wall = time.perf_counter() - start
    return Sample(wall / n, (cpu_seconds(server) - cpu) / n)


@dataclass(frozen=True)
class Row:
    """One workload's blocks, metrics off and on, in ABBA order."""

    name: str
    off: list[Sample]
    on: list[Sample]

    def _side(self, which: str) -> list[Sample]:
        return self.off if which == "off" else self.on

    def ratio(self, what: str) -> float:
        """Median per-round ratio, on over off, of `wall` or `cpu` seconds per request."""
        pick: Callable[[Sample], float] = (
            (lambda s: s.wall) if what == "wall" else (lambda s: s.cpu)
        )
        return statistics.median(pick(b) / pick(a) for a, b in zip(self.off, self.on, strict=True))

    def rate(self, which: str) -> float:
        """Median requests per second of the `off` or `on` blocks."""
        return 1 / statistics.median(s.wall for s in self._side(which))

    def cpu_ms(self, which: str) -> float:
        """Median server CPU milliseconds per request of the `off` or `on` blocks."""
        return 1000 * statistics.median(s.cpu for s in self._side(which))


def measure(
    name: str,
    off: Server,
    on: Server,
    make: Callable[[], tuple[str, str, bytes | None]],
    sizes: Sizes,
) -> Row:
    """Warm both servers up, then alternate blocks ABBA."""
    block(off.port, make)(sizes.warmup)
    block(on.port, make)(sizes.warmup)
    size = sizes.blocks[name]
    row = Row(name, [], [])
    for r in range(sizes.rounds):
        pair = [(off, row.off), (on, row.on)]
        for server, into in pair if r % 2 == 0 else reversed(pair):
            into.append(sample(server, block(server.port, make), size))
    return row
