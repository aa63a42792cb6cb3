"""`valuetrail demo`: load a realistic sample portfolio through the application's use cases.

The story covers three years of a public-sector transformation portfolio, month by month, so the
event log reads in the order things happened: proposals and business cases, board decisions of
every kind (each capturing the evidence as it stood), spend from the finance ledger, benefit
measurements from finance and operations feeds, re-forecasts, corrections, a stopped project with
its lessons and a completed one whose benefits go on being measured.

Everything is relative to `today`: the portfolio's base month is 36 months before today's month,
and measurements cover the 36 complete months since. Values come from `random.Random(2026)`, so
two loads on the same day write the same figures. Loading is idempotent: when the store already
holds the demo portfolio (found by name and by the demo's actor), nothing is written and the
summary says so.
"""

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any
from uuid import UUID

from domain.application import AlreadyHandledError, IdempotentRequest, ValuetrailApplication
from domain.benefit import Benefit
from domain.initiative import Initiative
from domain.months import add_months, month_of, utc_now
from domain.portfolio import Portfolio
from domain.values import Meta

DEMO_NAME = "Public Services Transformation"
SEED = 2026
HISTORY_MONTHS = 36  # months of recorded history before today's month
HORIZON_MONTHS = 60  # months the budget and forecasts cover, from the base month

# Who did what, as the audit trail shows it. The portfolio office's actor also marks the demo.
PMO = "demo/portfolio-office"
FINANCE = "demo/finance-ledger"
OPS = "demo/ops-dashboard"
FINANCE_SOURCE = "finance-ledger"
OPS_SOURCE = "ops-dashboard"
SPEND_SOURCE = "ledger"
INVESTMENT_BOARD = "Investment Board"
PORTFOLIO_COMMITTEE = "Portfolio Committee"

TYPICAL_BENEFIT = "Cost per benefit claim processed"
ROLES = ("delivery_manager", "engineer", "analyst", "designer")


# -- the story, as data ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Goal:
    key: str
    title: str
    description: str
    weight: str


@dataclass(frozen=True)
class _Initiative:
    key: str  # short code, also used in ledger external ids
    kind: str
    name: str
    description: str
    sponsor: str
    leader: str | None
    proposed: int  # month offsets from the base month
    start: int
    end: int
    confidence: str
    monthly_cost: int
    people: Mapping[str, str]
    parent: str | None = None
    depends_on: tuple[str, ...] = ()
    mandatory: bool = False
    spend_bias: str = "1.00"  # actual spend / forecast, on average


@dataclass(frozen=True)
class _Benefit:
    key: str  # short code, also used in measurement external ids
    initiative: str
    title: str
    description: str
    category: str
    goal: str
    owner: str
    measure: str  # measure name
    unit: str
    kind: str  # flow | level
    baseline: str  # level: the level before; flow: 0
    target: str  # level: the level aimed for; flow: the monthly amount at full benefit
    identified: int
    start: int  # first month of improvement
    ramp: int  # months to full benefit
    performance: str  # delivered improvement / forecast improvement
    direction: str = "increase"
    value_per_unit: str | None = None
    disbenefit: bool = False
    until: int | None = None  # last month of a temporary (flow) effect
    places: int = 2

    @property
    def source(self) -> str:
        """Cash benefits come from the finance ledger, everything else from operations."""
        return FINANCE_SOURCE if self.category == "cashable" else OPS_SOURCE

    @property
    def first_measured(self) -> int:
        """Levels are observed from identification (the baseline); flows once they flow."""
        return self.identified if self.kind == "level" else self.start


@dataclass(frozen=True)
class _Decision:
    month: int
    initiative: str
    decision: str
    reason_code: str
    rationale: str
    conditions: str | None = None
    delay_until: int | None = None
    review_in: int | None = 3
    refs: tuple[str, ...] = ()

    @property
    def decided_by(self) -> str:
        """Gate reviews go to the committee; money and direction to the board."""
        return PORTFOLIO_COMMITTEE if self.decision == "continue" else INVESTMENT_BOARD


@dataclass(frozen=True)
class _Confidence:
    month: int
    initiative: str
    confidence: str
    reason: str


@dataclass(frozen=True)
class _Leader:
    month: int
    initiative: str
    leader: str
    reason: str


@dataclass(frozen=True)
class _Contingency:
    month: int
    initiative: str
    plan: str
    trigger: str


@dataclass(frozen=True)
class _Lesson:
    month: int
    initiative: str
    category: str
    text: str


@dataclass(frozen=True)
class _CostRevision:
    month: int
    initiative: str
    factor: str  # applied to the monthly rate from this month on
    reason: str
    new_start: int | None = None
    new_end: int | None = None


@dataclass(frozen=True)
class _Reforecast:
    month: int
    benefit: str
    factor: str  # applied to the forecast improvement from this month on
    reason: str


@dataclass(frozen=True)
class _Attribution:
    month: int
    benefit: str
    shares: tuple[tuple[str, str], ...]
    reason: str


@dataclass(frozen=True)
class _Close:
    month: int
    benefit: str
    reason: str


@dataclass(frozen=True)
class _Correction:
    month: int  # when the correction is recorded
    benefit: str
    of_month: int  # the month whose measurement was wrong
    recorded_factor: str  # what the feed first sent, as a multiple of the true value
    reason: str


GOALS = (
    _Goal(
        "cheaper",
        "Cheaper public services",
        "Cut the cost to serve per transaction by a third within five years.",
        "3",
    ),
    _Goal(
        "faster",
        "Faster outcomes for citizens",
        "Decide claims and resolve enquiries in days, not weeks.",
        "3",
    ),
    _Goal(
        "resilient",
        "Resilient infrastructure",
        "No critical service depends on end-of-life hardware or a single site.",
        "2",
    ),
    _Goal(
        "greener",
        "Greener estate",
        "Halve operational carbon emissions from the estate and data centres.",
        "1.5",
    ),
    _Goal(
        "trusted",
        "Trusted, inclusive services",
        "Services that everyone can use, that people rate highly and staff are proud of.",
        "1",
    ),
)

DG = "Amara Okafor, Director General Citizen Services"
CDIO = "Richard Hale, Chief Digital and Information Officer"
COO = "Helen Marsh, Chief Operating Officer"
CFO = "Jonathan Reid, Chief Finance Officer"


def _people(dm: str, eng: str, analyst: str, designer: str) -> dict[str, str]:
    return dict(zip(ROLES, (dm, eng, analyst, designer), strict=True))


INITIATIVES = (
    _Initiative(
        "DBD",
        "programme",
        "Digital by Default",
        "Move the department's highest-volume transactions online end to end, with assisted "
        "digital support for the people who need it.",
        DG,
        "Priya Raman",
        proposed=0,
        start=0,
        end=35,
        confidence="0.75",
        monthly_cost=60_000,
        people=_people("1", "0", "1", "0.5"),
    ),
    _Initiative(
        "OBC",
        "project",
        "Online Benefit Claims",
        "Replace the 24-page paper claim form with an online service wired to the eligibility "
        "engine.",
        DG,
        "Tom Hughes",
        proposed=0,
        start=0,
        end=18,
        confidence="0.8",
        monthly_cost=185_000,
        people=_people("1", "8", "2", "3"),
        parent="DBD",
        spend_bias="1.06",
    ),
    _Initiative(
        "DIV",
        "project",
        "Digital Identity Verification",
        "Verify claimants' identity online against trusted sources instead of posted documents.",
        CDIO,
        "Tom Hughes",
        proposed=1,
        start=1,
        end=20,
        confidence="0.7",
        monthly_cost=150_000,
        people=_people("1", "6", "1", "1"),
        parent="DBD",
        spend_bias="1.04",
    ),
    _Initiative(
        "PCW",
        "project",
        "Paperless Casework",
        "Scan on arrival and keep digital case files, so caseworkers never handle paper.",
        COO,
        "Sofia Marin",
        proposed=3,
        start=6,
        end=26,
        confidence="0.72",
        monthly_cost=120_000,
        people=_people("1", "5", "2", "1"),
        parent="DBD",
        depends_on=("DIV",),
    ),
    _Initiative(
        "DCX",
        "project",
        "Data Centre Exit",
        "Migrate 240 workloads from the ageing Croydon data centre to public cloud and close the "
        "site before its lease ends.",
        CDIO,
        "Daniel Osei",
        proposed=0,
        start=0,
        end=24,
        confidence="0.65",
        monthly_cost=220_000,
        people=_people("1", "10", "1", "0"),
        spend_bias="1.05",
    ),
    _Initiative(
        "LPP",
        "project",
        "Legacy Payments Platform Replacement",
        "Replace the 1990s mainframe payments engine with a packaged payments product.",
        CFO,
        "Elena Petrova",
        proposed=1,
        start=1,
        end=30,
        confidence="0.6",
        monthly_cost=310_000,
        people=_people("2", "12", "3", "0"),
        spend_bias="1.18",
    ),
    _Initiative(
        "CAA",
        "product",
        "Citizen Account App",
        "One mobile app to check a claim, report a change of circumstances and message a "
        "caseworker.",
        DG,
        "Tom Hughes",
        proposed=2,
        start=2,
        end=59,
        confidence="0.85",
        monthly_cost=95_000,
        people=_people("1", "5", "1", "2"),
        depends_on=("OBC",),
        spend_bias="0.98",
    ),
    _Initiative(
        "DCC",
        "service",
        "Digital Contact Centre",
        "An omnichannel contact service (web chat, call-backs and phone) replacing three "
        "regional call centres.",
        COO,
        "Grace Adeyemi",
        proposed=0,
        start=0,
        end=59,
        confidence="0.9",
        monthly_cost=140_000,
        people=_people("1", "2", "2", "1"),
        spend_bias="0.97",
    ),
    _Initiative(
        "EDR",
        "project",
        "Estate Decarbonisation Retrofit",
        "Heat pumps, LED lighting and insulation across 14 regional offices.",
        COO,
        "Owen Price",
        proposed=1,
        start=4,
        end=26,
        confidence="0.7",
        monthly_cost=210_000,
        people=_people("1", "0", "1", "0"),
    ),
    _Initiative(
        "ARC",
        "project",
        "Accessibility Regulations Compliance",
        "Bring every public-facing service up to WCAG 2.2 AA, as the Public Sector Bodies "
        "Accessibility Regulations require.",
        DG,
        "Hannah Clarke",
        proposed=0,
        start=0,
        end=30,
        confidence="0.9",
        monthly_cost=55_000,
        people=_people("0.5", "2", "0", "2"),
        mandatory=True,
        spend_bias="0.99",
    ),
    _Initiative(
        "AIT",
        "project",
        "AI-Assisted Casework Triage",
        "Route incoming evidence to the right caseworker queue with a supervised classifier; "
        "humans decide every case.",
        CDIO,
        None,
        proposed=32,
        start=36,
        end=48,
        confidence="0.55",
        monthly_cost=85_000,
        people=_people("1", "4", "2", "1"),
        depends_on=("PCW",),
    ),
)

BENEFITS = (
    # -- Online Benefit Claims
    _Benefit(
        "OBC-CPT",
        "OBC",
        TYPICAL_BENEFIT,
        "Fully loaded cost of processing one claim. Each £1 saved is worth £42,000 a month at "
        "current volumes.",
        "cashable",
        "cheaper",
        "Ruth Bennett, Claims Service Owner",
        "Cost per claim",
        "GBP per claim",
        "level",
        baseline="14.20",
        target="7.50",
        identified=0,
        start=4,
        ramp=18,
        performance="1.08",
        direction="decrease",
        value_per_unit="42000",
    ),
    _Benefit(
        "OBC-DAYS",
        "OBC",
        "Days from claim to decision",
        "Average calendar days from a complete claim to a decision letter.",
        "quantitative",
        "faster",
        "Ruth Bennett, Claims Service Owner",
        "Average days to decision",
        "days",
        "level",
        baseline="28",
        target="10",
        identified=0,
        start=4,
        ramp=16,
        performance="1.00",
        direction="decrease",
        places=1,
    ),
    _Benefit(
        "OBC-PAPER",
        "OBC",
        "Printing and postage savings",
        "Claim packs, reminder letters and return postage no longer sent.",
        "cashable",
        "cheaper",
        "Ruth Bennett, Claims Service Owner",
        "Monthly printing and postage saved",
        "GBP",
        "flow",
        baseline="0",
        target="38000",
        identified=0,
        start=4,
        ramp=12,
        performance="1.10",
    ),
    _Benefit(
        "OBC-CALLS",
        "OBC",
        "Avoidable phone contacts removed",
        "Progress-chasing and form-help calls that no longer happen, valued at the £4.10 cost "
        "of handling a call (staff time released, not cash).",
        "non_cashable",
        "cheaper",
        "Grace Adeyemi, Head of Contact",
        "Avoidable calls removed per month",
        "calls",
        "flow",
        baseline="0",
        target="52000",
        identified=0,
        start=4,
        ramp=14,
        performance="0.95",
        value_per_unit="4.10",
        places=0,
    ),
    _Benefit(
        "OBC-DISRUPT",
        "OBC",
        "Temporary service disruption cost",
        "Overtime and agency staff to clear claims delayed while the paper and online routes "
        "ran in parallel during migration.",
        "cashable",
        "cheaper",
        "Ruth Bennett, Claims Service Owner",
        "Monthly disruption cost",
        "GBP",
        "flow",
        baseline="0",
        target="45000",
        identified=5,
        start=7,
        ramp=1,
        performance="1.30",
        disbenefit=True,
        until=13,
    ),
    # -- Digital Identity Verification
    _Benefit(
        "DIV-FRAUD",
        "DIV",
        "Identity fraud losses prevented",
        "Payments not made to claims that fail online identity checks.",
        "cashable",
        "cheaper",
        "Mark Ellis, Head of Counter Fraud",
        "Monthly fraud losses prevented",
        "GBP",
        "flow",
        baseline="0",
        target="120000",
        identified=1,
        start=4,
        ramp=12,
        performance="0.70",
    ),
    _Benefit(
        "DIV-TIME",
        "DIV",
        "Time to verify a claimant's identity",
        "Days from claim to identity confirmed (posted documents took over a week).",
        "quantitative",
        "faster",
        "Ruth Bennett, Claims Service Owner",
        "Average days to verify identity",
        "days",
        "level",
        baseline="9",
        target="1",
        identified=1,
        start=4,
        ramp=12,
        performance="0.90",
        direction="decrease",
        places=1,
    ),
    _Benefit(
        "DIV-HOURS",
        "DIV",
        "Caseworker hours released from manual identity checks",
        "Hours no longer spent checking posted documents, valued at £28.50 an hour.",
        "non_cashable",
        "cheaper",
        "Sofia Marin, Head of Casework",
        "Hours released per month",
        "hours",
        "flow",
        baseline="0",
        target="6500",
        identified=1,
        start=5,
        ramp=12,
        performance="0.80",
        value_per_unit="28.50",
        places=0,
    ),
    # -- Paperless Casework
    _Benefit(
        "PCW-STORE",
        "PCW",
        "Document storage and courier costs avoided",
        "Off-site archive boxes and inter-office courier runs no longer needed.",
        "cashable",
        "cheaper",
        "Sofia Marin, Head of Casework",
        "Monthly storage and courier saving",
        "GBP",
        "flow",
        baseline="0",
        target="26000",
        identified=3,
        start=8,
        ramp=12,
        performance="1.00",
    ),
    _Benefit(
        "PCW-BACKLOG",
        "PCW",
        "Casework backlog",
        "Cases open for more than 20 working days.",
        "quantitative",
        "faster",
        "Sofia Marin, Head of Casework",
        "Open cases older than 20 days",
        "cases",
        "level",
        baseline="18500",
        target="6000",
        identified=3,
        start=8,
        ramp=18,
        performance="0.80",
        direction="decrease",
        places=0,
    ),
    _Benefit(
        "PCW-STAFF",
        "PCW",
        "Caseworker satisfaction with casework tools",
        "Monthly pulse survey index (0-100).",
        "qualitative",
        "trusted",
        "Sofia Marin, Head of Casework",
        "Tools satisfaction index",
        "points",
        "level",
        baseline="48",
        target="70",
        identified=3,
        start=8,
        ramp=18,
        performance="1.05",
        places=1,
    ),
    # -- Digital by Default (programme-level outcomes)
    _Benefit(
        "DBD-TAKEUP",
        "DBD",
        "Digital take-up of high-volume transactions",
        "Share of the ten highest-volume transactions completed online.",
        "quantitative",
        "faster",
        DG,
        "Digital take-up",
        "%",
        "level",
        baseline="22",
        target="80",
        identified=0,
        start=3,
        ramp=30,
        performance="1.02",
        places=1,
    ),
    _Benefit(
        "DBD-CSAT",
        "DBD",
        "Customer satisfaction",
        "Post-transaction satisfaction score across digital and assisted channels.",
        "qualitative",
        "trusted",
        DG,
        "Customer satisfaction score",
        "points",
        "level",
        baseline="61",
        target="80",
        identified=0,
        start=4,
        ramp=24,
        performance="0.95",
        places=1,
    ),
    # -- Data Centre Exit
    _Benefit(
        "DCX-HOST",
        "DCX",
        "Hosting and data centre running costs avoided",
        "Co-location, power and hardware maintenance no longer paid, net of cloud run cost.",
        "cashable",
        "cheaper",
        "Richard Hale, CDIO",
        "Monthly hosting saving",
        "GBP",
        "flow",
        baseline="0",
        target="175000",
        identified=0,
        start=6,
        ramp=24,
        performance="0.85",
    ),
    _Benefit(
        "DCX-CARBON",
        "DCX",
        "Data centre carbon emissions",
        "Scope 2 emissions of the Croydon site, valued at a £250 per tonne shadow carbon price.",
        "non_cashable",
        "greener",
        "Laura Chen, Head of Sustainability",
        "Data centre emissions",
        "tCO2e per month",
        "level",
        baseline="410",
        target="60",
        identified=0,
        start=6,
        ramp=24,
        performance="0.90",
        direction="decrease",
        value_per_unit="250",
        places=1,
    ),
    _Benefit(
        "DCX-UPTIME",
        "DCX",
        "Availability of critical services",
        "Monthly availability of the 40 services rated critical.",
        "quantitative",
        "resilient",
        "Richard Hale, CDIO",
        "Availability",
        "%",
        "level",
        baseline="99.20",
        target="99.90",
        identified=0,
        start=6,
        ramp=18,
        performance="1.00",
    ),
    _Benefit(
        "DCX-INC",
        "DCX",
        "Major incidents",
        "Priority 1 incidents affecting a critical service.",
        "quantitative",
        "resilient",
        "Richard Hale, CDIO",
        "Major incidents per month",
        "incidents",
        "level",
        baseline="6",
        target="1",
        identified=0,
        start=6,
        ramp=18,
        performance="0.90",
        direction="decrease",
        places=0,
    ),
    # -- Legacy Payments Platform Replacement (stopped)
    _Benefit(
        "LPP-LIC",
        "LPP",
        "Legacy licence and support costs avoided",
        "Mainframe licences and the extended support contract, once the old engine is off.",
        "cashable",
        "cheaper",
        CFO,
        "Monthly licence and support saving",
        "GBP",
        "flow",
        baseline="0",
        target="140000",
        identified=1,
        start=31,
        ramp=6,
        performance="0",
    ),
    _Benefit(
        "LPP-FAIL",
        "LPP",
        "Failed payment rate",
        "Share of outgoing payments rejected or returned.",
        "quantitative",
        "resilient",
        CFO,
        "Failed payments",
        "%",
        "level",
        baseline="1.80",
        target="0.30",
        identified=1,
        start=18,
        ramp=12,
        performance="0.30",
        direction="decrease",
    ),
    # -- Citizen Account App
    _Benefit(
        "CAA-SELF",
        "CAA",
        "Self-service changes of circumstance",
        "Changes reported in the app instead of by phone or post, valued at the £3.20 cost of "
        "an assisted change.",
        "non_cashable",
        "cheaper",
        "Ruth Bennett, Claims Service Owner",
        "Changes reported in the app per month",
        "transactions",
        "flow",
        baseline="0",
        target="90000",
        identified=2,
        start=3,
        ramp=15,
        performance="1.15",
        value_per_unit="3.20",
        places=0,
    ),
    _Benefit(
        "CAA-RATING",
        "CAA",
        "App store rating",
        "Average rating across both app stores (the old claims app had 3.1).",
        "qualitative",
        "trusted",
        "Tom Hughes, Product Lead",
        "App store rating",
        "stars",
        "level",
        baseline="3.1",
        target="4.5",
        identified=2,
        start=4,
        ramp=12,
        performance="1.05",
    ),
    _Benefit(
        "CAA-MAU",
        "CAA",
        "Monthly active app users",
        "Distinct signed-in users in the month.",
        "quantitative",
        "faster",
        "Tom Hughes, Product Lead",
        "Monthly active users",
        "users",
        "level",
        baseline="40000",
        target="400000",
        identified=2,
        start=4,
        ramp=24,
        performance="1.20",
        places=0,
    ),
    # -- Digital Contact Centre
    _Benefit(
        "DCC-WAIT",
        "DCC",
        "Average call waiting time",
        "Mean time to answer across all queues.",
        "quantitative",
        "faster",
        "Grace Adeyemi, Head of Contact",
        "Average wait",
        "minutes",
        "level",
        baseline="23",
        target="5",
        identified=0,
        start=2,
        ramp=18,
        performance="0.85",
        direction="decrease",
        places=1,
    ),
    _Benefit(
        "DCC-COST",
        "DCC",
        "Contact centre operating cost reduction",
        "Leases, telephony and agent costs of the three regional call centres, net of the new "
        "service.",
        "cashable",
        "cheaper",
        COO,
        "Monthly operating cost reduction",
        "GBP",
        "flow",
        baseline="0",
        target="160000",
        identified=0,
        start=3,
        ramp=24,
        performance="0.90",
    ),
    _Benefit(
        "DCC-WELL",
        "DCC",
        "Agent wellbeing index",
        "Quarterly wellbeing survey of contact centre agents, reported monthly (0-100).",
        "qualitative",
        "trusted",
        "Grace Adeyemi, Head of Contact",
        "Wellbeing index",
        "points",
        "level",
        baseline="55",
        target="72",
        identified=0,
        start=3,
        ramp=18,
        performance="1.00",
        places=1,
    ),
    # -- Estate Decarbonisation Retrofit
    _Benefit(
        "EDR-ENERGY",
        "EDR",
        "Energy bill savings",
        "Gas and electricity no longer bought for the 14 retrofitted offices.",
        "cashable",
        "greener",
        "Owen Price, Head of Estates",
        "Monthly energy saving",
        "GBP",
        "flow",
        baseline="0",
        target="68000",
        identified=1,
        start=11,
        ramp=18,
        performance="1.05",
    ),
    _Benefit(
        "EDR-CARBON",
        "EDR",
        "Estate carbon emissions",
        "Scope 1 and 2 emissions of the regional offices, valued at a £250 per tonne shadow "
        "carbon price.",
        "non_cashable",
        "greener",
        "Laura Chen, Head of Sustainability",
        "Estate emissions",
        "tCO2e per month",
        "level",
        baseline="520",
        target="210",
        identified=1,
        start=11,
        ramp=18,
        performance="1.00",
        direction="decrease",
        value_per_unit="250",
        places=1,
    ),
    _Benefit(
        "EDR-DECANT",
        "EDR",
        "Productivity lost to office decants during works",
        "Staff hours lost moving desks and travelling while floors are closed for works.",
        "non_cashable",
        "greener",
        "Owen Price, Head of Estates",
        "Hours lost per month",
        "hours",
        "flow",
        baseline="0",
        target="2400",
        identified=8,
        start=9,
        ramp=1,
        performance="1.20",
        value_per_unit="28.50",
        disbenefit=True,
        until=22,
        places=0,
    ),
    # -- Accessibility Regulations Compliance (mandatory)
    _Benefit(
        "ARC-WCAG",
        "ARC",
        "Public services meeting WCAG 2.2 AA",
        "Share of public-facing services passing an independent accessibility audit.",
        "quantitative",
        "trusted",
        "Hannah Clarke, Head of Accessibility",
        "Services compliant",
        "%",
        "level",
        baseline="38",
        target="100",
        identified=0,
        start=1,
        ramp=24,
        performance="0.95",
        places=1,
    ),
    _Benefit(
        "ARC-COMPL",
        "ARC",
        "Accessibility complaints",
        "Complaints that a service could not be used with assistive technology.",
        "qualitative",
        "trusted",
        "Hannah Clarke, Head of Accessibility",
        "Complaints per month",
        "complaints",
        "level",
        baseline="140",
        target="20",
        identified=0,
        start=2,
        ramp=24,
        performance="1.00",
        direction="decrease",
        places=0,
    ),
    # -- AI-Assisted Casework Triage (a proposal)
    _Benefit(
        "AIT-HOURS",
        "AIT",
        "Triage hours released",
        "Caseworker hours no longer spent sorting incoming evidence, valued at £28.50 an hour.",
        "non_cashable",
        "faster",
        "Sofia Marin, Head of Casework",
        "Hours released per month",
        "hours",
        "flow",
        baseline="0",
        target="9000",
        identified=32,
        start=40,
        ramp=12,
        performance="1.00",
        value_per_unit="28.50",
        places=0,
    ),
)


DECISIONS = (
    _Decision(
        0,
        "DBD",
        "invest",
        "strategic-fit",
        "The spending review settlement ring-fences transformation funding; the programme "
        "business case shows a benefit-cost ratio of 2.6 and is the main vehicle for the "
        "cheaper-services and faster-outcomes goals.",
        conditions="Benefits realisation plan agreed with Finance within three months.",
        review_in=6,
        refs=("business-case-dbd-v3.pdf",),
    ),
    _Decision(
        0,
        "OBC",
        "invest",
        "value-for-money",
        "Paper claims cost £14.20 each to process and take four weeks to decide; the online "
        "service pays back in 26 months on cashable savings alone.",
        review_in=6,
        refs=("business-case-obc-v2.pdf",),
    ),
    _Decision(
        0,
        "DCX",
        "invest",
        "resilience-risk",
        "The Croydon lease ends in 30 months and two cooling failures this year put 40 critical "
        "services at risk. Exit is cheaper than a lease renewal plus hardware refresh.",
        conditions="Migration waves planned so no critical service is single-homed in transit.",
        refs=("business-case-dcx-v1.pdf", "cooling-incident-review.pdf"),
    ),
    _Decision(
        0,
        "DCC",
        "invest",
        "service-continuity",
        "Three regional call centres have leases ending within two years and average waits of "
        "23 minutes; consolidating into one omnichannel service cuts cost and waiting time.",
        review_in=12,
        refs=("business-case-dcc-v2.pdf",),
    ),
    _Decision(
        0,
        "ARC",
        "invest",
        "regulatory",
        "Statutory duty under the Public Sector Bodies Accessibility Regulations 2018: the "
        "monitoring body's audit found 31 services failing WCAG 2.2 AA. Funded as mandatory.",
        review_in=12,
        refs=("accessibility-monitoring-audit.pdf",),
    ),
    _Decision(
        1,
        "DIV",
        "invest",
        "value-for-money",
        "Identity fraud costs £1.4m a year and posted documents add nine days to every claim; "
        "online verification is a prerequisite for paperless casework.",
        review_in=6,
        refs=("business-case-div-v1.pdf",),
    ),
    _Decision(
        1,
        "LPP",
        "invest",
        "obsolescence",
        "The mainframe payments engine leaves vendor support in 36 months and failed payments "
        "run at 1.8%. The packaged product was the only compliant bid.",
        conditions="Vendor passes a proof of concept on faster-payments settlement before phase "
        "2 funding is released.",
        refs=("business-case-lpp-v2.pdf", "procurement-award-report.pdf"),
    ),
    _Decision(
        2,
        "CAA",
        "invest",
        "user-demand",
        "62% of claimants asked for an app in research; the product reuses the claims platform "
        "and is funded as a long-lived product team rather than a project.",
        review_in=12,
        refs=("business-case-caa-v1.pdf",),
    ),
    _Decision(
        2,
        "EDR",
        "delay",
        "funding-dependency",
        "The Public Sector Decarbonisation Scheme decides our grant bid in six months; the "
        "grant could fund 40% of the capital cost, so committing now would waste it.",
        delay_until=8,
        refs=("business-case-edr-v1.pdf",),
    ),
    _Decision(
        3,
        "PCW",
        "delay",
        "dependency",
        "Depends on identity verification reaching public beta; starting now would build on an "
        "interface that is still changing.",
        delay_until=6,
        refs=("business-case-pcw-v1.pdf",),
    ),
    _Decision(
        6,
        "PCW",
        "invest",
        "dependency-met",
        "Identity verification passed its beta assessment; the casework team is ready to "
        "start scanning on arrival at the two pilot sites.",
        review_in=6,
    ),
    _Decision(
        6,
        "OBC",
        "continue",
        "gate-passed",
        "Passed the beta service assessment; 18% of new claims are made online in private beta "
        "and cost per claim is already falling.",
        review_in=6,
        refs=("service-assessment-obc-beta.pdf",),
    ),
    _Decision(
        8,
        "EDR",
        "invest",
        "grant-secured",
        "Grant of £2.1m secured; the residual cost fits the greener-estate allocation. Start "
        "moves to this month.",
        conditions="Works phased so no office loses more than one floor at a time.",
        refs=("psds-grant-offer-letter.pdf",),
    ),
    _Decision(
        8,
        "LPP",
        "continue",
        "conditions-met",
        "The proof of concept passed on batch payments but only partly on faster payments; "
        "phase 2 released in two tranches.",
        conditions="Tranche 2 only if milestone 2 (faster-payments settlement) is met on time.",
        refs=("lpp-proof-of-concept-report.pdf",),
    ),
    _Decision(
        9,
        "DIV",
        "reshape",
        "under-delivery",
        "Fraud prevented runs at 70% of forecast: the bespoke document-check supplier cannot "
        "match the government identity service. Reshape to adopt GOV.UK One Login and drop the "
        "biometric workstream.",
        conditions="Re-baselined plan and cost forecast to the next Portfolio Committee.",
        refs=("div-options-appraisal.pdf",),
    ),
    _Decision(
        10,
        "DCX",
        "suspend",
        "supplier-dispute",
        "The migration tooling supplier is in dispute with us over licensing; legal advice is "
        "to pause waves 3 to 5 rather than incur costs we cannot recover.",
        review_in=2,
        refs=("legal-advice-migration-tooling.pdf",),
    ),
    _Decision(
        12,
        "DBD",
        "continue",
        "annual-review",
        "Two of three projects on track; take-up is ahead of plan. Identity verification's "
        "reshape is the main risk.",
        review_in=12,
    ),
    _Decision(
        12,
        "OBC",
        "continue",
        "annual-review",
        "Public beta nationally; cost per claim down a quarter and falling faster than forecast.",
        review_in=6,
    ),
    _Decision(
        12,
        "DCC",
        "continue",
        "annual-review",
        "Two of three regional centres migrated; waits down to 15 minutes but the third lease "
        "break is deferred by six months.",
        review_in=12,
    ),
    _Decision(
        12,
        "ARC",
        "continue",
        "on-track",
        "Two-thirds of services now compliant; on track for full compliance within the "
        "statutory window.",
        review_in=12,
    ),
    _Decision(
        13,
        "DCX",
        "resume",
        "dispute-resolved",
        "Settlement reached: the supplier provides the tooling at no extra cost for 12 months. "
        "Waves re-planned; end date moves out six months.",
        refs=("dcx-settlement-agreement.pdf",),
    ),
    _Decision(
        14,
        "CAA",
        "continue",
        "over-delivery",
        "Adoption is ahead of plan: monthly active users and self-service changes both exceed "
        "forecast.",
        review_in=12,
    ),
    _Decision(
        15,
        "DIV",
        "continue",
        "reshape-on-track",
        "One Login integration is live in beta; verification now takes two days.",
        review_in=12,
    ),
    _Decision(
        16,
        "LPP",
        "suspend",
        "vendor-failure",
        "The vendor missed milestone 2 for the second time and independent assurance rates "
        "delivery confidence red. Pause while the assurance review completes.",
        review_in=4,
        refs=("independent-assurance-lpp-amber-red.pdf",),
    ),
    _Decision(
        18,
        "PCW",
        "continue",
        "annual-review",
        "Scanning live at all sites; the backlog is falling more slowly than planned after the "
        "cost-of-living payments surge.",
        review_in=12,
    ),
    _Decision(
        20,
        "OBC",
        "complete",
        "delivered",
        "Online claims are live nationally and the paper route is closed to new claims. "
        "Benefits are now owned and reported by the Claims Service Owner.",
        review_in=None,
        refs=("obc-closure-report.pdf",),
    ),
    _Decision(
        20,
        "LPP",
        "stop",
        "not-achievable",
        "The assurance review found the packaged product cannot settle faster payments "
        "without bespoke changes costing an estimated £4.2m. Stopping now avoids about £6m of "
        "remaining spend; the legacy engine will be stabilised instead (see contingency plan).",
        review_in=None,
        refs=("independent-assurance-lpp-final.pdf",),
    ),
    _Decision(
        20,
        "EDR",
        "continue",
        "on-track",
        "Nine of 14 offices retrofitted; energy savings slightly ahead of forecast.",
        review_in=12,
    ),
    _Decision(
        24,
        "DBD",
        "continue",
        "annual-review",
        "Online Benefit Claims delivered; Paperless Casework is the remaining delivery risk.",
        review_in=12,
    ),
    _Decision(
        24,
        "DCC",
        "continue",
        "annual-review",
        "All three regional centres closed; waits at 8 minutes against a 5-minute target.",
        conditions="Recover the wait-time target with the call-back feature by the next review.",
        review_in=12,
    ),
    _Decision(
        24,
        "ARC",
        "continue",
        "on-track",
        "97% of services compliant; the rest are legacy services due for replacement.",
        review_in=12,
    ),
    _Decision(
        26,
        "CAA",
        "continue",
        "annual-review",
        "Rated 4.6 in both stores; 450,000 monthly users.",
        review_in=12,
    ),
    _Decision(
        27,
        "DCX",
        "continue",
        "on-track",
        "Final wave migrated; decommissioning of the Croydon site under way.",
        review_in=3,
    ),
    _Decision(
        27,
        "DIV",
        "continue",
        "annual-review",
        "Fraud prevented steady at the re-forecast level; hours released still below plan.",
        review_in=12,
    ),
    _Decision(
        30,
        "PCW",
        "continue",
        "on-track",
        "Backlog under 9,000 cases for the first time; closure planned at the next review.",
        review_in=6,
    ),
)

CONFIDENCE = (
    _Confidence(9, "DIV", "0.55", "Supplier under-performing; fraud benefits at 70% of forecast."),
    _Confidence(10, "DCX", "0.5", "Supplier dispute has stopped migration waves 3 to 5."),
    _Confidence(12, "LPP", "0.45", "Milestone 1 missed by ten weeks; assurance rates amber."),
    _Confidence(13, "DCX", "0.7", "Dispute settled and waves re-planned."),
    _Confidence(14, "CAA", "0.9", "Adoption well ahead of plan."),
    _Confidence(15, "DIV", "0.7", "One Login integration live in beta."),
    _Confidence(16, "LPP", "0.25", "Milestone 2 missed again; assurance rates red."),
)

LEADERS = (
    _Leader(
        14,
        "DCX",
        "Marcus Bell",
        "Daniel Osei seconded to the cross-government cloud programme; Marcus led waves 1 and 2 "
        "as his deputy.",
    ),
)

CONTINGENCY = (
    _Contingency(
        0,
        "DCX",
        "Extend the Croydon co-location contract by 12 months (pre-negotiated option at "
        "£95,000 a month) and migrate the remaining workloads in two larger waves.",
        "Any migration wave slips by more than eight weeks, or cloud run cost exceeds 115% of "
        "forecast for two consecutive months.",
    ),
    _Contingency(
        8,
        "EDR",
        "Phase the retrofit: LED lighting and insulation first (no planning consent needed), "
        "heat pumps only where the grid connection is confirmed.",
        "The distribution network operator cannot confirm capacity for more than four sites.",
    ),
    _Contingency(
        12,
        "LPP",
        "Stabilise the legacy engine: extend mainframe support by three years, contract two "
        "COBOL specialists, and re-tender later with a narrower scope.",
        "Milestone 2 missed, or independent assurance rates delivery confidence red.",
    ),
)

LESSONS = (
    _Lesson(
        13,
        "DCX",
        "supplier-management",
        "The migration tooling's licence terms were never reviewed by Commercial. Put tooling "
        "rights in the main contract.",
    ),
    _Lesson(
        20,
        "LPP",
        "procurement",
        "We bought a packaged product on the strength of the vendor's demonstration. The proof "
        "of concept against our own faster-payments scenarios came after contract award; it "
        "should have been part of the evaluation.",
    ),
    _Lesson(
        20,
        "LPP",
        "assurance",
        "Independent assurance flagged amber at month 12; the board waited two more milestones "
        "before acting. Agree hard stop criteria at the investment decision.",
    ),
    _Lesson(
        20,
        "LPP",
        "governance",
        "Sunk cost was argued twice for continuing. Decisions should weigh remaining cost "
        "against remaining benefit only.",
    ),
    _Lesson(
        20,
        "OBC",
        "delivery",
        "Private beta with 500 real claimants found the eligibility questions behind 60% of "
        "paper-form errors. Fund user research before build, not after.",
    ),
    _Lesson(
        20,
        "OBC",
        "benefits",
        "Agreeing the benefit owner and measures with Finance at investment made realisation "
        "tracking automatic through the ledger feed.",
    ),
)

COST_REVISIONS = (
    _CostRevision(6, "OBC", "1.10", "Extra user research and assisted-digital support after beta."),
    _CostRevision(
        8,
        "EDR",
        "1.00",
        "Re-planned to start after the grant decision; works run to month 30.",
        new_start=8,
        new_end=30,
    ),
    _CostRevision(8, "LPP", "1.20", "Vendor change requests for faster-payments settlement."),
    _CostRevision(9, "DIV", "0.85", "Reshaped to adopt GOV.UK One Login; biometrics dropped."),
    _CostRevision(12, "LPP", "1.15", "Re-plan after the milestone 1 slip.", new_end=34),
    _CostRevision(
        13,
        "DCX",
        "1.00",
        "Suspension added three months; waves re-planned to finish six months later.",
        new_end=30,
    ),
    _CostRevision(
        15, "DIV", "1.05", "One Login integration needed more engineering than estimated."
    ),
)

REFORECASTS = (
    _Reforecast(
        9,
        "DIV-FRAUD",
        "0.70",
        "Re-forecast down on five months of actuals: fraud prevented runs at 70% of the "
        "business case, and the One Login reshape assumes the same detection rate.",
    ),
    _Reforecast(
        12,
        "DCC-COST",
        "0.90",
        "The third regional centre's lease break is deferred by six months.",
    ),
    _Reforecast(
        13,
        "DCX-HOST",
        "0.85",
        "The suspension delayed the Croydon exit; hosting savings re-forecast down 15%.",
    ),
    _Reforecast(
        14,
        "CAA-SELF",
        "1.15",
        "Re-forecast up: in-app changes of circumstance are running 15% ahead of forecast.",
    ),
    _Reforecast(
        18,
        "PCW-BACKLOG",
        "0.80",
        "Re-forecast down: the cost-of-living payments surge added 4,000 cases.",
    ),
)

ATTRIBUTIONS = (
    _Attribution(
        6,
        "OBC-CALLS",
        (("OBC", "0.6"), ("DCC", "0.4")),
        "Web chat in the Digital Contact Centre also removes avoidable calls; a 60/40 split "
        "agreed in benefits realisation plan v2 on call-driver analysis.",
    ),
)

CLOSURES = (
    _Close(
        20,
        "LPP-LIC",
        "The initiative was stopped; the legacy engine stays, so these savings will not arise.",
    ),
    _Close(
        20,
        "LPP-FAIL",
        "The initiative was stopped; failed payments are now tracked as business as usual.",
    ),
)

CORRECTIONS = (
    _Correction(
        15,
        "DCX-HOST",
        of_month=14,
        recorded_factor="1.60",
        reason="The ledger double-posted the Croydon power rebate; corrected per journal JNL-0412.",
    ),
    _Correction(
        21,
        "DBD-CSAT",
        of_month=19,
        recorded_factor="0.88",
        reason="The dashboard exported a partial month during the survey tool outage; replaced "
        "with the full-month figure from the survey vendor.",
    ),
)

BUDGET_BY_YEAR = ("1450000", "1500000", "1550000", "1550000", "1550000")
BUDGET_CUT = "0.92"
PEOPLE = {"delivery_manager": "9", "engineer": "48", "analyst": "14", "designer": "10"}


# -- the summary -----------------------------------------------------------------------------


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


# -- public entry points ---------------------------------------------------------------------


def find_demo(app: ValuetrailApplication) -> Portfolio | None:
    """The demo portfolio, if the store has one: its name, created by the demo's actor."""
    for portfolio in app.list_portfolios():
        if portfolio.name == DEMO_NAME and _created_by_demo(app, portfolio.id):
            return portfolio
    return None


def load_demo(app: ValuetrailApplication, *, today: date | None = None) -> DemoSummary:
    """Load the demo portfolio, or report the one already loaded without writing anything.

    `today` fixes the story's calendar (default: today, UTC); it must not be later than the
    real date, since measurements observed in the future are refused. A load that stopped
    half-way (a crash) is reported as already loaded with whatever it had written.
    """
    started = time.perf_counter()
    existing = find_demo(app)
    if existing is not None:
        return summarise(app, existing.id, loaded=False)
    loader = _Loader(app, today or utc_now().date())
    try:
        portfolio_id = loader.load()
    except AlreadyHandledError as race:  # another loader created the demo at the same time
        return summarise(app, UUID(str(race.replay.body["portfolio_id"])), loaded=False)
    return summarise(app, portfolio_id, loaded=True, seconds=time.perf_counter() - started)


def summarise(
    app: ValuetrailApplication, portfolio_id: UUID, *, loaded: bool, seconds: float = 0.0
) -> DemoSummary:
    """Count what the store holds for a portfolio."""
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
        decisions={d: decisions[d] for d in _ORDER if d in decisions},
        lessons=sum(len(i.lessons) for i in initiatives),
        spend_to_date=sum((i.spend_to_date for i in initiatives), Decimal(0)),
        examples=_examples(initiatives, list(benefits.values())),
        head_position=app.head_position(),
        seconds=seconds,
    )


_ORDER = ("invest", "continue", "reshape", "suspend", "resume", "delay", "stop", "complete")


def _tally(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _examples(initiatives: Sequence[Initiative], benefits: Sequence[Benefit]) -> dict[str, UUID]:
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
        if benefit.title == TYPICAL_BENEFIT:
            found["typical_benefit"] = benefit.id
    return found


def _created_by_demo(app: ValuetrailApplication, portfolio_id: UUID) -> bool:
    created = app.history(portfolio_id)[0]
    return getattr(created, "actor", None) == PMO


# -- the loader ------------------------------------------------------------------------------


def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places))


class _Loader:
    """Plays the story month by month through the application's use cases."""

    def __init__(self, app: ValuetrailApplication, today: date) -> None:
        self.app = app
        self.rng = random.Random(SEED)
        self.base = add_months(month_of(today), -HISTORY_MONTHS)
        self.requests = count(1)
        self.portfolio_id: UUID | None = None
        self.goals: dict[str, UUID] = {}
        self.initiatives: dict[str, UUID] = {}
        self.status: dict[str, str] = {}
        self.plan: dict[str, tuple[int, int, Decimal]] = {}  # key -> (start, end, monthly rate)
        self.spent: dict[str, dict[str, Decimal]] = {}
        self.benefits: dict[str, UUID] = {}
        self.forecast: dict[str, dict[str, Decimal]] = {}
        self.closed: set[str] = set()
        self.measured: dict[tuple[str, int], UUID] = {}
        self.specs = {spec.key: spec for spec in INITIATIVES}
        self.benefit_specs = {spec.key: spec for spec in BENEFITS}

    # -- calendar --------------------------------------------------------------------------

    def month(self, k: int) -> str:
        return add_months(self.base, k)

    def day(self, k: int, day: int = 14) -> date:
        year, month = (int(part) for part in self.month(k).split("-"))
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def month_end(self, k: int) -> date:
        return self.day(k, 31)

    def meta(self, actor: str = PMO) -> Meta:
        return Meta(actor=actor, request_id=f"demo-{next(self.requests):05d}")

    def noise(self, sd: float) -> Decimal:
        return Decimal(str(round(self.rng.gauss(0, sd), 4)))

    # -- the story -------------------------------------------------------------------------

    def load(self) -> UUID:
        self.create_portfolio()
        for k in range(HISTORY_MONTHS):
            self.play_month(k)
        assert self.portfolio_id is not None
        return self.portfolio_id

    def create_portfolio(self) -> None:
        once = IdempotentRequest(
            scope="valuetrail-demo",
            key=DEMO_NAME,
            fingerprint="demo-v1",
            respond=lambda p: (201, {"portfolio_id": str(p.id)}),
        )
        portfolio = self.app.create_portfolio(
            name=DEMO_NAME,
            currency="GBP",
            discount_rate=Decimal("0.035"),
            base_month=self.base,
            meta=self.meta(),
            once=once,
        ).value
        self.portfolio_id = portfolio.id
        for goal in GOALS:
            added = self.app.add_goal(
                portfolio.id,
                title=goal.title,
                description=goal.description,
                weight=Decimal(goal.weight),
                meta=self.meta(),
            ).value
            self.goals[goal.key] = added["goal_id"]
        self.set_capacity(
            Decimal(1),
            "Spending review settlement: five-year budget profile and agreed headcount.",
        )

    def set_capacity(self, year_two_factor: Decimal, reason: str) -> None:
        assert self.portfolio_id is not None
        budget: dict[str, object] = {}
        for k in range(HORIZON_MONTHS):
            amount = Decimal(BUDGET_BY_YEAR[k // 12])
            budget[self.month(k)] = amount * (year_two_factor if k >= 12 else Decimal(1))
        self.app.set_capacity(
            self.portfolio_id,
            budget=budget,
            people=dict(PEOPLE),
            reason=reason,
            meta=self.meta(),
        )

    def play_month(self, k: int) -> None:
        """Everything that happened in month k, in the order it happened."""
        for spec in INITIATIVES:
            if spec.proposed == k:
                self.propose(spec)
        for benefit in BENEFITS:
            if benefit.identified == k:
                self.identify(benefit)
        if k == 12:
            self.set_capacity(
                Decimal(BUDGET_CUT),
                "In-year savings target: budget from year 2 reduced by 8%.",
            )
        self.changes(k)
        for decision in DECISIONS:
            if decision.month == k:
                self.decide(decision)
        for lesson in LESSONS:
            if lesson.month == k:
                self.app.record_lesson(
                    self.initiatives[lesson.initiative],
                    text=lesson.text,
                    category=lesson.category,
                    meta=self.meta(),
                )
        for close in CLOSURES:
            if close.month == k:
                self.app.close_benefit(
                    self.benefits[close.benefit], reason=close.reason, meta=self.meta()
                )
                self.closed.add(close.benefit)
        self.spend(k)
        self.measure(k)
        for correction in CORRECTIONS:
            if correction.month == k:
                self.correct(correction)

    def changes(self, k: int) -> None:
        for confidence in CONFIDENCE:
            if confidence.month == k:
                self.app.assess_confidence(
                    self.initiatives[confidence.initiative],
                    confidence=Decimal(confidence.confidence),
                    reason=confidence.reason,
                    meta=self.meta(),
                )
        for leader in LEADERS:
            if leader.month == k:
                self.app.assign_leader(
                    self.initiatives[leader.initiative],
                    leader=leader.leader,
                    reason=leader.reason,
                    meta=self.meta(),
                )
        for plan in CONTINGENCY:
            if plan.month == k:
                self.app.set_contingency_plan(
                    self.initiatives[plan.initiative],
                    plan=plan.plan,
                    trigger=plan.trigger,
                    meta=self.meta(),
                )
        for revision in COST_REVISIONS:
            if revision.month == k:
                self.revise_cost(revision)
        for reforecast in REFORECASTS:
            if reforecast.month == k:
                self.reforecast(reforecast)
        for attribution in ATTRIBUTIONS:
            if attribution.month == k:
                self.app.change_attribution(
                    self.benefits[attribution.benefit],
                    contributions=[
                        {"initiative_id": self.initiatives[key], "share": Decimal(share)}
                        for key, share in attribution.shares
                    ],
                    reason=attribution.reason,
                    meta=self.meta(),
                )

    # -- initiatives -----------------------------------------------------------------------

    def propose(self, spec: _Initiative) -> None:
        assert self.portfolio_id is not None
        initiative = self.app.propose_initiative(
            portfolio_id=self.portfolio_id,
            kind=spec.kind,
            name=spec.name,
            description=spec.description,
            sponsor=spec.sponsor,
            leader=spec.leader,
            start_month=self.month(spec.start),
            end_month=self.month(spec.end),
            confidence=Decimal(spec.confidence),
            parent_id=self.initiatives[spec.parent] if spec.parent else None,
            mandatory=spec.mandatory,
            depends_on=[self.initiatives[key] for key in spec.depends_on],
            people_demand={role: Decimal(fte) for role, fte in spec.people.items()},
            meta=self.meta(),
        ).value
        self.initiatives[spec.key] = initiative.id
        self.status[spec.key] = initiative.status
        self.spent[spec.key] = {}
        self.plan[spec.key] = (spec.start, spec.end, Decimal(spec.monthly_cost))
        self.app.revise_cost_forecast(
            initiative.id,
            periods=self.cost_periods(spec.key, spec.proposed),
            reason=f"Cost profile from the {spec.name} business case.",
            meta=self.meta(),
        )

    def cost_periods(self, key: str, from_month: int) -> dict[str, object]:
        """Actual spend before `from_month`, the planned monthly rate from then on."""
        start, end, rate = self.plan[key]
        periods: dict[str, object] = {
            month: amount
            for month, amount in self.spent[key].items()
            if month < self.month(from_month)
        }
        for k in range(max(start, from_month), end + 1):
            periods[self.month(k)] = _q(rate, 0)
        return periods

    def revise_cost(self, revision: _CostRevision) -> None:
        key = revision.initiative
        start, end, rate = self.plan[key]
        new_start = start if revision.new_start is None else revision.new_start
        new_end = end if revision.new_end is None else revision.new_end
        if (new_start, new_end) != (start, end):
            self.app.revise_initiative(
                self.initiatives[key],
                changes={"start_month": self.month(new_start), "end_month": self.month(new_end)},
                reason=revision.reason,
                meta=self.meta(),
            )
        self.plan[key] = (new_start, new_end, rate * Decimal(revision.factor))
        self.app.revise_cost_forecast(
            self.initiatives[key],
            periods=self.cost_periods(key, revision.month),
            reason=revision.reason,
            meta=self.meta(),
        )

    def decide(self, spec: _Decision) -> None:
        decided_on = self.day(spec.month)
        refs = [*spec.refs]
        if spec.decided_by == INVESTMENT_BOARD:
            refs.append(f"board-pack-{self.month(spec.month)}.pdf")
        else:
            refs.append(f"portfolio-committee-minutes-{self.month(spec.month)}.pdf")
        review = None
        if spec.delay_until is not None:
            review = self.day(spec.delay_until, 1)
        elif spec.review_in is not None:
            review = self.day(spec.month + spec.review_in)
        recorded = self.app.record_decision(
            self.initiatives[spec.initiative],
            decision=spec.decision,
            rationale=spec.rationale,
            reason_code=spec.reason_code,
            decided_by=spec.decided_by,
            decided_on=decided_on,
            conditions=spec.conditions,
            delay_until=None if spec.delay_until is None else self.month(spec.delay_until),
            next_review_on=review,
            evidence_refs=refs,
            meta=self.meta(),
        ).value
        self.status[spec.initiative] = recorded["to_status"]

    def spend(self, k: int) -> None:
        """The month's spend from the ledger: full while active, holding costs when suspended."""
        for spec in INITIATIVES:
            status = self.status.get(spec.key)
            start, end, rate = self.plan.get(spec.key, (0, -1, Decimal(0)))
            if status not in ("active", "suspended") or not start <= k <= end:
                continue
            share = Decimal(spec.spend_bias) if status == "active" else Decimal("0.2")
            amount = _q(rate * share * (1 + self.noise(0.06)), 2)
            month = self.month(k)
            self.app.record_spend(
                self.initiatives[spec.key],
                month=month,
                amount=amount,
                source=SPEND_SOURCE,
                external_id=f"LEDGER-{spec.key}-{month}",
                meta=self.meta(FINANCE),
            )
            self.spent[spec.key][month] = amount

    # -- benefits --------------------------------------------------------------------------

    def identify(self, spec: _Benefit) -> None:
        initiative = self.specs[spec.initiative]
        benefit = self.app.identify_benefit(
            initiative_id=self.initiatives[spec.initiative],
            title=spec.title,
            description=spec.description,
            category=spec.category,
            disbenefit=spec.disbenefit,
            owner=spec.owner,
            goal_id=self.goals[spec.goal],
            measure={
                "name": spec.measure,
                "unit": spec.unit,
                "kind": spec.kind,
                "direction": spec.direction,
                "value_per_unit": None
                if spec.value_per_unit is None
                else Decimal(spec.value_per_unit),
            },
            baseline={"value": Decimal(spec.baseline), "as_of": self.day(spec.identified, 1)},
            target={
                "value": Decimal(spec.target),
                "by_month": self.month(spec.start + spec.ramp - 1),
            },
            meta=self.meta(),
        ).value
        self.benefits[spec.key] = benefit.id
        last = HORIZON_MONTHS - 1 if spec.until is None else spec.until
        self.forecast[spec.key] = {
            self.month(k): _q(self.planned(spec, k), spec.places)
            for k in range(spec.first_measured, last + 1)
        }
        self.app.revise_benefit_forecast(
            benefit.id,
            periods=self.forecast[spec.key],
            reason=f"Forecast from the {initiative.name} business case.",
            meta=self.meta(),
        )

    @staticmethod
    def progress(spec: _Benefit, k: int) -> Decimal:
        """How far the improvement has come in month k, 0 to 1, as planned."""
        if k < spec.start or (spec.until is not None and k > spec.until):
            return Decimal(0)
        return min(Decimal(1), Decimal(k - spec.start + 1) / Decimal(spec.ramp))

    def planned(self, spec: _Benefit, k: int) -> Decimal:
        """The business case's value for month k (a level, or a flow amount)."""
        baseline, target = Decimal(spec.baseline), Decimal(spec.target)
        return baseline + (target - baseline) * self.progress(spec, k)

    def reforecast(self, spec: _Reforecast) -> None:
        benefit = self.benefit_specs[spec.benefit]
        baseline = Decimal(benefit.baseline)
        factor = Decimal(spec.factor)
        current = self.forecast[spec.benefit]
        revised = {
            month: value
            if month < self.month(spec.month)
            else _q(baseline + (value - baseline) * factor, benefit.places)
            for month, value in current.items()
        }
        self.forecast[spec.benefit] = revised
        self.app.revise_benefit_forecast(
            self.benefits[spec.benefit], periods=revised, reason=spec.reason, meta=self.meta()
        )

    def actual(self, spec: _Benefit, k: int) -> Decimal:
        """What the feeds report for month k: the plan delivered at the benefit's own rate."""
        baseline, target = Decimal(spec.baseline), Decimal(spec.target)
        delivered = (target - baseline) * self.progress(spec, k) * Decimal(spec.performance)
        if spec.kind == "flow":
            value = delivered * (1 + self.noise(0.08))
        else:
            value = baseline + delivered + abs(target - baseline) * self.noise(0.03)
        if spec.unit == "%":
            value = min(value, Decimal(100))
        return _q(max(value, Decimal(0)), spec.places)

    def measure(self, k: int) -> None:
        """The month's measurements, one batch per feed, observed on the month's last day."""
        month = self.month(k)
        observed = self.month_end(k)
        batches: dict[str, list[dict[str, Any]]] = {FINANCE_SOURCE: [], OPS_SOURCE: []}
        keys: dict[str, list[str]] = {FINANCE_SOURCE: [], OPS_SOURCE: []}
        for spec in BENEFITS:
            if spec.key not in self.benefits or spec.key in self.closed:
                continue
            if k < spec.first_measured or (spec.until is not None and k > spec.until):
                continue
            value = self.actual(spec, k)
            for correction in CORRECTIONS:
                if correction.benefit == spec.key and correction.of_month == k:
                    value = _q(value * Decimal(correction.recorded_factor), spec.places)
            prefix = "FIN" if spec.source == FINANCE_SOURCE else "OPS"
            batches[spec.source].append(
                {
                    "benefit_id": self.benefits[spec.key],
                    "value": value,
                    "observed_on": observed,
                    "source": spec.source,
                    "external_id": f"{prefix}-{spec.key}-{month}",
                }
            )
            keys[spec.source].append(spec.key)
        for source, items in batches.items():
            if not items:
                continue
            actor = FINANCE if source == FINANCE_SOURCE else OPS
            outcome = self.app.record_measurements(items, meta=self.meta(actor)).value
            for key, result in zip(keys[source], outcome.results, strict=True):
                self.measured[(key, k)] = result["measurement_id"]

    def correct(self, spec: _Correction) -> None:
        benefit = self.benefit_specs[spec.benefit]
        measurement_id = self.measured[(spec.benefit, spec.of_month)]
        recorded = self.app.get_measurement(self.benefits[spec.benefit], measurement_id)
        true_value = _q(recorded["value"] / Decimal(spec.recorded_factor), benefit.places)
        self.app.correct_measurement(
            self.benefits[spec.benefit],
            measurement_id,
            value=true_value,
            reason=spec.reason,
            meta=self.meta(FINANCE if benefit.source == FINANCE_SOURCE else OPS),
        )
