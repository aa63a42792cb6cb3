"""Reliability fixtures: a throwaway PostgreSQL cluster, real servers on it, and clients that
retry as a well-behaved feed does.

`make test` runs the quick variant; `make reliability` sets VALUETRAIL_RELIABILITY=full for the
full sizes (thousands of generated requests, a 30-minute soak).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import postgres_required
from tests.e2e.conftest import benefit_body, decision, proposal
from tests.ops.conftest import API, PORTFOLIO, Server, start_server
from tests.reliability.cluster import Cluster, server_bindir

FULL = os.environ.get("VALUETRAIL_RELIABILITY") == "full"
#: A random admin token of 43 characters, as a deployment would set it.
ADMIN_KEY = secrets.token_urlsafe(32)
CLUSTER_FIXTURES = frozenset({"cluster", "cluster_db", "hostile_server"})
#: No request of these tests may wait longer than this for an answer.
REQUEST_TIMEOUT = 60.0


def size(quick: int, full: int) -> int:
    """`full` under `make reliability`, `quick` in the normal test run."""
    return full if FULL else quick


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the throwaway cluster need PostgreSQL: under CI they must run, not skip."""
    for item in items:
        if CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of these tests' own (never the shared server), removed at the end."""
    bindir = server_bindir()
    if bindir is None:
        message = "PostgreSQL server programs (initdb, pg_ctl) not found"
        if postgres_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    made = Cluster(bindir)
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.remove()


@contextmanager
def database(cluster: Cluster) -> Iterator[str]:
    """A new database in the throwaway cluster (started if a test left it down), then dropped."""
    if not cluster.running():
        cluster.start()
    name = f"reliability_{secrets.token_hex(4)}"
    url = cluster.create_database(name)
    try:
        yield url
    finally:
        if not cluster.running():
            cluster.start()
        conninfo = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cluster_db(cluster: Cluster) -> Iterator[str]:
    """A new database in the throwaway cluster, dropped after the test."""
    with database(cluster) as url:
        yield url


@contextmanager
def running(
    db_url: str,
    folder: Path,
    *,
    command: str = "serve",
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> Iterator[Server]:
    """`valuetrail <command>` with a strong admin key, stopped however the test ends."""
    server = start_server(
        db_url,
        folder,
        command=command,
        workers=workers,
        env={"VALUETRAIL_ADMIN_KEY": ADMIN_KEY, **(env or {})},
        wait_for_projector=command == "serve",
        prefix=prefix,
    )
    try:
        yield server
    finally:
        server.stop()


def headers() -> dict[str, str]:
    """The admin's Authorization header."""
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def call(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request as the admin, never waiting longer than REQUEST_TIMEOUT."""
    return requests.request(
        method, url, headers={**headers(), **kwargs.pop("headers", {})}, timeout=REQUEST_TIMEOUT,
        **kwargs,
    )  # fmt: skip


def created(response: requests.Response, status: int = 201) -> dict[str, Any]:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass(frozen=True)
class Seeded:
    """A portfolio with an invested initiative and its benefits, created through the API."""

    portfolio_id: str
    initiative_id: str
    benefit_ids: list[str]


def seed(base: str, benefits: int = 1) -> Seeded:
    """Create a portfolio, an invested initiative and `benefits` flow benefits over HTTP."""
    api = base + API
    portfolio = created(call("POST", api + "/portfolios", json=PORTFOLIO))
    initiative = created(call("POST", api + "/initiatives", json=proposal(portfolio["id"])))
    created(call("POST", f"{api}/initiatives/{initiative['id']}/decisions", json=decision()))
    ids = [
        created(call("POST", api + "/benefits",
                     json=benefit_body(initiative["id"], title=f"Benefit {n}")))["id"]
        for n in range(benefits)
    ]  # fmt: skip
    return Seeded(str(portfolio["id"]), str(initiative["id"]), [str(i) for i in ids])


@dataclass
class Feed:
    """A measurement feed that retries until acknowledged, honouring Retry-After.

    Every answer is kept by status; a 503 without Retry-After, or any other status outside 2xx,
    is a broken promise the tests report. Requests that got no answer at all are `dropped`.
    """

    base: str
    benefit_id: str
    name: str
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    give_up_after: float = 120.0

    def post(self, external_id: str, value: str = "10") -> bool:
        """Post one reading until it is acknowledged (True) or retries run out (False)."""
        url = f"{self.base}{API}/benefits/{self.benefit_id}/measurements"
        body = {"value": value, "observed_on": "2025-01-31", "source": self.name,
                "external_id": external_id}  # fmt: skip
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = call("POST", url, json=body)
            except requests.RequestException as error:
                # No answer (a worker died with the request): unknown outcome, so post again.
                self.dropped.append(f"{external_id}: {error}")
                time.sleep(0.5)
                continue
            self.latencies.append(time.monotonic() - started)
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code in (200, 201):
                self.acknowledged.append(external_id)
                return True
            retry_after = response.headers.get("Retry-After")
            if response.status_code != 503 or retry_after is None:
                self.unexpected.append(f"{external_id}: {response.status_code} {response.text}")
                time.sleep(0.5)
                continue
            time.sleep(min(float(retry_after), 5.0))
        return False


def stored_external_ids(base: str, benefit_id: str) -> list[str]:
    """Every external_id the benefit's series holds, once per stored measurement (views caught
    up to the head first)."""
    head = int(requests.get(base + "/readyz", timeout=REQUEST_TIMEOUT).json()["head_position"])
    url = f"{base}{API}/benefits/{benefit_id}/measurements"
    found: list[str] = []
    params: dict[str, Any] = {"limit": 500, "min_position": head}
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while True:
        response = call("GET", url, params=params)
        if response.status_code == 503 and time.monotonic() < deadline:
            time.sleep(1)  # the view is catching up
            continue
        page = created(response, 200)
        found += [item["external_id"] for item in page["items"]]
        if not page["next_cursor"]:
            return found
        params = {"limit": 500, "cursor": page["next_cursor"]}


def report(name: str, figures: Mapping[str, Any]) -> None:
    """Print a test's figures, and append them to VALUETRAIL_RELIABILITY_REPORT if it is set."""
    line = json.dumps({"test": name, "full": FULL, **figures}, default=str)
    print(f"reliability figures: {line}")
    target = os.environ.get("VALUETRAIL_RELIABILITY_REPORT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")


@contextmanager
def feeding(feeds: Sequence[Feed]) -> Iterator[None]:
    """Each feed posts readings in a thread of its own until the block ends."""
    stop = threading.Event()

    def ingest(feed: Feed) -> None:
        n = 0
        while not stop.is_set():
            feed.post(f"{feed.name}-{n}", value=str(n))
            n += 1

    threads = [threading.Thread(target=ingest, args=(feed,)) for feed in feeds]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT * 2 + 30)


def statuses(feeds: Sequence[Feed]) -> dict[int, int]:
    """How often each status was answered, over all feeds."""
    total: dict[int, int] = {}
    for feed in feeds:
        for status, count in feed.statuses.items():
            total[status] = total.get(status, 0) + count
    return total


def assert_stored_once(base: str, feeds: Sequence[Feed]) -> int:
    """Every reading a feed saw acknowledged is stored, and none twice; how many are stored."""
    acknowledged = {external_id for feed in feeds for external_id in feed.acknowledged}
    stored = [
        external_id for feed in feeds for external_id in stored_external_ids(base, feed.benefit_id)
    ]
    assert sorted(acknowledged - set(stored)) == []  # nothing acknowledged was lost
    assert len(stored) == len(set(stored))  # nothing was stored twice
    return len(stored)


def children_of(master: int) -> dict[int, bool]:
    """The children of a gunicorn master: pid → True for the projector, False for a worker."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    found: dict[int, bool] = {}
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:  # it has just exited
            continue
        found[child] = b"projections" in command
    return found


def workers_of(master: int) -> set[int]:
    """The gunicorn workers of a master."""
    return {pid for pid, projector in children_of(master).items() if not projector}


def all_workers(master: int, count: int) -> set[int]:
    """The workers of a master once all `count` of them have started (30 s at most)."""
    deadline = time.monotonic() + 30
    while len(workers := workers_of(master)) < count:
        assert time.monotonic() < deadline, f"only {len(workers)} of {count} workers started"
        time.sleep(0.1)
    return workers


def projector_of(master: int) -> int:
    """The projector child of a `valuetrail serve` master."""
    (pid,) = [pid for pid, projector in children_of(master).items() if projector]
    return pid
