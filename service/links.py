"""OpenAPI links: what a client (or a stateful fuzzer) can do next with what it just created.

Each created resource's 201 response links to the operations that take its id, so tools can
chain create → read → update without being told which field holds the id.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

API = "/api/v1"
PORTFOLIO = f"{API}/portfolios/{{portfolio_id}}"
GOAL = f"{PORTFOLIO}/goals/{{goal_id}}"
INITIATIVE = f"{API}/initiatives/{{initiative_id}}"
BENEFIT = f"{API}/benefits/{{benefit_id}}"
MEASUREMENT = f"{BENEFIT}/measurements/{{measurement_id}}"
KEY = f"{API}/api-keys/{{key_id}}"

# (path, method) of a create → {link name: (path, method)} of what takes the new id.
_FOLLOW_UPS: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    (f"{API}/portfolios", "post"): {
        "GetPortfolio": (PORTFOLIO, "get"),
        "AddGoal": (f"{PORTFOLIO}/goals", "post"),
        "SetCapacity": (f"{PORTFOLIO}/capacity", "put"),
        "GetValue": (f"{PORTFOLIO}/value", "get"),
    },
    (f"{PORTFOLIO}/goals", "post"): {
        "GetGoal": (GOAL, "get"),
        "UpdateGoal": (GOAL, "patch"),
        "RetireGoal": (GOAL, "delete"),
    },
    (f"{API}/initiatives", "post"): {
        "GetInitiative": (INITIATIVE, "get"),
        "UpdateInitiative": (INITIATIVE, "patch"),
        "ReviseCostForecast": (f"{INITIATIVE}/cost-forecast", "put"),
        "RecordSpend": (f"{INITIATIVE}/spend", "post"),
        "AssessConfidence": (f"{INITIATIVE}/confidence", "post"),
        "ChangeLeader": (f"{INITIATIVE}/leader", "post"),
        "RecordDecision": (f"{INITIATIVE}/decisions", "post"),
        "ListDecisions": (f"{INITIATIVE}/decisions", "get"),
        "RecordLesson": (f"{INITIATIVE}/lessons", "post"),
        "SetContingency": (f"{INITIATIVE}/contingency", "put"),
        "GetHistory": (f"{INITIATIVE}/history", "get"),
    },
    (f"{API}/benefits", "post"): {
        "GetBenefit": (BENEFIT, "get"),
        "ReviseForecast": (f"{BENEFIT}/forecast", "put"),
        "SetAttribution": (f"{BENEFIT}/attribution", "put"),
        "ChangeOwner": (f"{BENEFIT}/owner", "post"),
        "RebaseBaseline": (f"{BENEFIT}/baseline", "post"),
        "ReviseTarget": (f"{BENEFIT}/target", "post"),
        "CloseBenefit": (f"{BENEFIT}/close", "post"),
        "RecordMeasurement": (f"{BENEFIT}/measurements", "post"),
        "ListMeasurements": (f"{BENEFIT}/measurements", "get"),
    },
    (f"{BENEFIT}/measurements", "post"): {
        "GetMeasurement": (MEASUREMENT, "get"),
        "CorrectMeasurement": (f"{MEASUREMENT}/corrections", "post"),
    },
    (f"{API}/api-keys", "post"): {
        "GetKey": (KEY, "get"),
        "RevokeKey": (KEY, "delete"),
    },
}
# Where each path parameter comes from: the new resource's body, or the request that made it.
_SOURCES: dict[tuple[str, str], dict[str, str]] = {
    (f"{API}/portfolios", "post"): {"portfolio_id": "$response.body#/id"},
    (f"{PORTFOLIO}/goals", "post"): {
        "portfolio_id": "$request.path.portfolio_id",
        "goal_id": "$response.body#/goal_id",
    },
    (f"{API}/initiatives", "post"): {"initiative_id": "$response.body#/id"},
    (f"{API}/benefits", "post"): {"benefit_id": "$response.body#/id"},
    (f"{BENEFIT}/measurements", "post"): {
        "benefit_id": "$request.path.benefit_id",
        "measurement_id": "$response.body#/measurement_id",
    },
    (f"{API}/api-keys", "post"): {"key_id": "$response.body#/id"},
}


def _reference(path: str, method: str) -> str:
    """A local operationRef: a JSON pointer into `paths`."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def links_of(path: str, method: str) -> dict[str, Any]:
    """The OpenAPI links of the 201 response of `method path` ({} for other operations)."""
    follow_ups = _FOLLOW_UPS.get((path, method), {})
    sources = _SOURCES.get((path, method), {})
    links: dict[str, Any] = {}
    for name, (target, target_method) in follow_ups.items():
        parameters = {p: source for p, source in sources.items() if f"{{{p}}}" in target}
        links[name] = {
            "operationRef": _reference(target, target_method),
            "parameters": parameters,
        }
    return links


class LinksPlugin(BasePlugin):
    """Adds `links` to the 201 responses of the operations that create resources."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Called by apispec for every path as it is documented."""
        for method, operation in (operations or {}).items():
            links = links_of(path or "", method)
            responses = operation.get("responses", {})
            # flask-smorest keys responses by int status until apispec cleans them up.
            created = responses.get(201, responses.get("201"))
            if links and isinstance(created, dict):
                created["links"] = links
