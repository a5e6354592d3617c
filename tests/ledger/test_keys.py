"""Signing key files (plain and passphrase-sealed), key variables, verifier keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.errors import SigningKeyError
from ledger.keys import (
    PASSPHRASE_ENV,
    SIGNING_KEY_ENV,
    load_signer,
    load_verifier,
    parse_signing_key,
    write_signer,
)
from ledger.note import NoteSigner

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)


def _secrets(signer: NoteSigner) -> list[str]:
    """Strings that must never appear in a message: the key string and its material."""
    skey = signer.skey()
    return [skey, skey.rsplit("+", 1)[-1]]


def _chain_text(exc: BaseException) -> str:
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(f"{type(current).__name__}: {current} {current.args!r}")
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_plain_key_file_round_trip(tmp_path: Path, primary_key: NoteSigner) -> None:
    path = tmp_path / "home" / "signing.key"
    assert write_signer(primary_key, path) is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == primary_key.skey()
    assert load_signer(path).verifier == primary_key.verifier


def test_encrypted_key_file_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, primary_key: NoteSigner
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    path = tmp_path / "signing.key"
    assert write_signer(primary_key, path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    document = json.loads(text)
    assert document["kdf"] == "argon2id"
    assert document["key_id"] == primary_key.verifier.key_id_hex
    for secret in [*_secrets(primary_key), PASSPHRASE]:
        assert secret not in text
    assert load_signer(path).verifier == primary_key.verifier


def test_wrong_passphrase_names_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, primary_key: NoteSigner
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    path = tmp_path / "signing.key"
    write_signer(primary_key, path)
    wrong = "Tr0ub4dor&3 not the passphrase"
    monkeypatch.setenv(PASSPHRASE_ENV, wrong)
    with pytest.raises(SigningKeyError) as caught:
        load_signer(path)
    assert "passphrase" in str(caught.value)
    text = _chain_text(caught.value)
    for secret in [*_secrets(primary_key), PASSPHRASE, wrong]:
        assert secret not in text


def test_encrypted_key_without_passphrase_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, primary_key: NoteSigner
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    path = tmp_path / "signing.key"
    write_signer(primary_key, path)
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(SigningKeyError, match=PASSPHRASE_ENV):
        load_signer(path)


def test_tampered_encrypted_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, primary_key: NoteSigner
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    path = tmp_path / "signing.key"
    write_signer(primary_key, path)
    document = json.loads(path.read_text())
    sealed = document["sealed"]
    document["sealed"] = ("B" if sealed[0] == "A" else "A") + sealed[1:]
    with pytest.raises(SigningKeyError) as caught:
        parse_signing_key(json.dumps(document), "edited.key")
    assert PASSPHRASE not in _chain_text(caught.value)
    with pytest.raises(SigningKeyError):
        parse_signing_key('{"format": "trailseal-encrypted-signing-key/v1"}', "partial.key")


def test_refuses_to_overwrite_a_key(tmp_path: Path, primary_key: NoteSigner) -> None:
    path = tmp_path / "signing.key"
    path.write_text("precious\n")
    with pytest.raises(SigningKeyError, match="already exists"):
        write_signer(primary_key, path)
    assert path.read_text() == "precious\n"


def test_key_from_environment_wins_over_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    primary_key: NoteSigner,
    stranger_key: NoteSigner,
) -> None:
    path = tmp_path / "signing.key"
    write_signer(stranger_key, path)
    monkeypatch.setenv(SIGNING_KEY_ENV, primary_key.skey())
    assert load_signer(path).verifier == primary_key.verifier
    # No file at all is fine when the variable is set.
    assert load_signer(tmp_path / "absent.key").verifier == primary_key.verifier


def test_bad_key_in_environment_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, primary_key: NoteSigner
) -> None:
    # A key whose id does not match: the message must not echo the material.
    parts = primary_key.skey().split("+")
    parts[3] = "00000000"
    bad = "+".join(parts)
    monkeypatch.setenv(SIGNING_KEY_ENV, bad)
    with pytest.raises(SigningKeyError) as caught:
        load_signer(tmp_path / "signing.key")
    assert SIGNING_KEY_ENV in str(caught.value)
    for secret in [bad, parts[4], *_secrets(primary_key)]:
        assert secret not in _chain_text(caught.value)


def test_missing_key_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="trailseal init"):
        load_signer(tmp_path / "signing.key")


@pytest.mark.parametrize("text", ["", "not a key", "PRIVATE+KEY+a+b", "PRIVATE+KEY+n+00+!!"])
def test_malformed_plain_keys_are_refused(text: str) -> None:
    with pytest.raises(SigningKeyError):
        parse_signing_key(text, "signing.key")


def test_verifier_from_string_or_file(tmp_path: Path, primary_key: NoteSigner) -> None:
    vkey = primary_key.verifier.vkey()
    assert load_verifier(vkey) == primary_key.verifier
    path = tmp_path / "verifier.pub"
    path.write_text(f"\n{vkey}\n\n")
    assert load_verifier(str(path)) == primary_key.verifier


def test_verifier_file_problems(tmp_path: Path, primary_key: NoteSigner) -> None:
    with pytest.raises(SigningKeyError, match="no verifier key file"):
        load_verifier(str(tmp_path / "absent.pub"))
    two = tmp_path / "two.pub"
    two.write_text(primary_key.verifier.vkey() + "\n" + primary_key.verifier.vkey() + "\n")
    with pytest.raises(SigningKeyError, match="exactly one"):
        load_verifier(str(two))
    wrong = tmp_path / "wrong.pub"
    wrong.write_text(primary_key.verifier.vkey().replace("+", "+0", 1) + "\n")
    with pytest.raises(SigningKeyError):
        load_verifier(str(wrong))
