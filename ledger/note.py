"""C2SP signed notes, Ed25519 note keys and tlog checkpoints.

Formats: https://c2sp.org/signed-note (note text, signature lines, key ids,
verifier key strings) and https://c2sp.org/tlog-checkpoint (origin, tree
size, base64 root hash). Signer key strings use the ``PRIVATE+KEY+...``
form that golang.org/x/mod/sumdb/note writes, so keys move between tools.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from ledger.errors import SigningKeyError, VerificationError

ED25519 = 0x01
"""Signature type byte for Ed25519 (signed-note, "Signature types")."""

MAX_SIGNATURES = 64
"""Notes with more signature lines than this are refused (the spec asks for >= 16)."""

_NAME = re.compile(r"^[^\s+]+$")
_SIGNATURE_LINE = re.compile(r"^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$")


def _b64decode(text: str) -> bytes:
    """Strict standard base64; raises ``binascii.Error`` for anything else."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise binascii.Error("base64 text holds non-ASCII characters") from None
    return base64.b64decode(data, validate=True)


def key_id(name: str, public_key: bytes) -> int:
    """Key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def check_key_name(name: str) -> str:
    """Key names are non-empty, with no spaces and no '+' (signed-note, "Format")."""
    if not _NAME.match(name):
        raise SigningKeyError(f"key name {name!r} must be non-empty, with no spaces and no '+'")
    return name


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 public key with its note key name, as a verifier key string holds."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    @property
    def key_id_hex(self) -> str:
        return f"{self.key_id:08x}"

    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        material = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id_hex}+{material}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a verifier key string, checking its key ID against its key."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise SigningKeyError("a verifier key has the form NAME+KEYID+BASE64KEY")
        name, id_hex, material_b64 = parts
        check_key_name(name)
        try:
            material = _b64decode(material_b64)
            wanted_id = int(id_hex, 16)
        except (binascii.Error, ValueError) as exc:
            raise SigningKeyError("the verifier key's id or key is not valid hex/base64") from exc
        if len(id_hex) != 8 or len(material) != 33 or material[0] != ED25519:
            raise SigningKeyError("the verifier key is not an Ed25519 note key")
        verifier = cls(name, material[1:])
        if verifier.key_id != wanted_id:
            raise SigningKeyError("the verifier key's id does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            nacl.signing.VerifyKey(self.public_key).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


class NoteSigner:
    """An Ed25519 private key that signs notes under a key name.

    The seed is kept in the PyNaCl object only; ``repr`` never shows it.
    """

    __slots__ = ("_key", "name", "verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        check_key_name(name)
        if len(seed) != 32:
            raise SigningKeyError("an Ed25519 seed is 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self.name = name
        self.verifier = NoteVerifier(name, bytes(self._key.verify_key))

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, key id {self.verifier.key_id_hex})"

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, bytes(nacl.signing.SigningKey.generate()))

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)

    def signature_line(self, text: str) -> str:
        """The ``— name base64(key id || signature)`` line for a note text."""
        blob = self.verifier.key_id.to_bytes(4, "big") + self.sign(text.encode())
        return f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"

    def skey(self) -> str:
        """The private key string ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        seed = bytes(self._key)
        material = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id_hex}+{material}"

    @classmethod
    def from_skey(cls, text: str) -> NoteSigner:
        """Parse a private key string; errors never echo the key."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise SigningKeyError("the signing key is not a PRIVATE+KEY+... string")
        _, _, name, id_hex, material_b64 = parts
        try:
            material = _b64decode(material_b64)
        except binascii.Error:
            raise SigningKeyError("the signing key's key material is not base64") from None
        if len(material) != 33 or material[0] != ED25519:
            raise SigningKeyError("the signing key is not an Ed25519 note key")
        signer = cls(name, material[1:])
        if signer.verifier.key_id_hex != id_hex.lower():
            raise SigningKeyError("the signing key's id does not match its name and key")
        return signer


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    """A note text with its signature lines, as parsed."""

    text: str
    signatures: tuple[Signature, ...]

    def verified_by(self, verifier: NoteVerifier) -> bool | None:
        """True if ``verifier``'s signature is present and valid, False if present
        and invalid, None if the note carries no signature from that key.

        Per the spec a signature matches a key only when both name and id match.
        """
        outcome: bool | None = None
        for sig in self.signatures:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                if not verifier.verify(self.text.encode(), sig.signature):
                    return False
                outcome = True
        return outcome


def parse_note(data: str) -> SignedNote:
    """Split a signed note into text and signatures (signed-note, "Format")."""
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise VerificationError("the note holds control characters")
    split = data.rfind("\n\n")
    if split < 0 or not data.endswith("\n"):
        raise VerificationError("the note has no blank line before its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"the note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        match = _SIGNATURE_LINE.match(line)
        if not match:
            raise VerificationError("the note has a malformed signature line")
        try:
            blob = _b64decode(match.group(2))
        except binascii.Error:
            raise VerificationError("the note has a signature that is not valid base64") from None
        if len(blob) < 5:
            raise VerificationError("the note has a signature too short to hold a key id")
        signatures.append(Signature(match.group(1), int.from_bytes(blob[:4], "big"), blob[4:]))
    return SignedNote(text, tuple(signatures))


def sign_note(text: str, signers: list[NoteSigner]) -> str:
    """Sign a note text (which must end in a newline) with each signer."""
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("a note text ends in one newline and has no blank lines here")
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


@dataclass(frozen=True)
class CheckpointBody:
    """The three lines of a tlog checkpoint."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        root_b64 = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.size}\n{root_b64}\n"

    @classmethod
    def parse(cls, text: str) -> CheckpointBody:
        """Parse a checkpoint text (tlog-checkpoint, "Note text")."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise VerificationError("the checkpoint does not have origin, size and root lines")
        origin, size_text, root_b64 = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text) or int(size_text) >= 2**64:
            raise VerificationError("the checkpoint's tree size is not a decimal number")
        try:
            root_hash = _b64decode(root_b64)
        except binascii.Error as exc:
            raise VerificationError("the checkpoint's root hash is not base64") from exc
        if len(root_hash) != 32:
            raise VerificationError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size_text), root_hash)
