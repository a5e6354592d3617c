"""The evidence pack: written from a real ledger, verified offline, tampered every way."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pypdf
import pytest
from keys.make_test_keys import signer as make_signer
from test_derive import Built, at, build_ledger, derive_period, ingest

from ledger.export import pack
from ledger.export.model import Period
from ledger.export.pack import MANIFEST, MEMBERS, SIGNATURE, manifest_statement, verify_pack
from ledger.ledger import Ledger
from ledger.note import NoteSigner, sign_note

ALL = (*MEMBERS, MANIFEST, SIGNATURE)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Built]:
    """One realistic pack for the read-only tests (built once: ingest is the slow part)."""
    tmp = tmp_path_factory.mktemp("pack")
    ledger = Ledger.create(
        f"sqlite:///{tmp / 'ledger.db'}", "test.trailseal.invalid/ledger", make_signer("primary")
    )
    built = build_ledger(ledger, make_signer("primary"), tmp)
    out = tmp / "pack.zip"
    pack.write_pack(built.ledger, built.key, derive_period(built), out)
    return out, built


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(path: Path, contents: dict[str, bytes], out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return out


def reseal(contents: dict[str, bytes], key: NoteSigner) -> dict[str, bytes]:
    """Recompute the manifest and sign it with ``key``: what an insider with the key could do.

    Checks past the manifest must still catch what was changed.
    """
    manifest = json.loads(contents[MANIFEST])
    for member in manifest["members"]:
        data = contents[member["name"]]
        member["sha256"], member["size"] = hashlib.sha256(data).hexdigest(), len(data)
    raw = (json.dumps(manifest, indent=2) + "\n").encode()
    contents = dict(contents, **{MANIFEST: raw})
    note = sign_note(manifest_statement(manifest["origin"], raw), [key])
    contents[SIGNATURE] = note.encode()
    return contents


def problems(path: Path, key: NoteSigner) -> list[tuple[str, str]]:
    result = verify_pack(path, [key.verifier])
    return [(p.member, p.message) for p in result.problems]


def test_a_fresh_pack_verifies(written: tuple[Path, Built]) -> None:
    path, built = written
    result = verify_pack(path, [built.key.verifier])
    assert result.ok, result.problems
    assert result.entries == result.end_size - result.start_size > 0
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == list(ALL)
        entries = [json.loads(line) for line in archive.read("entries.jsonl").splitlines()]
    assert [e["seq"] for e in entries] == list(range(result.start_size, result.end_size))
    # Entries are the stored bytes: the body text hashes, with its salt, to the envelope's hash.
    with built.ledger.store.reading() as conn:
        stored = built.ledger.store.get_entry(conn, entries[0]["seq"])
    assert stored is not None and stored.body is not None
    assert entries[0]["body"].encode() == stored.body
    assert entries[0]["envelope"].encode() == stored.envelope


def test_erased_entry_in_the_period_is_carried_as_null(written: tuple[Path, Built]) -> None:
    path, built = written
    with zipfile.ZipFile(path) as archive:
        entries = [json.loads(line) for line in archive.read("entries.jsonl").splitlines()]
    by_seq = {e["seq"]: e for e in entries}
    assert by_seq[built.erased_seq]["body"] is None
    assert by_seq[built.erased_seq]["salt"] is None
    assert verify_pack(path, [built.key.verifier]).erased == 1


def test_report_reads_back(written: tuple[Path, Built]) -> None:
    path, _ = written
    reader = pypdf.PdfReader(io.BytesIO(members(path)["report.pdf"]))
    # Cells wrap: compare without line breaks.
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert "Acme" in text
    assert "test.trailseal.invalid/ledger" in text
    assert "dana.okafor@acme.test" in text  # CC3.2 approver
    assert "false-positive" in text  # CC7.3 triage
    assert "(erased)" in text
    assert "reopened" in text
    assert "2025-01-01 to 2025-03-31" in text


def test_oscal_member_is_the_same_document(written: tuple[Path, Built]) -> None:
    path, _ = written
    document = json.loads(members(path)["assessment-results.json"])
    results = document["assessment-results"]["results"][0]
    assert results["observations"] and results["findings"]


def check_by_hand(path: Path, *keys: NoteSigner | str) -> subprocess.CompletedProcess[str]:
    """Run the script VERIFY.md carries, as an auditor would, in a clean interpreter."""
    with zipfile.ZipFile(path) as archive:
        guide = archive.read("VERIFY.md").decode()
    code = re.search(r"```python\n(.*?)```", guide, re.S)
    assert code is not None
    script = path.with_name("check_pack.py")
    script.write_text(code.group(1))
    return subprocess.run(
        [
            sys.executable,
            "-I",
            str(script),
            str(path),
            *(k if isinstance(k, str) else k.verifier.vkey() for k in keys),
        ],
        check=False,
        cwd=path.parent,
        capture_output=True,
        text=True,
        # A locale that cannot decode the entries must not matter.
        env={"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    )


def test_verify_md_script_runs_on_the_pack(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    copy = tmp_path / "pack.zip"
    copy.write_bytes(path.read_bytes())
    run = check_by_hand(copy, built.key)
    assert run.returncode == 0, run.stderr
    result = verify_pack(path, [built.key.verifier])
    assert run.stdout == (
        f"OK: {result.origin}: entries {result.start_size}..{result.end_size - 1} "
        f"verified against checkpoint {result.end_size}\n"
    )
    assert result.start_size > 0 and result.erased == 1  # a real consistency proof, an erasure


def test_verify_md_script_fails_what_verify_pack_fails(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    path, built = written
    stranger = make_signer("stranger")
    assert check_by_hand(path, stranger).stderr.startswith("FAIL: manifest.sig ")
    assert check_by_hand(path, "no-such-key").stderr.startswith("FAIL: 'no-such-key' is not")
    key_file = tmp_path / "pinned.pub"
    key_file.write_text(built.key.verifier.vkey() + "\n")
    assert check_by_hand(path, str(key_file)).returncode == 0
    contents = members(path)
    lines = _lines(contents["entries.jsonl"])
    cases = {
        "resigned.zip": (reseal(contents, stranger), "FAIL: manifest.sig "),
        "altered.zip": ({**contents, "report.pdf": b"%PDF-1.7"}, "FAIL: report.pdf was altered"),
        "extra.zip": ({**contents, "notes.txt": b"x"}, "FAIL: the pack holds "),
        "dropped.zip": (
            reseal({**contents, "entries.jsonl": b"".join(lines[:-1])}, built.key),
            "FAIL: entries and inclusion proofs differ in number",
        ),
        "start.zip": (
            reseal({**contents, "checkpoint-start.txt": contents["checkpoint-end.txt"]}, built.key),
            "FAIL: checkpoint-start.txt is not",
        ),
    }
    for name, (changed, expected) in cases.items():
        run = check_by_hand(rezip(path, changed, tmp_path / name), built.key)
        assert run.returncode == 1 and run.stderr.startswith(expected), (name, run.stderr)


def test_verify_md_extraction_command_works_verbatim(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    path, built = written
    copy = tmp_path / "PACK.zip"
    copy.write_bytes(path.read_bytes())
    guide = members(path)["VERIFY.md"].decode()
    command = next(
        line.strip() for line in guide.splitlines() if line.strip().startswith("python3 -c ")
    )
    assert command.endswith(" PACK.zip > check_pack.py")
    subprocess.run(["sh", "-c", command], cwd=tmp_path, check=True)
    code = re.search(r"```python\n(.*?)```", guide, re.S)
    assert code is not None
    assert (tmp_path / "check_pack.py").read_text() == code.group(1)
    run = subprocess.run(
        [sys.executable, "-I", "check_pack.py", "PACK.zip", built.key.verifier.vkey()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and run.stdout.startswith("OK: "), run.stderr


def test_verify_md_script_fails_unreadable_input_in_one_line(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    path, built = written
    vkey = built.key.verifier.vkey()
    not_a_zip = tmp_path / "not.zip"
    not_a_zip.write_text("hello")
    damaged = members(path)
    damaged[MANIFEST] = b"{not json"
    cases = {
        "missing pack": ((tmp_path / "none.zip", vkey), "FAIL: "),
        "not a zip": ((not_a_zip, vkey), f"FAIL: {not_a_zip}: cannot be read as a zip"),
        "malformed key": (
            (path, "name+01020304+!!!notbase64"),
            "FAIL: name+01020304+!!!notbase64: not an Ed25519 verifier key",
        ),
        "unpadded key": ((path, vkey[:-3]), "FAIL: "),
        "no key": ((path,), "FAIL: usage: "),
        "damaged manifest": ((rezip(path, damaged, tmp_path / "d.zip"), vkey), "FAIL: "),
    }
    code = re.search(r"```python\n(.*?)```", members(path)["VERIFY.md"].decode(), re.S)
    assert code is not None
    script = tmp_path / "check_pack.py"
    script.write_text(code.group(1))
    for name, (args, expected) in cases.items():
        run = subprocess.run(
            [sys.executable, "-I", str(script), *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 1, (name, run.stderr)
        assert run.stderr.startswith(expected), (name, run.stderr)
        assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1, (name, run)


def test_same_state_same_bytes(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    again = tmp_path / "again.zip"
    pack.write_pack(built.ledger, built.key, derive_period(built), again)
    assert again.read_bytes() == path.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2025, 2, 20, 9, 30, 0)}


# --- tampering ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_altering_any_member_fails(written: tuple[Path, Built], tmp_path: Path, name: str) -> None:
    path, built = written
    contents = members(path)
    data = bytearray(contents[name])
    # Flip a byte in the middle (for text, keep it text).
    i = len(data) // 2
    data[i] = ord("0") if data[i] != ord("0") else ord("1")
    contents[name] = bytes(data)
    found = problems(rezip(path, contents, tmp_path / "t.zip"), built.key)
    assert found, f"altering {name} went unnoticed"
    assert found[0][0] in (name, SIGNATURE, MANIFEST)
    if name in MEMBERS:
        assert found[0] == (name, "its SHA-256 or size differs from manifest.json: it was altered")


@pytest.mark.parametrize("name", ALL)
def test_removing_any_member_fails(written: tuple[Path, Built], tmp_path: Path, name: str) -> None:
    path, built = written
    contents = members(path)
    del contents[name]
    found = problems(rezip(path, contents, tmp_path / "t.zip"), built.key)
    assert (name, "member missing from the pack") in found


@pytest.mark.parametrize("name", ["notes.txt", "../escape.txt", "/etc/passwd", "dir/x", "C:x"])
def test_adding_a_member_fails(written: tuple[Path, Built], tmp_path: Path, name: str) -> None:
    path, built = written
    contents = members(path)
    contents[name] = b"extra"
    found = problems(rezip(path, contents, tmp_path / "t.zip"), built.key)
    assert found and found[0][0] == name


def test_a_zip_bomb_is_refused(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    contents = members(path)
    contents["report.pdf"] = bytes(32 << 20)  # 32 MiB of zeros deflate ~1000:1
    found = problems(rezip(path, contents, tmp_path / "t.zip"), built.key)
    assert found[0][0] == "report.pdf" and "zip bomb" in found[0][1]


def test_a_duplicate_member_is_refused(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    out = tmp_path / "t.zip"
    out.write_bytes(path.read_bytes())
    with zipfile.ZipFile(out, "a") as archive, pytest.warns(UserWarning):
        archive.writestr("VERIFY.md", b"trust me")
    found = problems(out, built.key)
    assert ("VERIFY.md", "the member appears twice") in found


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_swapped_proofs_fail_even_when_resealed(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    path, built = written
    contents = members(path)
    lines = _lines(contents["inclusion-proofs.jsonl"])
    lines[1], lines[2] = lines[2], lines[1]
    contents["inclusion-proofs.jsonl"] = b"".join(lines)
    assert problems(rezip(path, contents, tmp_path / "a.zip"), built.key)[0][0] == (
        "inclusion-proofs.jsonl"
    )
    found = problems(rezip(path, reseal(contents, built.key), tmp_path / "b.zip"), built.key)
    assert found[0][0] == "inclusion-proofs.jsonl" and "does not prove entry" in found[0][1]


def test_deeper_checks_hold_when_resealed(written: tuple[Path, Built], tmp_path: Path) -> None:
    """With the manifest re-signed, each structural check must still catch its edit."""
    path, built = written
    base = members(path)

    def edit_entry(contents: dict[str, bytes], index: int, change: Callable[[dict], None]) -> None:
        lines = _lines(contents["entries.jsonl"])
        entry = json.loads(lines[index])
        change(entry)
        lines[index] = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        contents["entries.jsonl"] = b"".join(lines)

    cases: list[tuple[str, Callable[[dict[str, bytes]], None], str, str]] = [
        (
            "body",
            lambda c: edit_entry(c, 3, lambda e: e.update(body=e["body"][:-1] + " }")),
            "entries.jsonl",
            "body does not match",
        ),
        (
            "dropped entry",
            lambda c: c.update({"entries.jsonl": b"".join(_lines(c["entries.jsonl"])[1:])}),
            "entries.jsonl",
            "belongs",
        ),
        (
            "dropped last entry",
            lambda c: c.update({"entries.jsonl": b"".join(_lines(c["entries.jsonl"])[:-1])}),
            "inclusion-proofs.jsonl",
            "more proofs",
        ),
        (
            "consistency",
            lambda c: c.update(
                {
                    "consistency.json": c["consistency.json"].replace(
                        b'"path": [', b'"path": ["AA==",'
                    )
                }
            ),
            "consistency.json",
            "",
        ),
        (
            "start checkpoint",
            lambda c: c.update({"checkpoint-start.txt": c["checkpoint-end.txt"]}),
            "checkpoint-start.txt",
            "size",
        ),
    ]
    for label, change, member, text in cases:
        contents = dict(base)
        change(contents)
        found = problems(rezip(path, reseal(contents, built.key), tmp_path / "t.zip"), built.key)
        assert found, label
        assert found[0][0] == member and text in found[0][1], (label, found)


def test_a_stranger_signature_or_key_fails(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    stranger = make_signer("stranger")
    resigned = reseal(members(path), stranger)
    found = problems(rezip(path, resigned, tmp_path / "t.zip"), built.key)
    assert found[0] == (SIGNATURE, "is not signed by a trusted key or a key it rotated to")
    # The genuine pack, checked with the wrong key.
    assert problems(path, stranger)[0][0] == SIGNATURE


def test_a_flipped_byte_in_the_zip_fails(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x40
    out = tmp_path / "t.zip"
    out.write_bytes(bytes(raw))
    assert problems(out, built.key)


def test_rotated_key_is_followed(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    rotated = make_signer("rotated")
    ingest(
        sqlite_ledger,
        primary_key,
        Path(pack.__file__).parents[2] / "tests" / "ingest" / "fixtures" / "bandit_toy_app.json",
        at(1, 5),
    )
    sqlite_ledger.rotate_key(primary_key, rotated, clock=lambda: at(1, 6))
    built = Built(sqlite_ledger, primary_key, -1, "", "")
    derivation = derive_period(built)
    out = tmp_path / "rotated.zip"
    pack.write_pack(sqlite_ledger, rotated, derivation, out)
    assert verify_pack(out, [primary_key.verifier]).ok
    assert verify_pack(out, [primary_key.verifier, rotated.verifier]).ok
    assert check_by_hand(out, primary_key).returncode == 0
    # Trusting only the new key cannot vouch for checkpoints the old key signed.
    assert problems(out, rotated)[0][0] == "checkpoint-start.txt"
    assert not verify_pack(out, [make_signer("stranger").verifier]).ok


def test_a_forged_manifest_costs_few_signature_checks(
    written: tuple[Path, Built], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.note import NoteVerifier
    from ledger.proof import MAX_KEY_ROTATIONS

    path, built = written
    forger = make_signer("rotated")  # a key of the forger's own
    bogus = {
        "origin": "test.trailseal.invalid/ledger",
        "old": built.key.verifier.vkey(),
        "new": forger.verifier.vkey(),
        "old_signature": base64.b64encode(bytes(64)).decode(),
        "new_signature": base64.b64encode(bytes(64)).decode(),
    }
    checks = 0
    real_verify = NoteVerifier.verify

    def counting(self: NoteVerifier, message: bytes, signature: bytes) -> bool:
        nonlocal checks
        checks += 1
        return real_verify(self, message, signature)

    monkeypatch.setattr(NoteVerifier, "verify", counting)

    def forge(count: int, signer: NoteSigner) -> list[tuple[str, str]]:
        nonlocal checks
        contents = members(path)
        manifest = json.loads(contents[MANIFEST])
        manifest["key_rotations"] = [bogus] * count
        raw = (json.dumps(manifest, indent=2) + "\n").encode()
        contents[MANIFEST] = raw
        note = sign_note(manifest_statement(manifest["origin"], raw), [signer])
        contents[SIGNATURE] = note.encode()
        checks = 0
        return problems(rezip(path, contents, tmp_path / "forged.zip"), built.key)

    # Signed by a key that no trusted key rotated to: refused before any rotation is read.
    stranger = make_signer("stranger")
    assert forge(20_000, stranger)[0] == (
        SIGNATURE,
        "is not signed by a trusted key or a key it rotated to",
    )
    assert checks == 0
    # Signed by the key the rotations name, with too many of them: refused unread.
    assert forge(20_000, forger)[0] == (
        MANIFEST,
        f"its key rotations are unusable: 20000 key rotations listed, more than the "
        f"{MAX_KEY_ROTATIONS} accepted",
    )
    assert checks == 1
    # Within the limit each bogus rotation costs one failed check, and is ignored.
    assert forge(MAX_KEY_ROTATIONS, forger)[0] == (
        SIGNATURE,
        "is not signed by a trusted key or a key it rotated to",
    )
    assert checks <= MAX_KEY_ROTATIONS + 2


def test_empty_period(written: tuple[Path, Built], tmp_path: Path) -> None:
    _, built = written
    derivation = derive_period(built, Period(date(2024, 6, 1), date(2024, 6, 30)))
    out = tmp_path / "empty.zip"
    info = pack.write_pack(built.ledger, built.key, derivation, out)
    assert info.entries == 0
    result = verify_pack(out, [built.key.verifier])
    assert result.ok, result.problems
    assert members(out)["entries.jsonl"] == b""


def test_unreadable_pack_is_an_input_error(tmp_path: Path, primary_key: NoteSigner) -> None:
    from ledger.errors import InputError

    with pytest.raises(InputError):
        verify_pack(tmp_path / "nope.zip", [primary_key.verifier])
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert problems(junk, primary_key)[0][0] == "(zip)"


def test_pack_on_both_backends(ledger: Ledger, primary_key: NoteSigner, tmp_path: Path) -> None:
    built = build_ledger(ledger, primary_key, tmp_path)
    out = tmp_path / "pack.zip"
    pack.write_pack(ledger, primary_key, derive_period(built), out)
    assert verify_pack(out, [primary_key.verifier]).ok


@pytest.mark.slow
def test_ten_thousand_findings(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent / "ingest"))
    from generate_sarif import write

    sarif = tmp_path / "big.sarif"
    write(10_000, str(sarif))
    ingest(sqlite_ledger, primary_key, sarif, at(2, 3))
    built = Built(sqlite_ledger, primary_key, -1, "", "")
    derivation = derive_period(built)
    assert len(derivation.data.findings) == 10_000
    out = tmp_path / "big.zip"
    started = time.perf_counter()
    info = pack.write_pack(sqlite_ledger, primary_key, derivation, out)
    elapsed = time.perf_counter() - started
    assert info.entries == 10_001 and info.pages > 100
    assert elapsed < 60, elapsed
    result = verify_pack(out, [primary_key.verifier])
    assert result.ok and result.entries == 10_001


def test_unreadable_members_fail_cleanly(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    contents = members(path)
    deep = rezip(
        path, {**contents, "manifest.json": b"[" * 200_000 + b"]" * 200_000}, tmp_path / "d.zip"
    )
    encrypted = tmp_path / "e.zip"
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # set the "encrypted" flag of manifest.json's central directory entry
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == b"manifest.json":
            data[at + 8] |= 1
            break
        at = data.find(b"PK\x01\x02", at + 4)
    encrypted.write_bytes(bytes(data))
    for bad in (deep, encrypted):
        found = problems(bad, built.key)
        assert found and found[0][0] in ("(zip)", "manifest.json"), found


def test_a_symlink_member_is_refused(written: tuple[Path, Built], tmp_path: Path) -> None:
    # Its bytes match the manifest, but unzip would make a link of it, not the file.
    path, built = written
    out = tmp_path / "t.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            if info.filename == "VERIFY.md":
                info.external_attr = 0o120777 << 16
            archive.writestr(info, source.read(info.filename))
    assert problems(out, built.key) == [
        ("VERIFY.md", "the member is a symbolic link (mode 120777)")
    ]


def test_bytes_outside_the_members_are_refused(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    raw = path.read_bytes()
    prefixed = tmp_path / "prefixed.zip"
    prefixed.write_bytes(b"%PDF-1.7\n% not the pack\n" + raw)  # a PDF/zip polyglot
    assert problems(prefixed, built.key)[0] == (
        "(zip)",
        "holds bytes before its first member: it is not the pack as written",
    )
    commented = tmp_path / "commented.zip"
    commented.write_bytes(raw)
    with zipfile.ZipFile(commented, "a") as archive:
        archive.comment = b"appended"
    trailing = tmp_path / "trailing.zip"
    trailing.write_bytes(raw + b"appended")
    for bad in (commented, trailing):
        assert problems(bad, built.key)[0] == (
            "(zip)",
            "holds bytes after its last record: it is not the pack as written",
        )


def _splice(raw: bytes, at: int, data: bytes, local_extra_of: int | None = None) -> bytes:
    """Insert ``data`` at byte ``at`` of a zip and move the directory's offsets to match.

    With ``local_extra_of`` (a member's header offset), ``data`` lengthens that
    member's local extra field, which the central directory does not see.
    """
    out = bytearray(raw[:at] + data + raw[at:])
    if local_extra_of is not None:
        length = int.from_bytes(out[local_extra_of + 28 : local_extra_of + 30], "little")
        out[local_extra_of + 28 : local_extra_of + 30] = (length + len(data)).to_bytes(2, "little")
    end = len(out) - 22
    assert out[end : end + 4] == b"PK\x05\x06"
    cd_offset = int.from_bytes(out[end + 16 : end + 20], "little")
    if cd_offset >= at:
        cd_offset += len(data)
        out[end + 16 : end + 20] = cd_offset.to_bytes(4, "little")
    record = cd_offset
    while out[record : record + 4] == b"PK\x01\x02":
        offset = int.from_bytes(out[record + 42 : record + 46], "little")
        if offset >= at and offset != local_extra_of:
            out[record + 42 : record + 46] = (offset + len(data)).to_bytes(4, "little")
        lengths = [int.from_bytes(out[record + i : record + i + 2], "little") for i in (28, 30, 32)]
        record += 46 + sum(lengths)
    return bytes(out)


def test_bytes_between_members_are_refused(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    # Hidden bytes before the manifest: every member still reads back intact.
    hidden = _splice(raw, infos[MANIFEST].header_offset, b"PK\x03\x04 smuggled payload")
    out = tmp_path / "between.zip"
    out.write_bytes(hidden)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None and archive.read(MANIFEST) == members(path)[MANIFEST]
    assert problems(out, built.key)[0] == (
        "(zip)",
        "holds 21 byte(s) after VERIFY.md: it is not the pack as written",
    )
    # The same after the last member, before the central directory.
    with zipfile.ZipFile(path) as archive:
        cd_offset = archive.start_dir
    out.write_bytes(_splice(raw, cd_offset, b"tail"))
    assert problems(out, built.key)[0] == (
        "(zip)",
        "holds 4 byte(s) after manifest.sig: it is not the pack as written",
    )
    # And between the central directory and the end record (zipfile itself balks).
    out.write_bytes(raw[:-22] + b"gap!" + raw[-22:])
    assert problems(out, built.key)[0][0] == "(zip)"


def test_extra_fields_and_comments_beyond_the_format_are_refused(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    path, built = written
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        report = archive.getinfo("report.pdf")
        entries = archive.getinfo("entries.jsonl")
    assert not report.extra, "report.pdf is written without an extra field"
    record = b"\xfe\xca\x08\x00payload!"  # an extra record of an unknown type
    at = report.header_offset + 30 + len(b"report.pdf")
    out = tmp_path / "extra.zip"
    out.write_bytes(_splice(raw, at, record, local_extra_of=report.header_offset))
    assert problems(out, built.key)[0] == (
        "(zip)",
        "the local header of report.pdf carries 12 byte(s) of extra field (type 0xcafe) that "
        "no pack writes: it is not the pack as written",
    )
    # Bytes after the zip64 record a streamed member's local header carries.
    at = entries.header_offset + 30 + len(b"entries.jsonl") + 20
    out.write_bytes(_splice(raw, at, b"\x00\x00", local_extra_of=entries.header_offset))
    assert problems(out, built.key)[0] == (
        "(zip)",
        "the local header of entries.jsonl has 2 stray byte(s) in its extra field: it is not "
        "the pack as written",
    )
    # In the central directory: an extra record, then a member comment.
    for change in ("extra", "comment"):
        out = tmp_path / f"{change}.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as archive:
            for info in source.infolist():
                if info.filename == "VERIFY.md":
                    setattr(info, change, record)
                archive.writestr(info, source.read(info.filename))
        found = problems(out, built.key)
        assert found[0][0] == "(zip)" and "the central record of VERIFY.md" in found[0][1]


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes each member's sizes after its data."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_data_descriptors_are_accounted_for(written: tuple[Path, Built], tmp_path: Path) -> None:
    # The same members written by a streaming zip writer: sizes follow each member's data.
    path, built = written
    stream = _Unseekable()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stream, "w") as archive:
        for info in source.infolist():
            with source.open(info) as member, archive.open(info.filename, "w") as target:
                while chunk := member.read(1 << 16):
                    target.write(chunk)
    out = tmp_path / "streamed.zip"
    out.write_bytes(bytes(stream.data))
    with zipfile.ZipFile(out) as archive:
        assert all(i.flag_bits & 0x08 for i in archive.infolist())
    assert problems(out, built.key) == []
    # A descriptor that disagrees with the central directory is refused.
    raw = bytearray(stream.data)
    at = raw.index(b"PK\x07\x08")
    raw[at + 4] ^= 1
    out.write_bytes(bytes(raw))
    found = problems(out, built.key)
    assert found[0][0] == "(zip)" and "data descriptor of report.pdf" in found[0][1]


def test_zip64_records_are_accounted_for(
    written: tuple[Path, Built], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a pack past 4 GiB looks like: zip64 sizes and offsets, a zip64 end record.
    path, built = written
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    out = tmp_path / "zip64.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info.filename))
    monkeypatch.undo()
    raw = out.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw
    assert problems(out, built.key) == []
    # Bytes between the zip64 end record and its locator.
    at = raw.rindex(b"PK\x06\x07")
    bad = tmp_path / "bad64.zip"
    bad.write_bytes(raw[:at] + b"??" + raw[at:])
    assert problems(bad, built.key)[0][0] == "(zip)"


def test_a_path_member_is_named_once(written: tuple[Path, Built], tmp_path: Path) -> None:
    path, built = written
    contents = members(path)
    for name in ("../evil", "/tmp/evil", "sub/evil", "C:evil"):
        found = problems(rezip(path, {**contents, name: b"x"}, tmp_path / "t.zip"), built.key)
        assert found == [(name, "member name is a path, not a plain file name")], found


def test_a_manifest_listing_a_member_twice_fails(
    written: tuple[Path, Built], tmp_path: Path
) -> None:
    # Even signed: an auditor checking by hand would find two digests for one file.
    path, built = written
    contents = members(path)
    manifest = json.loads(contents[MANIFEST])
    manifest["members"].append({**manifest["members"][0], "sha256": "0" * 64})
    raw = (json.dumps(manifest, indent=2) + "\n").encode()
    note = sign_note(manifest_statement(manifest["origin"], raw), [built.key])
    resigned = {**contents, MANIFEST: raw, SIGNATURE: note.encode()}
    found = problems(rezip(path, resigned, tmp_path / "t.zip"), built.key)
    assert found == [(MANIFEST, "lists a member more than once")]


def test_an_empty_file_or_a_device_is_not_a_pack(tmp_path: Path, primary_key: NoteSigner) -> None:
    from ledger.errors import InputError

    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    assert problems(empty, primary_key) == [
        ("(zip)", "the file is empty (0 bytes), not an evidence pack")
    ]
    # /dev/zero would be read without end, a FIFO would block: neither is opened.
    for special in (Path("/dev/zero"), tmp_path):
        with pytest.raises(InputError, match="not a regular file"):
            verify_pack(special, [primary_key.verifier])


def test_a_long_line_is_refused_before_it_is_read_whole(
    written: tuple[Path, Built], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import tracemalloc

    path, built = written
    contents = members(path)
    contents["entries.jsonl"] = os.urandom(8 << 20).hex().encode()  # 16 MiB, no newline
    out = rezip(path, reseal(contents, built.key), tmp_path / "t.zip")
    monkeypatch.setattr(pack, "MAX_LINE", 1 << 20)
    tracemalloc.start()
    try:
        found = problems(out, built.key)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == [("entries.jsonl", f"line 1 is longer than {1 << 20} bytes")]
    assert peak < 8 << 20, peak


HOSTILE = [
    '<font size="40" color="red">BIG</font> <a href="javascript:alert(1)">x</a>',
    '<img src="/etc/passwd"/> <para> unclosed <b> &amp; &#x41; & alone',
    "src/\u202egnp.exe\u202c/evil.py \u2066hidden\u2069 zero\u200bwidth",
    "nul\x00bell\x07esc\x1b[31mred\x7fdel\x85nel\x9bcsi line\u2028separator",
    "中文 العربية 🔥",
    "=cmd|' /C calc'!A0",
]


def test_hostile_scanner_text_is_inert_in_every_member(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    sarif = tmp_path / "hostile.sarif"
    results = [
        {
            "ruleId": f"R{i}",
            "level": "error",
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": text}}}],
        }
        for i, text in enumerate(HOSTILE)
    ]
    rules = [{"id": f"R{i}", "shortDescription": {"text": t}} for i, t in enumerate(HOSTILE)]
    driver = {"name": "Evil<b>Tool</b>\u202e", "version": "1", "rules": rules}
    sarif.write_text(
        json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]})
    )
    ingest(sqlite_ledger, primary_key, sarif, at(2, 3))
    out = tmp_path / "pack.zip"
    built = Built(sqlite_ledger, primary_key, -1, "", "")
    pack.write_pack(sqlite_ledger, primary_key, derive_period(built), out)
    assert verify_pack(out, [primary_key.verifier]).ok
    assert check_by_hand(out, primary_key).returncode == 0
    contents = members(out)
    # No raw control or bidi character in any text member an auditor opens.
    for name in ALL:
        if name != "report.pdf":
            text = contents[name].decode("utf-8")
            assert not [c for c in text if c in "\u202e\u2066\u2069\u200b\x00\x1b\x85\u2028"], name
    assert contents["entries.jsonl"].isascii()
    stored = [json.loads(line)["body"] or "" for line in contents["entries.jsonl"].splitlines()]
    assert any("\u202egnp.exe" in body for body in stored)  # the value itself is kept
    report = "\n".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(contents["report.pdf"])).pages
    )
    compact = re.sub(r"\s+", "", report)
    for text in ('<font size="40" color="red">BIG</font>', "src/[U+202E]gnp.exe[U+202C]/evil.py"):
        assert re.sub(r"\s+", "", text) in compact, text
