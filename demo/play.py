"""`valuetrail demo`: play a story through the application's use cases, month by month.

The event log reads in the order things happened: proposals and business cases, board decisions
(each capturing the evidence as it stood), spend from the finance ledger, benefit measurements
from the finance and operations feeds, re-forecasts, corrections. Loading is idempotent: when the
store already holds the story's portfolio (found by name and by the demo's actor), nothing is
written and the summary says so.
"""

from __future__ import annotations

import time
from datetime import date
from uuid import UUID

from demo import benefits, initiatives, measurements, portfolio
from demo.decisions import decide
from demo.parse import load_story
from demo.playback import Playback, in_month
from demo.story import Story
from demo.summary import DemoSummary, find_demo, summarise
from domain.application import AlreadyHandledError, ValuetrailApplication
from domain.months import utc_now


def load_demo(
    app: ValuetrailApplication, *, today: date | None = None, story: Story | None = None
) -> DemoSummary:
    """Load the demo portfolio, or report the one already loaded without writing anything.

    `story` defaults to the packaged one. `today` fixes the story's calendar (default: today,
    UTC); it must not be later than the real date, since measurements observed in the future are
    refused. A load that stopped half-way (a crash) is reported as already loaded with whatever
    it had written.
    """
    started = time.perf_counter()
    story = load_story() if story is None else story
    typical = None if story.typical_benefit is None else story.benefit(story.typical_benefit)
    title = None if typical is None else typical.title
    existing = find_demo(app, story.name)
    if existing is not None:
        return summarise(app, existing.id, loaded=False, typical_benefit=title)
    try:
        portfolio_id = play(Playback(app, story, today or utc_now().date()))
    except AlreadyHandledError as race:  # another loader created the demo at the same time
        portfolio_id = UUID(str(race.replay.body["portfolio_id"]))
        return summarise(app, portfolio_id, loaded=False, typical_benefit=title)
    seconds = time.perf_counter() - started
    return summarise(app, portfolio_id, loaded=True, seconds=seconds, typical_benefit=title)


def play(run: Playback) -> UUID:
    """Create the portfolio, then play every month of history; the portfolio's id."""
    portfolio.create_portfolio(run)
    for k in range(run.story.history_months):
        play_month(run, k)
    return run.portfolio


def play_month(run: Playback, k: int) -> None:
    """Everything that happened in month k, in the order it happened."""
    story = run.story
    for initiative in (spec for spec in story.initiatives if spec.proposed == k):
        initiatives.propose(run, initiative)
    for benefit in (spec for spec in story.benefits if spec.identified == k):
        benefits.identify(run, benefit)
    portfolio.revise_capacity(run, k)
    initiatives.reassess(run, k)
    for revision in in_month(story.cost_revisions, k):
        initiatives.revise_cost(run, revision)
    for reforecast in in_month(story.reforecasts, k):
        benefits.reforecast(run, reforecast)
    benefits.reattribute(run, k)
    for decision in in_month(story.decisions, k):
        decide(run, decision)
    initiatives.record_lessons(run, k)
    benefits.close(run, k)
    measurements.spend(run, k)
    measurements.measure(run, k)
    for correction in in_month(story.corrections, k):
        measurements.correct(run, correction)
