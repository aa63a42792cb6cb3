"""The audit log's hashing and signed heads, with no database."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import struct
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives import serialization

from projections.audit.export import signed_line
from projections.audit.hashing import GENESIS, chain_hash, leaf_hash, state_hash
from projections.audit.heads import (
    Reseal,
    TreeHead,
    load_or_create_signing_key,
    log_id,
    public_key_pem,
)
from tests.unit.audit_log import KEY, OTHER_KEY, SIGNED_AT, head_of, synthetic_log

# -- hashing ---------------------------------------------------------------------------------


def test_leaf_and_chain_follow_the_documented_encoding() -> None:
    position, ident, version = 258, UUID("12345678-9abc-def0-1234-56789abcdef0"), 3
    topic, state = "valuetrail.initiative.DecisionRecorded.v1", b'{"decision":"invest"}'
    by_hand = hashlib.sha256(
        struct.pack(">Q", position)
        + bytes.fromhex("123456789abcdef0123456789abcdef0")
        + struct.pack(">q", version)
        + struct.pack(">H", len(topic))
        + topic.encode()
        + hashlib.sha256(state).digest()
    ).digest()

    leaf = leaf_hash(position, ident, version, topic, state)

    assert leaf == by_hand
    assert chain_hash(GENESIS, leaf) == hashlib.sha256(bytes(32) + by_hand).digest()
    # Pinned (also computed with printf, xxd and sha256sum), so the encoding cannot drift.
    assert leaf.hex() == "7d10ea628415000128799d8dcd851dc4e53daf9851a42ceb77148813cd9d2b8a"


def test_topic_length_counts_utf8_bytes_not_characters() -> None:
    ident, topic = UUID(int=1), "valuetrail.é"
    expected = hashlib.sha256(
        struct.pack(">Q16sqH", 1, ident.bytes, 0, 13) + topic.encode() + state_hash(b"{}")
    ).digest()

    assert leaf_hash(1, ident, 0, topic, b"{}") == expected


def test_fields_cannot_slide_into_each_other() -> None:
    ident = UUID(int=7)

    assert leaf_hash(1, ident, 0, "ab", b"c") != leaf_hash(1, ident, 0, "a", b"bc")
    assert leaf_hash(1, ident, 2, "t", b"{}") != leaf_hash(2, ident, 1, "t", b"{}")


# -- keys and signed heads ------------------------------------------------------------------


def test_the_signing_key_file_is_created_private_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "audit.pem"

    created = load_or_create_signing_key(str(path))
    loaded = load_or_create_signing_key(str(path))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key_pem(created) == public_key_pem(loaded)
    assert [p.name for p in path.parent.iterdir()] == ["audit.pem"]


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(public_key_pem(KEY))

    with pytest.raises(ValueError):
        load_or_create_signing_key(str(path))


def test_a_head_is_signed_over_the_documented_message_with_the_log_id() -> None:
    head = TreeHead.sign(KEY, 12, "ab" * 32, 13, SIGNED_AT)
    der = KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    log = hashlib.sha256(der).hexdigest()
    message = f"valuetrail-tree-head:v1:{log}:12:{'ab' * 32}:13:{SIGNED_AT}".encode()

    assert log_id(KEY) == log
    KEY.public_key().verify(base64.b64decode(head.signature), message)  # raises if not
    assert head.verify(KEY.public_key())
    assert not head.verify(OTHER_KEY.public_key())
    assert not replace(head, tree_size=13).verify(KEY.public_key())
    assert not replace(head, signature="not base64!").verify(KEY.public_key())


def test_a_reseal_statement_is_signed_over_the_documented_message() -> None:
    old, new = head_of(synthetic_log(), 5), head_of(synthetic_log(), 12)
    statement = Reseal.sign(KEY, old, new, "restored after an incident")
    message = (
        f"valuetrail-reseal:v1:{log_id(KEY)}:5:{old.root_hash}:12:{new.root_hash}:"
        f"{statement.signed_at}"
    ).encode()

    KEY.public_key().verify(base64.b64decode(statement.signature), message)
    assert statement.verify(KEY.public_key())
    assert not replace(statement, new_tree_size=11).verify(KEY.public_key())
    assert json.loads(signed_line(statement)).keys() == {"reseal", "signature"}
