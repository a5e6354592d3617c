"""C2SP signed notes and tlog checkpoints (https://c2sp.org/signed-note, /tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import SigningKeyError, VerificationError
from ledger.note import (
    MAX_SIGNATURES,
    CheckpointBody,
    NoteSigner,
    NoteVerifier,
    key_id,
    parse_note,
    sign_note,
)

# signed-note, "Verifier keys", "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFX"
    "mRKuwHjG1Yu72IneyaQM=\n"
)
ROOT = hashlib.sha256(b"root").digest()


def _line(name: str, kid: int, signature: bytes) -> str:
    blob = kid.to_bytes(4, "big") + signature
    return f"— {name} {base64.b64encode(blob).decode()}\n"


def test_spec_example_verifies() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    assert verifier.vkey() == SPEC_VKEY
    note = parse_note(SPEC_NOTE)
    assert note.text == "This is an example message.\n"
    assert note.verified_by(verifier) is True


def test_spec_example_fails_when_text_changes() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    note = parse_note(SPEC_NOTE.replace("example message", "example massage"))
    assert note.verified_by(verifier) is False


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    digest = hashlib.sha256(b"example.com/foo\n\x01" + verifier.public_key).digest()
    assert key_id("example.com/foo", verifier.public_key) == int.from_bytes(digest[:4], "big")
    # The name is part of the id: same key, other name, other id.
    assert key_id("example.com/bar", verifier.public_key) != verifier.key_id


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",  # short key
        "example.com/foo+530d903a",
        "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+zzzzzzzz+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+!!!",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(SigningKeyError):
        NoteVerifier.from_vkey(vkey)


note_lines = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1, max_size=40
)


@settings(max_examples=50, deadline=None)
@given(lines=st.lists(note_lines, min_size=1, max_size=5), count=st.integers(1, 3))
def test_sign_and_parse_round_trip(
    lines: list[str], count: int, primary_key: NoteSigner, stranger_key: NoteSigner
) -> None:
    text = "\n".join(lines) + "\n"
    signers = [primary_key, stranger_key, NoteSigner("other.example/k", b"\x07" * 32)][:count]
    note = parse_note(sign_note(text, signers))
    assert note.text == text
    assert len(note.signatures) == count
    for signer in signers:
        assert note.verified_by(signer.verifier) is True
    # A key that did not sign is absent, not failed.
    assert note.verified_by(NoteSigner("absent.example/k", b"\x08" * 32).verifier) is None


def test_signer_key_string_round_trip_and_repr_hides_seed(primary_key: NoteSigner) -> None:
    again = NoteSigner.from_skey(primary_key.skey())
    assert again.verifier == primary_key.verifier
    assert primary_key.skey().split("+")[-1] not in repr(primary_key)
    assert NoteVerifier.from_vkey(primary_key.verifier.vkey()) == primary_key.verifier


def test_text_may_hold_blank_lines(primary_key: NoteSigner) -> None:
    # The text ends at the last blank line of the note.
    text = "first\n\nsecond\n"
    note = parse_note(text + "\n" + primary_key.signature_line(text))
    assert note.text == text
    assert note.verified_by(primary_key.verifier) is True


@pytest.mark.parametrize(
    "data",
    [
        "no blank line\n— a AAAAAAAA\n",
        "text\n\n",  # no signature line at all
        "text\n\n— a AAAAAAAA",  # no final newline
        "text\n\n—  a AAAAAAAA\n",
        "text\n\n- a AAAAAAAA\n",  # hyphen, not an em dash
        "text\n\n— a AAAA*AAA\n",  # not base64
        "text\n\n— a AAAA\n",  # too short to hold a key id and a signature
        "text\n\n— a AAAAAAAA extra\n",
        "",
    ],
)
def test_malformed_notes_are_refused(data: str) -> None:
    with pytest.raises(VerificationError):
        parse_note(data)


@pytest.mark.parametrize("blob", ["AAAAAAA", "AAAAAAAAA", "AAAAAAAAAA="])
def test_signature_with_bad_padding_is_refused(blob: str) -> None:
    with pytest.raises(VerificationError):
        parse_note(f"text\n\n— a {blob}\n")


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\x1b", "\x1f"])
@pytest.mark.parametrize("where", ["text", "signature"])
def test_control_characters_are_refused(char: str, where: str, primary_key: NoteSigner) -> None:
    text = "text\n" if where == "signature" else f"te{char}xt\n"
    line = primary_key.signature_line(text)
    if where == "signature":
        line = line.replace(" ", char, 1)
    with pytest.raises(VerificationError):
        parse_note(text + "\n" + line)


def _unknown_lines(count: int) -> str:
    return "".join(_line(f"k{i}.example/x", i, b"\x00" * 64) for i in range(count))


def test_sixteen_signatures_are_accepted(primary_key: NoteSigner) -> None:
    # signed-note: verifiers MUST accept at least 16 signatures.
    text = "text\n"
    note = parse_note(text + "\n" + _unknown_lines(15) + primary_key.signature_line(text))
    assert len(note.signatures) == 16
    assert note.verified_by(primary_key.verifier) is True


def test_too_many_signatures_are_refused(primary_key: NoteSigner) -> None:
    text = "text\n"
    data = text + "\n" + _unknown_lines(MAX_SIGNATURES) + primary_key.signature_line(text)
    with pytest.raises(VerificationError):
        parse_note(data)


def test_unknown_keys_are_ignored(primary_key: NoteSigner) -> None:
    text = "text\n"
    signed = primary_key.signature_line(text)
    garbage = _line("somebody.example/else", 1234, b"\xff" * 64)
    for data in (garbage + signed, signed + garbage):
        assert parse_note(text + "\n" + data).verified_by(primary_key.verifier) is True
    assert parse_note(text + "\n" + garbage).verified_by(primary_key.verifier) is None


def test_same_name_other_id_is_ignored(primary_key: NoteSigner, stranger_key: NoteSigner) -> None:
    # The fixed test keys share one name; only name and id together pick a key.
    assert stranger_key.name == primary_key.name
    text = "text\n"
    note = parse_note(text + "\n" + stranger_key.signature_line(text))
    assert note.verified_by(primary_key.verifier) is None
    # A bad signature under the same name but another id changes nothing.
    forged = _line(primary_key.name, stranger_key.verifier.key_id, b"\x00" * 64)
    both = parse_note(text + "\n" + forged + primary_key.signature_line(text))
    assert both.verified_by(primary_key.verifier) is True


def test_same_id_other_name_is_ignored(primary_key: NoteSigner) -> None:
    text = "text\n"
    signature = primary_key.sign(text.encode())
    line = _line("renamed.example/key", primary_key.verifier.key_id, signature)
    assert parse_note(text + "\n" + line).verified_by(primary_key.verifier) is None


def test_bad_signature_by_known_key_rejects_note(primary_key: NoteSigner) -> None:
    text = "text\n"
    bad = _line(primary_key.name, primary_key.verifier.key_id, b"\x00" * 64)
    short = _line(primary_key.name, primary_key.verifier.key_id, b"\x01" * 10)
    good = primary_key.signature_line(text)
    for data in (bad + good, good + bad, short):
        assert parse_note(text + "\n" + data).verified_by(primary_key.verifier) is False


def test_sign_note_refuses_text_it_cannot_sign(primary_key: NoteSigner) -> None:
    for text in ("no newline", "blank\n\nline\n"):
        with pytest.raises(ValueError):
            sign_note(text, [primary_key])


@pytest.mark.parametrize("name", ["", "with space", "a+b", "tab\there"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(SigningKeyError):
        NoteSigner(name, b"\x01" * 32)


# -- checkpoint bodies --------------------------------------------------------


@given(st.integers(0, 2**63), st.binary(min_size=32, max_size=32))
def test_checkpoint_body_round_trip(size: int, root: bytes) -> None:
    body = CheckpointBody("example.com/log", size, root)
    assert CheckpointBody.parse(body.text()) == body


def test_checkpoint_spec_example() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    body = CheckpointBody.parse(text)
    assert (body.origin, body.size) == ("example.com/behind-the-sofa", 20852163)
    assert body.text() == text


def test_checkpoint_extension_lines_are_allowed() -> None:
    root = base64.b64encode(ROOT).decode()
    body = CheckpointBody.parse(f"example.com/log\n3\n{root}\nextension\n")
    assert body.size == 3 and body.root_hash == ROOT


_ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"example.com/log\n05\n{_ROOT_B64}\n",  # leading zero
        f"example.com/log\n00\n{_ROOT_B64}\n",
        f"example.com/log\n-1\n{_ROOT_B64}\n",
        f"example.com/log\n+1\n{_ROOT_B64}\n",
        f"example.com/log\n 1\n{_ROOT_B64}\n",
        f"example.com/log\n1.0\n{_ROOT_B64}\n",
        f"example.com/log\n\uff11\n{_ROOT_B64}\n",  # a full-width digit
        f"example.com/log\n0x10\n{_ROOT_B64}\n",
        f"example.com/log\n3\n{base64.b64encode(ROOT[:31]).decode()}\n",  # short root
        f"example.com/log\n3\n{base64.b64encode(ROOT + b'x').decode()}\n",  # long root
        f"example.com/log\n3\n{_ROOT_B64[:-1]}\n",  # bad padding
        "example.com/log\n3\n!!!!\n",
        "example.com/log\n3\n",  # missing root line
        f"example.com/log\n{_ROOT_B64}\n",  # missing size line
        f"\n3\n{_ROOT_B64}\n",  # empty origin
        f"example.com/log\n3\n{_ROOT_B64}",  # no final newline
        f"example.com/log\n3\n{_ROOT_B64}\n\n",  # empty extension line
        "",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(VerificationError):
        CheckpointBody.parse(text)


def test_checkpoint_with_non_ascii_root_is_refused() -> None:
    with pytest.raises(VerificationError):
        CheckpointBody.parse(f"example.com/log\n3\n\u00e9{_ROOT_B64[1:]}\n")
