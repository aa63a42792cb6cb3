"""Optimise and scenario answers as the API presents and stores them (money 2 dp as strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.analytics.optimise import Optimum
from domain.analytics.scenarios import Downturn
from domain.valuation import money, percent


def _amount(constraint: str, value: Decimal) -> str | None:
    """Money for a budget row, FTE as written for a people row."""
    if constraint == "people":
        text = f"{value.normalize():f}"
        return "0" if text in ("-0", "0") else text
    return money(value)


def optimum_body(found: Optimum) -> dict[str, Any]:
    """POST …/optimise."""
    return {
        "objective": found.objective,
        "from_month": found.from_month,
        "status": found.status,
        "solver": found.solver,
        "value": money(found.value),
        "value_available": money(found.value_available),
        "value_captured_pct": percent(found.value_captured_pct),
        "selected": [
            {
                "initiative_id": str(s.initiative_id),
                "name": s.name,
                "value": money(s.value),
                "remaining_cost": money(s.remaining_cost),
                "start_delay": s.start_delay,
                "reason_code": s.reason_code,
                "reason": s.reason,
            }
            for s in found.selected
        ],
        "excluded": [
            {
                "initiative_id": str(x.initiative_id),
                "name": x.name,
                "value": money(x.value),
                "remaining_cost": money(x.remaining_cost),
                "reason_code": x.reason_code,
                "reason": x.reason,
            }
            for x in found.excluded
        ],
        "binding_constraints": [
            {
                "constraint": b.constraint,
                "month": b.month,
                "role": b.role,
                "used": _amount(b.constraint, b.used),
                "limit": _amount(b.constraint, b.limit),
            }
            for b in found.binding_constraints
        ],
        "forcing_cost": [
            {
                "initiative_id": str(f.initiative_id),
                "forced": f.forced,
                "value_lost": money(f.value_lost),
            }
            for f in found.forcing_cost
        ],
        "frontier": [
            {"budget": money(p.budget), "value": money(p.value), "selected": p.selected}
            for p in found.frontier
        ],
    }


def downturn_result(found: Downturn, computed_at_position: int) -> dict[str, Any]:
    """What a stored scenario keeps as its result: everything the board was shown."""
    return {
        "computed_at_position": computed_at_position,
        "window": {"from_month": found.from_month, "to_month": found.to_month},
        "budget_before": money(found.budget_before),
        "budget_after": money(found.budget_after),
        "initiatives": [
            {
                "initiative_id": str(line.initiative_id),
                "name": line.name,
                "status": line.status,
                "action": line.action,
                "decision": line.decision,
                "cost_in_window": money(line.cost_in_window),
                "cost_saved": money(line.cost_saved),
                "benefits_forgone_pv": money(line.benefits_forgone_pv),
                "value": money(line.value),
                "reason": line.reason,
            }
            for line in found.initiatives
        ],
        "totals": {
            "cost_saved": money(found.cost_saved),
            "benefits_forgone_pv": money(found.benefits_forgone_pv),
            "value_kept_pct": percent(found.value_kept_pct),
        },
    }


def scenario_parameters(body: dict[str, Any], from_month: str) -> dict[str, Any]:
    """The request as stored beside the result (decimals as the strings they were given as)."""
    parameters: dict[str, Any] = {"name": body["name"], "from_month": from_month}
    for name in ("cut_pct", "new_budget"):
        if body.get(name) is not None:
            parameters[name] = str(body[name])
    parameters.update(
        {
            "window_months": body["window_months"],
            "defer_months": body["defer_months"],
            "defer_cost_pct": str(body["defer_cost_pct"]),
            "reason": body["reason"],
        }
    )
    return parameters
