"""The demo's board decisions: who decided, the papers they cite and when they review next."""

from __future__ import annotations

from demo.playback import Playback
from demo.story import Decision

INVESTMENT_BOARD = "Investment Board"
PORTFOLIO_COMMITTEE = "Portfolio Committee"


def decided_by(spec: Decision) -> str:
    """Gate reviews go to the committee; money and direction to the board."""
    return PORTFOLIO_COMMITTEE if spec.decision == "continue" else INVESTMENT_BOARD


def decide(run: Playback, spec: Decision) -> None:
    """Record a decision on the 14th of its month, citing the meeting's papers."""
    body = decided_by(spec)
    refs = [*spec.refs]
    if body == INVESTMENT_BOARD:
        refs.append(f"board-pack-{run.month(spec.month)}.pdf")
    else:
        refs.append(f"portfolio-committee-minutes-{run.month(spec.month)}.pdf")
    review = None
    if spec.delay_until is not None:
        review = run.day(spec.delay_until, 1)
    elif spec.review_in is not None:
        review = run.day(spec.month + spec.review_in)
    recorded = run.app.record_decision(
        run.initiatives[spec.initiative],
        decision=spec.decision,
        rationale=spec.rationale,
        reason_code=spec.reason_code,
        decided_by=body,
        decided_on=run.day(spec.month),
        conditions=spec.conditions,
        delay_until=None if spec.delay_until is None else run.month(spec.delay_until),
        next_review_on=review,
        evidence_refs=refs,
        meta=run.meta(),
    ).value
    run.status[spec.initiative] = recorded["to_status"]
