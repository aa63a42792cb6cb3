"""The demo's benefits: identified with a business-case forecast, re-forecast, shared, closed."""

from __future__ import annotations

from decimal import Decimal

from demo.playback import Playback, in_month, quantize
from demo.story import Benefit, Reforecast


def progress(spec: Benefit, k: int) -> Decimal:
    """How far the improvement has come in month k, 0 to 1, as planned."""
    if k < spec.start or (spec.until is not None and k > spec.until):
        return Decimal(0)
    return min(Decimal(1), Decimal(k - spec.start + 1) / Decimal(spec.ramp))


def planned(spec: Benefit, k: int) -> Decimal:
    """The business case's value for month k (a level, or a flow amount)."""
    return spec.baseline + (spec.target - spec.baseline) * progress(spec, k)


def identify(run: Playback, spec: Benefit) -> None:
    """Identify a benefit and record its business case's forecast over the horizon."""
    initiative = run.story.initiative(spec.initiative)
    benefit = run.app.identify_benefit(
        initiative_id=run.initiatives[spec.initiative],
        title=spec.title,
        description=spec.description,
        category=spec.category,
        disbenefit=spec.disbenefit,
        owner=spec.owner,
        goal_id=run.goals[spec.goal],
        measure={
            "name": spec.measure,
            "unit": spec.unit,
            "kind": spec.kind,
            "direction": spec.direction,
            "value_per_unit": spec.value_per_unit,
        },
        baseline={"value": spec.baseline, "as_of": run.day(spec.identified, 1)},
        target={"value": spec.target, "by_month": run.month(spec.start + spec.ramp - 1)},
        meta=run.meta(),
    ).value
    run.benefits[spec.key] = benefit.id
    last = run.story.horizon_months - 1 if spec.until is None else spec.until
    run.forecast[spec.key] = {
        run.month(k): quantize(planned(spec, k), spec.places)
        for k in range(spec.first_measured, last + 1)
    }
    run.app.revise_benefit_forecast(
        benefit.id,
        periods=run.forecast[spec.key],
        reason=f"Forecast from the {initiative.name} business case.",
        meta=run.meta(),
    )


def reforecast(run: Playback, spec: Reforecast) -> None:
    """Scale the forecast improvement from the revision's month on."""
    benefit = run.story.benefit(spec.benefit)
    baseline = benefit.baseline
    revised = {
        month: value
        if month < run.month(spec.month)
        else quantize(baseline + (value - baseline) * spec.factor, benefit.places)
        for month, value in run.forecast[spec.benefit].items()
    }
    run.forecast[spec.benefit] = revised
    run.app.revise_benefit_forecast(
        run.benefits[spec.benefit], periods=revised, reason=spec.reason, meta=run.meta()
    )


def reattribute(run: Playback, k: int) -> None:
    """Month k's changes of attribution."""
    for attribution in in_month(run.story.attributions, k):
        run.app.change_attribution(
            run.benefits[attribution.benefit],
            contributions=[
                {"initiative_id": run.initiatives[key], "share": share}
                for key, share in attribution.shares.items()
            ],
            reason=attribution.reason,
            meta=run.meta(),
        )


def close(run: Playback, k: int) -> None:
    """Month k's closed benefits; they are measured no more."""
    for closure in in_month(run.story.closures, k):
        run.app.close_benefit(run.benefits[closure.benefit], reason=closure.reason, meta=run.meta())
        run.closed.add(closure.benefit)
