"""Processes killed without warning: the projector mid catch-up, a gunicorn worker mid-load; and
a store the service may not write. Nothing acknowledged is lost, views equal a rebuild, and the
store stays intact."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from projections.db import ViewDatabase
from tests.integration.builders import opened
from tests.integration.use_case_history import History
from tests.integration.view_tables import assert_rebuild_equals, positions
from tests.ops.conftest import API, free_port
from tests.reliability.conftest import (
    Feed,
    all_workers,
    assert_stored_once,
    call,
    created,
    feeding,
    report,
    running,
    seed,
    size,
    statuses,
    workers_of,
)

KILLS = 10
PROGRESS_TIMEOUT = 60.0


def projector(db_url: str, key: Path, log: Path) -> subprocess.Popen[bytes]:
    """`valuetrail project` in small batches, so catching up takes many commits."""
    env = {
        **os.environ,
        "VALUETRAIL_DB": db_url,
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(key),
        "VALUETRAIL_PROJECTOR_BATCH": "2",
        "VALUETRAIL_PROJECTOR_METRICS_PORT": str(free_port()),
    }
    script = Path(sys.executable).with_name("valuetrail")
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(script), "project"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )


def killed(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, and reap."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def stopped(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        killed(process)


def test_a_projector_killed_ten_times_mid_catch_up_leaves_views_equal_to_a_rebuild(
    cluster_db: str, tmp_path: Path
) -> None:
    key, log = tmp_path / "audit.pem", tmp_path / "projector.log"
    rng = random.Random(20261206)
    with opened(cluster_db, create_tables=True) as app:
        history = History(app, rng)
        for _ in range(size(300, 4000)):
            history.step()
        head = app.head_position()
        db = ViewDatabase.from_url(cluster_db)
        try:
            kills_at: list[dict[str, int]] = []
            for _ in range(KILLS):
                before = positions(db)
                process = projector(cluster_db, key, log)
                try:
                    deadline = time.monotonic() + PROGRESS_TIMEOUT
                    while positions(db) == before:  # kill only once it has committed something
                        assert process.poll() is None, log.read_text()
                        assert time.monotonic() < deadline, "the projector made no progress"
                        time.sleep(0.02)
                    time.sleep(rng.uniform(0, 0.15))
                finally:
                    killed(process)
                kills_at.append(positions(db))
            assert min(kills_at[-1].values()) < head  # every kill came before the views were done
            process = projector(cluster_db, key, log)
            try:
                deadline = time.monotonic() + PROGRESS_TIMEOUT * 2
                while min(positions(db).values(), default=0) < head:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, f"views stuck at {positions(db)}"
                    time.sleep(0.1)
            finally:
                stopped(process)
            rows = assert_rebuild_equals(app, db, key)
        finally:
            db.close()
    report(
        "projector_kills",
        {"events": head, "kills": len(kills_at), "rows_compared": sum(map(len, rows.values())),
         "positions_at_kills": [min(p.values(), default=0) for p in kills_at]},
    )  # fmt: skip


def test_a_worker_killed_mid_load_loses_nothing_acknowledged_and_is_replaced(
    cluster_db: str, tmp_path: Path
) -> None:
    with running(cluster_db, tmp_path, workers=2) as server:
        world = seed(server.base, benefits=4)
        feeds = [Feed(server.base, b, f"feed-{n}") for n, b in enumerate(world.benefit_ids)]
        master = server.process.pid
        workers = all_workers(master, 2)
        with feeding(feeds):
            time.sleep(size(1, 10))
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while len(replaced := workers_of(master)) < 2 or victim in replaced:
                assert time.monotonic() < deadline, f"no new worker beside {replaced}"
                time.sleep(0.1)
            served_before = sum(len(feed.acknowledged) for feed in feeds)
            time.sleep(size(1, 10))

        assert len(replaced - workers) == 1  # gunicorn started one new worker
        assert sum(len(feed.acknowledged) for feed in feeds) > served_before  # and it serves
        assert [problem for feed in feeds for problem in feed.unexpected] == []
        stored = assert_stored_once(server.base, feeds)
    report(
        "worker_kill",
        {"acknowledged": sum(len(feed.acknowledged) for feed in feeds), "stored": stored,
         "no_answer": sum(len(feed.dropped) for feed in feeds), "statuses": statuses(feeds)},
    )  # fmt: skip


def without_file_override() -> list[str]:
    """A prefix that makes the server obey file permissions even when the tests run as root."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", "--bounding-set", caps, "--inh-caps", caps]


def test_a_read_only_sqlite_store_answers_503_and_keeps_its_data(tmp_path: Path) -> None:
    db_file = tmp_path / "store" / "valuetrail.db"
    url = "sqlite:///" + str(db_file)
    with running(url, tmp_path / "first") as server:
        world = seed(server.base)
        feed = Feed(server.base, world.benefit_ids[0], "ledger")
        for n in range(20):
            assert feed.post(f"reading-{n}")
        assert assert_stored_once(server.base, [feed]) == 20
    events = count_events(db_file)
    db_file.chmod(0o444)
    try:
        with running(url, tmp_path / "second", command="api", prefix=without_file_override()) as ro:
            measurements = f"{ro.base}{API}/benefits/{world.benefit_ids[0]}/measurements"
            reading = {"value": "1", "observed_on": "2025-01-31", "source": "ledger"}
            refused = call("POST", measurements, json=reading)
            portfolio = call("GET", f"{ro.base}{API}/portfolios/{world.portfolio_id}")
            readings = call("GET", measurements, params={"limit": 500})
            ready = requests.get(ro.base + "/readyz", timeout=10)
    finally:
        db_file.chmod(0o644)

    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.headers.get("Retry-After")
    assert "Traceback" not in refused.text
    assert created(portfolio, 200)["id"] == world.portfolio_id
    stored = sorted(item["external_id"] for item in created(readings, 200)["items"])
    assert stored == sorted(feed.acknowledged)
    assert ready.status_code == 200  # reads still work
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert count_events(db_file) == events
    report("read_only_sqlite", {"refused_status": refused.status_code, "events_kept": events})


def count_events(db_file: Path) -> int:
    """How many events the SQLite store holds."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
