"""The auditor's API (DESIGN §4, §5.2, §5.5, §5.6): decision trail, context, feed and the chain."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from projections.audit.heads import load_public_key
from projections.audit.verify import verify_lines
from service.app import create_app
from tests.e2e.conftest import ADMIN_TOKEN, PROBLEM_JSON, Api, decision, expect, measurement_body

AUDIT_ROUTES = (
    "/audit/decisions",
    "/audit/decisions/{decision_id}/context",
    "/audit/events",
    "/audit/verify",
    "/audit/export",
    "/audit/public-key",
    "/audit/tree-heads",
    "/audit/tree-heads/latest",
    "/audit/proof/inclusion?position=1&tree_size=1",
    "/audit/proof/consistency?first=1&second=2",
)
DECISION_FIELDS = {
    "decision_id",
    "initiative_id",
    "decision",
    "from_status",
    "to_status",
    "rationale",
    "reason_code",
    "decided_by",
    "decided_on",
    "recorded_at",
    "actor",
    "log_position",
    "evidence",
}
EVENT_FIELDS = {
    "position",
    "originator_id",
    "version",
    "type",
    "recorded_at",
    "actor",
    "data",
    "chain_hash",
}


class Board:
    """Two portfolios; in the first, a measured benefit and three decisions on two initiatives."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.api = Api(
            create_app(
                {
                    "db": db_url,
                    "admin_key": ADMIN_TOKEN,
                    "create_tables": True,
                    "audit_signing_key": str(tmp_path / "keys" / "signing.pem"),
                }
            )
        )
        api = self.api
        self.portfolio_id = api.portfolio()
        self.other_portfolio_id = api.portfolio("Estates")
        self.portal = api.initiative(self.portfolio_id, "Portal")
        self.chatbot = api.initiative(self.portfolio_id, "Chatbot")
        self.put(f"/initiatives/{self.portal}/cost-forecast", {"2025-01": "1000"})
        self.benefit_id = api.benefit(self.portal)
        self.put(f"/benefits/{self.benefit_id}/forecast", {"2025-01": "600", "2025-02": "600"})
        api.create(f"/benefits/{self.benefit_id}/measurements", measurement_body(value="500"))
        self.decisions = [
            api.create(f"/initiatives/{self.portal}/decisions", decision("invest")),
            api.create(
                f"/initiatives/{self.chatbot}/decisions",
                decision("delay", decided_on="2025-03-01", delay_until="2025-09"),
            ),
            api.create(
                f"/initiatives/{self.portal}/decisions",
                decision("continue", decided_on="2025-04-01", reason_code="on-track"),
            ),
        ]

    def put(self, path: str, periods: dict[str, str]) -> Any:
        return expect(self.api.call("PUT", path, json={"periods": periods, "reason": "plan"}), 200)

    def get(self, path: str, role: str = "auditor", **query: Any) -> Any:
        return expect(self.api.call("GET", path, role=role, query_string=query), 200)


@pytest.fixture
def board(db_url: str, tmp_path: Path) -> Board:
    """The board's decisions, on SQLite and on PostgreSQL."""
    return Board(db_url, tmp_path)


def test_the_trail_lists_every_decision_as_recorded_in_log_order(board: Board) -> None:
    body = board.get("/audit/decisions")

    assert body["next_cursor"] is None
    items = body["items"]
    assert [i["decision_id"] for i in items] == [d["decision_id"] for d in board.decisions]
    for item, posted in zip(items, board.decisions, strict=True):
        assert item.keys() >= DECISION_FIELDS
        assert {k: item[k] for k in posted} == posted
        assert item["position"] > item["log_position"]  # evidence is captured before the save
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)


def test_the_trail_filters_by_portfolio_initiative_kind_dates_and_as_of(board: Board) -> None:
    def ids(**query: Any) -> list[str]:
        return [i["decision_id"] for i in board.get("/audit/decisions", **query)["items"]]

    invest, delay, keep_on = (d["decision_id"] for d in board.decisions)
    recorded = board.decisions[1]["recorded_at"]

    assert ids(portfolio_id=board.portfolio_id) == [invest, delay, keep_on]
    assert ids(portfolio_id=board.other_portfolio_id) == []
    assert ids(initiative_id=board.portal) == [invest, keep_on]
    assert ids(decision="delay") == [delay]
    assert ids(**{"from": "2025-03-01"}) == [delay, keep_on]
    assert ids(**{"from": "2025-02-11", "to": "2025-03-31"}) == [delay]
    assert ids(as_of=recorded) == [invest, delay]


def test_the_trail_pages_by_cursor(board: Board) -> None:
    first = board.api.call("GET", "/audit/decisions", role="auditor", query_string={"limit": 2})
    page = expect(first, 200)
    rest = board.get("/audit/decisions", limit=2, cursor=page["next_cursor"])

    assert len(page["items"]) == 2
    assert 'rel="next"' in first.headers["Link"]
    assert [i["decision_id"] for i in page["items"] + rest["items"]] == [
        d["decision_id"] for d in board.decisions
    ]
    assert rest["next_cursor"] is None


def test_bad_trail_queries_are_422(board: Board) -> None:
    for query in ({"decision": "approve"}, {"from": "2025-05-01", "to": "2025-04-01"}):
        response = board.api.call("GET", "/audit/decisions", role="auditor", query_string=query)
        assert response.status_code == 422, query
        assert response.mimetype == PROBLEM_JSON


def test_the_trail_as_csv_has_a_row_per_decision_and_flat_evidence(board: Board) -> None:
    response = board.api.call(
        "GET",
        "/audit/decisions",
        role="auditor",
        headers={"Accept": "text/csv"},
        query_string={"initiative_id": board.portal},
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    posted = [board.decisions[0], board.decisions[2]]
    assert [r["decision_id"] for r in rows] == [d["decision_id"] for d in posted]
    first = rows[0]
    assert "evidence" not in first
    assert first["evidence_pv_benefits"] == posted[0]["evidence"]["pv_benefits"]
    assert first["evidence_bcr"] == posted[0]["evidence"]["bcr"]
    assert json.loads(first["evidence_benefit_forecast_revisions"]) == {board.benefit_id: 1}
    assert rows[1]["reason_code"] == "on-track"
    assert first["reason_code"] == ""  # null
    assert first["decided_on"] == "2025-02-10"


def test_the_context_is_the_state_just_before_the_decision(board: Board) -> None:
    invest = board.decisions[0]
    # Later changes must not leak into what the board knew when it decided.
    board.put(f"/benefits/{board.benefit_id}/forecast", {"2025-01": "900"})
    board.api.create(
        f"/benefits/{board.benefit_id}/measurements",
        measurement_body(value="50", observed_on="2025-02-28"),
    )

    body = board.get(f"/audit/decisions/{invest['decision_id']}/context")

    assert {"decision", "initiative", "benefits", "figures"} <= body.keys()
    assert body["decision"]["decision_id"] == invest["decision_id"]
    assert body["initiative"]["id"] == board.portal
    assert body["initiative"]["status"] == invest["from_status"] == "proposed"
    [benefit] = body["benefits"]
    assert benefit["forecast"]["revision"] == 1
    assert benefit["measurement_count"] == 1
    evidence = {k: v for k, v in invest["evidence"].items() if k != "log_position"}
    assert body["figures"] == evidence
    assert body["matches_evidence"] is True
    assert body["figures"]["pv_benefits"] != "0.00"


def test_the_context_of_an_unknown_decision_is_404(board: Board) -> None:
    response = board.api.call("GET", f"/audit/decisions/{board.benefit_id}/context", role="auditor")

    assert response.status_code == 404
    assert response.mimetype == PROBLEM_JSON


def test_the_event_feed_pages_through_the_log_with_chain_hashes(board: Board) -> None:
    first = board.api.call("GET", "/audit/events", role="auditor", query_string={"limit": 5})
    page = expect(first, 200)
    head = board.api.vt.head_position()  # after the auditor's key was issued

    assert set(page) == {"events", "next_cursor"}
    assert [e["position"] for e in page["events"]] == [1, 2, 3, 4, 5]
    assert all(e.keys() >= EVENT_FIELDS for e in page["events"])
    assert all(len(e["chain_hash"]) == 64 for e in page["events"])
    assert page["next_cursor"] == "5"
    assert 'rel="next"' in first.headers["Link"]

    seen = list(page["events"])
    cursor = page["next_cursor"]
    while cursor is not None:
        page = board.get("/audit/events", after=cursor, limit=7)
        seen += page["events"]
        cursor = page["next_cursor"]
    assert [e["position"] for e in seen] == list(range(1, head + 1))

    decided = [e for e in seen if e["type"] == "DecisionRecorded"]
    assert [e["data"]["decision"] for e in decided] == ["invest", "delay", "continue"]
    assert decided[0]["originator_id"] == board.portal
    assert decided[0]["topic"] == "valuetrail.initiative.DecisionRecorded.v1"
    assert decided[0]["actor"] == "bootstrap-admin"
    assert decided[0]["data"]["decision_id"] == board.decisions[0]["decision_id"]
    assert not {"originator_id", "originator_version", "timestamp"} & decided[0]["data"].keys()
    assert datetime.fromisoformat(decided[0]["recorded_at"]).tzinfo is not None


def test_following_the_event_feeds_links_from_a_cursor_walks_the_whole_log(board: Board) -> None:
    response = board.api.call(
        "GET", "/audit/events", role="auditor", query_string={"cursor": "0", "limit": "4"}
    )
    seen = [e["position"] for e in expect(response, 200)["events"]]
    head = board.api.vt.head_position()  # after the auditor's key was issued
    while "Link" in response.headers:
        url = response.headers["Link"].split(">")[0].lstrip("<")
        assert "cursor=" not in url
        response = board.api.call("GET", url.removeprefix("/api/v1"), role="auditor")
        seen += [e["position"] for e in expect(response, 200)["events"]]
        assert len(seen) <= head, "a link led back to a page already read"
    assert seen == list(range(1, head + 1))


def test_the_event_feed_refuses_a_bad_position_or_limit(board: Board) -> None:
    for query in ({"after": "-1"}, {"limit": "0"}, {"limit": "1001"}, {"cursor": "abc"}):
        response = board.api.call("GET", "/audit/events", role="auditor", query_string=query)
        assert response.status_code == 422, query


def test_the_log_verifies(board: Board) -> None:
    result = board.get("/audit/verify")
    head = board.api.vt.head_position()

    assert result["verified"] is True
    assert result["first_bad_position"] is None and result["reason"] is None
    assert (result["events_checked"], result["tree_size"], result["unsealed"]) == (head, head, 0)
    assert (result["sealed_position"], result["log_head_position"]) == (head, head)
    assert result["root_hash"] == board.get("/audit/tree-heads/latest")["root_hash"]
    # The first release's fields stay: the linear chain's head, as /audit/events shows it.
    last = board.get("/audit/events", after=str(head - 1))["events"][-1]
    assert (result["head_position"], result["head_hash"]) == (head, last["chain_hash"])


def test_the_export_streams_every_event_and_verifies_offline(board: Board) -> None:
    response = board.api.call("GET", "/audit/export", role="auditor")
    pem = board.api.call("GET", "/audit/public-key", role="auditor").get_data(as_text=True)

    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    records = [json.loads(line) for line in lines]
    events = [r for r in records if "index" in r]
    heads = records[len(events) :]
    assert [e["position"] for e in events] == list(range(1, board.api.vt.head_position() + 1))
    assert [e["index"] for e in events] == list(range(len(events)))
    assert heads == board.get("/audit/tree-heads", limit=1000)["items"]
    assert heads[-1]["position"] == events[-1]["position"]
    feed = board.get("/audit/events", limit=1000)["events"]
    assert [e["chain_hash"] for e in events] == [e["chain_hash"] for e in feed]
    assert verify_lines(lines, load_public_key(pem)).verified is True


def test_the_public_key_is_an_ed25519_pem(board: Board) -> None:
    response = board.api.call("GET", "/audit/public-key", role="auditor")

    assert response.status_code == 200
    assert response.mimetype == "application/x-pem-file"
    pem = response.get_data(as_text=True)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert isinstance(load_pem_public_key(pem.encode()), Ed25519PublicKey)


@pytest.mark.parametrize("role", ["manager", "ingest"])
def test_only_auditors_and_admins_may_read_the_audit_routes(board: Board, role: str) -> None:
    decision_id = board.decisions[0]["decision_id"]
    for route in AUDIT_ROUTES:
        path = route.format(decision_id=decision_id)
        refused = board.api.call("GET", path, role=role)
        allowed = board.api.call("GET", path, role="admin")

        assert refused.status_code == 403, path
        assert refused.mimetype == PROBLEM_JSON
        assert allowed.status_code == 200, path


def test_as_of_before_any_decision_gives_an_empty_trail(board: Board) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat()

    assert board.get("/audit/decisions", as_of=long_ago)["items"] == []
