"""RFC 9162 Merkle tree hashing, audit paths and consistency proofs.

Hashes follow RFC 9162 section 2.1.1: a leaf is SHA-256(0x00 || data), an
interior node SHA-256(0x01 || left || right), the empty tree SHA-256 of
nothing. Proof generation follows sections 2.1.3.1 and 2.1.4.1; proof
checking follows the verification algorithms of 2.1.3.2 and 2.1.4.2
step by step, so a forged proof fails the same way it would in any other
RFC 9162 client.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """Root hash (MTH) of a tree over the given leaf hashes."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


class Frontier:
    """The compact range of a tree: roots of its maximal perfect subtrees.

    Enough to append leaves and compute the root without the earlier leaves;
    stored beside each checkpoint so an append never reads the whole tree.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError("a frontier has one hash per set bit of its size")
        self.size = size
        # Largest subtree first, as the set bits of ``size`` from high to low.
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash to the right of the tree."""
        node = leaf
        size = self.size
        # Merge equal-sized subtrees while the lowest bits of size are set.
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """Root hash of the tree of ``size`` leaves."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = node_hash(left, node)
        return node

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        if len(data) != 32 * size.bit_count():
            raise ValueError("frontier bytes do not match the tree size")
        return cls(size, [data[i : i + 32] for i in range(0, len(data), 32)])


class Tree:
    """A tree over known leaf hashes, with every aligned perfect subtree's root.

    Building it costs one hash per interior node; afterwards any RFC 9162
    subtree root, and so any proof, takes O(log^2 n) hashes instead of O(n).
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        level = list(leaves)
        self.levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def subtree_root(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``lo..hi-1`` (a subtree that RFC 9162 proofs use)."""
        n = hi - lo
        if n <= 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            return self.levels[n.bit_length() - 1][lo // n]
        k = _split(n)
        return node_hash(self.subtree_root(lo, lo + k), self.subtree_root(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree_root(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Audit path for leaf ``index`` in the tree of the first ``size`` leaves.

        RFC 9162 section 2.1.3.1, iteratively: at each level the sibling subtree's
        root, listed from the leaf upwards.
        """
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of size {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                path.append(self.subtree_root(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.subtree_root(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Consistency proof between trees of ``old_size`` and ``new_size`` leaves.

        RFC 9162 section 2.1.4.1 (SUBPROOF), written as a loop.
        """
        if not 0 <= old_size <= new_size <= self.size:
            raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        # lo is where the current subtree starts, n its size, m the old size
        # within it; ``whole`` is SUBPROOF's b flag.
        lo, n, m, whole = 0, new_size, old_size, True
        while m != n:
            k = _split(n)
            if m <= k:
                proof.append(self.subtree_root(lo + k, lo + n))
                n = k
            else:
                proof.append(self.subtree_root(lo, lo + k))
                lo, m, n, whole = lo + k, m - k, n - k, False
        if not whole:
            proof.append(self.subtree_root(lo, lo + n))
        proof.reverse()
        return proof


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path for one leaf; builds a :class:`Tree` (use one directly for many)."""
    return Tree(leaves[:size]).inclusion_proof(index, size)


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof; builds a :class:`Tree` (use one directly for many)."""
    return Tree(leaves[:new_size]).consistency_proof(old_size, new_size)


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``path`` prove ``leaf`` at ``index``?"""
    # (1) the index must be within the tree.
    if index >= size or index < 0:
        return False
    # (2) fn, sn, r as the RFC names them.
    fn, sn, r = index, size - 1, leaf
    # (3) fold in each path element from the leaf upwards.
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # (4) the path must be exactly long enough, and reach the root.
    return sn == 0 and r == expected_root


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``old_size`` a prefix of the new one?"""
    if old_size > new_size or old_size < 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        # Every tree extends the empty tree; there is nothing to prove.
        return not proof
    # (1) an empty proof proves nothing; (2) if old_size is a power of two,
    # the old root is the first node.
    if not proof:
        return False
    nodes = list(proof)
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    # (2) fn, sn as the RFC names them; (3) skip the shared right edge.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # (4) fr and sr start from the first node.
    fr = sr = nodes[0]
    # (5) fold in the rest.
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # (6) both roots must match and the proof be used up exactly.
    return fr == old_root and sr == new_root and sn == 0
