"""Racing ingest against a real gunicorn (DESIGN §2.3, §5.4): nothing is stored twice, no 5xx.

Sixteen clients post the same 500 measurements at once, in different orders, each re-posting a
fifth of them again, some under an Idempotency-Key reused with the identical body. Every answer
must be 200 or 201 naming the same measurement, and exactly 500 events must be stored.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import requests

from domain.application import ValuetrailApplication, topic_of
from domain.receipt import receipt_id
from persistence import store_env
from tests.e2e.test_gunicorn import (
    PORTFOLIO,
    ROOT,
    STOP_TIMEOUT,
    Server,
    command,
    free_port,
    session,
    wait_until_healthy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "race-admin-token-for-the-race-tests"
CLIENTS = 16
ITEMS = 500
BENEFITS = 10
RETRY_SHARE = 0.2  # each client re-posts this share of the items again
KEYED_SHARE = 0.3  # this share of posts carries the item's Idempotency-Key
SOURCE = "meter-feed"
RECORDED = "valuetrail.benefit.MeasurementRecorded.v1"
SEED = 20250131


@dataclass(frozen=True)
class Item:
    """One measurement every client posts: fixed body bytes, fixed Idempotency-Key."""

    index: int
    benefit_id: str
    external_id: str
    body: bytes

    @property
    def idempotency_key(self) -> str:
        return f"race-key-{self.external_id}"

    @property
    def expected_id(self) -> str:
        """The measurement id the store derives from (benefit, source, external_id)."""
        return str(receipt_id("measurement", UUID(self.benefit_id), SOURCE, self.external_id))


@dataclass(frozen=True)
class Answer:
    """What one POST got back."""

    item: int
    status: int
    replayed: bool
    body: dict[str, Any] | None
    text: str


@pytest.fixture
def race_server(fresh_postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "VALUETRAIL_DB": fresh_postgres_url,
        "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
        "VALUETRAIL_HOST": "127.0.0.1",
        "VALUETRAIL_PORT": str(port),
        "VALUETRAIL_WORKERS": "2",
        "HOME": str(tmp_path),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command(), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    running = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def set_up(api: str) -> tuple[str, list[str]]:
    """Issue an ingest key; create a portfolio, an initiative and the benefits (as a manager)."""
    with session(ADMIN_TOKEN) as admin:
        manager = created(
            admin.post(f"{api}/api-keys", json={"name": "board", "role": "manager"}, timeout=10)
        )
        ingest = created(
            admin.post(f"{api}/api-keys", json={"name": "meters", "role": "ingest"}, timeout=10)
        )
    with session(manager["token"]) as board:
        portfolio = created(board.post(f"{api}/portfolios", json=PORTFOLIO, timeout=10))
        initiative = created(
            board.post(
                f"{api}/initiatives",
                json={
                    "portfolio_id": portfolio["id"],
                    "kind": "project",
                    "name": "Smart meters",
                    "sponsor": "Operations",
                    "start_month": "2024-01",
                    "end_month": "2026-12",
                    "confidence": "0.8",
                },
                timeout=10,
            )
        )
        benefit_ids = [
            created(
                board.post(
                    f"{api}/benefits",
                    json={
                        "initiative_id": initiative["id"],
                        "title": f"Energy saved at site {n}",
                        "category": "cashable",
                        "owner": "Site manager",
                        "measure": {"name": "saving", "unit": "GBP", "kind": "flow"},
                        "baseline": {"value": "0", "as_of": "2024-01-01"},
                    },
                    timeout=10,
                )
            )["id"]
            for n in range(BENEFITS)
        ]
    return str(ingest["token"]), benefit_ids


def make_items(benefit_ids: list[str]) -> list[Item]:
    items = []
    for n in range(ITEMS):
        benefit_id = benefit_ids[n % BENEFITS]
        external_id = f"reading-{n:04d}"
        body = {
            "value": f"{n}.{n % 100:02d}",
            "observed_on": (date(2024, 1, 1) + timedelta(days=n % 365)).isoformat(),
            "source": SOURCE,
            "external_id": external_id,
        }
        items.append(Item(n, benefit_id, external_id, json.dumps(body).encode()))
    return items


def plan(rng: random.Random, items: list[Item]) -> list[tuple[Item, bool]]:
    """Every item in a shuffled order, a fifth of them posted again later; some posts keyed."""
    order = rng.sample(items, len(items))
    for again in rng.sample(items, int(len(items) * RETRY_SHARE)):
        first = order.index(again)
        order.insert(rng.randint(first + 1, len(order)), again)
    return [(item, rng.random() < KEYED_SHARE) for item in order]


def client(
    api: str,
    token: str,
    steps: list[tuple[Item, bool]],
    start: threading.Barrier,
    answers: list[Answer],
    failures: list[str],
) -> None:
    """Post every step over one keep-alive connection."""
    with requests.Session() as http:
        http.headers.update(
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        start.wait(timeout=30)
        for item, keyed in steps:
            headers = {"Idempotency-Key": item.idempotency_key} if keyed else {}
            url = f"{api}/benefits/{item.benefit_id}/measurements"
            try:
                r = http.post(url, data=item.body, headers=headers, timeout=30)
            except requests.RequestException as error:
                failures.append(f"item {item.index}: {error!r}")
                continue
            is_json = r.headers.get("Content-Type", "").startswith("application/json")
            answers.append(
                Answer(
                    item.index,
                    r.status_code,
                    r.headers.get("Idempotent-Replayed") == "true",
                    r.json() if is_json else None,
                    r.text[:500],
                )
            )


def listed_measurement_ids(api: str, token: str, benefit_ids: list[str]) -> list[str]:
    """Every measurement id the API lists, page by page, over all the benefits."""
    found: list[str] = []
    with session(token) as reader:
        for benefit_id in benefit_ids:
            params: dict[str, str] = {"limit": "20"}
            while True:
                r = reader.get(
                    f"{api}/benefits/{benefit_id}/measurements", params=params, timeout=30
                )
                assert r.status_code == 200, r.text
                page = r.json()
                found.extend(m["measurement_id"] for m in page["items"])
                if page["next_cursor"] is None:
                    break
                params["cursor"] = page["next_cursor"]
    return found


def stored_recorded_events(url: str, benefit_ids: list[str]) -> int:
    """MeasurementRecorded events in the benefits' histories, read from the store itself."""
    app = ValuetrailApplication(env=store_env(url))
    try:
        return sum(
            1
            for benefit_id in benefit_ids
            for event in app.history(UUID(benefit_id))
            if topic_of(event) == RECORDED
        )
    finally:
        app.close()


def test_racing_duplicate_posts_store_each_measurement_once(
    race_server: Server, fresh_postgres_url: str
) -> None:
    api = race_server.api
    token, benefit_ids = set_up(api)
    items = make_items(benefit_ids)
    rng = random.Random(SEED)
    plans = [plan(random.Random(rng.random()), items) for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    answers: list[Answer] = []
    failures: list[str] = []
    threads = [
        threading.Thread(target=client, args=(api, token, steps, start, answers, failures))
        for steps in plans
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client is still posting after 120 s"

    assert failures == [], failures[:5]
    assert len(answers) == sum(len(steps) for steps in plans)
    server_errors = [a for a in answers if a.status >= 500]
    assert server_errors == [], (
        f"{len(server_errors)} 5xx, first: {server_errors[0]}\n{race_server.output()[-4000:]}"
    )
    unexpected = [a for a in answers if a.status not in (200, 201)]
    assert unexpected == [], f"{len(unexpected)} not 200/201, first: {unexpected[0]}"

    by_item: dict[int, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_item[answer.item].append(answer)
    assert sorted(by_item) == list(range(ITEMS))
    for item in items:
        got = by_item[item.index]
        bodies = {json.dumps(a.body, sort_keys=True) for a in got}
        assert len(bodies) == 1, f"item {item.index} got different answers: {bodies}"
        assert {a.body["measurement_id"] for a in got if a.body} == {item.expected_id}
        # Exactly one request stored it; every other answer is a duplicate or a replay.
        first_writes = [a for a in got if a.status == 201 and not a.replayed]
        assert len(first_writes) == 1, f"item {item.index}: {len(first_writes)} fresh 201s"

    listed = listed_measurement_ids(api, token, benefit_ids)
    assert len(listed) == ITEMS
    assert set(listed) == {item.expected_id for item in items}
    assert stored_recorded_events(fresh_postgres_url, benefit_ids) == ITEMS

    race_server.process.send_signal(signal.SIGTERM)
    assert race_server.process.wait(timeout=STOP_TIMEOUT) == 0, race_server.output()[-4000:]
    assert "Traceback" not in race_server.output()
