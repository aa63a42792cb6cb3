"""HTTP ingest benchmark: measurements through a real gunicorn against the raw eventsourcing store.

On a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards) this starts
`valuetrail serve` with 2 workers, creates 100 benefits over HTTP, and drives it from a loopback
client with 8 concurrent keep-alive connections (8 threads, one `http.client` connection each):

(a) single: `POST /api/v1/benefits/{id}/measurements`, each with a unique external_id, spread over
    the 100 benefits → measurements/s, p50/p99 latency. Baseline: a plain eventsourcing
    `Application` on the same database appending one small event per transaction from 8 threads
    (one aggregate each) → events/s. Target: ratio >= 0.4.
(b) batch: `POST /api/v1/measurements/batch` with 1,000 items over the 100 benefits
    → measurements/s, p50/p99 per request. Baseline: `app.save(*aggregates)` of 1,000 new
    aggregates (1,000 events in one transaction), also from 8 threads → events/s.
    Target: ratio >= 0.3.

Baseline and HTTP run in alternating blocks (ABBA); each ratio is the median of per-round ratios.

    python benchmarks/http_ingest.py            # full run, about 1.5-3 minutes
    python benchmarks/http_ingest.py --quick    # smoke run, under a minute
    python benchmarks/http_ingest.py --write    # full run, then update docs/PERFORMANCE.md
    python benchmarks/http_ingest.py --profile  # cProfile the same request mix in-process
    python benchmarks/http_ingest.py --profile --profile-dump DIR  # also save DIR/*.prof
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import itertools
import json
import math
import os
import pstats
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks._common import (
    PERFORMANCE_MD,
    ROOT,
    Paired,
    alternate,
    cpu_model,
    library_env,
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

SINGLE_TARGET = 0.4  # (a) HTTP measurements/s over raw events/s (one per transaction), at least
BATCH_TARGET = 0.3  # (b) HTTP measurements/s over raw events/s (1,000 per transaction), at least
CONNECTIONS = 8  # concurrent client connections, and threads for the raw baseline
WORKERS = 2  # gunicorn workers
BENEFITS = 100
BATCH = 1000
ADMIN_TOKEN = "bench-admin-token-for-benchmarks"
START_TIMEOUT = 30.0
API = "/api/v1"


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    warmup: int  # (a) single posts and raw appends before timing
    single_rounds: int  # (a) alternating rounds
    single_block: int  # (a) requests (and raw appends) per block
    batch_warmup: int  # (b) batch posts and raw batch saves before timing
    batch_rounds: int  # (b) alternating rounds
    batch_block: int  # (b) batch requests (and raw 1,000-event saves) per block


FULL = Sizes(
    warmup=80, single_rounds=8, single_block=240, batch_warmup=2, batch_rounds=4, batch_block=8
)
QUICK = Sizes(
    warmup=16, single_rounds=4, single_block=48, batch_warmup=1, batch_rounds=2, batch_block=4
)


# -- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    """A running `valuetrail serve` and its log."""

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


def _serve_command() -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "service.cli", "serve"]


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
        log = Path(home) / "serve.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                _serve_command(), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        server = Server(process, port, log)
        try:
            _wait_until_healthy(server)
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"valuetrail serve exited early:\n{server.tail()}")
        try:
            status, _ = Client(server.port).request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"valuetrail serve did not answer within {START_TIMEOUT} s:\n{server.tail()}")


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


def set_up(port: int) -> tuple[str, list[str]]:
    """An ingest key and 100 benefits (created over HTTP by a manager key)."""
    admin = Client(port, ADMIN_TOKEN)
    manager_token = admin.create("/api-keys", {"name": "bench-manager", "role": "manager"})["token"]
    ingest_token = admin.create("/api-keys", {"name": "bench-ingest", "role": "ingest"})["token"]
    admin.close()
    manager = Client(port, str(manager_token))
    portfolio = manager.create(
        "/portfolios",
        {"name": "Bench", "currency": "EUR", "discount_rate": "0.035", "base_month": "2023-01"},
    )
    initiative = manager.create(
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
            manager.create(
                "/benefits",
                {
                    "initiative_id": initiative["id"],
                    "title": f"Benefit {n}",
                    "category": "cashable",
                    "owner": "bench",
                    "measure": {"name": "savings", "unit": "EUR", "kind": "flow"},
                    "baseline": {"value": "0", "as_of": "2023-01-01"},
                },
            )["id"]
        )
        for n in range(BENEFITS)
    ]
    manager.close()
    return str(ingest_token), benefit_ids


# -- concurrent blocks -----------------------------------------------------------------------


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
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
        return ordered[rank - 1]

    @property
    def failed(self) -> int:
        """Requests that did not answer 201."""
        return sum(n for status, n in self.statuses.items() if status != 201)


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


# -- the raw store baseline ------------------------------------------------------------------


class Tick(Aggregate):
    """The raw baseline's aggregate: each append stores one small event carrying a Decimal."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    @event("Ticked")
    def tick(self, amount: Decimal) -> None:
        """Add an amount."""
        self.total += amount


class Ticks:
    """Saved aggregates for the raw appenders, made before timing; one per thread at a time."""

    def __init__(self, app: Application[UUID], count: int) -> None:
        self.app = app
        self.free: queue.SimpleQueue[Tick] = queue.SimpleQueue()
        for _ in range(count):
            aggregate = Tick()
            app.save(aggregate)
            self.free.put(aggregate)

    def ticker(self) -> RawTicker:
        """A worker appending to an aggregate no other thread is using."""
        return RawTicker(self.app, self.free)


class RawTicker:
    """One thread's raw appends: one event per transaction on its own aggregate."""

    def __init__(self, app: Application[UUID], free: queue.SimpleQueue[Tick]) -> None:
        self.app = app
        self.free = free
        self.aggregate = free.get_nowait()

    def __call__(self) -> None:
        self.aggregate.tick(Decimal(self.aggregate.version))
        self.app.save(self.aggregate)

    def close(self) -> None:
        """Hand the aggregate back."""
        self.free.put(self.aggregate)


class RawBatcher:
    """One thread's raw batches: 1,000 new aggregates' events in one transaction."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app

    def __call__(self) -> None:
        self.app.save(*(Tick() for _ in range(BATCH)))


def raw_block(worker: Callable[[], Callable[[], None]], threads: int) -> Callable[[int], None]:
    """A block of n raw operations over `threads` threads, each with its own worker."""

    def block(n: int) -> None:
        concurrently(n, threads, worker)

    return block


# -- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """Figures of one run."""

    single: Paired  # first: raw seconds/event, second: HTTP seconds/measurement
    batch: Paired  # first: raw seconds/1,000 events, second: HTTP seconds/1,000 measurements
    single_tally: Tally
    batch_tally: Tally
    connections: int
    seconds: float

    @property
    def single_ratio(self) -> float:
        """Median over rounds of HTTP measurements/s over raw events/s."""
        return statistics.median(1 / r for r in self.single.ratios)

    @property
    def batch_ratio(self) -> float:
        """Median over rounds of HTTP batch measurements/s over raw batch events/s."""
        return statistics.median(1 / r for r in self.batch.ratios)


def run(sizes: Sizes, connections: int) -> Result:
    """Start the server, set up, and time both pairs."""
    started = time.monotonic()
    with postgres_database() as url, serving(url) as server:
        raw: Application[UUID] = Application(env=library_env(url, create_tables=True))
        try:
            token, benefit_ids = set_up(server.port)
            print(f"  server on :{server.port}, {len(benefit_ids)} benefits created", flush=True)
            n_single = sizes.single_rounds * sizes.single_block
            n_batch = sizes.batch_rounds * sizes.batch_block
            singles = Feed(single_bodies(benefit_ids, sizes.warmup + n_single, "s"))
            batches = Feed(batch_bodies(benefit_ids, sizes.batch_warmup + n_batch, "b"))
            single_tally, batch_tally, warm_tally = Tally(), Tally(), Tally()

            def posts(feed: Feed, tally: Tally) -> Callable[[int], None]:
                return http_block(server.port, token, feed, tally, connections)

            ticks = raw_block(Ticks(raw, connections).ticker, connections)
            ticks(sizes.warmup)
            posts(singles, warm_tally)(sizes.warmup)
            single = alternate(
                ticks,
                posts(singles, single_tally),
                rounds=sizes.single_rounds,
                size=sizes.single_block,
            )
            print(f"  (a) single done: {dict(single_tally.statuses)}", flush=True)

            saves = raw_block(lambda: RawBatcher(raw), connections)
            saves(sizes.batch_warmup)
            posts(batches, warm_tally)(sizes.batch_warmup)
            batch = alternate(
                saves,
                posts(batches, batch_tally),
                rounds=sizes.batch_rounds,
                size=sizes.batch_block,
            )
            print(f"  (b) batch done: {dict(batch_tally.statuses)}", flush=True)
            for tally in (warm_tally, single_tally, batch_tally):
                for error in tally.errors:
                    print(f"  non-201 answer: {error}", flush=True)
            if warm_tally.failed or single_tally.failed or batch_tally.failed:
                print("  server log (tail):\n" + server.tail(), flush=True)
        finally:
            raw.close()
    elapsed = time.monotonic() - started
    return Result(single, batch, single_tally, batch_tally, connections, elapsed)


# -- the report ------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds:,.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _failures(tally: Tally) -> str:
    if not tally.failed:
        return "none"
    codes = ", ".join(f"{n} x {s}" for s, n in sorted(tally.statuses.items()) if s != 201)
    return f"**{codes}**"


def header(connections: int) -> list[str]:
    """The table's column names."""
    return [
        "Benchmark",
        f"Raw store ({connections} threads)",
        f"HTTP ({connections} connections)",
        "HTTP p50 / p99",
        "Non-201",
        "Ratio",
        "Target",
        "Result",
    ]


def _ratio(ratio: float, target: float) -> str:
    # Two decimals, unless that would print a miss as the target itself (0.399 as "0.40").
    text = f"{ratio:.2f}"
    return f"{ratio:.3f}" if text == f"{target:.2f}" else text


def rows(r: Result) -> list[list[str]]:
    """The two table rows."""
    return [
        [
            "(a) single: 1 event per transaction vs `POST /benefits/{id}/measurements`",
            f"{1 / r.single.median('first'):,.0f} events/s",
            f"{1 / r.single.median('second'):,.0f} measurements/s",
            f"{_ms(r.single_tally.percentile(50))} / {_ms(r.single_tally.percentile(99))}",
            _failures(r.single_tally),
            _ratio(r.single_ratio, SINGLE_TARGET),
            f">= {SINGLE_TARGET}",
            verdict(r.single_ratio >= SINGLE_TARGET and not r.single_tally.failed),
        ],
        [
            "(b) batch: 1,000 events per transaction vs `POST /measurements/batch` of 1,000",
            f"{BATCH / r.batch.median('first'):,.0f} events/s",
            f"{BATCH / r.batch.median('second'):,.0f} measurements/s",
            f"{_ms(r.batch_tally.percentile(50))} / {_ms(r.batch_tally.percentile(99))}",
            _failures(r.batch_tally),
            _ratio(r.batch_ratio, BATCH_TARGET),
            f">= {BATCH_TARGET}",
            verdict(r.batch_ratio >= BATCH_TARGET and not r.batch_tally.failed),
        ],
    ]


def revision() -> str:
    """The commit the code under test is at (`-dirty` with uncommitted changes)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def report(r: Result, sizes: Sizes, pg_version: str, loads: tuple[str, str]) -> str:
    """The markdown section: table, machine and method."""
    n_single = sizes.single_rounds * sizes.single_block
    n_batch = sizes.batch_rounds * sizes.batch_block
    return "\n".join(
        [
            f"Measured {now_utc()} on {nproc()} CPUs ({cpu_model()}), "
            f"Python {sys.version.split()[0]}, {pg_version}; {versions()}; gunicorn "
            f"{WORKERS} workers (gthread); code at `{revision()}`. Load average (1 min) "
            f"{loads[0]} at start, {loads[1]} at end; the whole run took {r.seconds:.0f} s.",
            "",
            markdown_table(header(r.connections), rows(r)),
            "",
            f"(a) {n_single:,} raw appends and {n_single:,} single POSTs in "
            f"{sizes.single_rounds} alternating blocks of {sizes.single_block}, after "
            f"{sizes.warmup} warm-up operations each; every POST has a new external_id, "
            f"round-robin over {BENEFITS} benefits.",
            f"(b) {n_batch} raw saves of {BATCH:,} new aggregates and {n_batch} batch POSTs of "
            f"{BATCH:,} items ({BATCH // BENEFITS} per benefit, all {BENEFITS} benefits in every "
            f"request) in {sizes.batch_rounds} alternating blocks of {sizes.batch_block}.",
            "Rates are medians of the blocks; each ratio is the median of the per-block ratios "
            "(HTTP rate over raw rate). Latencies are client-side, over every timed request. "
            "A row with non-201 answers is a MISS whatever its ratio.",
        ]
    )


# -- profiling -------------------------------------------------------------------------------


def profile(single: int, batches: int, dump: Path | None = None) -> None:
    """cProfile the same request mix in-process (Flask test client on PostgreSQL); with `dump`,
    also save each part's stats there (`single.prof`, `batch.prof`) for pstats or snakeviz."""
    from service.app import create_app

    with postgres_database() as url:
        app = create_app({"db": url, "admin_key": ADMIN_TOKEN, "create_tables": True})
        vt = app.extensions["valuetrail"]
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

            def post(path: str, body: Any) -> dict[str, Any]:
                response = client.post(API + path, json=body, headers=headers)
                if response.status_code != 201:
                    raise SystemExit(f"{path}: {response.status_code} {response.get_data()!r}")
                result: dict[str, Any] = response.get_json()
                return result

            ingest = post("/api-keys", {"name": "ingest", "role": "ingest"})["token"]
            portfolio = post(
                "/portfolios",
                {"name": "P", "currency": "EUR", "discount_rate": "0.035", "base_month": "2023-01"},
            )
            initiative = post(
                "/initiatives",
                {
                    "portfolio_id": portfolio["id"],
                    "kind": "project",
                    "name": "I",
                    "sponsor": "s",
                    "start_month": "2023-01",
                    "end_month": "2027-12",
                    "confidence": "0.8",
                },
            )
            benefit_ids = [
                str(
                    post(
                        "/benefits",
                        {
                            "initiative_id": initiative["id"],
                            "title": f"B{n}",
                            "category": "cashable",
                            "owner": "o",
                            "measure": {"name": "s", "unit": "EUR", "kind": "flow"},
                            "baseline": {"value": "0", "as_of": "2023-01-01"},
                        },
                    )["id"]
                )
                for n in range(BENEFITS)
            ]
            headers = {"Authorization": f"Bearer {ingest}", "Content-Type": "application/json"}
            for name, bodies in (
                ("single", single_bodies(benefit_ids, single, "p")),
                ("batch", batch_bodies(benefit_ids, batches, "p")),
            ):
                profiler = cProfile.Profile()
                start = time.perf_counter()
                profiler.enable()
                for path, body in bodies:
                    response = client.post(path, data=body, headers=headers)
                    if response.status_code != 201:
                        raise SystemExit(f"{response.status_code}: {response.get_data()!r}")
                profiler.disable()
                elapsed = time.perf_counter() - start
                print(
                    f"\n## {name}: {len(bodies)} requests in {elapsed:.2f} s "
                    f"({elapsed / len(bodies) * 1000:.1f} ms per request, profiler on)\n"
                )
                stats = pstats.Stats(profiler, stream=sys.stdout)
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    stats.dump_stats(dump / f"{name}.prof")
                stats.sort_stats("cumulative").print_stats(40)
                stats.sort_stats("tottime").print_stats(25)
        finally:
            vt.close()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 60 s), smaller sizes")
    parser.add_argument(
        "--write", action="store_true", help="replace the http section of docs/PERFORMANCE.md"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the request mix in-process instead"
    )
    parser.add_argument(
        "--profile-dump",
        type=Path,
        metavar="DIR",
        help="with --profile: also save the stats as DIR/single.prof and DIR/batch.prof",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help=f"client connections and raw-store threads (default {CONNECTIONS}; for diagnosis)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.connections != CONNECTIONS):
        parser.error(f"--write needs a full run (no --quick, {CONNECTIONS} connections)")
    if args.profile:
        profile(100 if args.quick else 500, 2 if args.quick else 5, args.profile_dump)
        return 0

    sizes = QUICK if args.quick else FULL
    pg_version = postgres_version()
    start_load = load_average()
    print("running HTTP ingest against PostgreSQL ...", flush=True)
    result = run(sizes, args.connections)
    section = report(result, sizes, pg_version, (start_load, load_average()))
    for name, paired in (("single", result.single), ("batch", result.batch)):
        print(f"  per-block ratios, {name}: " + ", ".join(f"{1 / x:.2f}" for x in paired.ratios))
    print()
    print(section)
    if args.write:
        replace_section(PERFORMANCE_MD, "http", section)
        print(f"\nwrote {PERFORMANCE_MD.relative_to(PERFORMANCE_MD.parents[1])}")
    missed = (
        result.single_ratio < SINGLE_TARGET
        or result.batch_ratio < BATCH_TARGET
        or bool(result.single_tally.failed or result.batch_tally.failed)
    )
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
