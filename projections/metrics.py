"""Prometheus metrics of the projector process (DESIGN §6), served on a port of its own.

The projector runs beside the API (`valuetrail serve`) or on another host (`valuetrail project`),
so it answers its own scrapes at VALUETRAIL_HOST:VALUETRAIL_PROJECTOR_METRICS_PORT (8001):
Prometheus then knows whether the projector itself is up. Positions, lag, the audit chain's
sealed position and the portfolio gauges are read from the store when scraped (portfolio figures
are cached for a few seconds); events processed are counted as batches commit; the audit chain
is re-verified in the background every VALUETRAIL_AUDIT_VERIFY_SECONDS (300).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.application import ValuetrailApplication
from projections.audit.heads import load_or_create_signing_key
from projections.audit.state import DEFAULT_STATE, STATE_ENV
from projections.audit_chain.reads import verify_store
from projections.audit_chain.sealer import SealerView
from projections.audit_chain.store import VIEW_NAME as AUDIT_VIEW
from projections.codec import loads
from projections.db import ViewDatabase
from projections.portfolio_value.value import portfolio_value
from projections.runner import Projector, observe_batches, observe_failures

log = logging.getLogger("valuetrail.projector.metrics")

PORT_ENV = "VALUETRAIL_PROJECTOR_METRICS_PORT"
DEFAULT_PORT = 8001
VERIFY_ENV = "VALUETRAIL_AUDIT_VERIFY_SECONDS"
DEFAULT_VERIFY_SECONDS = 300.0
#: Portfolio figures are recomputed at most this often, however often Prometheus scrapes.
PORTFOLIO_CACHE_SECONDS = 5.0
_OFF = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class PortfolioGauges:
    """What the dashboard shows of one portfolio now."""

    portfolio_id: str
    name: str
    currency: str
    npv: float
    realised: float
    red_benefits: int


def portfolio_gauges(db: ViewDatabase) -> list[PortfolioGauges]:
    """Every current portfolio's NPV, realised benefits to date and red benefits, from the views."""
    with db.read() as cursor:
        cursor.execute(
            "SELECT aggregate_id, facts FROM vt_state"
            " WHERE kind = 'portfolio' AND superseded_at IS NULL ORDER BY aggregate_id"
        )
        names = {str(row[0]): str(loads(row[1]).get("name", "")) for row in cursor.fetchall()}
    found = []
    for portfolio_id, name in names.items():
        value = portfolio_value(db, UUID(portfolio_id))
        if value is None:
            continue
        found.append(
            PortfolioGauges(
                portfolio_id=portfolio_id,
                name=name,
                currency=value.currency,
                npv=float(value.totals.npv),
                realised=float(value.totals.realised_to_date),
                red_benefits=value.red_benefits,
            )
        )
    return found


@dataclass
class AuditStatus:
    """The newest background verification of the audit chain (None: not verified yet)."""

    verified: bool | None = None
    checked_at: float = 0.0
    reason: str | None = None


class AuditWatch:
    """Re-verify the whole audit chain every `interval` seconds in a daemon thread."""

    def __init__(
        self,
        verify: Callable[[], tuple[bool, str | None]],
        interval: float,
        sealer: SealerView | None = None,
    ) -> None:
        self.verify = verify
        self.interval = interval
        self.sealer = sealer
        self.status = AuditStatus()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-verify", daemon=True)

    def start(self) -> None:
        """Verify now, then every interval."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                verified, reason = self.verify()
            except Exception as error:  # the store is unreachable: keep the last verdict
                log.warning("audit chain not verified this time: %s", error)
            else:
                self.status = AuditStatus(verified, time.time(), reason)
                if not verified:
                    log.error("audit chain verification FAILED: %s", reason)
            self._stop.wait(self.interval)

    def verified(self) -> bool | None:
        """The verdict now: False at once when the sealer halted, else the newest check's."""
        if self.sealer is not None and self.sealer.halted is not None:
            return False
        return self.status.verified

    def stop(self) -> None:
        """Stop after the verification in progress, if any."""
        self._stop.set()


class ProjectorCollector(Collector):
    """The projector's metric families, computed when scraped."""

    def __init__(
        self,
        app: ValuetrailApplication,
        db: ViewDatabase,
        views: Sequence[str],
        audit: AuditWatch | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.views = list(views)
        self.audit = audit
        self._processed: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self._portfolios: tuple[float, list[PortfolioGauges]] | None = None

    def count(self, view: str, events: int, _position: int) -> None:
        """Count a committed batch (a `projections.runner` batch observer)."""
        with self._lock:
            self._processed[view] = self._processed.get(view, 0) + events

    def count_failure(self, view: str) -> None:
        """Count a running view's failure (a `projections.runner` failure observer)."""
        with self._lock:
            self._failures[view] = self._failures.get(view, 0) + 1

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families are known only when collected."""
        return []

    def collect(self) -> Iterable[Metric]:
        """Every family; those read from the store are left out while it is unreachable."""
        processed = CounterMetricFamily(
            "valuetrail_projection_events_processed",
            "Events the projector applied to each view since it started.",
            labels=["projection"],
        )
        with self._lock:
            counts = {view: self._processed.get(view, 0) for view in self.views}
        for view, count in counts.items():
            processed.add_metric([view], count)
        yield processed
        failed = CounterMetricFamily(
            "valuetrail_projection_failures",
            "Times a view failed to apply the log and backed off, since the projector started.",
            labels=["projection"],
        )
        with self._lock:
            failures = {view: self._failures.get(view, 0) for view in self.views}
        for view, count in failures.items():
            failed.add_metric([view], count)
        yield failed
        if self.audit is not None and (verified := self.audit.verified()) is not None:
            yield _gauge(
                "valuetrail_audit_chain_verified",
                "1 if the audit log verified last time and the sealer is signing, else 0.",
                1 if verified else 0,
            )
        try:
            yield from self._from_store()
        except Exception as error:  # an unreachable store must not fail the whole scrape
            log.warning("metrics from the store left out of this scrape: %s", error)

    def _from_store(self) -> Iterable[Metric]:
        head = self.app.head_position()
        with self.db.read() as cursor:
            cursor.execute("SELECT view, position FROM vt_tracking")
            tracked = {str(view): int(position) for view, position in cursor.fetchall()}
        yield _gauge(
            "valuetrail_event_log_head_position", "Position of the newest event in the log.", head
        )
        position = GaugeMetricFamily(
            "valuetrail_projection_position",
            "Last log position each view has applied.",
            labels=["projection"],
        )
        lag = GaugeMetricFamily(
            "valuetrail_projection_lag_events",
            "Log positions each view is behind the head of the log.",
            labels=["projection"],
        )
        for view in self.views:
            at = tracked.get(view, 0)
            position.add_metric([view], at)
            lag.add_metric([view], max(0, head - at))
        yield position
        yield lag
        if AUDIT_VIEW in self.views:
            yield _gauge(
                "valuetrail_audit_sealed_position",
                "Last log position the audit chain has sealed.",
                tracked.get(AUDIT_VIEW, 0),
            )
        yield from self._portfolio_families()

    def _portfolio_families(self) -> Iterable[Metric]:
        cached = self._portfolios
        if cached is None or time.monotonic() - cached[0] > PORTFOLIO_CACHE_SECONDS:
            cached = self._portfolios = (time.monotonic(), portfolio_gauges(self.db))
        gauges = cached[1]
        info = GaugeMetricFamily(
            "valuetrail_portfolio_info",
            "1 per portfolio, labelled with its name and currency (join on portfolio).",
            labels=["portfolio", "name", "currency"],
        )
        npv = GaugeMetricFamily(
            "valuetrail_portfolio_npv",
            "Net present value of the portfolio now, in its currency.",
            labels=["portfolio"],
        )
        realised = GaugeMetricFamily(
            "valuetrail_portfolio_realised_benefits",
            "Benefits realised to date in the portfolio, in its currency.",
            labels=["portfolio"],
        )
        red = GaugeMetricFamily(
            "valuetrail_benefits_red",
            "Benefits of the portfolio rated red (realisation below the amber threshold).",
            labels=["portfolio"],
        )
        for gauge in gauges:
            info.add_metric([gauge.portfolio_id, gauge.name, gauge.currency], 1)
            npv.add_metric([gauge.portfolio_id], gauge.npv)
            realised.add_metric([gauge.portfolio_id], gauge.realised)
            red.add_metric([gauge.portfolio_id], gauge.red_benefits)
        yield from (info, npv, realised, red)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


@dataclass
class Exporter:
    """The projector's /metrics server and its helpers; `close` stops them."""

    collector: ProjectorCollector | None = None
    port: int | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop serving and counting."""
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()


def start_exporter(
    app: ValuetrailApplication,
    projectors: Mapping[str, Projector],
    signing_key_path: str,
    environ: Mapping[str, str] | None = None,
) -> Exporter:
    """Serve the projector's metrics (unless VALUETRAIL_METRICS=0); a busy port only warns."""
    env = os.environ if environ is None else environ
    if env.get("VALUETRAIL_METRICS", "1").strip().lower() in _OFF or not projectors:
        return Exporter()
    port = int(env.get(PORT_ENV, str(DEFAULT_PORT)))
    host = env.get("VALUETRAIL_HOST", "127.0.0.1")
    db = next(iter(projectors.values())).db
    exporter = Exporter()
    audit = None
    if AUDIT_VIEW in projectors:
        view = projectors[AUDIT_VIEW].view
        sealer = view if isinstance(view, SealerView) else None
        state = sealer.state_path if sealer else env.get(STATE_ENV) or DEFAULT_STATE
        audit = _audit_watch(app, db, signing_key_path, state, env)
        audit.sealer = sealer
        audit.start()
        exporter._closers.append(audit.stop)
    collector = ProjectorCollector(app, db, list(projectors), audit)
    exporter._closers.append(observe_batches(collector.count))
    exporter._closers.append(observe_failures(collector.count_failure))
    exporter.collector = collector
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, host, registry)
    except OSError as error:
        log.warning("projector metrics not served on %s:%d: %s", host, port, error)
        return exporter
    exporter.port = int(server.server_port)
    exporter._closers.append(server.server_close)
    exporter._closers.append(server.shutdown)
    log.info("projector metrics on http://%s:%d/metrics", host, exporter.port)
    return exporter


def _audit_watch(
    app: ValuetrailApplication,
    db: ViewDatabase,
    signing_key_path: str,
    state: str,
    env: Mapping[str, str],
) -> AuditWatch:
    public_key = load_or_create_signing_key(signing_key_path).public_key()
    interval = float(env.get(VERIFY_ENV, str(DEFAULT_VERIFY_SECONDS)))

    def verify() -> tuple[bool, str | None]:
        result = verify_store(app, db, public_key, state)
        return result.verified, result.reason

    return AuditWatch(verify, interval)
