"""Metrics overhead: request throughput of the same API with Prometheus metrics on and off.

On a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards) this runs two
`valuetrail api` servers side by side, 2 gunicorn workers each, identical except that one has
VALUETRAIL_METRICS=0. A loopback client with 8 concurrent keep-alive connections drives each in
alternating blocks (ABBA), so drift hits both alike:

- healthz: `GET /healthz`, no database: the worst case, metrics' share of the cheapest request.
- read:    `GET /api/v1/portfolios/{id}` with a bearer token (authentication and a load).
- write:   `POST /api/v1/benefits/{id}/measurements`, each with a new external_id.

Overhead = time per request with metrics over time per request without, minus 1 (median of the
per-round ratios). Target: <= 10 % on each workload. Access logs are on for both servers.

    python benchmarks/metrics_overhead.py            # full run, about 2 minutes
    python benchmarks/metrics_overhead.py --quick    # smoke run, under a minute
    python benchmarks/metrics_overhead.py --write    # full run, then update docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    PERFORMANCE_MD,
    ROOT,
    cpu_model,
    load_average,
    markdown_table,
    now_utc,
    nproc,
    observed_on,
    postgres_database,
    postgres_version,
    replace_section,
    verdict,
    versions,
)
from benchmarks.http_ingest import Client, concurrently, free_port
from service.logs import route_template
from service.metrics import instruments

TARGET = 0.10  # metrics may cost at most this share of the time per request
CONNECTIONS = 8
WORKERS = 2
ADMIN_TOKEN = "bench-admin-token-for-benchmarks"
START_TIMEOUT = 40.0
API = "/api/v1"


@dataclass(frozen=True)
class Sizes:
    """Rounds and requests per block, per workload."""

    rounds: int
    warmup: int
    blocks: dict[str, int]


FULL = Sizes(rounds=8, warmup=200, blocks={"healthz": 2000, "read": 800, "write": 300})
QUICK = Sizes(rounds=4, warmup=50, blocks={"healthz": 400, "read": 200, "write": 80})


@dataclass
class Server:
    """A running `valuetrail api`."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def tail(self, lines: int = 30) -> str:
        """The end of its output."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "service.cli", *args]


def _env(url: str, home: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VALUETRAIL_DB": url,
        "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
        "VALUETRAIL_HOST": "127.0.0.1",
        "VALUETRAIL_WORKERS": str(WORKERS),
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(Path(home) / "audit_signing_key.pem"),
        "VALUETRAIL_AUDIT_STATE": str(Path(home) / "audit_state.json"),
        "HOME": home,
        **extra,
    }


@contextmanager
def serving(url: str, home: str, *, metrics: bool) -> Iterator[Server]:
    """`valuetrail api` with metrics on or off; SIGTERM (then kill) when done."""
    port = free_port()
    env = _env(url, home, VALUETRAIL_PORT=str(port), VALUETRAIL_METRICS="1" if metrics else "0")
    log = Path(home) / f"api-{'on' if metrics else 'off'}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _command("api"), cwd=home, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise SystemExit(f"valuetrail api exited early:\n{server.tail()}")
            try:
                if Client(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"valuetrail api did not answer:\n{server.tail()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def set_up(port: int) -> tuple[str, str]:
    """A portfolio to read and a benefit to measure, created over HTTP; their ids."""
    admin = Client(port, ADMIN_TOKEN)
    portfolio = admin.create(
        "/portfolios",
        {"name": "Bench", "currency": "EUR", "discount_rate": "0.035", "base_month": "2023-01"},
    )
    initiative = admin.create(
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
    benefit = admin.create(
        "/benefits",
        {
            "initiative_id": initiative["id"],
            "title": "Bench benefit",
            "category": "cashable",
            "owner": "bench",
            "measure": {"name": "savings", "unit": "EUR", "kind": "flow"},
            "baseline": {"value": "0", "as_of": "2023-01-01"},
        },
    )
    admin.close()
    return str(portfolio["id"]), str(benefit["id"])


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


def counted(server: Server) -> float:
    """http_requests_total summed over every route (metrics must really be on)."""
    status, data = Client(server.port).request("GET", "/metrics")
    if status != 200:
        raise SystemExit(f"/metrics answered {status} on the metrics-on server")
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith("http_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def bookkeeping_microseconds(repeat: int = 7, number: int = 20000) -> float:
    """CPU time metrics add to one request in a worker, measured in-process (no network noise).

    The same calls the request middleware makes (in-flight up and down, the counter, the
    histogram) on file-backed multiprocess values, plus the route template; best of `repeat`.
    """
    with tempfile.TemporaryDirectory(prefix="vt_bench_mp_") as folder:
        saved = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            metrics = instruments()  # made now, so on file-backed values

            def one() -> None:
                route = route_template("/api/v1/portfolios/<uuid:portfolio_id>")
                metrics.in_flight.inc()
                metrics.in_flight.dec()
                metrics.requests.labels("GET", route, "200").inc()
                metrics.duration.labels("GET", route).observe(0.004)

            best = min(timeit.repeat(one, number=number, repeat=repeat))
        finally:
            if saved is None:
                del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            else:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    return best / number * 1e6


def cpu_seconds(server: Server) -> float:
    """User plus system CPU time of the gunicorn master and its workers so far."""
    listed = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True
    ).stdout
    ticks = 0
    for pid in [server.process.pid, *map(int, listed.split())]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


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


def run(sizes: Sizes) -> tuple[list[Row], str]:
    """Measure every workload; the rows and a description of the run."""
    started = time.monotonic()
    load_start = load_average()
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="vt_bench_m_") as home:
        subprocess.run(
            _command("db", "init"),
            cwd=home,
            env=_env(url, home),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with ExitStack() as stack:
            on = stack.enter_context(serving(url, home, metrics=True))
            off = stack.enter_context(serving(url, home, metrics=False))
            if Client(off.port).request("GET", "/metrics")[0] != 404:
                raise SystemExit("the metrics-off server still serves /metrics")
            portfolio_id, benefit_id = set_up(on.port)
            rows = []
            before = counted(on)
            sent = 0
            for name, make in workloads(portfolio_id, benefit_id).items():
                rows.append(measure(name, off, on, make, sizes))
                sent += sizes.warmup + sizes.rounds * sizes.blocks[name]
                print(
                    f"{name}: CPU {rows[-1].ratio('cpu') - 1:+.1%}, "
                    f"wall {rows[-1].ratio('wall') - 1:+.1%}",
                    file=sys.stderr,
                    flush=True,
                )
            if counted(on) - before < sent:
                raise SystemExit("the metrics-on server did not count every request")
    cost = bookkeeping_microseconds()
    elapsed = time.monotonic() - started
    header = (
        f"Measured {now_utc()} on {nproc()} CPUs ({cpu_model()}), Python "
        f"{sys.version.split()[0]}, {postgres_version()}; {versions()}; gunicorn {WORKERS} "
        f"workers (gthread) per server, {CONNECTIONS} client connections. Load average (1 min) "
        f"{load_start} at start, {load_average()} at end; the run took {elapsed:.0f} s."
    )
    return rows, f"{header}\n\n" + (
        f"In-process, the metrics' bookkeeping costs {cost:.1f} µs of CPU per request (in-flight "
        "gauge up and down, counter, histogram, on file-backed multiprocess values, and the route "
        "template), best of 7 runs of 20,000."
    )


def report(rows: list[Row], header: str, sizes: Sizes) -> str:
    """The markdown section."""
    described = {
        "healthz": "healthz: `GET /healthz` (no database)",
        "read": "read: `GET /portfolios/{id}`",
        "write": "write: `POST /benefits/{id}/measurements`",
    }
    table = markdown_table(
        [
            "Workload",
            "Throughput off / on",
            "Throughput change",
            "Server CPU per request off / on",
            "CPU overhead",
            "Target",
            "Result",
        ],
        [
            [
                described[row.name],
                f"{row.rate('off'):,.0f} / {row.rate('on'):,.0f} req/s",
                f"{1 / row.ratio('wall') - 1:+.1%}",
                f"{row.cpu_ms('off'):.2f} / {row.cpu_ms('on'):.2f} ms",
                f"{row.ratio('cpu') - 1:+.1%}",
                f"<= {TARGET:.0%}",
                verdict(row.ratio("cpu") - 1 <= TARGET),
            ]
            for row in rows
        ],
    )
    blocks = ", ".join(f"{name} {n}" for name, n in sizes.blocks.items())
    return (
        f"{header}\n\n{table}\n\n"
        f"{sizes.rounds} alternating rounds (ABBA) per workload, requests per block: {blocks}; "
        f"{sizes.warmup} warm-up requests per server first. Throughput: medians of the blocks, "
        "and the median per-round change with metrics on. Server CPU: user + system time of the "
        "gunicorn master and workers over each block, per request (the client and the database "
        "are not counted); the CPU overhead, judged against the target, is the median per-round "
        "ratio minus 1. Both servers write access logs."
    )


def main() -> None:
    """Run the benchmark; print (and with --write, record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller blocks, fewer rounds")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rows, header = run(sizes)
    text = report(rows, header, sizes)
    print(text)
    if args.write:
        replace_section(PERFORMANCE_MD, "metrics", text)
        print(f"updated {PERFORMANCE_MD.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
