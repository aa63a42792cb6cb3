"""The demo's initiatives: proposals with their cost profiles, re-forecasts and what changes."""

from __future__ import annotations

from demo.playback import Playback, in_month, quantize
from demo.story import CostRevision, Initiative


def propose(run: Playback, spec: Initiative) -> None:
    """Propose an initiative and record its business case's cost profile."""
    initiative = run.app.propose_initiative(
        portfolio_id=run.portfolio,
        kind=spec.kind,
        name=spec.name,
        description=spec.description,
        sponsor=spec.sponsor,
        leader=spec.leader,
        start_month=run.month(spec.start),
        end_month=run.month(spec.end),
        confidence=spec.confidence,
        parent_id=run.initiatives[spec.parent] if spec.parent else None,
        mandatory=spec.mandatory,
        depends_on=[run.initiatives[key] for key in spec.depends_on],
        people_demand=dict(spec.people),
        meta=run.meta(),
    ).value
    run.initiatives[spec.key] = initiative.id
    run.status[spec.key] = initiative.status
    run.spent[spec.key] = {}
    run.plan[spec.key] = (spec.start, spec.end, spec.monthly_cost)
    run.app.revise_cost_forecast(
        initiative.id,
        periods=cost_periods(run, spec.key, spec.proposed),
        reason=f"Cost profile from the {spec.name} business case.",
        meta=run.meta(),
    )


def cost_periods(run: Playback, key: str, from_month: int) -> dict[str, object]:
    """Actual spend before `from_month`, the planned monthly rate from then on."""
    start, end, rate = run.plan[key]
    periods: dict[str, object] = {
        month: amount for month, amount in run.spent[key].items() if month < run.month(from_month)
    }
    for k in range(max(start, from_month), end + 1):
        periods[run.month(k)] = quantize(rate, 0)
    return periods


def revise_cost(run: Playback, revision: CostRevision) -> None:
    """Re-date the initiative if the revision says so, then re-forecast its cost."""
    key = revision.initiative
    start, end, rate = run.plan[key]
    new_start = start if revision.new_start is None else revision.new_start
    new_end = end if revision.new_end is None else revision.new_end
    if (new_start, new_end) != (start, end):
        run.app.revise_initiative(
            run.initiatives[key],
            changes={"start_month": run.month(new_start), "end_month": run.month(new_end)},
            reason=revision.reason,
            meta=run.meta(),
        )
    run.plan[key] = (new_start, new_end, rate * revision.factor)
    run.app.revise_cost_forecast(
        run.initiatives[key],
        periods=cost_periods(run, key, revision.month),
        reason=revision.reason,
        meta=run.meta(),
    )


def reassess(run: Playback, k: int) -> None:
    """Month k's confidence reassessments, leader changes and contingency plans, in that order."""
    story = run.story
    for confidence in in_month(story.confidence, k):
        run.app.assess_confidence(
            run.initiatives[confidence.initiative],
            confidence=confidence.confidence,
            reason=confidence.reason,
            meta=run.meta(),
        )
    for leader in in_month(story.leaders, k):
        run.app.assign_leader(
            run.initiatives[leader.initiative],
            leader=leader.leader,
            reason=leader.reason,
            meta=run.meta(),
        )
    for plan in in_month(story.contingency, k):
        run.app.set_contingency_plan(
            run.initiatives[plan.initiative],
            plan=plan.plan,
            trigger=plan.trigger,
            meta=run.meta(),
        )


def record_lessons(run: Playback, k: int) -> None:
    """Month k's lessons learned."""
    for lesson in in_month(run.story.lessons, k):
        run.app.record_lesson(
            run.initiatives[lesson.initiative],
            text=lesson.text,
            category=lesson.category,
            meta=run.meta(),
        )
