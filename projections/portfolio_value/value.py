"""The portfolio value view as recorded at an instant: the figures of DESIGN §3 from view rows.

The rows say what was recorded by `as_of` (transaction time); the value rules of
`domain.valuation` turn them into figures, exactly as they do for decision evidence.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import defaultdict
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from domain.valuation import (
    BenefitFacts,
    BenefitMoney,
    ForecastMoney,
    InitiativeFacts,
    Measured,
    PortfolioTerms,
    Running,
    ValueFigures,
    benefit_money,
    benefit_value,
    effective_shares,
    initiative_value,
    measured,
    money,
    percent,
    portfolio_totals,
    ratio,
    unattributed_pv_benefits,
)
from projections.codec import loads, months_from_text
from projections.db import Cursor, PostgresViewDatabase, ViewDatabase
from projections.view import instant_text

VISIBLE = "recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)"


class BenefitRow(NamedTuple):
    """What a value read takes from a recorded benefit version (text, as stored)."""

    initiative_id: str
    category: str
    disbenefit: bool
    unit: str
    kind: str
    direction: str
    value_per_unit: str | None
    baseline: str
    target: str | None
    goal_id: str | None
    contributions: tuple[tuple[str, str], ...]
    terms: tuple[str, ...]  # the terms its forecast was valued under (`terms_key`)
    pv: str
    planned: str  # running totals (`Running.text`)
    title: str

    @classmethod
    def of(cls, facts: dict[str, Any]) -> BenefitRow:
        measure, target, money_ = facts["measure"], facts["target"], facts["forecast_money"]
        vpu = measure.get("value_per_unit")
        return cls(
            str(facts["initiative_id"]),
            facts["category"],
            bool(facts["disbenefit"]),
            measure["unit"],
            measure["kind"],
            measure["direction"],
            None if vpu is None else str(vpu),
            str(facts["baseline"]["value"]),
            None if target is None else str(target["value"]),
            None if facts.get("goal_id") in (None, "") else str(facts["goal_id"]),
            tuple((str(c["initiative_id"]), str(c["share"])) for c in facts["contributions"]),
            tuple(money_["terms"]),
            money_["pv"],
            money_["planned"],
            facts.get("title", ""),
        )

    def claimants(self) -> set[str]:
        """The initiatives the benefit counts for."""
        return {i for i, _ in self.contributions} or {self.initiative_id}


class InitiativeRow(NamedTuple):
    """What a value read takes from a recorded initiative version (text, as stored)."""

    kind: str
    name: str
    confidence: str
    status: str
    stopped_month: str | None
    terms: tuple[str, ...]  # the terms its cost forecast was valued under (`terms_key`)
    pv_costs: str
    # What the analytics read besides the value rules.
    sponsor: str
    leader: str | None
    start_month: str
    end_month: str
    mandatory: bool
    depends_on: tuple[str, ...]
    people_demand: tuple[tuple[str, str], ...]
    contingency: tuple[str, str] | None

    @classmethod
    def of(cls, facts: dict[str, Any]) -> InitiativeRow:
        money_ = facts["cost_money"]
        plan = facts.get("contingency")
        return cls(
            facts["kind"],
            facts["name"],
            str(facts["confidence"]),
            facts["status"],
            facts.get("stopped_month"),
            tuple(money_["terms"]),
            money_["pv"],
            facts.get("sponsor", ""),
            facts.get("leader"),
            facts.get("start_month", ""),
            facts.get("end_month", ""),
            bool(facts.get("mandatory", False)),
            tuple(str(d) for d in facts.get("depends_on", ())),
            tuple((role, str(fte)) for role, fte in sorted(facts.get("people_demand", {}).items())),
            None if plan is None else (plan["plan"], plan["trigger"]),
        )


@dataclass
class Recorded:
    """Everything recorded about one portfolio by an instant."""

    portfolio: dict[str, Any]
    initiatives: dict[str, InitiativeRow] = field(default_factory=dict)
    benefits: dict[str, BenefitRow] = field(default_factory=dict)
    #: Each benefit's actuals summed over the months up to the as-of month.
    measured: dict[str, Measured] = field(default_factory=dict)
    spend: dict[str, Decimal] = field(default_factory=dict)
    #: The forecasts (`months_text`) of the versions this read values again (`_read_forecasts`).
    forecasts: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=65_536)
def _id(text: str) -> UUID:
    """The UUID of an id stored as text (the same ids recur on every read)."""
    return UUID(text)


def _uuid(value: Any) -> UUID | None:
    return None if value in (None, "") else _id(str(value))


Row = dict[str, Any] | InitiativeRow | BenefitRow


class _Versions:
    """Decoded `vt_state` rows by (database, aggregate, version), shared by reads in a process.

    A version's row never changes once the projection wrote it (a rebuild writes the same), so
    a read decodes only the versions it has not seen. Initiatives and benefits are kept as
    flat tuples of text: one object each for the garbage collector to walk, not a dozen. At
    most `size` versions (about 1.5 kB each for a benefit with a 4-year forecast) are kept.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._rows: dict[tuple[str, str, int], Row] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> Row | None:
        return self._rows.get(key)

    def put(self, key: tuple[str, str, int], row: Row) -> None:
        with self._lock:
            if len(self._rows) >= self.size:  # forget the oldest tenth
                for old in list(itertools.islice(self._rows, max(1, self.size // 10))):
                    del self._rows[old]
            self._rows[key] = row


def _row(kind: str, facts: str) -> Row:
    decoded = loads(facts)
    if kind == "initiative":
        return InitiativeRow.of(decoded)
    return BenefitRow.of(decoded) if kind == "benefit" else decoded


_VERSIONS = _Versions()


def _read(
    cursor: Cursor,
    portfolio_id: UUID,
    at: str,
    month: str,
    *,
    lateral: bool = False,
    source: str = "",
) -> Recorded | None:
    visible = f"FROM vt_state WHERE portfolio_id = ? AND {VISIBLE}"
    params = (str(portfolio_id), at, at)
    cursor.execute(f"SELECT aggregate_id, version, kind {visible} ORDER BY first_position", params)
    rows = cursor.fetchall()
    unseen = [str(a) for a, v, _ in rows if _VERSIONS.get((source, a, int(v))) is None]
    query, values = f"SELECT aggregate_id, version, kind, facts {visible}", list(params)
    if len(unseen) <= 200:  # a few: name them; many: one more pass beats a long IN list
        query += f" AND aggregate_id IN ({', '.join('?' * len(unseen))})"
        values += unseen
    if unseen:
        cursor.execute(query, values)
        for aggregate_id, version, kind, facts in cursor.fetchall():
            key = (source, aggregate_id, int(version))
            if _VERSIONS.get(key) is None:
                _VERSIONS.put(key, _row(kind, facts))
    portfolio = None
    recorded = Recorded({})
    for aggregate_id, version, kind in rows:
        found = _VERSIONS.get((source, aggregate_id, int(version)))
        if found is None:  # forgotten by another read meanwhile: read it again
            cursor.execute(
                "SELECT facts FROM vt_state WHERE aggregate_id = ? AND version = ?",
                (aggregate_id, version),
            )
            found = _row(kind, cursor.fetchone()[0])
        if isinstance(found, InitiativeRow):
            recorded.initiatives[aggregate_id] = found
        elif isinstance(found, BenefitRow):
            recorded.benefits[aggregate_id] = found
        else:
            portfolio = found
    if portfolio is None:
        return None
    recorded.portfolio = portfolio
    versions = {str(a): int(v) for a, v, _ in rows}
    _read_forecasts(cursor, recorded, versions, terms_from(portfolio))
    kinds = {b: row.kind for b, row in recorded.benefits.items()}
    recorded.measured = _measured(cursor, portfolio_id, at, month, kinds, lateral=lateral)
    cursor.execute(
        "SELECT initiative_id, amount FROM vt_spend WHERE portfolio_id = ? AND recorded_at <= ?",
        (str(portfolio_id), at),
    )
    for initiative_id, amount in cursor.fetchall():
        recorded.spend[initiative_id] = recorded.spend.get(initiative_id, Decimal(0)) + Decimal(
            amount
        )
    return recorded


def _corrections(cursor: Cursor, portfolio_id: UUID, at: str) -> dict[str, str]:
    """Measurement id → its latest correction recorded by `at`."""
    cursor.execute(
        "SELECT measurement_id, value FROM vt_correction"
        " WHERE portfolio_id = ? AND recorded_at <= ? ORDER BY position",
        (str(portfolio_id), at),
    )
    return dict(cursor.fetchall())


def monthly_actuals(
    cursor: Cursor, portfolio_id: UUID, at: str, kinds: dict[str, str]
) -> dict[str, dict[str, Decimal]]:
    """Monthly actuals per benefit, folded as the benefit folds its events.

    In log order, a flow's month adds each amount and a level's month takes a measurement
    observed on the same day as its latest or later; a correction stands in for the value it
    corrects.
    """
    corrected = _corrections(cursor, portfolio_id, at)
    wanted = sorted(kinds)
    cursor.execute(
        "SELECT position, measurement_id, benefit_id, value, observed_on, month FROM vt_measurement"
        f" WHERE benefit_id IN ({', '.join('?' * len(wanted))}) AND recorded_at <= ?",
        (*wanted, at),
    )
    actuals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    observed: dict[tuple[str, str], str] = {}
    for _position, measurement_id, benefit_id, value, observed_on, month in sorted(
        cursor.fetchall()
    ):
        kind = kinds.get(benefit_id)
        if kind is None:
            continue
        amount = Decimal(corrected.get(measurement_id, value))
        months = actuals[benefit_id]
        if kind == "flow":
            months[month] = months.get(month, Decimal(0)) + amount
            continue
        latest = observed.get((benefit_id, month))
        if latest is None or observed_on >= latest:
            observed[benefit_id, month] = observed_on
            months[month] = amount
    return dict(actuals)


#: Each benefit's latest vt_measured row recorded by an instant (`?` instant, `?` portfolio).
_LATEST = (
    "SELECT m.benefit_id, m.total, m.months, m.last, m.last_month FROM vt_measured m JOIN ("
    "  SELECT benefit_id, MAX(position) AS position FROM vt_measured"
    "  WHERE recorded_at <= ? AND portfolio_id = ? GROUP BY benefit_id"
    ") latest ON latest.benefit_id = m.benefit_id AND latest.position = m.position"
)
#: The same, one index probe per benefit (PostgreSQL: about a third of the time of `_LATEST`).
_LATEST_LATERAL = (
    "SELECT m.benefit_id, m.total, m.months, m.last, m.last_month FROM vt_series_benefit s"
    " CROSS JOIN LATERAL (SELECT * FROM vt_measured x WHERE x.benefit_id = s.benefit_id"
    "  AND x.recorded_at <= ? ORDER BY x.position DESC LIMIT 1) m"
    " WHERE s.portfolio_id = ?"
)


def _measured(
    cursor: Cursor,
    portfolio_id: UUID,
    at: str,
    month: str,
    kinds: dict[str, str],
    *,
    lateral: bool,
) -> dict[str, Measured]:
    """Each benefit's actuals summed over the months up to `month`, as recorded at `at`.

    The projection keeps every benefit's sums after each change (`vt_measured`), so this reads
    one row per benefit. A benefit measured for a month after `month` (a level or amount
    observed ahead of the as-of month) is summed from its measurements instead.
    """
    cursor.execute(_LATEST_LATERAL if lateral else _LATEST, (at, str(portfolio_id)))
    sums: dict[str, Measured] = {}
    ahead: dict[str, str] = {}
    for benefit_id, total, months, last, last_month in cursor.fetchall():
        if benefit_id not in kinds:
            continue
        if last_month > month:
            ahead[benefit_id] = kinds[benefit_id]
            continue
        sums[benefit_id] = Measured(
            Decimal(total), int(months), None if last is None else Decimal(last)
        )
    if ahead:
        for benefit_id, actuals in monthly_actuals(cursor, portfolio_id, at, ahead).items():
            sums[benefit_id] = measured(actuals, month)
    return sums


def terms_from(portfolio: dict[str, Any]) -> PortfolioTerms:
    """Valuation terms from a portfolio's recorded facts."""
    return PortfolioTerms(
        currency=portfolio["currency"],
        discount_rate=Decimal(portfolio["discount_rate"]),
        base_month=portfolio["base_month"],
        rag_green=Decimal(portfolio["rag_green"]),
        rag_amber=Decimal(portfolio["rag_amber"]),
    )


class _Decimals(Mapping[str, Decimal]):
    """A version's forecast (`months_text` in vt_forecast), as Decimals on first use.

    A value read fetches it only for the versions it must value again (`_read_forecasts`); a
    rule that reaches for one not fetched is a bug, not a zero.
    """

    def __init__(self, text: str | None) -> None:
        self._text = text
        self._values: dict[str, Decimal] | None = None

    def _parsed(self) -> dict[str, Decimal]:
        if self._values is None:
            if self._text is None:
                raise RuntimeError("a forecast the value read did not fetch was needed")
            self._values = {m: Decimal(v) for m, v in months_from_text(self._text).items()}
        return self._values

    def __getitem__(self, month: str) -> Decimal:
        return self._parsed()[month]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    # The parsed dict's own views: Mapping's defaults look every month up one at a time.
    def items(self) -> ItemsView[str, Decimal]:
        return self._parsed().items()

    def values(self) -> ValuesView[Decimal]:
        return self._parsed().values()

    def keys(self) -> KeysView[str]:
        return self._parsed().keys()


def _read_forecasts(
    cursor: Cursor, recorded: Recorded, versions: dict[str, int], terms: PortfolioTerms
) -> None:
    """Fetch the forecasts a value read must value again: those of stopped initiatives and of
    the benefits they claim (valued around the stop), and any valued under other terms."""
    key = terms_key(terms)
    stopped = {i for i, row in recorded.initiatives.items() if row.status == "stopped"}
    wanted = [i for i, row in recorded.initiatives.items() if i in stopped or row.terms != key]
    wanted += [
        b for b, row in recorded.benefits.items() if row.claimants() & stopped or row.terms != key
    ]
    for chunk in range(0, len(wanted), 500):
        ids = wanted[chunk : chunk + 500]
        cursor.execute(
            "SELECT aggregate_id, version, months FROM vt_forecast"
            f" WHERE aggregate_id IN ({', '.join('?' * len(ids))})",
            ids,
        )
        for aggregate_id, version, months in cursor.fetchall():
            if versions[aggregate_id] == int(version):
                recorded.forecasts[aggregate_id] = months


def benefit_facts_from(benefit_id: str, row: BenefitRow, forecast: str | None) -> BenefitFacts:
    """Valuation facts of a recorded benefit version (actuals come summed: `measured`; its
    forecast is given when the read fetched it)."""
    return BenefitFacts(
        benefit_id=_id(benefit_id),
        initiative_id=_id(row.initiative_id),
        category=row.category,
        disbenefit=row.disbenefit,
        unit=row.unit,
        kind=row.kind,
        direction=row.direction,
        value_per_unit=None if row.value_per_unit is None else Decimal(row.value_per_unit),
        baseline=Decimal(row.baseline),
        target=None if row.target is None else Decimal(row.target),
        forecast=_Decimals(forecast),
        actuals={},
        shares={_id(i): Decimal(share) for i, share in row.contributions},
        goal_id=_uuid(row.goal_id),
    )


def _forecast(row: BenefitRow, key: tuple[str, ...]) -> ForecastMoney | None:
    """The forecast's value the projection stored with this version, if the terms hold."""
    if row.terms != key:
        return None
    return ForecastMoney(Decimal(row.pv), Running.from_text(row.planned))


def terms_key(terms: PortfolioTerms) -> tuple[str, str, str]:
    """What a forecast's value depends on, as stored beside it."""
    return (terms.currency, str(terms.discount_rate), terms.base_month)


def initiative_facts_from(
    initiative_id: str, row: InitiativeRow, spend: Decimal, cost_forecast: str | None
) -> InitiativeFacts:
    """Valuation facts of a recorded initiative version and its spend (its cost forecast is
    given when the read fetched it)."""
    return InitiativeFacts(
        initiative_id=_id(initiative_id),
        confidence=Decimal(row.confidence),
        cost_forecast=_Decimals(cost_forecast),
        spend_to_date=spend,
        status=row.status,
        stopped_month=row.stopped_month,
    )


def present(figures: ValueFigures) -> dict[str, Any]:
    """Figures as the API answers them: money 2 dp, ratios 2 dp, percentages 1 dp."""
    return {
        "pv_benefits": money(figures.pv_benefits),
        "pv_costs": money(figures.pv_costs),
        "npv": money(figures.npv),
        "bcr": ratio(figures.bcr),
        "roi": ratio(figures.roi),
        "risk_adjusted_npv": money(figures.risk_adjusted_npv),
        "vfm_band": figures.vfm_band,
        "realised_to_date": money(figures.realised_to_date),
        "forecast_to_date": money(figures.forecast_to_date),
        "realisation_pct": percent(figures.realisation_pct),
        "rag": figures.rag,
        "spend_to_date": money(figures.spend_to_date),
        "forgone_pv_benefits": money(figures.forgone_pv_benefits),
        "avoided_pv_costs": money(figures.avoided_pv_costs),
    }


@dataclass
class PortfolioValue:
    """Unrounded figures of a portfolio (for metrics and tests) and its presented view."""

    body: dict[str, Any]
    totals: ValueFigures
    red_benefits: int


def valued_benefits(
    recorded: Recorded, terms: PortfolioTerms, month: str
) -> tuple[list[BenefitFacts], dict[UUID, BenefitMoney]]:
    """Each recorded benefit's valuation facts and its money figures as at `month`."""
    key = terms_key(terms)
    benefits: list[BenefitFacts] = []
    money_of: dict[UUID, BenefitMoney] = {}
    nothing = Measured(Decimal(0), 0, None)
    for benefit_id, row in recorded.benefits.items():
        benefit = benefit_facts_from(benefit_id, row, recorded.forecasts.get(benefit_id))
        benefits.append(benefit)
        money_of[benefit.benefit_id] = benefit_money(
            benefit,
            terms,
            month,
            forecast=_forecast(row, key),
            seen=recorded.measured.get(benefit_id, nothing),
        )
    return benefits, money_of


def value_of(recorded: Recorded, portfolio_id: UUID, at: datetime) -> PortfolioValue:
    """Compute the value view of a recorded portfolio, as of `at` (its month bounds 'to date')."""
    terms = terms_from(recorded.portfolio)
    month = month_of_instant(at)
    key = terms_key(terms)
    benefits, money_of = valued_benefits(recorded, terms, month)
    by_initiative: dict[UUID, list[BenefitFacts]] = defaultdict(list)
    for benefit in benefits:
        for claimant in effective_shares(benefit):
            by_initiative[claimant].append(benefit)
    rows = []
    figures = []
    for initiative_id, recorded_as in recorded.initiatives.items():
        initiative = initiative_facts_from(
            initiative_id,
            recorded_as,
            recorded.spend.get(initiative_id, Decimal(0)),
            recorded.forecasts.get(initiative_id),
        )
        claimed = by_initiative[initiative.initiative_id]
        pv_costs = Decimal(recorded_as.pv_costs) if recorded_as.terms == key else None
        value = initiative_value(initiative, claimed, terms, month, money_of, pv_costs)
        figures.append(value)
        rows.append(
            {
                "initiative_id": initiative_id,
                "name": recorded_as.name,
                "kind": recorded_as.kind,
                "status": recorded_as.status,
                "confidence": recorded_as.confidence,
                **present(value),
            }
        )
    totals = portfolio_totals(figures, terms)
    unattributed = sum(
        (unattributed_pv_benefits(b, terms, money_of[b.benefit_id]) for b in benefits), Decimal(0)
    )
    benefit_values = {
        b.benefit_id: benefit_value(b, terms, month, money_of[b.benefit_id]) for b in benefits
    }
    by_goal: dict[UUID | None, list[BenefitFacts]] = defaultdict(list)
    for benefit in benefits:
        by_goal[benefit.goal_id].append(benefit)
    goals = []
    for goal in recorded.portfolio["goals"]:
        if goal.get("retired"):
            continue
        served = by_goal.get(_id(str(goal["goal_id"])), [])
        goals.append(
            {
                "goal_id": str(goal["goal_id"]),
                "title": goal["title"],
                "weight": str(goal["weight"]),
                "pv_benefits": money(
                    sum((benefit_values[b.benefit_id].pv_benefits for b in served), Decimal(0))
                ),
                "realised_to_date": money(
                    sum((benefit_values[b.benefit_id].realised_to_date for b in served), Decimal(0))
                ),
            }
        )
    body = {
        "portfolio_id": str(portfolio_id),
        "as_of": at.isoformat(),
        "currency": terms.currency,
        "totals": {**present(totals), "unattributed_pv_benefits": money(unattributed)},
        "initiatives": rows,
        "goals": goals,
    }
    red = sum(1 for v in benefit_values.values() if v.rag == "red")
    return PortfolioValue(body, totals, red)


def month_of_instant(at: datetime) -> str:
    """The UTC month of an instant: what "to date" means for a value view as of it."""
    return f"{at.year:04d}-{at.month:02d}"


def read_recorded(
    db: ViewDatabase, cursor: Cursor, portfolio_id: UUID, at: datetime
) -> Recorded | None:
    """Everything recorded about a portfolio by `at` (UTC), actuals summed up to its month."""
    return _read(
        cursor,
        portfolio_id,
        instant_text(at),
        month_of_instant(at),
        lateral=isinstance(db, PostgresViewDatabase),
        source=db.url,
    )


def portfolio_value(
    db: ViewDatabase, portfolio_id: UUID, as_of: datetime | None = None
) -> PortfolioValue | None:
    """The value view of a portfolio as recorded at `as_of` (now when None); None if unknown."""
    at = (as_of or datetime.now(UTC)).astimezone(UTC)
    with db.read() as cursor:
        recorded = read_recorded(db, cursor, portfolio_id, at)
    return None if recorded is None else value_of(recorded, portfolio_id, at)
