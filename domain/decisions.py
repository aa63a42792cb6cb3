"""Decision rules (DESIGN §2.2): where each decision leads from each status, and its dates."""

from __future__ import annotations

from datetime import date

from domain.errors import ValidationError
from domain.months import check_day, check_month, month_of, months_between
from domain.values import DECISIONS

# DESIGN §2.2: from status -> {decision: to status}. Anything else is an InvalidTransitionError.
TRANSITIONS: dict[str, dict[str, str]] = {
    "proposed": {"invest": "active", "delay": "delayed", "stop": "stopped"},
    "active": {
        "continue": "active",
        "reshape": "active",
        "suspend": "suspended",
        "delay": "delayed",
        "stop": "stopped",
        "complete": "completed",
    },
    "suspended": {"resume": "active", "stop": "stopped"},
    "delayed": {"invest": "active", "resume": "active", "delay": "delayed", "stop": "stopped"},
    "stopped": {},
    "completed": {},
}
STATUSES = tuple(TRANSITIONS)


def allowed_decisions(status: str) -> list[str]:
    """The decisions allowed from a status, in the contract's order."""
    return [d for d in DECISIONS if d in TRANSITIONS[status]]


def check_decision_dates(
    decision: str, decided_on: date, delay_until: str | None, next_review_on: date | None
) -> None:
    """Check the day a decision was taken, a delay's month and the day of the next review."""
    check_day(decided_on, "decided_on")
    if next_review_on is not None:
        check_day(next_review_on, "next_review_on")
    if decision == "delay":
        if not delay_until:
            raise ValidationError("is required when the decision is delay", "delay_until")
        check_month(delay_until, "delay_until")
        if months_between(month_of(decided_on), delay_until) <= 0:
            raise ValidationError("must be a month after the decision month", "delay_until")
    elif delay_until is not None:
        raise ValidationError("is only for a delay decision", "delay_until")
    if next_review_on is not None and next_review_on < decided_on:
        raise ValidationError("must not be before decided_on", "next_review_on")
