"""RFC 9162 Merkle trees: roots, proofs and the compact range against a reference.

The reference below is the recursive definition of RFC 9162 sections
2.1.1 (MTH), 2.1.3.1 (PATH) and 2.1.4.1 (PROOF/SUBPROOF), written from the
text with hashlib alone, so it shares no code with ``ledger.merkle``.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import merkle


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(data: list[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + data[0])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:]))


def ref_path(m: int, data: list[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def ref_subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if whole else [ref_mth(data)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, data[:k], whole), ref_mth(data[k:])]
    return [*ref_subproof(m - k, data[k:], False), ref_mth(data[:k])]


def ref_proof(m: int, data: list[bytes]) -> list[bytes]:
    return ref_subproof(m, data, True)


def _data(seed: int, size: int) -> list[bytes]:
    # Distinct leaves of varying length, one of them empty.
    return [_sha(f"{seed}:{i}".encode())[: (i * 7) % 33] for i in range(size)]


def _leaves(data: list[bytes]) -> list[bytes]:
    return [_sha(b"\x00" + d) for d in data]


def _flip(value: bytes, bit: int) -> bytes:
    bit %= 8 * len(value)
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


sizes = st.integers(0, 300)
seeds = st.integers(0, 2**16)


def test_known_hashes() -> None:
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.leaf_hash(b"") == _sha(b"\x00")
    assert merkle.node_hash(b"a", b"b") == _sha(b"\x01ab")
    assert merkle.root([]) == merkle.EMPTY_ROOT


@settings(max_examples=150, deadline=None)
@given(sizes, seeds)
def test_root_equals_reference(size: int, seed: int) -> None:
    data = _data(seed, size)
    assert [merkle.leaf_hash(d) for d in data] == _leaves(data)
    assert merkle.root(_leaves(data)) == ref_mth(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 130), seeds)
def test_frontier_gives_every_intermediate_root_and_round_trips(size: int, seed: int) -> None:
    data = _data(seed, size)
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.EMPTY_ROOT
    for n, leaf in enumerate(_leaves(data), start=1):
        frontier.append(leaf)
        assert frontier.size == n
        assert frontier.root() == ref_mth(data[:n])
        again = merkle.Frontier.from_bytes(n, frontier.to_bytes())
        assert again.hashes == frontier.hashes and again.root() == frontier.root()
    # A copy is independent of the original.
    copy = frontier.copy()
    copy.append(_sha(b"more"))
    assert frontier.size == size and copy.size == size + 1


@given(st.integers(0, 300), st.integers(-64, 64))
def test_frontier_bytes_must_fit_the_size(size: int, delta: int) -> None:
    assume(delta != 0)
    length = 32 * size.bit_count() + delta
    assume(length >= 0)
    with pytest.raises(ValueError):
        merkle.Frontier.from_bytes(size, b"\x00" * length)


def test_frontier_refuses_wrong_hash_count() -> None:
    with pytest.raises(ValueError):
        merkle.Frontier(3, [b"\x00" * 32])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), seeds, st.data())
def test_inclusion_proofs_match_reference_and_verify(
    size: int, seed: int, data: st.DataObject
) -> None:
    values = _data(seed, size)
    leaves = _leaves(values)
    root = ref_mth(values)
    for _ in range(4):
        index = data.draw(st.integers(0, size - 1), label="index")
        path = merkle.inclusion_proof(leaves, index, size)
        assert path == ref_path(index, values)
        assert merkle.verify_inclusion(leaves[index], index, size, path, root)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), seeds, st.data())
def test_consistency_proofs_match_reference_and_verify(
    size: int, seed: int, data: st.DataObject
) -> None:
    values = _data(seed, size)
    leaves = _leaves(values)
    new_root = ref_mth(values)
    for _ in range(4):
        old = data.draw(st.integers(0, size), label="old size")
        proof = merkle.consistency_proof(leaves, old, size)
        assert proof == ([] if old == 0 else ref_proof(old, values))
        assert merkle.verify_consistency(old, size, proof, ref_mth(values[:old]), new_root)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 200), seeds, st.data())
def test_any_change_to_an_inclusion_proof_fails(size: int, seed: int, data: st.DataObject) -> None:
    values = _data(seed, size)
    leaves = _leaves(values)
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, path, root = leaves[index], merkle.inclusion_proof(leaves, index, size), ref_mth(values)
    bit = data.draw(st.integers(0, 255), label="bit")
    how = data.draw(
        st.sampled_from(
            ["leaf", "root", "path", "truncate", "extend", "prepend", "index", "size", "drop"]
        ),
        label="mutation",
    )
    if how == "leaf":
        leaf = _flip(leaf, bit)
    elif how == "root":
        root = _flip(root, bit)
    elif how == "path":
        assume(path)
        at = data.draw(st.integers(0, len(path) - 1), label="element")
        path = [*path[:at], _flip(path[at], bit), *path[at + 1 :]]
    elif how == "truncate":
        assume(path)
        path = path[:-1]
    elif how == "drop":
        assume(path)
        at = data.draw(st.integers(0, len(path) - 1), label="element")
        path = path[:at] + path[at + 1 :]
    elif how == "extend":
        path = [*path, data.draw(st.binary(min_size=32, max_size=32), label="extra")]
    elif how == "prepend":
        path = [data.draw(st.binary(min_size=32, max_size=32), label="extra"), *path]
    elif how == "index":
        other = data.draw(st.integers(-3, size + 3).filter(lambda i: i != index), label="index")
        index = other
    else:
        # A different tree size, with that tree's own root (a checkpoint signs both).
        other = data.draw(st.integers(1, 300).filter(lambda n: n != size), label="size")
        assume(index < other)
        more = values + _data(seed + 1, max(0, other - size))
        root = ref_mth(more[:other])
        size = other
    assert not merkle.verify_inclusion(leaf, index, size, path, root)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 200), seeds, st.data())
def test_any_change_to_a_consistency_proof_fails(size: int, seed: int, data: st.DataObject) -> None:
    values = _data(seed, size)
    leaves = _leaves(values)
    old = data.draw(st.integers(1, size - 1), label="old size")
    proof = merkle.consistency_proof(leaves, old, size)
    old_root, new_root = ref_mth(values[:old]), ref_mth(values)
    bit = data.draw(st.integers(0, 255), label="bit")
    how = data.draw(
        st.sampled_from(
            ["old root", "new root", "proof", "truncate", "extend", "prepend", "drop", "sizes"]
        ),
        label="mutation",
    )
    new = size
    if how == "old root":
        old_root = _flip(old_root, bit)
    elif how == "new root":
        new_root = _flip(new_root, bit)
    elif how == "proof":
        at = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof = [*proof[:at], _flip(proof[at], bit), *proof[at + 1 :]]
    elif how == "truncate":
        proof = proof[:-1]
    elif how == "drop":
        at = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof = proof[:at] + proof[at + 1 :]
    elif how == "extend":
        proof = [*proof, data.draw(st.binary(min_size=32, max_size=32), label="extra")]
    elif how == "prepend":
        proof = [data.draw(st.binary(min_size=32, max_size=32), label="extra"), *proof]
    else:
        # Other sizes, each with its own tree's root: the proof is for old -> size only.
        more = values + _data(seed + 1, 100)
        old2 = data.draw(st.integers(1, len(more)), label="claimed old size")
        new2 = data.draw(st.integers(old2, len(more)), label="claimed new size")
        assume((old2, new2) != (old, size) and old2 != new2)
        old, new = old2, new2
        old_root, new_root = ref_mth(more[:old]), ref_mth(more[:new])
    assert not merkle.verify_consistency(old, new, proof, old_root, new_root)


def test_consistency_edge_cases() -> None:
    values = _data(7, 9)
    leaves = _leaves(values)
    root9 = ref_mth(values)
    # Equal sizes: only an empty proof between equal roots.
    assert merkle.verify_consistency(9, 9, [], root9, root9)
    assert not merkle.verify_consistency(9, 9, [root9], root9, root9)
    assert not merkle.verify_consistency(9, 9, [], root9, _flip(root9, 0))
    # Every tree extends the empty one, with an empty proof and nothing else.
    assert merkle.verify_consistency(0, 9, [], merkle.EMPTY_ROOT, root9)
    assert not merkle.verify_consistency(0, 9, [root9], merkle.EMPTY_ROOT, root9)
    # A tree never shrinks.
    assert not merkle.verify_consistency(9, 4, [], root9, ref_mth(values[:4]))
    assert not merkle.verify_consistency(-1, 9, [], root9, root9)
    # An empty proof between different sizes proves nothing.
    assert not merkle.verify_consistency(4, 9, [], ref_mth(values[:4]), root9)
    with pytest.raises(ValueError):
        merkle.consistency_proof(leaves, 5, 10)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(leaves, 9, 9)


def test_single_leaf_tree() -> None:
    leaf = merkle.leaf_hash(b"only")
    assert merkle.root([leaf]) == leaf
    assert merkle.inclusion_proof([leaf], 0, 1) == []
    assert merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    assert not merkle.verify_inclusion(leaf, 0, 0, [], leaf)
    assert not merkle.verify_inclusion(leaf, 1, 1, [], leaf)
