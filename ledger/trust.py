"""TrustPolicy: which key may sign the checkpoint at each tree size.

Verification starts from one key the caller trusts and follows the ledger's
own key history from there:

- a ``key-rotation`` entry at sequence number r names the active key and its
  successor, and carries both keys' signatures over a rotation statement;
  checkpoints of size > r must then be signed by the successor. Only the
  holder of the active key can rotate, so a ledger re-signed with another
  key stays untrusted however valid its own signatures are.
- a ``key-revocation`` entry names a key id and a sequence number: any
  checkpoint of larger size that relies on that key is refused, which is how
  checkpoints made with a stolen key after the theft are caught.

Unlike certificate-transparency logs, a key change does not need a new
ledger: the history stays one tree.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ledger.note import NoteSigner, NoteVerifier, SignedNote

ROTATION_KIND = "key-rotation"
REVOCATION_KIND = "key-revocation"


def rotation_statement(origin: str, old_vkey: str, new_vkey: str) -> bytes:
    """The bytes both keys sign to make a rotation."""
    return f"trailseal key rotation v1\n{origin}\n{old_vkey}\n{new_vkey}\n".encode()


def rotation_body(origin: str, old: NoteSigner, new: NoteSigner) -> dict[str, Any]:
    """The body of a key-rotation entry, signed by the outgoing and incoming keys."""
    statement = rotation_statement(origin, old.verifier.vkey(), new.verifier.vkey())
    return {
        "origin": origin,
        "old": old.verifier.vkey(),
        "new": new.verifier.vkey(),
        "old_signature": base64.b64encode(old.sign(statement)).decode(),
        "new_signature": base64.b64encode(new.sign(statement)).decode(),
    }


@dataclass(frozen=True)
class KeySpan:
    """A key and the checkpoint sizes it is trusted for: ``first <= size``."""

    key: NoteVerifier
    first: int


class TrustPolicy:
    """Decides whether a checkpoint at a given size is signed by the right key."""

    def __init__(self, root: NoteVerifier, origin: str) -> None:
        self.root = root
        self.origin = origin
        self.spans = [KeySpan(root, 0)]
        self.revoked: dict[int, int] = {}

    @property
    def active(self) -> NoteVerifier:
        return self.spans[-1].key

    def key_at(self, size: int) -> NoteVerifier:
        """The key that must sign the checkpoint of ``size`` entries."""
        key = self.root
        for span in self.spans:
            if span.first <= size:
                key = span.key
        return key

    def revoke(self, key_id: int, from_seq: int) -> None:
        """Checkpoints of size > ``from_seq`` relying on ``key_id`` are refused."""
        current = self.revoked.get(key_id)
        self.revoked[key_id] = from_seq if current is None else min(current, from_seq)

    def observe_rotation(self, seq: int, body: dict[str, Any]) -> str | None:
        """Apply a key-rotation entry; returns what is wrong with it, or None."""
        try:
            old = NoteVerifier.from_vkey(body["old"])
            new = NoteVerifier.from_vkey(body["new"])
            old_sig = base64.b64decode(body["old_signature"], validate=True)
            new_sig = base64.b64decode(body["new_signature"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError) as exc:
            return f"malformed key rotation ({exc})"
        except Exception as exc:  # SigningKeyError from a bad vkey string
            return f"malformed key rotation ({exc})"
        if body.get("origin") != self.origin:
            return "key rotation for another ledger's origin"
        if old != self.active:
            return "key rotation from a key that was not the active key"
        statement = rotation_statement(self.origin, body["old"], body["new"])
        if not old.verify(statement, old_sig) or not new.verify(statement, new_sig):
            return "key rotation without valid signatures by both keys"
        self.spans.append(KeySpan(new, seq + 1))
        return None

    def check(self, note: SignedNote, size: int) -> tuple[bool | None, str]:
        """(verdict, key description) for a checkpoint note at ``size``.

        True: signed by the right key; False: that key's signature is invalid
        or the key was revoked for this size; None: no signature by it.
        """
        key = self.key_at(size)
        label = f"{key.name} {key.key_id_hex}"
        revoked_from = self.revoked.get(key.key_id)
        if revoked_from is not None and size > revoked_from:
            return False, f"{label} (revoked from entry {revoked_from})"
        return note.verified_by(key), label
