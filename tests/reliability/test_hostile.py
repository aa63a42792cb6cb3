"""Hostile input against a real `valuetrail serve`: thousands of generated requests over every
operation, chains through the document's links (create → read → update), and hand-made attacks.
Whatever is sent, the answer is never a 5xx, and every error is problem+json."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from service.app import create_app
from tests.ops.conftest import API, Server
from tests.reliability.cluster import Cluster
from tests.reliability.conftest import (
    ADMIN_KEY,
    FULL,
    REQUEST_TIMEOUT,
    Seeded,
    call,
    created,
    database,
    report,
    running,
    seed,
    size,
)

SPEC_APP = create_app({"db": "sqlite:///:memory:", "create_tables": True})
PUBLISHED: dict[str, Any] = SPEC_APP.test_client().get("/openapi.json").get_json()
# A copy: schemathesis adds the links it infers to the document it is given.
schema = schemathesis.openapi.from_dict(copy.deepcopy(PUBLISHED))
# The coverage phase sends every boundary and wrong type of every parameter: thousands of
# requests, so only the full run (`make reliability`) has it; the quick run fuzzes.
schema.config.phases.coverage.enabled = FULL
PROBLEM_JSON = "application/problem+json"
#: Real ids of the server's seeded world, by parameter name; what the hooks substitute.
REAL_IDS: dict[str, str] = {}
#: Requests sent, by kind and by status class.
TALLY: Counter[str] = Counter()
FORGED_CURSOR = "azk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"


@schema.auth()
class AdminToken:
    """The admin token on every request: the fuzzing is of the operations, not of the keys."""

    def get(self, _case: Any, _ctx: Any) -> str:
        return ADMIN_KEY

    def set(self, case: Any, token: str, _ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _real_or(value: Any) -> st.SearchStrategy[Any]:
    """`value`, with each known id (at any depth) either kept or swapped for the real one."""
    if isinstance(value, dict):
        return st.fixed_dictionaries(
            {
                k: st.sampled_from([REAL_IDS[k], v])
                if k in REAL_IDS and isinstance(v, str)
                else _real_or(v)
                for k, v in value.items()
            }
        )
    return st.just(value)


@schema.hook
def flatmap_path_parameters(_context: Any, path_parameters: dict[str, Any]) -> Any:
    """Often a real id, so requests reach the domain rather than a 404."""
    return _real_or(path_parameters)


@schema.hook
def flatmap_body(_context: Any, body: Any) -> Any:
    """Real ids in bodies too (initiative_id of a benefit, benefit_id of batch items...)."""
    return _real_or(body)


def faults(response: Any, kind: str) -> list[str]:
    """What is wrong with an answer: a 5xx, or an error that is not problem+json (counted)."""
    status = response.status_code
    TALLY[kind] += 1
    TALLY[f"{status // 100}xx"] += 1
    if status >= 500:
        return [f"{status}: {response.text[:300]}"]
    if status >= 400 and not (
        content_type(response).startswith(PROBLEM_JSON)
        and response.json()["status"] == status
        and "Traceback" not in response.text
    ):
        return [f"{status} is not a clean problem+json: {response.text[:300]}"]
    return []


def content_type(response: Any) -> str:
    """The Content-Type of a requests or a schemathesis response (whose headers are lists)."""
    value = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    return str(value[0] if isinstance(value, list) else value)


def judged(response: Any, kind: str) -> None:
    """No 5xx; every error is problem+json with its status and no trace."""
    assert faults(response, kind) == []


@pytest.fixture(scope="module")
def hostile_server(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`valuetrail serve` on PostgreSQL with one of everything, shared by the module's tests."""
    with database(cluster) as url, running(url, tmp_path_factory.mktemp("hostile")) as server:
        world = seed(server.base)
        api = server.base + API
        goal = created(call("POST", f"{api}/portfolios/{world.portfolio_id}/goals",
                            json={"title": "Cheaper", "weight": "2"}))  # fmt: skip
        reading = {"value": "5", "observed_on": "2025-01-31", "source": "ledger"}
        measurement = created(
            call("POST", f"{api}/benefits/{world.benefit_ids[0]}/measurements", json=reading)
        )
        key = created(call("POST", f"{api}/api-keys", json={"name": "spare", "role": "ingest"}))
        REAL_IDS.clear()
        REAL_IDS.update(
            portfolio_id=world.portfolio_id,
            initiative_id=world.initiative_id,
            benefit_id=world.benefit_ids[0],
            goal_id=str(goal["goal_id"]),
            measurement_id=str(measurement["measurement_id"]),
            key_id=str(key["id"]),
        )
        TALLY.clear()
        yield server
        report("hostile_input", dict(TALLY))


@settings(
    max_examples=size(6, 150),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_generated_requests_never_get_a_server_error(
    case: schemathesis.Case[Any], hostile_server: Server
) -> None:
    judged(case.call(base_url=hostile_server.base, timeout=REQUEST_TIMEOUT), "generated")


def test_chains_through_the_documents_links_never_get_a_server_error(
    hostile_server: Server,
) -> None:
    base = hostile_server.base

    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        """Scenarios that follow the links: create, then read and change what was created."""

        def call(self, case: Any, **kwargs: Any) -> Any:
            return case.call(base_url=base, timeout=REQUEST_TIMEOUT)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            judged(response, "stateful")
            if response.status_code in (200, 201) and case.method.upper() != "GET":
                TALLY["stateful_writes_accepted"] += 1

    Chains.run(
        settings=settings(
            max_examples=size(25, 400),
            stateful_step_count=size(6, 12),
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert TALLY["stateful_writes_accepted"] > 0  # chains got past the first create


def test_every_link_names_a_documented_operation_and_fills_its_path() -> None:
    linked = 0
    for path, item in PUBLISHED["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue  # path-level parameters
            for link in operation.get("responses", {}).get("201", {}).get("links", {}).values():
                pointer = link["operationRef"].removeprefix("#/paths/")
                escaped, target_method = pointer.rsplit("/", 1)
                target = escaped.replace("~1", "/").replace("~0", "~")
                assert target_method in PUBLISHED["paths"][target], link
                needed = {p.strip("{}") for p in target.split("/") if p.startswith("{")}
                assert set(link["parameters"]) == needed, (path, link)
                linked += 1
    creates = {"/portfolios", "/initiatives", "/benefits", "/benefits/{benefit_id}/measurements"}
    for create in creates:
        links = PUBLISHED["paths"][API + create]["post"]["responses"]["201"]["links"]
        methods = {link["operationRef"].rsplit("/", 1)[1] for link in links.values()}
        assert {"get"} < methods, create  # read, and at least one change
    assert linked >= 30


# -- hand-made attacks -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`valuetrail serve` on SQLite: the same attacks must get the same answers."""
    folder: Path = tmp_path_factory.mktemp("hostile-sqlite")
    with running("sqlite:///" + str(folder / "valuetrail.db"), folder) as server:
        yield server


def attacks(world: Seeded, head: int) -> list[tuple[str, str, str, dict[str, Any], int, str]]:
    """(name, method, path, request kwargs, expected status, field the error must name)."""
    benefit = f"/benefits/{world.benefit_ids[0]}"
    initiative = f"/initiatives/{world.initiative_id}"
    reading = {"value": "5", "observed_on": "2025-01-31", "source": "ledger"}
    spend = {"month": "2025-01", "amount": "10", "source": "ledger"}
    nul = "a\u0000b"
    huge = {"after": "9223372036854775807"}
    return [
        ("NUL in source", "POST", f"{benefit}/measurements", {"json": {**reading, "source": nul}},
         422, "source"),
        ("NUL in external_id", "POST", f"{benefit}/measurements",
         {"json": {**reading, "external_id": nul}}, 422, "external_id"),
        ("NUL in spend external_id", "POST", f"{initiative}/spend",
         {"json": {**spend, "external_id": nul}}, 422, "external_id"),
        ("NUL in a name", "POST", "/portfolios",
         {"json": {"name": nul, "currency": "GBP", "discount_rate": "0.035",
                   "base_month": "2025-01"}}, 422, "name"),
        ("after at int64 max", "GET", "/audit/events", {"params": huge}, 422, "after"),
        ("after beyond int64", "GET", "/audit/events", {"params": {"after": "9" * 30}}, 422,
         "after"),
        ("negative after", "GET", "/audit/events", {"params": {"after": "-1"}}, 422, "after"),
        ("forged cursor on portfolios", "GET", "/portfolios",
         {"params": {"cursor": FORGED_CURSOR}}, 422, "cursor"),
        ("forged cursor on measurements", "GET", f"{benefit}/measurements",
         {"params": {"cursor": FORGED_CURSOR}}, 422, "cursor"),
        ("forged cursor on decisions", "GET", "/audit/decisions",
         {"params": {"cursor": FORGED_CURSOR}}, 422, "cursor"),
        ("limit zero", "GET", "/portfolios", {"params": {"limit": "0"}}, 422, "limit"),
        ("limit huge", "GET", "/portfolios", {"params": {"limit": "9" * 25}}, 422, "limit"),
        ("min_position beyond the head", "GET", f"/portfolios/{world.portfolio_id}/value",
         {"params": {"min_position": str(head + 10_000)}}, 422, "min_position"),
        ("min_position far beyond the head", "GET", f"{benefit}/measurements",
         {"params": {"min_position": str(2**63)}}, 422, "min_position"),
        ("fullwidth digits in a month", "POST", "/portfolios",
         {"json": {"name": "X", "currency": "GBP", "discount_rate": "0.035",
                   "base_month": "２０２５-01"}}, 422, "base_month"),
        ("Arabic-Indic digits in a month", "POST", f"{initiative}/spend",
         {"json": {**spend, "month": "2025-١٢"}}, 422, "month"),
        ("fullwidth month key", "PUT", f"{initiative}/cost-forecast",
         {"json": {"periods": {"2025-01": "10", "２０２５-01": "10"}, "reason": "r"}}, 422,
         "periods"),
        ("fullwidth digits in a decimal", "POST", f"{benefit}/measurements",
         {"json": {**reading, "value": "１２"}}, 422, "value"),
        ("exponent in a decimal string", "POST", f"{benefit}/measurements",
         {"json": {**reading, "value": "1e999999"}}, 422, "value"),
        ("fullwidth digits in a date", "POST", f"{benefit}/measurements",
         {"json": {**reading, "observed_on": "２０２５-01-31"}}, 422, "observed_on"),
    ]  # fmt: skip


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_hand_made_attacks_get_a_clear_refusal_and_freeze_nothing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    server: Server = request.getfixturevalue(
        "hostile_server" if backend == "postgres" else "sqlite_server"
    )
    api = server.base + API
    world = seed(server.base)
    head = int(
        requests.get(server.base + "/readyz", timeout=REQUEST_TIMEOUT).json()["head_position"]
    )
    wrong: list[str] = []
    for name, method, path, kwargs, status, field in attacks(world, head):
        response = call(method, api + path, **kwargs)
        wrong += [f"{name}: {fault}" for fault in faults(response, "hand-made")]
        named = response.json().get("errors", {})
        # A field inside a map is named by its path (`periods.<key>.key`).
        if response.status_code != status or not any(
            key == field or key.startswith(field + ".") for key in named
        ):
            wrong.append(f"{name}: expected {status} naming {field}, got {response.text[:300]}")
    # Re-posting a reading with another value is refused, carrying the stored one.
    measurements = f"{api}/benefits/{world.benefit_ids[0]}/measurements"
    first = {"value": "5", "observed_on": "2025-01-31", "source": "feed", "external_id": "R-1"}
    created(call("POST", measurements, json=first))
    changed = call("POST", measurements, json={**first, "value": "6"})
    if changed.status_code != 409 or "5" not in changed.text:
        wrong.append(f"changed re-post: {changed.status_code} {changed.text[:300]}")
    # The read side still moves: a read at the head now is answered, not left waiting.
    head = int(
        requests.get(server.base + "/readyz", timeout=REQUEST_TIMEOUT).json()["head_position"]
    )
    value = call("GET", f"{api}/portfolios/{world.portfolio_id}/value",
                 params={"min_position": str(head)})  # fmt: skip
    if value.status_code != 200:
        wrong.append(f"the views froze: {value.status_code} {value.text[:300]}")
    assert not wrong, "\n".join(wrong)
