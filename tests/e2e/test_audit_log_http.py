"""The transparency log over HTTP (DESIGN §5.5): heads, proofs, verify at once, and the witness.

Proofs are checked with the independent verifier of tests/unit/rfc9162.py; the witness runs
against a real app served by werkzeug on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.serving import make_server

from projections.audit.heads import TreeHead, load_public_key, log_id
from projections.audit.state import SealerState, read_state, write_state
from projections.audit_chain.reseal import reseal
from service import witness
from service.app import create_app
from service.cli import main
from tests.e2e.conftest import ADMIN_TOKEN, PROBLEM_JSON, Api, expect, measurement_body
from tests.unit import rfc9162


def build(folder: Path, **overrides: Any) -> Api:
    """An app over a SQLite store in `folder`, with its own key and sealer state."""
    return Api(
        create_app(
            {
                "db": "sqlite:///" + str(folder / "valuetrail.db"),
                "admin_key": ADMIN_TOKEN,
                "create_tables": True,
                "audit_signing_key": str(folder / "signing.pem"),
                "audit_state": str(folder / "audit_state.json"),
                **overrides,
            }
        )
    )


def grow(api: Api, measurements: int = 5) -> None:
    """A portfolio, an initiative, a benefit and some measurements."""
    benefit = api.benefit(api.initiative(api.portfolio()))
    for n in range(measurements):
        api.create(f"/benefits/{benefit}/measurements", measurement_body(value=f"{n}.5"))


def get(api: Api, path: str, **query: Any) -> Any:
    return expect(api.call("GET", path, role="auditor", query_string=query), 200)


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = build(tmp_path)
    for _ in range(3):  # three batches, three heads at least (plus the empty one)
        grow(api, 4)
        get(api, "/audit/verify")
    return api


def leaves_of(api: Api) -> list[bytes]:
    lines = api.call("GET", "/audit/export", role="auditor").get_data(as_text=True).splitlines()
    return [bytes.fromhex(json.loads(line)["leaf"]) for line in lines if '"index"' in line[:9]]


def test_every_head_is_listed_oldest_first_and_pages_by_cursor(api: Api) -> None:
    everything = get(api, "/audit/tree-heads", limit=1000)["items"]
    public = load_public_key(api.call("GET", "/audit/public-key").get_data(as_text=True))
    heads = [TreeHead.parse(item) for item in everything]
    assert heads[0].tree_size == 0 and len(heads) >= 4
    assert [h.tree_size for h in heads] == sorted(h.tree_size for h in heads)
    assert all(head.verify(public) for head in heads)

    seen, page = [], get(api, "/audit/tree-heads", limit=2)
    while True:
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        page = get(api, "/audit/tree-heads", limit=2, cursor=page["next_cursor"])
    assert seen == everything


@pytest.mark.parametrize(
    "query", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 1001}, {"after": -1}]
)
def test_bad_head_pages_are_422(api: Api, query: dict[str, Any]) -> None:
    response = api.call("GET", "/audit/tree-heads", role="auditor", query_string=query)

    assert response.status_code == 422
    assert response.mimetype == PROBLEM_JSON


def test_the_latest_head_names_the_log_as_the_public_key_does(api: Api) -> None:
    latest = get(api, "/audit/tree-heads/latest")
    key = api.call("GET", "/audit/public-key", role="auditor")

    assert latest["log_id"] == key.headers["X-Log-Id"]
    assert latest["log_id"] == log_id(load_public_key(key.get_data(as_text=True)))
    assert latest["tree_size"] == api.vt.head_position()
    assert latest == {
        **get(api, "/audit/tree-heads", limit=1000)["items"][-1],
        "log_id": latest["log_id"],
    }


def test_proofs_pass_the_independent_verifier(api: Api) -> None:
    leaves = leaves_of(api)
    sizes = [h["tree_size"] for h in get(api, "/audit/tree-heads", limit=1000)["items"]]
    size = sizes[-1]
    root = bytes.fromhex(get(api, "/audit/tree-heads/latest")["root_hash"])
    assert root == rfc9162.mth(leaves)
    for index in range(size):
        proof = get(api, "/audit/proof/inclusion", position=index + 1, tree_size=size)
        assert (proof["leaf_index"], proof["tree_size"]) == (index, size)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        leaf = rfc9162.hash_leaf(bytes.fromhex(proof["leaf"]))
        assert rfc9162.inclusion_root(index, size, leaf, path) == root
    for first in [s for s in sizes if s]:
        proof = get(api, "/audit/proof/consistency", first=first, second=size)
        assert (proof["first"], proof["second"]) == (first, size)
        hashes = [bytes.fromhex(h) for h in proof["proof"]]
        assert rfc9162.consistent(first, size, rfc9162.mth(leaves[:first]), root, hashes)


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/audit/proof/inclusion", {"position": 1, "tree_size": 10_000}, "tree_size"),
        ("/audit/proof/inclusion", {"position": 10_000, "tree_size": 3}, "position"),
        ("/audit/proof/inclusion", {"position": 5, "tree_size": 3}, "position"),
        ("/audit/proof/inclusion", {"position": 1, "tree_size": 0}, "tree_size"),
        ("/audit/proof/inclusion", {"position": 1}, "tree_size"),
        ("/audit/proof/consistency", {"first": 0, "second": 3}, "first"),
        ("/audit/proof/consistency", {"first": 4, "second": 3}, "first"),
        ("/audit/proof/consistency", {"first": 1, "second": 10_000}, "second"),
        ("/audit/proof/consistency", {"first": "x", "second": 3}, "first"),
    ],
)
def test_proofs_outside_the_signed_log_are_422(
    api: Api, path: str, query: dict[str, Any], field: str
) -> None:
    response = api.call("GET", path, role="auditor", query_string=query)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_verify_and_export_wait_for_the_sealer_with_min_position(tmp_path: Path) -> None:
    api = build(tmp_path)
    grow(api, 2)
    api.token("auditor")  # issued before the head is read: it is an event too
    head = api.vt.head_position()

    result = get(api, "/audit/verify", min_position=head)
    lines = api.call("GET", "/audit/export", role="auditor", query_string={"min_position": head})

    assert (result["verified"], result["sealed_position"], result["unsealed"]) == (True, head, 0)
    assert json.loads(lines.get_data(as_text=True).splitlines()[-1])["position"] == head


def test_a_halted_sealer_is_reported_at_once_whatever_min_position_asks(tmp_path: Path) -> None:
    api = build(tmp_path, projector_inline=False, read_wait_seconds=30.0)
    state = tmp_path / "audit_state.json"
    write_state(str(state), SealerState("x" * 64, None, "the first 9 events no longer match"))

    result = get(api, "/audit/verify", min_position=10**9)

    assert result["verified"] is False
    assert result["reason"] == "the sealer halted: the first 9 events no longer match"


# -- the witness -----------------------------------------------------------------------------


@contextmanager
def served(app: flask.Flask) -> Iterator[str]:
    """The app on a free port of 127.0.0.1; its API root URL."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def keep_public_key(api: Api, folder: Path) -> None:
    """The auditor's trusted copy of the public key, kept in `folder`."""
    pem = api.call("GET", "/audit/public-key").get_data(as_text=True)
    (folder / "public.pem").write_text(pem)


def witness_run(
    url: str, folder: Path, token: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = witness.run(url, str(folder / "public.pem"), str(folder / "witness.json"), token)
    out, err = capsys.readouterr()
    return code, out + err


def test_the_witness_trusts_first_then_follows_the_log(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep_public_key(api, tmp_path)
    token = api.token("auditor")
    with served(api.app) as url:
        code, said = witness_run(url, tmp_path, token, capsys)
        assert code == 0 and said.startswith("first run: trusting")
        seen = read_state(str(tmp_path / "witness.json"))
        assert seen is not None and seen.head is not None

        grow(api, 3)
        code, said = witness_run(url, tmp_path, token, capsys)
        assert code == 0 and said.startswith("ok: tree_size")
        later = read_state(str(tmp_path / "witness.json"))
        assert later is not None and later.head is not None
        assert later.head.tree_size > seen.head.tree_size

        assert witness_run(url, tmp_path, "wrong-token", capsys)[0] == 2


def test_the_witness_catches_a_reseal_as_a_fork(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep_public_key(api, tmp_path)
    token = api.token("auditor")
    with served(api.app) as url:
        assert witness_run(url, tmp_path, token, capsys)[0] == 0
        vt = api.vt
        table = str(getattr(vt.recorder, "events_table_name"))  # noqa: B009
        db = api.app.extensions["valuetrail.views"]
        with db.transaction() as cursor:  # an operator edits a measurement, then re-seals
            cursor.execute(f"SELECT rowid, state FROM {table} WHERE topic LIKE '%Measurement%'")
            position, state = cursor.fetchone()
            edited = bytes(state).replace(b'"0.5"', b'"9.5"')
            assert edited != bytes(state)
            cursor.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (edited, position))
        key = api.app.extensions["valuetrail.signing_key"]
        reseal(vt, db, key, str(tmp_path / "audit_state.json"), "hide an edit")

        code, said = witness_run(url, tmp_path, token, capsys)

        assert code == 1 and "FORK" in said


def test_the_witness_catches_a_rollback_and_a_bad_signature(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep_public_key(api, tmp_path)
    token = api.token("auditor")
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("valuetrail.db", "valuetrail.db-wal", "signing.pem", "audit_state.json"):
        if (tmp_path / name).exists():
            shutil.copy(tmp_path / name, backup / name)
    grow(api, 3)
    with served(api.app) as url:
        assert witness_run(url, tmp_path, token, capsys)[0] == 0
    restored = build(backup)  # the database and its sealer state restored from the backup
    with served(restored.app) as url:
        code, said = witness_run(url, tmp_path, token, capsys)
        assert code == 1 and "ROLLBACK" in said, said

        db = restored.app.extensions["valuetrail.views"]
        with db.transaction() as cursor:
            cursor.execute(
                "UPDATE vt_tree_head SET signature = ?"
                " WHERE seq = (SELECT MAX(seq) FROM vt_tree_head)",
                ("A" * 86 + "==",),
            )
        code, said = witness_run(url, tmp_path, token, capsys)
        assert code == 1 and "bad signature" in said


def test_the_witness_command_takes_its_token_from_the_environment(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keep_public_key(api, tmp_path)
    monkeypatch.setenv("VALUETRAIL_API_TOKEN", api.token("auditor"))
    state = tmp_path / "seen.json"
    with served(api.app) as url:
        argv = ["audit", "witness", "--url", url, "--public-key", str(tmp_path / "public.pem")]

        assert main([*argv, "--state", str(state)]) == 0
        assert main([*argv, "--state", str(state)]) == 0
        monkeypatch.delenv("VALUETRAIL_API_TOKEN")
        assert main([*argv, "--state", str(state)]) == 2  # no token: 401, could not check

    out, err = capsys.readouterr()
    assert "first run: trusting" in out and "ok: tree_size" in out and "401" in err
