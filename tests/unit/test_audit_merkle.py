"""The RFC 6962 tree and its proofs, checked by an independent verifier (tests/unit/rfc9162.py)."""

from __future__ import annotations

import random

import pytest

from projections.audit import merkle
from tests.unit import rfc9162

#: RFC 6962 test vectors (as used by transparency-dev/merkle and Certificate Transparency).
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


class StoredTree:
    """Complete subtrees as the sealer stores them, built by appending leaves one at a time."""

    def __init__(self, entries: list[bytes]) -> None:
        self.entries = entries
        self.nodes: dict[merkle.Node, bytes] = {}
        self.range = merkle.CompactRange()
        for entry in entries:
            for level, index, node in self.range.append(merkle.leaf_hash(entry)):
                self.nodes[(level, index)] = node

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The production audit path, from stored nodes."""
        spans = merkle.inclusion_spans(index, size)
        return merkle.span_hashes(spans, self.nodes.__getitem__)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The production consistency proof, from stored nodes."""
        spans = merkle.consistency_spans(first, second)
        return merkle.span_hashes(spans, self.nodes.__getitem__)


def test_the_root_matches_the_rfc6962_test_vectors() -> None:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root([]).hex() == empty
    for size, expected in enumerate(RFC6962_ROOTS, start=1):
        assert merkle.root(RFC6962_LEAVES[:size]).hex() == expected
        assert rfc9162.mth(RFC6962_LEAVES[:size]).hex() == expected


@pytest.mark.parametrize("size", range(1, 71))
def test_every_proof_of_a_tree_passes_the_independent_verifier(size: int) -> None:
    entries = [f"event {i}".encode() for i in range(size)]
    tree = StoredTree(entries)
    roots = [rfc9162.mth(entries[:n]) for n in range(size + 1)]
    assert tree.range.root() == roots[size]
    for index in range(size):
        path = tree.inclusion(index, size)
        assert len(path) <= size.bit_length()
        leaf = rfc9162.hash_leaf(entries[index])
        assert rfc9162.inclusion_root(index, size, leaf, path) == roots[size]
    for first in range(1, size + 1):
        proof = tree.consistency(first, size)
        assert len(proof) <= 2 * size.bit_length()
        assert rfc9162.consistent(first, size, roots[first], roots[size], proof)


def test_the_production_checks_agree_with_the_independent_verifier_on_a_random_log() -> None:
    rng = random.Random(6962)
    entries = [rng.randbytes(rng.randrange(0, 64)) for _ in range(1500)]
    tree = StoredTree(entries)
    for _ in range(300):
        second = rng.randrange(1, len(entries) + 1)
        first = rng.randrange(1, second + 1)
        index = rng.randrange(second)
        second_root, first_root = rfc9162.mth(entries[:second]), rfc9162.mth(entries[:first])
        path = tree.inclusion(index, second)
        leaf = rfc9162.hash_leaf(entries[index])
        assert rfc9162.inclusion_root(index, second, leaf, path) == second_root
        assert merkle.verify_inclusion(index, second, leaf, path, second_root)
        proof = tree.consistency(first, second)
        assert rfc9162.consistent(first, second, first_root, second_root, proof)
        assert merkle.verify_consistency(first, second, first_root, second_root, proof)


def test_altered_proofs_fail_both_verifiers() -> None:
    entries = [bytes([i]) for i in range(37)]
    tree = StoredTree(entries)
    root, old = rfc9162.mth(entries), rfc9162.mth(entries[:13])
    path = tree.inclusion(20, 37)
    leaf = rfc9162.hash_leaf(entries[20])
    for index in range(len(path)):
        bad = [*path]
        bad[index] = bytes(32)
        assert rfc9162.inclusion_root(20, 37, leaf, bad) != root
        assert not merkle.verify_inclusion(20, 37, leaf, bad, root)
    assert not merkle.verify_inclusion(21, 37, leaf, path, root)  # another leaf's place
    assert not merkle.verify_inclusion(20, 37, leaf, path[:-1], root)  # cut short
    proof = tree.consistency(13, 37)
    for index in range(len(proof)):
        bad = [*proof]
        bad[index] = bytes(32)
        assert not rfc9162.consistent(13, 37, old, root, bad)
        assert not merkle.verify_consistency(13, 37, old, root, bad)
    forked = rfc9162.mth([b"x", *entries[1:13]])
    assert not merkle.verify_consistency(13, 37, forked, root, proof)
    assert not merkle.verify_consistency(13, 37, old, root, [*proof, bytes(32)])


def test_a_proof_reads_only_logarithmically_many_stored_nodes() -> None:
    size = 1_000_000
    for index in (0, 1, 524_287, 524_288, 999_999):
        assert len(merkle.nodes_of(merkle.inclusion_spans(index, size))) <= 40
    for first in (1, 2, 3, 524_288, 777_777, 999_999):
        assert len(merkle.nodes_of(merkle.consistency_spans(first, size))) <= 80


@pytest.mark.parametrize("pieces", [[1] * 9, [4, 4, 4], [3, 5, 1, 7, 2, 11], [6, 1, 16, 10]])
def test_a_log_hashed_in_pieces_holds_every_complete_subtree(pieces: list[int]) -> None:
    entries = [bytes([n]) * n for n in range(sum(pieces))]
    levels = [bytearray()]
    start = 0
    for length in pieces:
        hashed = [merkle.leaf_hash(entry) for entry in entries[start : start + length]]
        merkle.merge(levels, start, merkle.piece_levels(start, hashed))
        start += length

    for size in range(len(entries) + 1):
        nodes = [bytes(levels[lv][32 * i : 32 * i + 32]) for lv, i in merkle.subtrees(0, size)]
        assert merkle.fold(nodes) == rfc9162.mth(entries[:size])
    heights = range(len(entries).bit_length())
    assert [len(level) // 32 for level in levels] == [len(entries) >> lv for lv in heights]
