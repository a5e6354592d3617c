"""Signing key files, the verifier key file, and the redaction key.

``trailseal init`` writes three files into the ledger's home directory:

- ``signing.key`` (mode 0600): the Ed25519 note signing key as a
  ``PRIVATE+KEY+...`` string, or, when ``TRAILSEAL_KEY_PASSPHRASE`` is set,
  that string sealed with XSalsa20-Poly1305 (PyNaCl ``SecretBox``) under a key
  stretched from the passphrase with argon2id.
- ``verifier.pub``: the verifier key string, the one thing auditors pin.
- ``redaction.key`` (mode 0600): 32 random bytes, hex, keying the HMAC that
  replaces secret values found by secret scanners.

In CI the signing key can come from ``TRAILSEAL_SIGNING_KEY`` and the
redaction key from ``TRAILSEAL_REDACTION_KEY`` instead. No function here
logs or formats key material into a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from ledger.errors import SigningKeyError
from ledger.note import NoteSigner, NoteVerifier

log = logging.getLogger(__name__)

SIGNING_KEY_ENV = "TRAILSEAL_SIGNING_KEY"
PASSPHRASE_ENV = "TRAILSEAL_KEY_PASSPHRASE"  # noqa: S105 (a variable name)
REDACTION_KEY_ENV = "TRAILSEAL_REDACTION_KEY"

_ENCRYPTED_FORMAT = "trailseal-encrypted-signing-key/v1"
# argon2id at libsodium's "interactive" cost, so each command that signs
# pays about a tenth of a second, not several.
_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


def _write_private(path: Path, data: str) -> None:
    """Create ``path`` with mode 0600 from the start; never overwrite a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(data)


def _stretch(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            passphrase.encode(),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    )


def seal_signing_key(signer: NoteSigner, passphrase: str) -> str:
    """The encrypted key file's text: JSON naming the KDF, its cost and salt."""
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_stretch(passphrase, salt, _OPSLIMIT, _MEMLIMIT))
    sealed = box.encrypt(signer.skey().encode())
    document = {
        "format": _ENCRYPTED_FORMAT,
        "kdf": "argon2id",
        "opslimit": _OPSLIMIT,
        "memlimit": _MEMLIMIT,
        "salt": base64.b64encode(salt).decode(),
        "sealed": base64.b64encode(bytes(sealed)).decode(),
        "key_name": signer.name,
        "key_id": signer.verifier.key_id_hex,
    }
    return json.dumps(document, indent=2) + "\n"


def _unseal(text: str, where: str) -> NoteSigner:
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        raise SigningKeyError(
            f"the signing key in {where} is encrypted; set {PASSPHRASE_ENV} to its passphrase"
        )
    try:
        document = json.loads(text)
        salt = base64.b64decode(document["salt"], validate=True)
        sealed = base64.b64decode(document["sealed"], validate=True)
        key = _stretch(passphrase, salt, int(document["opslimit"]), int(document["memlimit"]))
        plain = nacl.secret.SecretBox(key).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        raise SigningKeyError(f"wrong passphrase for the signing key in {where}") from None
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SigningKeyError(f"the encrypted signing key in {where} is malformed") from None
    return NoteSigner.from_skey(plain.decode("ascii"))


def parse_signing_key(text: str, where: str) -> NoteSigner:
    """Read a plain or encrypted signing key; ``where`` names its source in errors."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _unseal(stripped, where)
    try:
        return NoteSigner.from_skey(stripped)
    except SigningKeyError as exc:
        raise SigningKeyError(f"{where}: {exc}") from None


def load_signer(path: Path) -> NoteSigner:
    """The signing key from ``TRAILSEAL_SIGNING_KEY`` if set, else from ``path``."""
    from_env = os.environ.get(SIGNING_KEY_ENV)
    if from_env:
        return parse_signing_key(from_env, SIGNING_KEY_ENV)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SigningKeyError(
            f"no signing key at {path} and {SIGNING_KEY_ENV} is not set; run 'trailseal init' "
            f"or provide the key"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningKeyError(f"cannot read the signing key at {path}: {exc}") from None
    return parse_signing_key(text, str(path))


def write_signer(signer: NoteSigner, path: Path) -> bool:
    """Write the signing key file; returns whether it was encrypted."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase:
        _write_private(path, seal_signing_key(signer, passphrase))
        return True
    _write_private(path, signer.skey() + "\n")
    return False


def load_verifier(value: str) -> NoteVerifier:
    """A verifier key given as a vkey string or as the path of a file holding one."""
    candidate = Path(value)
    if "+" not in value or candidate.is_file():
        try:
            text = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SigningKeyError(
                f"no verifier key file at {value}; pass a key string NAME+ID+KEY or a file"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyError(f"cannot read the verifier key file {value}: {exc}") from None
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) != 1:
            raise SigningKeyError(f"{value} should hold exactly one verifier key line")
        value = lines[0]
    return NoteVerifier.from_vkey(value)


def create_redaction_key(path: Path) -> None:
    _write_private(path, secrets.token_hex(32) + "\n")


def load_redaction_key(path: Path) -> bytes:
    """The redaction HMAC key from ``TRAILSEAL_REDACTION_KEY`` or ``path``."""
    text = os.environ.get(REDACTION_KEY_ENV)
    where = REDACTION_KEY_ENV
    if not text:
        where = str(path)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise SigningKeyError(
                f"no redaction key at {path} and {REDACTION_KEY_ENV} is not set; secret "
                f"findings cannot be recorded without it"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyError(f"cannot read the redaction key at {path}: {exc}") from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise SigningKeyError(f"the redaction key in {where} is not hex") from None
    if len(key) < 16:
        raise SigningKeyError(f"the redaction key in {where} is shorter than 16 bytes")
    return key
