"""The demo's feeds: monthly spend from the ledger, measurements from finance and operations.

The figures are the plan delivered at each initiative's and benefit's own rate (`spend_bias`,
`performance`) with random scatter, drawn in the story's order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from demo.benefits import progress
from demo.playback import FINANCE, Playback, feed_actor, quantize
from demo.story import FINANCE_SOURCE, OPS_SOURCE, Benefit, Correction

SPEND_SOURCE = "ledger"


def spend(run: Playback, k: int) -> None:
    """The month's spend from the ledger: full while active, holding costs when suspended."""
    feeds = run.story.feeds
    for spec in run.story.initiatives:
        status = run.status.get(spec.key)
        start, end, rate = run.plan.get(spec.key, (0, -1, Decimal(0)))
        if status not in ("active", "suspended") or not start <= k <= end:
            continue
        share = spec.spend_bias if status == "active" else feeds.suspended_spend
        amount = quantize(rate * share * (1 + run.noise(feeds.spend_scatter)), 2)
        month = run.month(k)
        run.app.record_spend(
            run.initiatives[spec.key],
            month=month,
            amount=amount,
            source=SPEND_SOURCE,
            external_id=f"LEDGER-{spec.key}-{month}",
            meta=run.meta(FINANCE),
        )
        run.spent[spec.key][month] = amount


def actual(run: Playback, spec: Benefit, k: int) -> Decimal:
    """What the feeds report for month k: the plan delivered at the benefit's own rate."""
    baseline, target, feeds = spec.baseline, spec.target, run.story.feeds
    delivered = (target - baseline) * progress(spec, k) * spec.performance
    if spec.kind == "flow":
        value = delivered * (1 + run.noise(feeds.flow_scatter))
    else:
        value = baseline + delivered + abs(target - baseline) * run.noise(feeds.level_scatter)
    if spec.unit == "%":
        value = min(value, Decimal(100))
    return quantize(max(value, Decimal(0)), spec.places)


def measure(run: Playback, k: int) -> None:
    """The month's measurements, one batch per feed, observed on the month's last day."""
    month = run.month(k)
    observed = run.month_end(k)
    batches: dict[str, list[dict[str, Any]]] = {FINANCE_SOURCE: [], OPS_SOURCE: []}
    keys: dict[str, list[str]] = {FINANCE_SOURCE: [], OPS_SOURCE: []}
    for spec in run.story.benefits:
        if spec.key not in run.benefits or spec.key in run.closed:
            continue
        if k < spec.first_measured or (spec.until is not None and k > spec.until):
            continue
        value = actual(run, spec, k)
        for correction in run.story.corrections:
            if correction.benefit == spec.key and correction.of_month == k:
                value = quantize(value * correction.recorded_factor, spec.places)
        prefix = "FIN" if spec.source == FINANCE_SOURCE else "OPS"
        batches[spec.source].append(
            {
                "benefit_id": run.benefits[spec.key],
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
        outcome = run.app.record_measurements(items, meta=run.meta(feed_actor(source))).value
        for key, result in zip(keys[source], outcome.results, strict=True):
            run.measured[(key, k)] = result["measurement_id"]


def correct(run: Playback, spec: Correction) -> None:
    """Replace a wrong measurement by the true figure."""
    benefit = run.story.benefit(spec.benefit)
    measurement_id = run.measured[(spec.benefit, spec.of_month)]
    recorded = run.app.get_measurement(run.benefits[spec.benefit], measurement_id)
    true_value = quantize(recorded["value"] / spec.recorded_factor, benefit.places)
    run.app.correct_measurement(
        run.benefits[spec.benefit],
        measurement_id,
        value=true_value,
        reason=spec.reason,
        meta=run.meta(feed_actor(benefit.source)),
    )
