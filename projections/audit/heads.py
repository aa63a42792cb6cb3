"""Signing keys, the log's id, signed tree heads and re-seal statements (DESIGN §5.5)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_HEX = re.compile(r"^[0-9a-f]{64}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def load_or_create_signing_key(path: str) -> Ed25519PrivateKey:
    """The Ed25519 key in a PEM (PKCS8) file, created with mode 0600 if the file is missing."""
    file = Path(path)
    if not file.exists():
        _create_key_file(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(file: Path) -> None:
    """Write a new key atomically: a racing process either wins or loads the winner's key."""
    file.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, pem)
        os.fsync(handle)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, file)  # fails if another process created the key first
    finally:
        os.unlink(temporary)


def public_key_of(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    """The public half."""
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), as served at /audit/public-key."""
    return (
        public_key_of(key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_public_key(pem: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError if it is anything else."""
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def log_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The log's id: hex SHA-256 of the public key's DER SubjectPublicKeyInfo."""
    der = public_key_of(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256(der).hexdigest()


def utc_now_text() -> str:
    """The current instant as RFC 3339 UTC text (microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode("ascii")


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Whether a base64 signature over `message` verifies with this key."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _checked(data: Any, kind: type, names: set[str], what: str) -> dict[str, Any]:
    """A JSON object with exactly these members, integers non-negative, hashes lowercase hex."""
    if not isinstance(data, dict) or set(data) != names:
        raise TypeError(f"{what} has exactly {', '.join(sorted(names))}")
    for field in fields(kind):
        value = data.get(field.name)
        if field.name not in data:
            continue
        if field.type == "int":
            if type(value) is not int or value < 0:
                raise TypeError(f"{what}: {field.name} must be a non-negative integer")
        elif not isinstance(value, str):
            raise TypeError(f"{what}: {field.name} must be text")
        elif field.name.endswith("root_hash") and not _HEX.match(value):
            raise ValueError(f"{what}: {field.name} must be 64 lowercase hex digits")
        elif field.name == "signed_at" and not _INSTANT.match(value):
            raise ValueError(f"{what}: signed_at must be an RFC 3339 instant")
    return data


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head: the first `tree_size` events have this root, the last at `position`."""

    tree_size: int
    root_hash: str
    position: int
    signed_at: str
    signature: str

    def message(self, log: str) -> bytes:
        """The exact bytes that are signed."""
        return (
            f"valuetrail-tree-head:v1:{log}:{self.tree_size}:{self.root_hash}:"
            f"{self.position}:{self.signed_at}"
        ).encode("ascii")

    def as_dict(self) -> dict[str, Any]:
        """The head as JSON-ready data (the export line, an item of /audit/tree-heads)."""
        return asdict(self)

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        """Whether the signature is this key's over this head, unaltered."""
        return signature_valid(public_key, self.message(log_id(public_key)), self.signature)

    @staticmethod
    def sign(
        key: Ed25519PrivateKey, tree_size: int, root_hash: str, position: int, signed_at: str
    ) -> TreeHead:
        """Sign a head with the log's key."""
        unsigned = TreeHead(tree_size, root_hash, position, signed_at, "")
        return TreeHead(
            tree_size, root_hash, position, signed_at, _sign(key, unsigned.message(log_id(key)))
        )

    @staticmethod
    def parse(data: Any) -> TreeHead:
        """A head from its JSON form; TypeError or ValueError if it is not exactly one."""
        names = {f.name for f in fields(TreeHead)}
        return TreeHead(**_checked(data, TreeHead, names, "a tree head"))


@dataclass(frozen=True)
class Reseal:
    """A signed statement that the log was deliberately re-sealed: old head → new head."""

    old_tree_size: int
    old_root_hash: str
    new_tree_size: int
    new_root_hash: str
    reason: str
    signed_at: str
    signature: str

    def message(self, log: str) -> bytes:
        """The exact bytes that are signed (the reason is not part of them)."""
        return (
            f"valuetrail-reseal:v1:{log}:{self.old_tree_size}:{self.old_root_hash}:"
            f"{self.new_tree_size}:{self.new_root_hash}:{self.signed_at}"
        ).encode("ascii")

    def as_dict(self) -> dict[str, Any]:
        """The statement as its export line: `{reseal: {...}, signature}`."""
        body = asdict(self)
        signature = body.pop("signature")
        return {"reseal": body, "signature": signature}

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        """Whether the signature is this key's over this statement."""
        return signature_valid(public_key, self.message(log_id(public_key)), self.signature)

    @staticmethod
    def sign(key: Ed25519PrivateKey, old: TreeHead, new: TreeHead, reason: str) -> Reseal:
        """Sign a re-seal from `old` to `new`."""
        unsigned = Reseal(
            old.tree_size, old.root_hash, new.tree_size, new.root_hash, reason, utc_now_text(), ""
        )
        signature = _sign(key, unsigned.message(log_id(key)))
        return Reseal(**{**asdict(unsigned), "signature": signature})

    @staticmethod
    def parse(data: Any) -> Reseal:
        """A statement from its export line; TypeError or ValueError if malformed."""
        if not isinstance(data, dict) or set(data) != {"reseal", "signature"}:
            raise TypeError("a re-seal statement has exactly reseal and signature")
        names = {f.name for f in fields(Reseal)} - {"signature"}
        body = _checked(data["reseal"], Reseal, names, "a re-seal statement")
        if not isinstance(data["signature"], str):
            raise TypeError("a re-seal statement's signature must be text")
        return Reseal(**body, signature=data["signature"])
