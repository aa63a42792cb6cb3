"""Offline verification of audit log exports, with no database."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from projections.audit import export as export_module
from projections.audit.export import signed_line
from projections.audit.heads import Reseal
from service.audit_cli import verify_file
from tests.unit.audit_log import (
    KEY,
    OTHER_KEY,
    PEM,
    POSITIONS,
    edited,
    event_lines,
    export_of,
    head_of,
    synthetic_log,
    verify,
)

# -- offline verification of an export -------------------------------------------------------


def test_a_genuine_export_verifies() -> None:
    report = verify(export_of(synthetic_log()))

    assert report.verified, report.reason
    assert (report.events_checked, report.tree_size, report.sealed_position) == (12, 12, 13)
    assert report.root_hash == head_of(synthetic_log(), 12).root_hash


def test_an_export_without_a_head_fails_even_when_empty() -> None:
    assert not verify([]).verified
    assert "no signed tree head" in (verify([]).reason or "")
    assert not verify(event_lines(synthetic_log())[0]).verified
    assert verify(export_of([], [0])).verified  # the empty log, with its empty head


@pytest.mark.parametrize("index", range(12))
def test_any_changed_state_is_found_at_its_position(index: int) -> None:
    lines = export_of(synthetic_log())
    lines[index] = edited(lines[index], state='{"amount":"9.50"}')

    report = verify(lines)

    assert not report.verified
    assert report.first_bad_position == POSITIONS[index]


def test_a_duplicate_key_fails_although_a_reader_sees_other_text() -> None:
    lines = export_of(synthetic_log())
    # A reader that keeps the last duplicate sees 9.50; the hashes cover the first state.
    lines[3] = lines[3][:-2] + ',"state":"{\\"amount\\":\\"9.50\\"}"}\n'

    report = verify(lines)

    assert not report.verified
    assert "duplicate key" in (report.reason or "")


EDITS: dict[str, Callable[[list[str]], list[str]]] = {
    "unknown field": lambda ls: [edited(ls[0], note="x"), *ls[1:]],
    "float position": lambda ls: [ls[0].replace('"position":1,', '"position":1.0,'), *ls[1:]],
    "exponent position": lambda ls: [ls[0].replace('"position":1,', '"position":1e0,'), *ls[1:]],
    "negative zero": lambda ls: [ls[0].replace('"index":0,', '"index":-0,'), *ls[1:]],
    "negative zero after a space": lambda ls: [
        ls[0].replace('"version":0,', '"version": -0,'),
        *ls[1:],
    ],
    "duplicate key after a space": lambda ls: [
        *ls[:5],
        ls[5].replace('"index":5,', '"index":5,"state" :"{}",'),
        *ls[6:],
    ],
    "NaN": lambda ls: [ls[0].replace('"version":0,', '"version":NaN,'), *ls[1:]],
    "missing field": lambda ls: [ls[0].replace('"version":0,', ""), *ls[1:]],
    "head with extra field": lambda ls: [*ls[:-1], edited(ls[-1], log_id="x")],
    "boolean size": lambda ls: [*ls[:-1], edited(ls[-1], tree_size=True)],
    "not an object": lambda ls: [*ls[:-1], "[]\n"],
    "event after heads": lambda ls: [*ls, ls[0]],
    "empty line": lambda ls: [ls[0], "\n", *ls[1:]],
    "uppercase hash": lambda ls: [*ls[:-1], edited(ls[-1], root_hash="AB" * 32)],
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_lines_are_parsed_strictly(edit: Callable[[list[str]], list[str]]) -> None:
    report = verify(edit(export_of(synthetic_log())))

    assert not report.verified


def test_removed_reordered_or_truncated_events_fail() -> None:
    lines = export_of(synthetic_log())
    assert not verify([*lines[:4], *lines[5:]]).verified
    assert not verify([lines[1], lines[0], *lines[2:]]).verified
    truncated = verify([*lines[:10], *lines[12:]])  # the last two events cut off
    assert not truncated.verified
    assert "covers more events than the export holds" in (truncated.reason or "")


def test_events_no_head_covers_fail() -> None:
    log = synthetic_log()
    lines = export_of(log, [0, 10])

    report = verify(lines)

    assert not report.verified
    assert "not covered by a signed head" in (report.reason or "")


def test_an_older_heads_changed_signature_fails() -> None:
    lines = export_of(synthetic_log())
    older = json.loads(lines[-2])
    older["signature"] = base64.b64encode(bytes(64)).decode()
    lines[-2] = json.dumps(older) + "\n"

    report = verify(lines)

    assert not report.verified
    assert "head 6" in (report.reason or "") and "signature" in (report.reason or "")


def test_a_forged_log_with_genuine_heads_fails() -> None:
    log = synthetic_log()
    forged = [*log]
    forged[8] = (*log[8][:4], b'{"amount":"999.50"}')
    # Every hash of the forged log recomputed; only the signed heads are the genuine ones.
    lines = [*event_lines(forged)[0], *export_of(log)[12:]]

    report = verify(lines)

    assert not report.verified
    assert report.first_bad_position == POSITIONS[6]  # the first event after the half head
    assert "root differs" in (report.reason or "")


def test_heads_signed_by_another_key_fail() -> None:
    report = verify(export_of(synthetic_log(), key=OTHER_KEY))

    assert not report.verified


def test_previous_proves_the_old_head_is_a_prefix() -> None:
    log = synthetic_log()
    old = export_of(log[:5], [0, 5])
    new = [*event_lines(log)[0], *old[5:], signed_line(head_of(log, 12))]

    assert verify(new, previous=old).verified
    assert verify(new, trusted=head_of(log, 5)).verified


def test_previous_catches_truncation_rollback_fork_and_removed_heads() -> None:
    log = synthetic_log()
    old = [*event_lines(log)[0], signed_line(head_of(log, 0)), signed_line(head_of(log, 12))]
    rolled_back = [*event_lines(log[:8])[0], old[12], signed_line(head_of(log, 8))]
    report = verify(rolled_back, previous=old)
    assert not report.verified
    assert "heads were removed" in (report.reason or "")

    kept = [*event_lines(log[:8])[0], old[12], old[13]]  # the old head kept, events cut
    assert "covers more events" in (verify(kept, previous=old).reason or "")

    forked_log = [*log]
    forked_log[3] = (*log[3][:4], b"{}")
    forked = [*event_lines(forked_log)[0], signed_line(head_of(forked_log, 12))]
    assert not verify(forked, previous=old).verified
    fork = verify(forked, trusted=head_of(log, 12))
    assert not fork.verified
    assert (fork.reason or "").startswith("the trusted head") or "fork" in (fork.reason or "")


def test_a_reseal_verifies_by_signature_and_is_reported() -> None:
    log = synthetic_log()
    changed = [*log]
    changed[3] = (*log[3][:4], b"{}")
    old_head, new_head = head_of(log, 12), head_of(changed, 12)
    statement = Reseal.sign(KEY, old_head, new_head, "restored")
    lines = [
        *event_lines(changed)[0],
        signed_line(head_of(log, 0)),
        signed_line(old_head),  # over the old events: checked by signature only
        signed_line(statement),
        signed_line(new_head),
    ]

    report = verify(lines)
    assert report.verified and report.resealed == 1
    assert "re-sealed" in (report.reason or "")
    old = [*event_lines(log)[0], lines[-4], lines[-3]]
    assert "re-sealed since" in (verify(lines, previous=old).reason or "")


def test_verify_file_answers_with_its_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, key_file = tmp_path / "audit.jsonl", tmp_path / "audit.pub"
    key_file.write_text(PEM)
    lines = export_of(synthetic_log())
    export.write_text("".join(lines))
    assert verify_file(str(export), str(key_file)) == 0

    export.write_text("".join([*lines[:4], edited(lines[4], state="{}"), *lines[5:]]))
    assert verify_file(str(export), str(key_file)) == 1
    summary, result = capsys.readouterr().out.splitlines()[-2:]
    assert summary.startswith("NOT verified: position 5")
    assert json.loads(result)["first_bad_position"] == 5

    assert verify_file(str(export), str(tmp_path / "missing.pub")) == 2
    assert "cannot verify" in capsys.readouterr().err


def test_a_long_export_read_by_two_processes_finds_the_same_faults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = export_of(synthetic_log())
    edits: list[Callable[[list[str]], list[str]]] = [
        lambda ls: ls,
        lambda ls: [*ls[:4], edited(ls[4], state="{}"), *ls[5:]],  # first line of a block
        lambda ls: [*ls[:5], edited(ls[5], chain_hash="00" * 32), *ls[6:]],
        lambda ls: [*ls[:8], ls[9], ls[8], *ls[10:]],  # swapped across blocks
        lambda ls: [*ls[:7], *ls[8:]],  # a line removed
        lambda ls: [*ls[:12], ls[3], *ls[12:]],  # an event among the heads
    ]
    alone = [verify(edit(list(lines))) for edit in edits]
    monkeypatch.setattr(export_module, "BLOCK", 4)
    monkeypatch.setattr(export_module, "PARALLEL_LINES", 8)

    together = [verify(edit(list(lines))) for edit in edits]

    assert together == alone
    assert alone[0].verified and not any(report.verified for report in alone[1:])
