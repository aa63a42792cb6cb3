"""What the store holds for a demo portfolio, counted for the person who loaded it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from demo.parse import load_story
from demo.playback import PMO
from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.values import DECISIONS


@dataclass(frozen=True)
class DemoSummary:
    """What the store holds for the demo portfolio, and whether this call loaded it."""

    portfolio_id: UUID
    name: str
    loaded: bool  # False: the demo was already in the store and nothing was written
    currency: str
    base_month: str
    goals: int
    initiatives: Mapping[str, int]  # by kind
    statuses: Mapping[str, int]
    benefits: Mapping[str, int]  # by category
    disbenefits: int
    measurements: int
    corrections: int
    decisions: Mapping[str, int]  # by decision kind
    lessons: int
    spend_to_date: Decimal
    examples: Mapping[str, UUID] = field(default_factory=dict)
    head_position: int = 0
    seconds: float = 0.0

    def curl_commands(self, base_url: str = "http://127.0.0.1:8000") -> list[str]:
        """Requests that show the demo through the API (the token goes in $TOKEN)."""
        api = base_url.rstrip("/") + "/api/v1"
        auth = 'curl -s -H "Authorization: Bearer $TOKEN" '
        paths = [
            f"/portfolios/{self.portfolio_id}",
            f"/initiatives?portfolio_id={self.portfolio_id}",
        ]
        if "stopped" in self.examples:
            paths.append(f"/initiatives/{self.examples['stopped']}/decisions")
        if "completed" in self.examples:
            paths.append(f"/benefits?initiative_id={self.examples['completed']}")
        if "typical_benefit" in self.examples:
            paths.append(f"/benefits/{self.examples['typical_benefit']}/measurements")
        return [f"{auth}'{api}{path}'" for path in paths]

    def describe(self, base_url: str = "http://127.0.0.1:8000") -> str:
        """A few lines for a person: what is there and how to look at it."""
        if self.loaded:
            head = f'Loaded the demo portfolio "{self.name}" in {self.seconds:.1f} s.'
        else:
            head = f'The demo portfolio "{self.name}" is already loaded; nothing was added.'
        lines = [
            head,
            f"  portfolio id   {self.portfolio_id}",
            f"  base month     {self.base_month} ({self.currency})",
            f"  goals          {self.goals}",
            f"  initiatives    {_counted(self.initiatives)}",
            f"  statuses       {_counted(self.statuses)}",
            f"  benefits       {_counted(self.benefits)}, {self.disbenefits} dis-benefits",
            f"  measurements   {self.measurements:,} ({self.corrections} corrected)",
            f"  decisions      {_counted(self.decisions)}",
            f"  lessons        {self.lessons}",
            f"  spend recorded {self.currency} {self.spend_to_date:,.2f}",
            "",
            "See it through the API (put an API key's token in $TOKEN):",
            *(f"  {command}" for command in self.curl_commands(base_url)),
        ]
        return "\n".join(lines)


def _counted(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{n} {name}" for name, n in counts.items())
    return f"{total} ({parts})" if parts else str(total)


def find_demo(app: ValuetrailApplication, name: str | None = None) -> Portfolio | None:
    """The demo portfolio, if the store has one: its name, created by the demo's actor.

    `name` is the story's portfolio name (default: the packaged story's).
    """
    name = load_story().name if name is None else name
    for portfolio in app.list_portfolios():
        if portfolio.name == name and _created_by_demo(app, portfolio.id):
            return portfolio
    return None


def _created_by_demo(app: ValuetrailApplication, portfolio_id: UUID) -> bool:
    created = app.history(portfolio_id)[0]
    return getattr(created, "actor", None) == PMO


def summarise(
    app: ValuetrailApplication,
    portfolio_id: UUID,
    *,
    loaded: bool,
    seconds: float = 0.0,
    typical_benefit: str | None = None,
) -> DemoSummary:
    """Count what the store holds for a portfolio; `typical_benefit` is a benefit's title."""
    portfolio = app.get_portfolio(portfolio_id)
    initiatives = app.list_initiatives(portfolio_id)
    benefits: dict[UUID, Benefit] = {}
    for initiative in initiatives:
        for benefit in app.benefits_of(initiative.id):
            benefits.setdefault(benefit.id, benefit)
    decisions: dict[str, int] = {}
    for initiative in initiatives:
        for decision in initiative.decisions:
            decisions[decision["decision"]] = decisions.get(decision["decision"], 0) + 1
    return DemoSummary(
        portfolio_id=portfolio_id,
        name=portfolio.name,
        loaded=loaded,
        currency=portfolio.currency,
        base_month=portfolio.base_month,
        goals=len(portfolio.goals),
        initiatives=_tally(i.kind for i in initiatives),
        statuses=_tally(i.status for i in initiatives),
        benefits=_tally(b.category for b in benefits.values()),
        disbenefits=sum(1 for b in benefits.values() if b.disbenefit),
        measurements=sum(b.measurement_count for b in benefits.values()),
        corrections=sum(len(b.corrected) for b in benefits.values()),
        decisions={d: decisions[d] for d in DECISIONS if d in decisions},
        lessons=sum(len(i.lessons) for i in initiatives),
        spend_to_date=sum((i.spend_to_date for i in initiatives), Decimal(0)),
        examples=_examples(initiatives, list(benefits.values()), typical_benefit),
        head_position=app.head_position(),
        seconds=seconds,
    )


def _tally(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _examples(
    initiatives: Sequence[Initiative], benefits: Sequence[Benefit], typical: str | None
) -> dict[str, UUID]:
    found: dict[str, UUID] = {}
    for initiative in initiatives:
        for name, matches in (
            ("programme", initiative.kind == "programme"),
            ("stopped", initiative.status == "stopped"),
            ("completed", initiative.status == "completed"),
        ):
            if matches:
                found.setdefault(name, initiative.id)
    for benefit in benefits:
        if benefit.title == typical:
            found["typical_benefit"] = benefit.id
    return found
