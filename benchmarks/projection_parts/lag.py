"""(d) projection lag: a steady writer while the projector process runs; lag per measurement."""

from __future__ import annotations

import bisect
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from benchmarks._common import ROOT
from benchmarks.projection_parts.history import FEED, History, Sizes
from benchmarks.projection_parts.results import Lag
from domain.application import ValuetrailApplication
from persistence import store_env
from projections.db import ViewDatabase
from projections.view import tracked_position

SERIES_VIEW = "measurement_series"
WRITERS = 4  # (d) threads sharing the writer's schedule


@contextmanager
def projector_process(url: str, key_path: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m projections` on the store, stopped with SIGTERM afterwards."""
    env = dict(os.environ)
    env |= {
        "VALUETRAIL_DB": url,
        "VALUETRAIL_AUDIT_SIGNING_KEY": key_path,
        "VALUETRAIL_AUDIT_STATE": key_path + ".state.json",
        "VALUETRAIL_METRICS": "0",
        "VALUETRAIL_PROJECTOR_PARENT_PID": str(os.getpid()),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "projections"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Sampler:
    """Polls a view's tracking position; remembers when each position was first seen."""

    def __init__(self, url: str, interval: float = 0.005, view: str = SERIES_VIEW) -> None:
        self.view = view
        self.db = ViewDatabase.from_url(url)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="lag-sampler", daemon=True)

    def position(self) -> int:
        with self.db.read() as cursor:
            return tracked_position(cursor, self.view)

    def run(self) -> None:
        while not self.stop.is_set():
            position = self.position()
            now = time.time()
            if not self.samples or position > self.samples[-1][1]:
                self.samples.append((now, position))
            self.stop.wait(self.interval)

    def seen_at(self, position: int) -> float | None:
        """Wall time of the first sample at or past `position` (positions only grow)."""
        index = bisect.bisect_left(self.samples, position, key=lambda sample: sample[1])
        return self.samples[index][0] if index < len(self.samples) else None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.db.close()


def measure_lag(
    url: str,
    key_path: str,
    history: History,
    sizes: Sizes,
    folder: Path,
    view: str = SERIES_VIEW,
) -> Lag:
    """Write measurements at a steady rate while the projector process runs; lag per measurement.

    The schedule is one measurement every 1/rate s; WRITERS threads take its ticks in turn (one
    thread alone cannot always keep 200/s on a small, shared machine), each sleeping until its
    tick is due and writing at once when late.
    """
    app = ValuetrailApplication(env=store_env(url))
    sampler = Sampler(url, view=view)
    benefits = [b.benefit_id for b in history.benefits]
    observed = datetime.now(UTC).date().replace(day=1)
    written: list[tuple[int, float]] = []
    failures: list[BaseException] = []
    serial = [0]

    def writer(ticks: range, started: float, keep: bool, prefix: str) -> None:
        try:
            for tick in ticks:
                pause = started + tick / sizes.lag_rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                done = app.record_measurement(
                    benefits[(serial[0] + tick) % len(benefits)],
                    value=Decimal(tick % 97),
                    observed_on=observed,
                    source="lag-feed",
                    external_id=f"{prefix}-{tick}",
                    meta=FEED,
                )
                if not done.value.created:
                    raise RuntimeError("a new external_id was taken as a duplicate")
                if keep:  # list.append is atomic
                    stamp = done.value.measurement["recorded_at"].timestamp()
                    written.append((done.log_position, stamp))
        except BaseException as error:
            failures.append(error)

    def write(count: int, keep: bool, prefix: str) -> float:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=writer, args=(range(j, count, WRITERS), started, keep, prefix))
            for j in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        serial[0] += count
        if failures:
            raise RuntimeError(f"a writer failed: {failures[0]!r}") from failures[0]
        return time.perf_counter() - started

    try:
        for benefit_id in benefits:  # the writer's aggregate cache warm, as an API worker's is
            app.repository.get(benefit_id)
        with projector_process(url, key_path, folder / "projector.log") as process:
            sampler.thread.start()
            run_id = uuid4().hex[:8]
            write(
                sizes.lag_rate * 2, keep=False, prefix=f"warm-{run_id}"
            )  # every view thread active
            if not wait_for(sampler, app.head_position(), 60.0):
                raise RuntimeError("the projector did not catch up; see its log")
            seconds = write(
                int(sizes.lag_rate * sizes.lag_seconds), keep=True, prefix=f"lag-{run_id}"
            )
            wait_for(sampler, max(p for p, _ in written), 10.0)
            if process.poll() is not None:
                raise RuntimeError("the projector process died; see its log")
    finally:
        sampler.close()
        app.close()
    lags = []
    unseen = 0
    for position, stamp in written:
        seen = sampler.seen_at(position)
        if seen is None:
            unseen += 1
        else:
            lags.append(seen - stamp)
    return Lag(lags, len(written) / seconds, seconds, unseen)


def wait_for(sampler: Sampler, position: int, timeout: float) -> bool:
    """Wait until the sampler has seen the series view at `position`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sampler.samples and sampler.samples[-1][1] >= position:
            return True
        time.sleep(0.05)
    return False
