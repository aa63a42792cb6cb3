"""PostgreSQL down for a few seconds under load: clients see 503 with Retry-After, never a 500
or a hang; /readyz says so at once; the service recovers by itself and loses nothing it
acknowledged."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.reliability.cluster import Cluster
from tests.reliability.conftest import (
    Feed,
    assert_stored_once,
    feeding,
    report,
    running,
    seed,
    size,
    statuses,
)

CLIENTS = 8
#: Writes caught by the outage wait on the store until it is back (they then succeed), each
#: holding a request thread; a readiness probe needs a free one. Two workers of four threads
#: are exactly taken by eight such writes, so the probe could queue behind them: three workers
#: keep threads free, as a deployment must size them (docs/RELIABILITY.md).
WORKERS = 3
OUTAGE_SECONDS = 5.0
#: /readyz answers within its own 2 s budget; the client allows more for a busy machine.
PROBE_TIMEOUT = 5.0


def readyz(base: str) -> int:
    """The status /readyz answers now."""
    return requests.get(base + "/readyz", timeout=PROBE_TIMEOUT).status_code


def test_an_outage_of_the_store_loses_no_acknowledged_write(
    cluster: Cluster, cluster_db: str, tmp_path: Path
) -> None:
    with running(cluster_db, tmp_path, workers=WORKERS) as server:
        world = seed(server.base, benefits=CLIENTS)
        feeds = [Feed(server.base, b, f"feed-{n}") for n, b in enumerate(world.benefit_ids)]
        with feeding(feeds):
            time.sleep(size(1, 10))
            cluster.stop()
            stopped = time.monotonic()
            first_probe = readyz(server.base)
            noticed = time.monotonic() - stopped
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
            cluster.start()
            restarted = time.monotonic()
            while readyz(server.base) != 200:
                assert time.monotonic() < restarted + 60, "/readyz did not recover within 60 s"
                time.sleep(0.1)
            ready_again = time.monotonic() - restarted
            after_recovery = sum(len(feed.acknowledged) for feed in feeds)
            time.sleep(size(2, 20))

        assert first_probe == 503
        assert sum(len(feed.acknowledged) for feed in feeds) > after_recovery  # writes resumed
        assert [problem for feed in feeds for problem in feed.unexpected] == []
        assert [problem for feed in feeds for problem in feed.dropped] == []
        stored = assert_stored_once(server.base, feeds)
        report(
            "outage",
            {
                "clients": CLIENTS,
                "outage_seconds": OUTAGE_SECONDS,
                "readyz_503_after_s": round(noticed, 2),
                "ready_again_after_restart_s": round(ready_again, 2),
                "acknowledged": sum(len(feed.acknowledged) for feed in feeds),
                "stored": stored,
                "statuses": statuses(feeds),
            },
        )
