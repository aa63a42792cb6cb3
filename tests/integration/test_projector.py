"""The projector on SQLite and PostgreSQL: incremental views equal a rebuild row for row, a crash
mid-batch counts nothing twice, a standby takes over, and `valuetrail serve` runs it beside the
workers."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
import requests

from domain.application import ValuetrailApplication
from domain.errors import DomainError
from domain.initiative import allowed_decisions
from domain.months import add_months, month_of
from projections.audit.heads import TreeHead, load_or_create_signing_key
from projections.audit_chain.store import signed_items
from projections.catalog import audit_views, build_projectors, build_views
from projections.db import ViewDatabase
from projections.runner import Projector
from tests.integration.builders import BOARD, FINANCE, build, measurement_items, opened

ROOT = Path(__file__).resolve().parents[2]
MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"
DECIDED = "valuetrail.initiative.DecisionRecorded.v1"
SPENT = "valuetrail.initiative.SpendRecorded.v1"
STATE_KINDS = ("valuetrail.portfolio.", "valuetrail.initiative.", "valuetrail.benefit.")
#: Columns that say when a row was written, not what the log says: they differ after a rebuild.
WRITE_TIME_COLUMNS: dict[str, frozenset[str]] = {}


# -- a random history through the use cases --------------------------------------------------


class History:
    """A random, valid history written through the application's use cases."""

    def __init__(self, app: ValuetrailApplication, rng: random.Random) -> None:
        self.app = app
        self.rng = rng
        self.portfolios: list[UUID] = []
        self.goals: dict[UUID, list[UUID]] = {}
        self.initiatives: dict[UUID, UUID] = {}  # initiative -> portfolio
        self.benefits: dict[UUID, UUID] = {}  # benefit -> portfolio
        self.measurements: list[tuple[UUID, UUID]] = []  # (benefit, measurement)
        self.numbers = itertools.count(1)

    def step(self) -> None:
        """One use case, chosen among those that make sense now."""
        steps: list[Callable[[], None]] = []
        if len(self.portfolios) < 3:
            steps.append(self.create_portfolio)
        if self.portfolios:
            steps += [self.add_goal, self.propose, self.propose]
        if self.initiatives:
            steps += [self.decide] * 3 + [self.revise_costs, self.spend, self.assess] * 2
            steps += [self.identify] * 2 + [self.learn]
        if self.portfolios:
            steps.append(self.evaluate)
        if self.benefits:
            steps += [self.measure] * 5 + [self.revise_forecast, self.attribute]
        if self.measurements:
            steps += [self.correct] * 2
        # A refusal (a change to a stopped initiative, say) is part of a realistic history.
        with contextlib.suppress(DomainError):
            self.rng.choice(steps)()

    def _day(self) -> date:
        return date(2024, 1, 1) + timedelta(days=self.rng.randrange(540))

    def _initiative(self, portfolio_id: UUID | None = None) -> UUID:
        return self.rng.choice(
            [i for i, p in self.initiatives.items() if portfolio_id in (None, p)]
        )

    def create_portfolio(self) -> None:
        portfolio = self.app.create_portfolio(
            name=f"Portfolio {next(self.numbers)}",
            currency="GBP",
            discount_rate=self.rng.choice(["0.035", "0.05"]),
            base_month="2024-01",
            meta=BOARD,
        ).value
        self.portfolios.append(portfolio.id)
        self.goals[portfolio.id] = []

    def add_goal(self) -> None:
        portfolio_id = self.rng.choice(self.portfolios)
        goal = self.app.add_goal(
            portfolio_id,
            title=f"Goal {next(self.numbers)}",
            description="",
            weight=str(self.rng.randint(1, 3)),
            meta=BOARD,
        ).value
        self.goals[portfolio_id].append(goal["goal_id"])

    def propose(self) -> None:
        portfolio_id = self.rng.choice(self.portfolios)
        initiative = self.app.propose_initiative(
            portfolio_id=portfolio_id,
            kind=self.rng.choice(["project", "product", "service"]),
            name=f"Initiative {next(self.numbers)}",
            sponsor="COO",
            start_month="2024-01",
            end_month=self.rng.choice(["2024-12", "2025-06", "2025-12"]),
            confidence=self.rng.choice(["0.6", "0.8", "0.95"]),
            meta=BOARD,
        ).value
        self.initiatives[initiative.id] = portfolio_id

    def decide(self) -> None:
        initiative_id = self._initiative()
        allowed = allowed_decisions(self.app.get_initiative(initiative_id).status)
        if allowed:
            self._record_decision(initiative_id, self.rng.choice(allowed))

    def learn(self) -> None:
        """A lesson learned on some initiative."""
        self.app.record_lesson(
            self.rng.choice(list(self.initiatives)),
            text=f"Lesson {next(self.numbers)}",
            category=self.rng.choice(("delivery", "benefits")),
            meta=BOARD,
        )

    def evaluate(self) -> None:
        """A downturn scenario stored as evidence in some portfolio."""
        self.app.record_scenario(
            self.rng.choice(self.portfolios),
            kind="budget_cut",
            parameters={"name": f"Cut {next(self.numbers)}", "cut_pct": "10"},
            result={"budget_before": "100.00", "budget_after": "90.00", "initiatives": []},
            meta=BOARD,
        )

    def stop_one(self) -> None:
        """Stop the first initiative that can still be stopped."""
        for initiative_id in self.initiatives:
            if "stop" in allowed_decisions(self.app.get_initiative(initiative_id).status):
                self._record_decision(initiative_id, "stop")
                return

    def _record_decision(self, initiative_id: UUID, decision: str) -> None:
        decided_on = self._day()
        delay = add_months(month_of(decided_on), 3) if decision == "delay" else None
        self.app.record_decision(
            initiative_id,
            decision=decision,
            rationale=f"Board review {next(self.numbers)}",
            decided_by="Investment board",
            decided_on=decided_on,
            delay_until=delay,
            meta=BOARD,
        )

    def revise_costs(self) -> None:
        months = self.rng.sample(["2024-03", "2024-06", "2024-09", "2025-01"], 2)
        self.app.revise_cost_forecast(
            self._initiative(),
            periods={m: str(self.rng.randint(1000, 9000)) for m in months},
            reason="Supplier quote",
            meta=BOARD,
        )

    def spend(self) -> None:
        self.app.record_spend(
            self._initiative(),
            month=month_of(self._day()),
            amount=str(self.rng.randint(100, 5000)),
            source="ledger",
            external_id=self.rng.choice([None, f"inv-{self.rng.randrange(40)}"]),
            meta=FINANCE,
        )

    def assess(self) -> None:
        self.app.assess_confidence(
            self._initiative(),
            confidence=self.rng.choice(["0.5", "0.7", "0.9"]),
            reason="RAID",
            meta=BOARD,
        )

    def identify(self) -> None:
        initiative_id = self._initiative()
        portfolio_id = self.initiatives[initiative_id]
        flow = self.rng.random() < 0.7
        goals = self.goals[portfolio_id]
        benefit = self.app.identify_benefit(
            initiative_id=initiative_id,
            title=f"Benefit {next(self.numbers)}",
            category="cashable" if flow else "quantitative",
            owner="Ops director",
            goal_id=self.rng.choice(goals) if goals and self.rng.random() < 0.7 else None,
            measure={
                "name": "saving" if flow else "satisfaction",
                "unit": "GBP" if flow else "points",
                "kind": "flow" if flow else "level",
                "direction": "increase",
            },
            baseline={"value": "0", "as_of": date(2024, 1, 1)},
            target={"value": "12000", "by_month": "2025-12"},
            meta=BOARD,
        ).value
        self.benefits[benefit.id] = portfolio_id

    def measure(self) -> None:
        benefit_id = self.rng.choice(list(self.benefits))
        items = [
            {
                "benefit_id": benefit_id,
                "value": str(self.rng.randint(10, 900)),
                "observed_on": self._day(),
                "source": self.rng.choice(["ledger", "ops"]),
                # Now and then an id already used: a duplicate, stored once.
                "external_id": f"m-{self.rng.randrange(400)}",
            }
            for _ in range(self.rng.randint(1, 4))
        ]
        outcome = self.app.record_measurements(items, meta=FINANCE).value
        self.measurements += [
            (benefit_id, r["measurement_id"]) for r in outcome.results if r["outcome"] == "created"
        ]

    def correct(self) -> None:
        benefit_id, measurement_id = self.rng.choice(self.measurements)
        self.app.correct_measurement(
            benefit_id,
            measurement_id,
            value=str(self.rng.randint(0, 900)),
            reason="Ledger correction",
            meta=FINANCE,
        )

    def revise_forecast(self) -> None:
        self.app.revise_benefit_forecast(
            self.rng.choice(list(self.benefits)),
            periods={"2024-06": "500", "2025-01": str(self.rng.randint(100, 2000))},
            reason="New model",
            meta=BOARD,
        )

    def attribute(self) -> None:
        benefit_id = self.rng.choice(list(self.benefits))
        portfolio_id = self.benefits[benefit_id]
        first, second = (self._initiative(portfolio_id) for _ in range(2))
        shares = [(first, "0.6"), (second, "0.4")] if first != second else [(first, "1")]
        self.app.change_attribution(
            benefit_id,
            contributions=[{"initiative_id": i, "share": s} for i, s in shares],
            reason="Re-attributed by the board",
            meta=BOARD,
        )


# -- reading views and the log ---------------------------------------------------------------


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def columns_of(db: ViewDatabase, table: str) -> tuple[list[str], list[str]]:
    """A table's columns and its primary key's columns, in order."""
    with db.read() as cursor:
        if is_sqlite(db.url):
            cursor.execute("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (table,))
            rows = cursor.fetchall()
            return [r[0] for r in rows], [r[0] for r in sorted(rows, key=lambda r: r[1]) if r[1]]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " ORDER BY ordinal_position",
            (table,),
        )
        columns = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = ?::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (table,),
        )
        return columns, [r[0] for r in cursor.fetchall()]


def dump(db: ViewDatabase, projectors: dict[str, Projector]) -> dict[str, list[tuple[Any, ...]]]:
    """Every view table's rows ordered by primary key, plus the tracked positions."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for projector in projectors.values():
        for table in projector.view.tables:
            columns, key = columns_of(db, table)
            assert key, f"{table} has no primary key"
            kept = [c for c in columns if c not in WRITE_TIME_COLUMNS.get(table, ())]
            with db.read() as cursor:
                cursor.execute(f"SELECT {', '.join(kept)} FROM {table} ORDER BY {', '.join(key)}")
                tables[table] = [tuple(row) for row in cursor.fetchall()]
    tables["vt_tracking"] = sorted(positions(db).items())
    return tables


def positions(db: ViewDatabase) -> dict[str, int]:
    """Each view's tracked position ({} before the projector has created its tables)."""
    try:
        with db.read() as cursor:
            cursor.execute("SELECT view, position FROM vt_tracking")
            return {str(name): int(position) for name, position in cursor.fetchall()}
    except (sqlite3.Error, psycopg.Error):  # the table does not exist yet
        return {}


def topic_counts(app: ValuetrailApplication) -> Counter[str]:
    """How many events of each topic the log holds."""
    counts: Counter[str] = Counter()
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=2000):
        counts.update(n.topic for n in page)
        start = page[-1].id + 1
    return counts


def assert_nothing_counted_twice(tables: dict[str, list[Any]], counts: Counter[str]) -> None:
    """One row per event of the kind each table records, and one chain link per event."""
    state_events = sum(
        n
        for topic, n in counts.items()
        if topic.startswith(STATE_KINDS) and topic not in (MEASURED, CORRECTED, SPENT)
    )
    assert len(tables["vt_measurement"]) == counts[MEASURED] > 0
    assert len(tables["vt_correction"]) == counts[CORRECTED]
    assert len(tables["vt_measured"]) == counts[MEASURED] + counts[CORRECTED]
    assert len(tables["vt_actual"]) == counts[MEASURED] + counts[CORRECTED]
    assert len(tables["vt_decision"]) == counts[DECIDED]
    assert len(tables["vt_spend"]) == counts[SPENT]
    assert len(tables["vt_state"]) == state_events
    assert len(tables["vt_chain"]) == counts.total()


def fresh_projectors(
    app: ValuetrailApplication, db: ViewDatabase, key: Path
) -> dict[str, Projector]:
    """New view instances (no cache carried over from an earlier run), tables created."""
    return build_projectors(app, db, audit_views(str(key)))


def assert_rebuild_equals(
    app: ValuetrailApplication, db: ViewDatabase, key: Path
) -> dict[str, list[Any]]:
    """Rebuild every view from scratch and check it equals what is there; returns the rows."""
    projectors = fresh_projectors(app, db, key)
    before = dump(db, projectors)
    for projector in projectors.values():
        projector.rebuild()
    after = dump(db, projectors)
    for table in before:
        assert after[table] == before[table], f"{table} differs after a rebuild"
    return after


# -- (a) incremental equals rebuilt ----------------------------------------------------------


def test_views_built_in_small_batches_between_writes_equal_a_rebuild(
    db_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "audit.pem"
    rng = random.Random(20260501)
    with opened(db_url, create_tables=True) as app:
        db = ViewDatabase.from_url(db_url)
        projectors = fresh_projectors(app, db, key)
        history = History(app, rng)
        for _ in range(220):
            history.step()
            for projector in projectors.values():
                chance = rng.random()
                if chance < 0.2:
                    projector.catch_up(7)
                elif chance < 0.5:
                    projector.process_batch(7)
        history.stop_one()  # at least one stopped initiative, valued as forgone/avoided
        for projector in projectors.values():
            projector.catch_up(7)

        counts = topic_counts(app)
        assert {MEASURED, CORRECTED, DECIDED, SPENT} <= set(counts)
        assert "valuetrail.benefit.AttributionChanged.v1" in counts
        tables = assert_rebuild_equals(app, db, key)
        assert all(tables.values()), [name for name, rows in tables.items() if not rows]
        assert_nothing_counted_twice(tables, counts)
        assert {position for _, position in tables["vt_tracking"]} == {app.head_position()}
        stopped = [row for row in tables["vt_decision"] if row[3] == "stop"]
        assert stopped
        public = load_or_create_signing_key(str(key)).public_key()
        with db.read() as cursor:
            heads = [head for _seq, head in signed_items(cursor) if isinstance(head, TreeHead)]
        assert len(heads) > 1
        assert all(head.verify(public) for head in heads)
        db.close()


# -- projector processes ---------------------------------------------------------------------


@dataclass
class Running:
    """A process started by a test, with its output in a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def active_views(self) -> set[str]:
        return set(re.findall(r"projector active for view (\w+)", self.output()))

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then the exit status (it must exit within `timeout`)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def environment(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VALUETRAIL_")},
        "VALUETRAIL_DB": url,
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(tmp_path / "audit.pem"),
        "VALUETRAIL_AUDIT_STATE": str(tmp_path / "audit_state.json"),
        "HOME": str(tmp_path),
        "VALUETRAIL_PROJECTOR_METRICS_PORT": "0",  # any free port: tests run side by side
        **extra,
    }


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start processes from the repository root; any still running at the end is killed."""
    started: list[Running] = []

    def start(command: list[str], env: dict[str, str], name: str) -> Running:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        started.append(Running(process, log))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def projector_command() -> list[str]:
    return [sys.executable, "-m", "projections"]


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def long_log(app: ValuetrailApplication, batches: int) -> None:
    """A few thousand events: measurements in batches over three benefits, some corrected."""
    setup = build(app)
    app.record_decision(
        setup.initiative_id,
        decision="invest",
        rationale="Strong case",
        decided_by="Investment board",
        decided_on=date(2024, 1, 15),
        meta=BOARD,
    )
    for n in range(batches):
        outcome = app.record_measurements(
            measurement_items(setup.benefit_id, 50, start=n * 50), meta=FINANCE
        ).value
        if n % 5 == 0:
            first = outcome.results[0]["measurement_id"]
            app.correct_measurement(
                setup.benefit_id, first, value="2.25", reason="Ledger fix", meta=FINANCE
            )


# -- (b) a crash mid-catch-up ----------------------------------------------------------------


@pytest.mark.slow
def test_a_projector_killed_mid_catch_up_resumes_without_counting_anything_twice(
    db_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    key = tmp_path / "audit.pem"
    with opened(db_url, create_tables=True) as app:
        long_log(app, batches=30)
        head = app.head_position()
        views = set(build_views(app, audit_views(str(key))))
    db = ViewDatabase.from_url(db_url)

    first = spawn(
        projector_command(),
        environment(db_url, tmp_path, VALUETRAIL_PROJECTOR_BATCH="10"),
        "first",
    )
    eventually(
        lambda: 0 < positions(db).get("measurement_series", 0) < head,
        "the first projector to be part-way through the log",
    )
    first.process.kill()
    first.process.wait(timeout=10)
    assert "Traceback" not in first.output()
    killed_at = positions(db)
    assert 0 < killed_at["measurement_series"] < head, killed_at

    second = spawn(projector_command(), environment(db_url, tmp_path), "second")
    eventually(
        lambda: positions(db) == dict.fromkeys(views, head),
        "the restarted projector to reach the head",
        timeout=30,
    )
    assert second.stop() == 0, second.output()
    assert "Traceback" not in second.output()

    with opened(db_url) as app:
        tables = assert_rebuild_equals(app, db, key)
        assert_nothing_counted_twice(tables, topic_counts(app))
    db.close()


# -- (c) standby -----------------------------------------------------------------------------


def advisory_locks(url: str) -> int:
    """Advisory locks granted in this database (one per active view)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.slow
def test_a_standby_projector_takes_over_when_the_active_one_dies(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    url = fresh_postgres_url
    with opened(url, create_tables=True) as app:
        setup = build(app)
        views = set(build_views(app, audit_views(str(tmp_path / "audit.pem"))))
        env = environment(url, tmp_path)
        active = spawn(projector_command(), env, "active")
        eventually(lambda: active.active_views() == views, "the first projector to be active")
        assert "Traceback" not in active.output()
        standby = spawn(projector_command(), env, "standby")
        eventually(lambda: "starting" in standby.output(), "the standby to start")
        time.sleep(1.5)  # more than a standby's retry interval

        assert standby.active_views() == set()
        assert advisory_locks(url) == len(views)

        active.process.kill()
        active.process.wait(timeout=10)
        written = app.record_measurements(
            measurement_items(setup.benefit_id, 20), meta=FINANCE
        ).log_position

        db = ViewDatabase.from_url(url)
        eventually(lambda: standby.active_views() == views, "the standby to take over")
        eventually(lambda: set(positions(db).values()) == {written}, "the standby to catch up")
        assert advisory_locks(url) == len(views)
        assert standby.stop() == 0, standby.output()
        assert advisory_locks(url) == 0
        tables = assert_rebuild_equals(app, db, tmp_path / "audit.pem")
        assert_nothing_counted_twice(tables, topic_counts(app))
        db.close()


@pytest.mark.slow
def test_the_projector_carries_on_after_its_database_connections_are_cut(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    url = fresh_postgres_url
    with opened(url, create_tables=True) as app:
        setup = build(app)
        head = app.head_position()
        views = set(build_views(app, audit_views(str(tmp_path / "audit.pem"))))
    db = ViewDatabase.from_url(url)
    projector = spawn(projector_command(), environment(url, tmp_path), "projector")
    eventually(lambda: positions(db) == dict.fromkeys(views, head), "the projector to catch up")
    db.close()

    # What a database restart or a failover does to every session: the store's pool, the
    # views' pools, the LISTEN connections and the lock sessions all go at once.
    with psycopg.connect(url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert cut is not None and cut[0] >= len(views)
    with opened(url) as app:
        written = app.record_measurements(
            measurement_items(setup.benefit_id, 10), meta=FINANCE
        ).log_position

        db = ViewDatabase.from_url(url)
        eventually(
            lambda: positions(db) == dict.fromkeys(views, written),
            "the projector to reconnect and catch up",
            timeout=30,
        )
        assert projector.process.poll() is None
        assert projector.stop() == 0, projector.output()
        tables = assert_rebuild_equals(app, db, tmp_path / "audit.pem")
        assert_nothing_counted_twice(tables, topic_counts(app))
        db.close()


# -- (d) `valuetrail serve` ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("valuetrail")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "service.cli", "serve"]


def projector_pids(running: Running) -> list[int]:
    return [int(pid) for pid in re.findall(r"projector started \(pid (\d+)\)", running.output())]


def backends(url: str) -> int:
    """Sessions connected to this database other than the caller's."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.slow
def test_serve_runs_the_projector_beside_two_workers_and_stops_both(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    port = free_port()
    env = environment(
        fresh_postgres_url,
        tmp_path,
        VALUETRAIL_ADMIN_KEY="serve-admin-token-for-the-projector",
        VALUETRAIL_PORT=str(port),
        VALUETRAIL_WORKERS="2",
    )
    server = spawn(serve_command(), env, "serve")
    base = f"http://127.0.0.1:{port}/api/v1"
    http = requests.Session()
    http.headers["Authorization"] = "Bearer serve-admin-token-for-the-projector"

    def healthy() -> bool:
        assert server.process.poll() is None, server.output()
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
        except requests.ConnectionError:
            return False

    def post(path: str, body: dict[str, Any]) -> requests.Response:
        response = http.post(base + path, json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response

    def realised_after(portfolio_id: str, response: requests.Response) -> str:
        """The portfolio's realised benefits once the value view includes a write."""
        value = http.get(
            f"{base}/portfolios/{portfolio_id}/value",
            params={"min_position": response.headers["X-Log-Position"]},
            timeout=15,
        )
        assert value.status_code == 200, value.text  # 503 if no projector were running
        return str(value.json()["totals"]["realised_to_date"])

    def measurements_after(benefit_id: str, response: requests.Response) -> list[Any]:
        """The benefit's measurements as the series view has them once it includes a write."""
        listed = http.get(
            f"{base}/benefits/{benefit_id}/measurements",
            params={"min_position": response.headers["X-Log-Position"], "limit": "100"},
            timeout=15,
        )
        assert listed.status_code == 200, listed.text  # 503 if no projector were running
        items: list[Any] = listed.json()["items"]
        return items

    eventually(healthy, "serve to answer", timeout=30)
    portfolio = post(
        "/portfolios",
        {"name": "Digital", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"},
    ).json()
    initiative = post(
        "/initiatives",
        {
            "portfolio_id": portfolio["id"],
            "kind": "project",
            "name": "Portal",
            "sponsor": "COO",
            "start_month": "2025-01",
            "end_month": "2026-12",
            "confidence": "0.8",
        },
    ).json()
    benefit = post(
        "/benefits",
        {
            "initiative_id": initiative["id"],
            "title": "Lower cost to serve",
            "category": "cashable",
            "owner": "Ops director",
            "measure": {"name": "saving", "unit": "GBP", "kind": "flow", "direction": "increase"},
            "baseline": {"value": "0", "as_of": "2025-01-01"},
            "target": {"value": "1200", "by_month": "2025-12"},
        },
    ).json()
    for n in range(5):
        measured = post(
            f"/benefits/{benefit['id']}/measurements",
            {"value": "90", "observed_on": f"2025-0{n + 1}-28", "source": "ledger"},
        )
    assert realised_after(portfolio["id"], measured) == "450.00"
    assert len(measurements_after(benefit["id"], measured)) == 5

    # The supervisor restarts a projector that dies, and the views keep up.
    [first_pid] = projector_pids(server)
    os.kill(first_pid, signal.SIGKILL)
    eventually(lambda: len(projector_pids(server)) == 2, "the projector to be restarted")
    measured = post(
        f"/benefits/{benefit['id']}/measurements",
        {"value": "95", "observed_on": "2025-06-28", "source": "ledger"},
    )
    assert realised_after(portfolio["id"], measured) == "545.00"
    assert len(measurements_after(benefit["id"], measured)) == 6

    assert server.stop(timeout=30) == 0, server.output()
    output = server.output()
    assert "Traceback" not in output
    assert f"projector pid {projector_pids(server)[-1]} stopped" in output
    for pid in projector_pids(server):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert backends(fresh_postgres_url) == 0
