"""Portfolio analytics (DESIGN §5.3): the board's questions answered from the value view.

Every read takes `as_of` (transaction time) and `min_position`, as the value view does; a
portfolio that did not exist at `as_of` is a 404. Ingest keys may not read these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask.views import MethodView

from domain.analytics.accuracy import ReferenceClass
from domain.analytics.capacity import capacity
from domain.analytics.lessons import lessons
from domain.analytics.priorities import priorities
from domain.errors import NotFoundError
from domain.months import ensure_utc
from projections.catalog import VALUE_VIEWS
from projections.portfolio_value.accuracy_feed import accuracy_as_of, forecast_accuracy
from projections.portfolio_value.analytics import (
    Snapshot,
    coverage,
    plans,
    portfolio_input,
    recorded_lessons,
    snapshot,
)
from projections.portfolio_value.recorded import month_of_instant
from service.analytics_bodies import (
    accuracy_body,
    capacity_body,
    coverage_body,
    lessons_body,
    priority_item,
)
from service.auth import ANALYSE, require
from service.blueprint import Blueprint
from service.jsonio import json_response
from service.paging import after_cursor, keyset_page
from service.reads import fresh, views
from service.schemas.analytics import (
    AccuracyResponse,
    AnalyticsArgs,
    CapacityArgs,
    CapacityResponse,
    CoverageResponse,
    LessonsArgs,
    LessonsResponse,
    PrioritiesArgs,
    PrioritiesResponse,
)

blp = Blueprint(
    "analytics",
    __name__,
    url_prefix="/api/v1",
    description="Portfolio analytics: goals, priorities, capacity, scenarios, track record",
)

#: The views the analytics read: the value view and, for the track record, the decision trail.
ANALYTICS_VIEWS = (*VALUE_VIEWS, "decision_trail")


def read_instant(args: dict[str, Any]) -> datetime:
    """`as_of` (now without one), once the views are fresh."""
    fresh(ANALYTICS_VIEWS, args.get("min_position"))
    as_of = args.get("as_of")
    return datetime.now(UTC) if as_of is None else ensure_utc(as_of)


def read_snapshot(portfolio_id: UUID, args: dict[str, Any]) -> Snapshot:
    """The portfolio as recorded at `as_of` (now without one), once the views are fresh."""
    found = snapshot(views(), portfolio_id, read_instant(args))
    if found is None:
        raise NotFoundError("portfolio", portfolio_id)
    return found


def from_month(snap: Snapshot, args: dict[str, Any]) -> str:
    """`from_month`, by default the UTC month of as_of (or of now)."""
    return str(args.get("from_month") or month_of_instant(snap.at))


def reference_class(snap: Snapshot) -> ReferenceClass:
    """The organisation's own track record as recorded in the snapshot."""
    return ReferenceClass.of(forecast_accuracy(views(), snap).initiatives)


def _head(portfolio_id: UUID, at: datetime) -> dict[str, Any]:
    return {"portfolio_id": str(portfolio_id), "as_of": at.isoformat()}


@blp.route("/portfolios/<uuid:portfolio_id>/goals/coverage")
class GoalCoverage(MethodView):
    """Q1: what serves each strategic goal."""

    @blp.arguments(AnalyticsArgs, location="query")
    @blp.response(200, CoverageResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Per live goal its initiatives and benefits, unserved goals, benefits of no goal."""
        snap = read_snapshot(portfolio_id, args)
        return json_response({**_head(snap.portfolio_id, snap.at), **coverage_body(coverage(snap))})


@blp.route("/portfolios/<uuid:portfolio_id>/priorities")
class Priorities(MethodView):
    """Q2: which proposals to invest in."""

    @blp.arguments(PrioritiesArgs, location="query")
    @blp.response(200, PrioritiesResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Candidates ranked by value for money, with their reasons."""
        snap = read_snapshot(portfolio_id, args)
        month = from_month(snap, args)
        ranked = priorities(
            portfolio_input(snap, month),
            from_month=month,
            objective=args["objective"],
            currency=snap.terms.currency,
            reference=reference_class(snap) if args["reference_class"] else None,
        )
        return json_response(
            {
                **_head(snap.portfolio_id, snap.at),
                "from_month": month,
                "objective": args["objective"],
                "reference_class": args["reference_class"],
                "items": [priority_item(p) for p in ranked],
            }
        )


@blp.route("/portfolios/<uuid:portfolio_id>/capacity")
class Capacity(MethodView):
    """Q3/Q4: money and people against capacity, and leaders stretched."""

    @blp.arguments(CapacityArgs, location="query")
    @blp.response(200, CapacityResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Budget and people by month from `from_month`; leaders; candidates with no leader."""
        snap = read_snapshot(portfolio_id, args)
        month = from_month(snap, args)
        portfolio = portfolio_input(snap, month)
        found = capacity(
            portfolio.initiatives,
            portfolio.budget,
            portfolio.people,
            from_month=month,
            leader_limit=args["leader_limit"],
        )
        head = {
            **_head(snap.portfolio_id, snap.at),
            "from_month": month,
            "leader_limit": args["leader_limit"],
        }
        return json_response({**head, **capacity_body(found)})


@blp.route("/portfolios/<uuid:portfolio_id>/forecast-accuracy")
class ForecastAccuracy(MethodView):
    """Q6/Q7: realised against the forecast the board invested on."""

    @blp.arguments(AnalyticsArgs, location="query")
    @blp.response(200, AccuracyResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Each invested initiative's track record, grouped, and the reference class."""
        at = read_instant(args)
        # It reads what the track record needs, not the whole snapshot the others read.
        found = accuracy_as_of(views(), portfolio_id, at)
        if found is None:
            raise NotFoundError("portfolio", portfolio_id)
        return json_response({**_head(portfolio_id, at), **accuracy_body(found)})


@blp.route("/portfolios/<uuid:portfolio_id>/lessons")
class Lessons(MethodView):
    """Q6: lessons learned and plan B."""

    @blp.arguments(LessonsArgs, location="query")
    @blp.response(200, LessonsResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Lessons in log order (filtered, paged), every plan B, active ones with none."""
        snap = read_snapshot(portfolio_id, args)
        found = lessons(
            recorded_lessons(views(), snap),
            plans(snap),
            category=args.get("category"),
            q=args.get("q"),
            after=after_cursor(args),
            limit=args["limit"],
        )
        items, extra = lessons_body(found)
        body, headers = keyset_page(items, found.next_after, extra=extra)
        return json_response(body, headers=headers)
