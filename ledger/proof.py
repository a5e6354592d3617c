"""Inclusion and consistency proofs: building them, writing them, checking them.

Two written forms of an inclusion proof:

- JSON (``trailseal-inclusion-proof/v1``), the documented form::

    {"format": "trailseal-inclusion-proof/v1", "index": 42, "tree_size": 100,
     "leaf_hash": "<hex>", "envelope": "<the entry's envelope JSON>",
     "body": "<base64 of the body bytes, absent if erased>", "salt": "<hex>",
     "path": ["<base64 hash>", ...], "checkpoint": "<signed note>"}

  ``path`` is the RFC 9162 audit path, from the leaf's sibling upwards.
- C2SP tlog-proof text (``c2sp.org/tlog-proof@v1``), with the envelope as the
  ``extra`` data so the leaf hash can be recomputed from the proof alone.

A consistency proof (``trailseal-consistency-proof/v1``) holds two signed
checkpoints and the RFC 9162 consistency path between them.

Checking one needs nothing but the proof and trusted verifier keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.errors import InputError, SigningKeyError, VerificationError
from ledger.ledger import Ledger
from ledger.note import CheckpointBody, NoteVerifier, parse_note
from ledger.trust import ROTATION_KIND, TrustPolicy

INCLUSION_FORMAT = "trailseal-inclusion-proof/v1"
CONSISTENCY_FORMAT = "trailseal-consistency-proof/v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class InclusionProof:
    """An entry, the audit path to a checkpoint's root, and that checkpoint."""

    index: int
    tree_size: int
    envelope: bytes
    body: bytes | None
    salt: bytes | None
    path: list[bytes]
    checkpoint: str
    key_rotations: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": INCLUSION_FORMAT,
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": merkle.leaf_hash(self.envelope).hex(),
            "envelope": self.envelope.decode("ascii"),
        }
        if self.body is not None and self.salt is not None:
            document["body"] = _b64(self.body)
            document["salt"] = self.salt.hex()
        document["path"] = [_b64(h) for h in self.path]
        document["checkpoint"] = self.checkpoint
        if self.key_rotations:
            document["key_rotations"] = list(self.key_rotations)
        return document

    def to_tlog_proof(self) -> str:
        """The C2SP tlog-proof text, envelope as extra data."""
        lines = [TLOG_PROOF_HEADER, f"extra {_b64(self.envelope)}", f"index {self.index}"]
        lines.extend(_b64(h) for h in self.path)
        return "\n".join(lines) + "\n\n" + self.checkpoint


@dataclass(frozen=True)
class ConsistencyProof:
    """Two signed checkpoints and the RFC 9162 consistency path between them."""

    old_checkpoint: str
    new_checkpoint: str
    path: list[bytes]
    key_rotations: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        old = CheckpointBody.parse(parse_note(self.old_checkpoint).text)
        new = CheckpointBody.parse(parse_note(self.new_checkpoint).text)
        return {
            "format": CONSISTENCY_FORMAT,
            "old_size": old.size,
            "new_size": new.size,
            "path": [_b64(h) for h in self.path],
            "old_checkpoint": self.old_checkpoint,
            "new_checkpoint": self.new_checkpoint,
            **({"key_rotations": list(self.key_rotations)} if self.key_rotations else {}),
        }


class Prover:
    """Builds proofs from a ledger's stored leaves (verify the ledger first)."""

    def __init__(self, ledger: Ledger, size: int | None = None) -> None:
        self.ledger = ledger
        store = ledger.store
        with store.reading() as conn:
            row = store.latest_checkpoint(conn) if size is None else store.checkpoint_at(conn, size)
            if row is None:
                raise InputError(f"there is no checkpoint at tree size {size}")
            self.checkpoint = row.note
            self.size = int(row.size)
            self.tree = merkle.Tree(store.leaf_hashes(conn, self.size))
            rotations = store.entries_of_kinds(conn, (ROTATION_KIND,))
        # Rotation statements let a verifier pinned to an older key follow the
        # key history to the key that signed this checkpoint.
        self.key_rotations = tuple(
            json.loads(row.body)
            for row in rotations
            if row.body is not None and row.seq < self.size
        )
        if self.tree.size != self.size:
            raise VerificationError("the ledger has fewer entries than its checkpoint covers")

    def inclusion(self, seq: int) -> InclusionProof:
        if not 0 <= seq < self.size:
            raise InputError(
                f"entry {seq} is not in the tree of the latest checkpoint (size {self.size})"
            )
        with self.ledger.store.reading() as conn:
            row = self.ledger.store.get_entry(conn, seq)
        if row is None:
            raise VerificationError(f"entry {seq} is missing from the ledger")
        return InclusionProof(
            index=seq,
            tree_size=self.size,
            envelope=bytes(row.envelope),
            body=bytes(row.body) if row.body is not None else None,
            salt=bytes(row.salt) if row.salt is not None else None,
            path=self.tree.inclusion_proof(seq, self.size),
            checkpoint=self.checkpoint,
            key_rotations=self.key_rotations,
        )

    def consistency(self, old_note: str) -> ConsistencyProof:
        old = CheckpointBody.parse(parse_note(old_note).text)
        if old.size > self.size:
            raise InputError(
                f"the given checkpoint (size {old.size}) is newer than the ledger's ({self.size})"
            )
        if self.tree.root(old.size) != old.root_hash:
            raise VerificationError(
                f"the ledger's tree at size {old.size} differs from the given checkpoint: "
                f"the ledger is not consistent with it"
            )
        return ConsistencyProof(
            old_note,
            self.checkpoint,
            self.tree.consistency_proof(old.size, self.size),
            self.key_rotations,
        )


def _signed_body(note: str, keys: list[NoteVerifier], what: str) -> CheckpointBody:
    """Check that ``note`` is signed by one of ``keys``, and parse it."""
    parsed = parse_note(note)
    verdicts = [parsed.verified_by(key) for key in keys]
    if False in verdicts:
        raise VerificationError(f"{what} has an invalid signature by a trusted key")
    if True not in verdicts:
        raise VerificationError(f"{what} is not signed by any trusted key")
    return CheckpointBody.parse(parsed.text)


@dataclass(frozen=True)
class ProofCheck:
    """What a verified proof establishes."""

    kind: str
    origin: str
    tree_size: int
    index: int | None = None
    old_size: int | None = None
    body_verified: bool = False


def check_proof(text: str, keys: list[NoteVerifier]) -> ProofCheck:
    """Verify a proof in any of the written forms. Raises :class:`VerificationError`."""
    if text.startswith(TLOG_PROOF_HEADER):
        return _check_tlog_proof(text, keys)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise VerificationError("the proof is neither JSON nor a c2sp.org/tlog-proof") from None
    if not isinstance(document, dict):
        raise VerificationError("the proof is not a JSON object")
    try:
        chain, current = key_chain(keys, document.get("key_rotations", []), MAX_KEY_ROTATIONS)
        if document.get("format") == INCLUSION_FORMAT:
            return _check_inclusion_json(document, current)
        if document.get("format") == CONSISTENCY_FORMAT:
            return _check_consistency_json(document, chain, current)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise VerificationError(f"the proof lacks or garbles a field: {exc}") from None
    raise VerificationError(f"unknown proof format {document.get('format')!r}")


def follow_rotations(keys: list[NoteVerifier], rotations: Any) -> list[NoteVerifier]:
    """Extend trusted keys by rotation statements signed by a trusted key and its successor.

    The result lists the pinned keys, then each successor in rotation order.
    """
    return key_chain(keys, rotations)[0]


MAX_KEY_ROTATIONS = 256
"""Most key rotations a proof or pack from outside may list: each costs signature checks."""


def key_chain(
    keys: list[NoteVerifier], rotations: Any, limit: int | None = None
) -> tuple[list[NoteVerifier], list[NoteVerifier]]:
    """(every key in the chain, the keys that may sign the newest checkpoint).

    A proof or pack carries the rotations that happened before its newest
    checkpoint, so that checkpoint must be signed by the last successor: a
    key rotated away cannot sign it, however valid its signature. Older
    checkpoints may carry any key of the chain. Rotations a proof leaves out
    cannot be known offline; pin the newest key as well to rule that out.
    Rotations that do not follow from a trusted key (say, from before the
    key pinned) are ignored, and cost no signature check. More than ``limit``
    rotations are refused before any is checked.
    """
    trusted = list(keys)
    if not isinstance(rotations, list):
        raise VerificationError("key_rotations is not a list")
    if limit is not None and len(rotations) > limit:
        raise VerificationError(
            f"{len(rotations)} key rotations listed, more than the {limit} accepted"
        )
    newest: NoteVerifier | None = None
    for body in rotations:
        if not isinstance(body, dict):
            raise VerificationError("a key rotation is not an object")
        try:
            old: NoteVerifier | None = NoteVerifier.from_vkey(str(body.get("old")))
        except SigningKeyError:
            old = None  # not a key, so not one of ours
        if old is None or old not in trusted:
            continue
        policy = TrustPolicy(old, str(body.get("origin")))
        if policy.observe_rotation(0, body) is None:
            if policy.active not in trusted:
                trusted.append(policy.active)
            newest = policy.active
    return trusted, [newest] if newest is not None else list(keys)


def _check_leaf(envelope: bytes, index: int) -> bytes:
    try:
        fields = json.loads(envelope)
    except ValueError:
        raise VerificationError("the envelope in the proof is not JSON") from None
    if not isinstance(fields, dict) or fields.get("seq") != index:
        raise VerificationError(f"the envelope in the proof is not that of entry {index}")
    return merkle.leaf_hash(envelope)


def _check_inclusion_json(document: dict[str, Any], keys: list[NoteVerifier]) -> ProofCheck:
    # (1) the checkpoint is signed by a trusted key.
    checkpoint = _signed_body(document["checkpoint"], keys, "the proof's checkpoint")
    index, size = int(document["index"]), int(document["tree_size"])
    if size != checkpoint.size:
        raise VerificationError("the proof's tree size differs from its checkpoint's")
    # (2) the leaf hash is recomputed from the envelope, never taken from the proof.
    envelope = str(document["envelope"]).encode("ascii")
    leaf = _check_leaf(envelope, index)
    if document.get("leaf_hash") not in (None, leaf.hex()):
        raise VerificationError("the proof's leaf hash does not match its envelope")
    # (3) the body, when present, matches the envelope's body hash.
    body_verified = False
    if "body" in document:
        body = _unb64(document["body"], "the body")
        salt = bytes.fromhex(str(document["salt"]))
        if hashlib.sha256(salt + body).hexdigest() != json.loads(envelope)["body_hash"]:
            raise VerificationError("the proof's body does not match the envelope's body hash")
        body_verified = True
    # (4) the audit path leads from the leaf to the signed root (RFC 9162 2.1.3.2).
    path = [_unb64(h, "a path hash") for h in document["path"]]
    if not merkle.verify_inclusion(leaf, index, size, path, checkpoint.root_hash):
        raise VerificationError(f"the audit path does not prove entry {index} in the tree")
    return ProofCheck("inclusion", checkpoint.origin, size, index, None, body_verified)


def _check_tlog_proof(text: str, keys: list[NoteVerifier]) -> ProofCheck:
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise VerificationError("the tlog-proof has no blank line before its checkpoint")
    lines = head.split("\n")[1:]
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = _unb64(lines.pop(0)[6:], "the extra data")
    if not lines or not lines[0].startswith("index "):
        raise VerificationError("the tlog-proof has no index line")
    index_text = lines.pop(0)[6:]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", index_text):
        raise VerificationError("the tlog-proof's index is not a decimal number")
    index = int(index_text)
    if extra is None:
        raise VerificationError("the tlog-proof carries no entry envelope in its extra line")
    checkpoint = _signed_body(note, keys, "the proof's checkpoint")
    leaf = _check_leaf(extra, index)
    path = [_unb64(h, "a path hash") for h in lines]
    if not merkle.verify_inclusion(leaf, index, checkpoint.size, path, checkpoint.root_hash):
        raise VerificationError(f"the audit path does not prove entry {index} in the tree")
    return ProofCheck("inclusion", checkpoint.origin, checkpoint.size, index)


def _check_consistency_json(
    document: dict[str, Any], chain: list[NoteVerifier], current: list[NoteVerifier]
) -> ProofCheck:
    old = _signed_body(document["old_checkpoint"], chain, "the older checkpoint")
    new = _signed_body(document["new_checkpoint"], current, "the newer checkpoint")
    if old.origin != new.origin:
        raise VerificationError("the two checkpoints are of different ledgers")
    path = [_unb64(h, "a path hash") for h in document["path"]]
    if not merkle.verify_consistency(old.size, new.size, path, old.root_hash, new.root_hash):
        raise VerificationError(
            f"the proof does not show the tree of size {old.size} is a prefix of size {new.size}"
        )
    return ProofCheck("consistency", new.origin, new.size, None, old.size)
