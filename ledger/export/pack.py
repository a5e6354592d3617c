"""The evidence pack: a zip an auditor checks with nothing but it and a verifier key.

Members, in this order (the order is part of the format)::

    report.pdf                the report (ledger.export.pdf)
    entries.jsonl             the period's entries as stored, one JSON object a line,
                              ASCII only (other characters as JSON \\u escapes):
                              {"seq", "leaf_hash" (hex), "envelope" (text),
                               "body" (text, or null when erased), "salt" (hex or null)}
    checkpoint-start.txt      signed checkpoint sealing the ledger just before the period
    checkpoint-end.txt        signed checkpoint at the period's last entry
    consistency.json          RFC 9162 consistency proof between the two
                              (trailseal-consistency-proof/v1, see ledger.proof)
    inclusion-proofs.jsonl    per entry: {"seq", "leaf_hash", "tree_size", "path": [hex]},
                              the audit path to the end checkpoint's root
    verifier.pub              the key that signed the end checkpoint (informational)
    assessment-results.json   OSCAL 1.1.2 (ledger.export.oscal)
    VERIFY.md                 how to check all of this, with trailseal or by hand
    manifest.json             SHA-256 and size of every member above, origin, period,
                              tree sizes and the key-rotation statements
    manifest.sig              C2SP signed note over the manifest's SHA-256

The same ledger state and options give the same bytes: members are written
in a fixed order, deflated at a fixed level, dated by the end checkpoint's
time, and nothing reads the clock.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ledger import merkle
from ledger.errors import InputError, SigningKeyError, VerificationError
from ledger.export import oscal, pdf
from ledger.export.derive import Derivation
from ledger.ledger import GENESIS_PREV, Ledger
from ledger.note import (
    CheckpointBody,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    parse_note,
    sign_note,
)
from ledger.proof import MAX_KEY_ROTATIONS, Prover, check_proof, key_chain

log = logging.getLogger(__name__)

PACK_FORMAT = "trailseal-evidence-pack/v1"
SIGNATURE_HEADER = "trailseal evidence pack manifest v1"

REPORT = "report.pdf"
ENTRIES = "entries.jsonl"
CHECKPOINT_START = "checkpoint-start.txt"
CHECKPOINT_END = "checkpoint-end.txt"
CONSISTENCY = "consistency.json"
INCLUSION = "inclusion-proofs.jsonl"
VERIFIER = "verifier.pub"
OSCAL = "assessment-results.json"
GUIDE = "VERIFY.md"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MEMBERS = (
    REPORT,
    ENTRIES,
    CHECKPOINT_START,
    CHECKPOINT_END,
    CONSISTENCY,
    INCLUSION,
    VERIFIER,
    OSCAL,
    GUIDE,
)
"""Members the manifest lists, in pack order; the manifest and its signature follow."""

MAX_MEMBER_BYTES = 4 << 30
"""Largest uncompressed member verify-pack reads (a 100k-finding pack is ~200 MB)."""
MAX_RATIO = 200
"""Largest compression ratio accepted for a member over 1 MiB: JSON deflates ~10:1."""
MAX_SMALL_BYTES = 16 << 20
"""Largest manifest, signature, checkpoint or consistency proof."""
MAX_LINE = 64 << 20


@dataclass(frozen=True)
class PackInfo:
    """What was written: the pack's path, digest and size, and what it holds."""

    path: Path
    sha256: str
    size: int
    entries: int
    pages: int
    start_size: int
    end_size: int


# --- writing ------------------------------------------------------------------------


class _Writer:
    """Adds members to the zip, hashing each as it is written."""

    def __init__(self, archive: zipfile.ZipFile, when: datetime) -> None:
        self.archive = archive
        self.date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
        self.members: list[dict[str, Any]] = []

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        # Deflate at zlib's default level (6), the same on every Python version.
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, so the mode below means the same everywhere
        info.external_attr = 0o100644 << 16
        return info

    def add(self, name: str, data: bytes, *, listed: bool = True) -> None:
        self.archive.writestr(self._info(name), data)
        if listed:
            digest = hashlib.sha256(data).hexdigest()
            self.members.append({"name": name, "sha256": digest, "size": len(data)})

    def stream(self, name: str, chunks: Iterator[bytes]) -> None:
        digest, size = hashlib.sha256(), 0
        with self.archive.open(self._info(name), "w", force_zip64=True) as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        self.members.append({"name": name, "sha256": digest.hexdigest(), "size": size})


def _entry_lines(ledger: Ledger, start: int, stop: int) -> Iterator[bytes]:
    """entries.jsonl, a buffer of lines at a time; bytes exactly as stored."""
    buffer: list[str] = []
    expected = start
    for row in ledger.entries(start, stop):
        if row.seq != expected:
            raise VerificationError(f"entry {expected} is missing from the ledger")
        envelope = bytes(row.envelope)
        if merkle.leaf_hash(envelope) != bytes(row.leaf_hash):
            raise VerificationError(f"entry {row.seq} no longer matches its leaf hash")
        line = {
            "seq": row.seq,
            "leaf_hash": bytes(row.leaf_hash).hex(),
            "envelope": envelope.decode("ascii"),
            "body": None if row.body is None else bytes(row.body).decode("utf-8"),
            "salt": None if row.salt is None else bytes(row.salt).hex(),
        }
        # ASCII only: a bidi control, line separator or escape sequence from an
        # artifact is a \u escape here, so viewing or splitting the file is safe;
        # the decoded body is the stored text, so its hash is unchanged.
        buffer.append(json.dumps(line))
        expected += 1
        if len(buffer) >= 1000:
            yield ("\n".join(buffer) + "\n").encode("ascii")
            buffer = []
    if expected != stop:
        raise VerificationError(f"entries {expected}..{stop - 1} are missing from the ledger")
    if buffer:
        yield ("\n".join(buffer) + "\n").encode("ascii")


def _proof_lines(tree: merkle.Tree, start: int, stop: int) -> Iterator[bytes]:
    """inclusion-proofs.jsonl: every audit path from the one tree."""
    buffer: list[str] = []
    for seq in range(start, stop):
        path = [h.hex() for h in tree.inclusion_proof(seq, stop)]
        leaf = tree.levels[0][seq].hex()
        buffer.append(json.dumps({"seq": seq, "leaf_hash": leaf, "tree_size": stop, "path": path}))
        if len(buffer) >= 2000:
            yield ("\n".join(buffer) + "\n").encode("ascii")
            buffer = []
    if buffer:
        yield ("\n".join(buffer) + "\n").encode("ascii")


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def manifest_statement(origin: str, manifest: bytes) -> str:
    """The note text manifest.sig signs: header, origin and the manifest's SHA-256."""
    digest = hashlib.sha256(manifest).hexdigest()
    return f"{SIGNATURE_HEADER}\n{origin}\nsha256 {digest}\n"


def write_pack(ledger: Ledger, signer: NoteSigner, derivation: Derivation, out: Path) -> PackInfo:
    """Write the evidence pack for ``derivation`` to ``out`` (replaced if it exists).

    The pack is written beside ``out`` and renamed into place, so a failed
    export never leaves a partial pack under the requested name.
    """
    start, stop = derivation.start_size, derivation.end_size

    # The one tree all proofs come from; its roots must be the signed ones.
    prover = Prover(ledger, stop)
    tree = prover.tree
    for size, note in ((start, derivation.start_note), (stop, derivation.end_note)):
        if tree.root(size) != CheckpointBody.parse(parse_note(note).text).root_hash:
            raise VerificationError(f"the ledger's tree at size {size} differs from its checkpoint")
    consistency = prover.consistency(derivation.start_note).to_json()
    consistency["key_rotations"] = list(derivation.key_rotations)

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            pages = _write(handle, ledger, derivation, tree, consistency, signer)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    digest, size = hashlib.sha256(), 0
    with out.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    info = PackInfo(out, digest.hexdigest(), size, stop - start, pages, start, stop)
    log.info("pack %s: %d entries, %d bytes, sha256 %s", out, info.entries, size, info.sha256)
    return info


def _write(
    handle: IO[bytes],
    ledger: Ledger,
    derivation: Derivation,
    tree: merkle.Tree,
    consistency: dict[str, Any],
    signer: NoteSigner,
) -> int:
    data = derivation.data
    start, stop = derivation.start_size, derivation.end_size
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        writer = _Writer(archive, data.basis.checkpoint_time)
        report = io.BytesIO()
        pages = pdf.render_report(data, report)
        writer.add(REPORT, report.getvalue())
        del report
        writer.stream(ENTRIES, _entry_lines(ledger, start, stop))
        writer.add(CHECKPOINT_START, derivation.start_note.encode("utf-8"))
        writer.add(CHECKPOINT_END, derivation.end_note.encode("utf-8"))
        writer.add(CONSISTENCY, _json(consistency))
        writer.stream(INCLUSION, _proof_lines(tree, start, stop))
        writer.add(VERIFIER, (derivation.signer_key.vkey() + "\n").encode("ascii"))
        writer.stream(OSCAL, oscal.oscal_chunks(data))
        writer.add(GUIDE, verify_guide(derivation).encode("utf-8"))

        manifest = _json(
            {
                "format": PACK_FORMAT,
                "origin": data.basis.origin,
                "period": {"from": str(data.period.start), "to": str(data.period.end)},
                "start_size": start,
                "end_size": stop,
                "entries": stop - start,
                "members": writer.members,
                "key_rotations": list(derivation.key_rotations),
            }
        )
        writer.add(MANIFEST, manifest, listed=False)
        note = sign_note(manifest_statement(data.basis.origin, manifest), [signer])
        writer.add(SIGNATURE, note.encode("utf-8"), listed=False)
    return pages


def verify_guide(derivation: Derivation) -> str:
    """VERIFY.md: how an auditor checks the pack, with trailseal and by hand."""
    basis = derivation.data.basis
    start, stop = derivation.start_size, derivation.end_size
    return _GUIDE.format(
        origin=basis.origin,
        period_from=derivation.data.period.start,
        period_to=derivation.data.period.end,
        start=start,
        stop=stop,
        last=stop - 1,
        count=stop - start,
        root=basis.root_hash,
        key_id=basis.key_id,
        script=_CHECK_SCRIPT,
        extract=_EXTRACT_SCRIPT,
    )


# One shell line that writes the code block at the end of VERIFY.md to check_pack.py.
_EXTRACT_SCRIPT = (
    "python3 -c 'import sys, zipfile; "
    't = zipfile.ZipFile(sys.argv[1]).read("VERIFY.md").decode(); '
    'print(t.split("```python\\n")[1].split("```")[0], end="")'
    "' PACK.zip > check_pack.py"
)


_GUIDE = """\
# Verifying this evidence pack

Ledger `{origin}`, period {period_from} to {period_to} (UTC): entries {start} to
{last} ({count} entries), sealed by the signed checkpoint of tree size {stop} with
root hash `{root}` (key id `{key_id}`).

Obtain the organisation's verifier key (`NAME+KEYID+BASE64`) through a channel
other than this pack. `verifier.pub` in the pack is informational only: a pack
checked against its own key proves nothing.

## What a successful check proves, and what it does not

It proves that the verifier key (or a key it rotated to) signed the manifest
and both checkpoints; that the ledger of {stop} entries extends the ledger of
{start} entries without changing any of them; that the {count} entries of the
period are all in `entries.jsonl`, unaltered, in order, each with its place in
the signed tree; and that every other file is the one the key signed.
`report.pdf` and `assessment-results.json` are computed by trailseal from the
entries: re-derive any figure you sample from `entries.jsonl`.

It does not prove that every scanner run was recorded (a run never ingested
leaves no entry; the report's cadence section shows the gaps), that the
scanners found every problem, or anything about entries after entry {last},
among them the entry that records this export. Whoever holds the signing key
could build a different ledger and sign it: to rule that out, check that
`checkpoint-start.txt` names the same tree size and root hash as the end
checkpoint of the previous period's pack, or as a checkpoint you kept.

## With trailseal

    trailseal verify-pack PACK.zip --trusted-key KEY_OR_FILE

Exit 0: every check below passed. Exit 1: the pack is not valid (altered,
damaged, truncated or not a zip at all); the message names the member and the
problem. Exit 2: the pack file or the key could not be read (no such file, not
a regular file, no permission, a malformed key). Repeat `--trusted-key` to
trust several keys (before and after a rotation).

## By hand

The script at the end does steps 1 to 6. Each step, for checking it another way:

1. **Members.** `unzip PACK.zip -d pack` to read them. The pack holds exactly
   the files listed in `manifest.json` plus `manifest.json` and
   `manifest.sig`, and no other bytes (`verify-pack` accounts for every byte
   of the zip; the script below checks the members only). For each listed file, its SHA-256
   (`sha256sum FILE`, on macOS `shasum -a 256 FILE`) and its size in bytes
   must equal its `sha256` and `size`.

2. **Manifest signature.** `manifest.sig` is a C2SP signed note
   (https://c2sp.org/signed-note). Its text is three lines:

       trailseal evidence pack manifest v1
       <origin>
       sha256 <hex SHA-256 of manifest.json>

   then a blank line and signature lines `— <key name> <base64>`. The base64
   decodes to a 4-byte key id then a 64-byte Ed25519 signature over the text
   (the three lines, each ending in a newline). The key id is the first four
   bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key); the
   verifier key string is `name+hex key id+base64(0x01 || public key)`. If the
   key that signed is newer than yours, `manifest.json` lists `key_rotations`:
   each names an old and a new key and carries both keys' signatures over
   `trailseal key rotation v1\\n<origin>\\n<old key>\\n<new key>\\n`; the
   manifest and the end checkpoint must then be signed by the newest key.

3. **Checkpoints.** `checkpoint-start.txt` and `checkpoint-end.txt` are signed
   notes in the same format whose text is a C2SP checkpoint
   (https://c2sp.org/tlog-checkpoint): origin, tree size, base64 root hash.
   Their sizes must be {start} and {stop}.

4. **Consistency.** `consistency.json` proves that the tree of size {start} is
   a prefix of the tree of size {stop} (RFC 9162, section 2.1.4.2; `path` is
   base64); its two checkpoints must be byte-identical to the two files above.
   Nothing recorded before the period was changed during it.

5. **Entries.** Each line of `entries.jsonl` is one ledger entry; sequence
   numbers run from {start} to {last} without gaps. For each:
   - `leaf_hash` = SHA-256(0x00 || envelope bytes) (RFC 9162, section 2.1.1);
   - the envelope's `body_hash` = SHA-256(salt bytes || body UTF-8 bytes),
     unless `body` and `salt` are null (the body was erased; its hash stays);
   - the envelope's `prev` is the previous entry's `leaf_hash` (64 zeros for
     entry 0).

6. **Inclusion.** Each line of `inclusion-proofs.jsonl` is the RFC 9162 audit
   path (section 2.1.3.2, `path` is hex) of one entry to the root of
   `checkpoint-end.txt`.

7. **A sampled finding.** Find its entry number in the report's register and
   read the line of `entries.jsonl` whose `seq` is that number (a finding
   first recorded before the period has that entry in an earlier period's
   pack): the body names the artifact's SHA-256; compare it with the scanner
   output kept by the CI system.

The script needs Python 3.8 or later and the `cryptography` package (`pip
install cryptography`). Save it as `check_pack.py`, by copying the code block
at the end of this file or with

    {extract}

and run it on the zip itself, not on extracted files:

    python3 check_pack.py PACK.zip 'NAME+KEYID+BASE64'   # or a file holding the key

It prints `OK: ...` and exits 0 when every check passed, and prints `FAIL: ...`
and exits 1 at the first that did not, including a pack or key it cannot
read. It came inside the pack, so read it before you rely on it: it is short
on purpose.

```python
{script}```
"""

_CHECK_SCRIPT = r"""import base64, hashlib, itertools, json, os, sys, zipfile
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MEMBERS = ["report.pdf", "entries.jsonl", "checkpoint-start.txt", "checkpoint-end.txt",
           "consistency.json", "inclusion-proofs.jsonl", "verifier.pub",
           "assessment-results.json", "VERIFY.md"]

def need(ok, problem):
    if not ok:
        sys.exit(f"FAIL: {problem}")

def key(vkey):  # NAME+KEYID+BASE64(0x01 || 32-byte Ed25519 key), or a file holding it
    if os.path.isfile(vkey):
        vkey = open(vkey, encoding="utf-8").read()
    parts = vkey.strip().split("+", 2)
    need(len(parts) == 3, f"{vkey!r} is not a verifier key NAME+KEYID+BASE64 or a file")
    name, kid, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError:
        raw = b""
    need(len(raw) == 33 and raw[0] == 1, f"{vkey}: not an Ed25519 verifier key")
    need(hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == kid,
         f"{vkey}: the key id does not match the key")
    return name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:]), vkey.strip()

def valid(signature, data, k):
    try:
        k[2].verify(signature, data)
        return True
    except InvalidSignature:
        return False

def signed_text(note, keys):  # the note's text if one of keys signed it, else None
    cut = note.index("\n\n") + 1
    text = note[:cut]
    for line in note[cut + 1:].splitlines():
        dash, name, b64 = line.split(" ")
        sig = base64.b64decode(b64)
        for k in keys:
            ours = dash == "\u2014" and name == k[0] and sig[:4] == k[1]
            if ours and valid(sig[4:], text.encode(), k):
                return text
    return None

def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

def included(leaf, index, size, path, root):  # RFC 9162, 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn & 1 == 0 and fn != 0: fn >>= 1; sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root

def consistent(m, n, path, old_root, new_root):  # RFC 9162, 2.1.4.2
    if m == n: return not path and old_root == new_root
    if m == 0: return not path
    if not path or m > n: return False
    if m & (m - 1) == 0: path = [old_root] + path
    fn, sn = m - 1, n - 1
    while fn & 1: fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn & 1 == 0 and fn != 0: fn >>= 1; sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1; sn >>= 1
    return fr == old_root and sr == new_root and sn == 0

# A pack too damaged to parse fails with one line, not a traceback.
sys.excepthook = lambda kind, exc, tb: print(f"FAIL: {kind.__name__}: {exc}", file=sys.stderr)
need(len(sys.argv) > 2, "usage: python3 check_pack.py PACK.zip KEY_OR_FILE [KEY_OR_FILE...]")
trusted = [key(k) for k in sys.argv[2:]]
try:
    pack = zipfile.ZipFile(sys.argv[1])
except (OSError, zipfile.BadZipFile) as exc:
    sys.exit(f"FAIL: {sys.argv[1]}: cannot be read as a zip: {exc}")

# 1. Members: exactly these files, each as the manifest lists it.
need(sorted(pack.namelist()) == sorted(MEMBERS + ["manifest.json", "manifest.sig"]),
     f"the pack holds {sorted(pack.namelist())}")
manifest_bytes = pack.read("manifest.json")
manifest = json.loads(manifest_bytes)
origin, start, stop = manifest["origin"], manifest["start_size"], manifest["end_size"]

# 2. Key rotations the trusted keys signed, then the manifest's signature:
#    after a rotation only the newest key may sign the manifest and end checkpoint.
keys, current = list(trusted), list(trusted)
need(len(manifest["key_rotations"]) <= 256, "manifest.json lists too many key rotations")
for rot in manifest["key_rotations"]:
    old, new = key(rot["old"]), key(rot["new"])
    statement = f"trailseal key rotation v1\n{rot['origin']}\n{rot['old']}\n{rot['new']}\n".encode()
    if rot["origin"] == origin and any(k[3] == old[3] for k in keys):
        need(valid(base64.b64decode(rot["old_signature"]), statement, old)
             and valid(base64.b64decode(rot["new_signature"]), statement, new),
             f"the rotation to {rot['new']} is not signed by both keys")
        keys.append(new)
        current = [new]
statement = (f"trailseal evidence pack manifest v1\n{origin}\n"
             f"sha256 {hashlib.sha256(manifest_bytes).hexdigest()}\n")
need(signed_text(pack.read("manifest.sig").decode(), current) == statement,
     "manifest.sig is not a trusted key's signature over manifest.json")
listed = manifest["members"]
need(sorted(m["name"] for m in listed) == sorted(MEMBERS), "manifest.json lists other files")
for m in listed:
    digest, size = hashlib.sha256(), 0
    with pack.open(m["name"]) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    need((digest.hexdigest(), size) == (m["sha256"], m["size"]), f"{m['name']} was altered")

# 3. Both checkpoints: signed, this ledger, the manifest's tree sizes.
def checkpoint(name, size, signers):
    note = pack.read(name).decode()
    text = signed_text(note, signers)
    need(text is not None, f"{name} is not signed by a trusted key")
    lines = text.splitlines()
    need(lines[0] == origin and int(lines[1]) == size, f"{name} is not {origin} at size {size}")
    return note, base64.b64decode(lines[2])

start_note, start_root = checkpoint("checkpoint-start.txt", start, keys)
end_note, root = checkpoint("checkpoint-end.txt", stop, current)

# 4. Consistency: the tree of size start is a prefix of the tree of size stop.
proof = json.loads(pack.read("consistency.json"))
need(proof["old_checkpoint"] == start_note and proof["new_checkpoint"] == end_note,
     "consistency.json is not about the two checkpoints")
need(consistent(start, stop, [base64.b64decode(h) for h in proof["path"]], start_root, root),
     "consistency.json does not prove the end tree extends the start tree")

# 5, 6. Entries, in order and linked, each included in the end checkpoint's tree.
prev, seq = ("0" * 64 if start == 0 else None), start
lines = itertools.zip_longest(pack.open("entries.jsonl"), pack.open("inclusion-proofs.jsonl"))
for e, p in lines:
    need(e is not None and p is not None, "entries and inclusion proofs differ in number")
    e, p = json.loads(e), json.loads(p)
    envelope = e["envelope"].encode("ascii")
    fields = json.loads(envelope)
    leaf = hashlib.sha256(b"\x00" + envelope).digest()
    need(e["seq"] == p["seq"] == fields["seq"] == seq, f"entry {seq} is missing or out of order")
    need(leaf.hex() == e["leaf_hash"] == p["leaf_hash"], f"entry {seq}: leaf hash")
    need(prev is None or fields["prev"] == prev, f"entry {seq} does not link to the one before")
    if e["body"] is not None or e["salt"] is not None:  # both null: erased, hash kept
        body = bytes.fromhex(e["salt"]) + e["body"].encode("utf-8")
        need(hashlib.sha256(body).hexdigest() == fields["body_hash"], f"entry {seq}: body hash")
    path = [bytes.fromhex(h) for h in p["path"]]
    need(p["tree_size"] == stop and included(leaf, seq, stop, path, root),
         f"entry {seq} is not included in the end checkpoint")
    prev, seq = leaf.hex(), seq + 1
need(seq == stop, f"the pack holds entries {start}..{seq - 1}, not {start}..{stop - 1}")
print(f"OK: {origin}: entries {start}..{stop - 1} verified against checkpoint {stop}")
"""
"""The standalone checker VERIFY.md carries: steps 1 to 6 with nothing of trailseal."""


# --- verifying ----------------------------------------------------------------------


@dataclass(frozen=True)
class PackProblem:
    """One failed check: the member it concerns and what is wrong."""

    member: str
    message: str


@dataclass
class PackResult:
    """What :func:`verify_pack` found. Valid when ``problems`` is empty."""

    path: Path
    origin: str = ""
    period: tuple[str, str] = ("", "")
    start_size: int = 0
    end_size: int = 0
    entries: int = 0
    erased: int = 0
    signer: str = ""
    problems: list[PackProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, member: str, message: str) -> None:
        self.problems.append(PackProblem(member, message))

    def raise_for_status(self) -> None:
        """For library callers: raise :class:`VerificationError` unless valid."""
        if self.problems:
            first = self.problems[0]
            raise VerificationError(f"{self.path}: {first.member}: {first.message}")


class _Stop(Exception):
    """A check failed in a way that makes the later checks meaningless."""


def verify_pack(path: Path, trusted_keys: list[NoteVerifier]) -> PackResult:
    """Check an evidence pack offline. Raises :class:`InputError` only if it cannot be read.

    Checks, each stopping a different attack:

    1. the zip is sound: every byte of it is a listed member's local header,
       name, extra field (zip64 sizes only), data or data descriptor, in
       directory order and without gaps, or the central directory (no
       comments, zip64 extras only) and end records; every member name is
       plain (no directories, ``..``, absolute or drive paths, duplicates),
       every member is a plain file (not a symbolic link), sizes are bounded
       and plausibly compressed (zip bombs), and the members are exactly the
       expected ones;
    2. ``manifest.sig`` is a signed note by a trusted key, or by a key the
       trusted keys rotated to, over the SHA-256 of ``manifest.json``;
    3. the manifest lists each member once, and every member's SHA-256 and
       size equal the manifest's;
    4. both checkpoints are signed by a trusted key (following rotations), are
       for the manifest's origin and have its tree sizes;
    5. the consistency proof links them (RFC 9162 2.1.4.2) and carries these
       very checkpoints;
    6. entries run contiguously over exactly the manifest's range; each leaf
       hash, chain link and body hash holds;
    7. each entry's inclusion proof leads to the end checkpoint's root
       (RFC 9162 2.1.3.2).

    Nothing is extracted to disk, and no member or line is read whole before
    its size is checked.
    """
    result = PackResult(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    if not stat.S_ISREG(mode):
        # A directory, a FIFO (opening it blocks) or a device (/dev/zero never ends).
        raise InputError(f"{path}: not a regular file, so not an evidence pack")
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    except zipfile.BadZipFile as exc:
        if path.stat().st_size == 0:
            result.fail("(zip)", "the file is empty (0 bytes), not an evidence pack")
        else:
            result.fail("(zip)", f"not a readable zip archive (truncated or not a zip): {exc}")
        return result
    with archive:
        try:
            _layout(archive, result)
            _verify(archive, trusted_keys, result)
        except _Stop:
            pass
        except zipfile.BadZipFile as exc:
            result.fail("(zip)", f"the archive is damaged: {exc}")
        except (RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            # Encrypted members, unknown compression methods, truncated streams.
            result.fail("(zip)", f"a member cannot be read: {type(exc).__name__}: {exc}")
        except (RecursionError, ValueError) as exc:
            result.fail("(zip)", f"a member is not the JSON it should be: {type(exc).__name__}")
    return result


def _layout(archive: zipfile.ZipFile, result: PackResult) -> None:
    """The zip is the members and nothing else, every byte of it accounted for.

    Such bytes carry no evidence, but they make the file something other than
    the pack whose SHA-256 the ledger recorded, and can make it a polyglot
    another program reads differently, or smuggle data past the manifest.
    """
    fp = archive.fp
    assert fp is not None
    try:
        _account_for_every_byte(fp)
    except _Layout as exc:
        result.fail("(zip)", f"{exc}: it is not the pack as written")


class _Layout(Exception):
    """Bytes of the file that no listed member, directory or end record accounts for."""


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_ZIP64_END = struct.Struct("<4sQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ZIP64_EXTRA = 0x0001
_USE_DESCRIPTOR = 0x08
_FULL32 = 0xFFFFFFFF
_MAX_RECORDS = 64
"""More central directory records than this are refused before they are read."""


@dataclass(frozen=True)
class _Central:
    """One central directory record, zip64 values resolved."""

    name: bytes
    fields: tuple[int, ...]  # flags, method, time, date
    crc: int
    compressed: int
    size: int
    offset: int


def _read_at(fp: IO[bytes], offset: int, length: int, what: str) -> bytes:
    fp.seek(offset)
    data = fp.read(length)
    if len(data) != length:
        raise _Layout(f"ends inside {what}")
    return data


def _extra_fields(extra: bytes, where: str) -> dict[int, bytes]:
    """The records of an extra field; anything but whole zip64 records is refused."""
    fields: dict[int, bytes] = {}
    at = 0
    while at < len(extra):
        if at + 4 > len(extra):
            raise _Layout(f"{where} has {len(extra) - at} stray byte(s) in its extra field")
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind != _ZIP64_EXTRA or kind in fields or at + 4 + length > len(extra):
            raise _Layout(
                f"{where} carries {len(extra) - at} byte(s) of extra field (type 0x{kind:04x}) "
                "that no pack writes"
            )
        fields[kind] = extra[at + 4 : at + 4 + length]
        at += 4 + length
    return fields


def _zip64_values(extra: bytes, wanted: tuple[int, ...], where: str) -> list[int]:
    """The 32-bit header values, with the ones set to all ones read from the zip64 record."""
    record = _extra_fields(extra, where).get(_ZIP64_EXTRA)
    overflowed = [value == _FULL32 for value in wanted]
    if record is None:
        if any(overflowed):
            raise _Layout(f"{where} has sizes of all ones but no zip64 record")
        return list(wanted)
    count = sum(overflowed)
    if len(record) != 8 * count:
        raise _Layout(f"{where} has a zip64 record of {len(record)} bytes, not {8 * count}")
    values = iter(struct.unpack(f"<{count}Q", record))
    return [next(values) if o else w for w, o in zip(wanted, overflowed, strict=True)]


def _account_for_every_byte(fp: IO[bytes]) -> None:
    """Walk the file from its first byte to its last, as a writer lays a pack out:

    each member's local header, name, extra field, data (and data descriptor),
    contiguous and in central directory order; then the central directory
    (records without comments), the zip64 end record and locator if any, and
    the end record, without a comment, as the file's last bytes. Only headers
    are read, so memory stays small whatever the pack's size.
    """
    total = fp.seek(0, io.SEEK_END)
    if total < _END.size:
        raise _Layout("is too short to hold a zip end record")
    end = _END.unpack(_read_at(fp, total - _END.size, _END.size, "the end record"))
    signature, disk, cd_disk, on_disk, count, cd_size, cd_offset, comment = end
    if signature != b"PK\x05\x06" or comment:
        raise _Layout("holds bytes after its last record")
    cd_end = total - _END.size
    locator_at = cd_end - _ZIP64_LOCATOR.size
    if locator_at >= 0 and _read_at(fp, locator_at, 4, "the zip64 locator") == b"PK\x06\x07":
        _, z_disk, z_offset, disks = _ZIP64_LOCATOR.unpack(
            _read_at(fp, locator_at, _ZIP64_LOCATOR.size, "the zip64 locator")
        )
        if z_disk != 0 or disks != 1 or z_offset + _ZIP64_END.size != locator_at:
            raise _Layout("holds bytes between its zip64 end record and its locator")
        z64 = _ZIP64_END.unpack(_read_at(fp, z_offset, _ZIP64_END.size, "the zip64 end"))
        if z64[0] != b"PK\x06\x06" or z64[1] != _ZIP64_END.size - 12:
            raise _Layout("has a zip64 end record of another size than its fields")
        disk, cd_disk, on_disk, count, cd_size, cd_offset = z64[4:]
        cd_end = z_offset
    if disk or cd_disk or on_disk != count:
        raise _Layout("claims to span several disks")
    if cd_offset + cd_size > cd_end:
        raise _Layout("has a central directory that overlaps its end record")
    if cd_offset + cd_size < cd_end:
        # Bytes before the first member shift everything; otherwise they sit
        # between the directory and the end record.
        if _read_at(fp, cd_offset, 4, "the central directory") != b"PK\x01\x02":
            raise _Layout("holds bytes before its first member")
        raise _Layout(
            f"holds {cd_end - cd_offset - cd_size} byte(s) between its central directory "
            "and its end record"
        )

    # The central directory: exactly ``count`` records filling [cd_offset, cd_end).
    if count > _MAX_RECORDS:
        raise _Layout(f"holds {count} members, far more than an evidence pack's {len(MEMBERS) + 2}")
    records: list[_Central] = []
    at = cd_offset
    for _ in range(count):
        if at + _CENTRAL.size > cd_end:
            raise _Layout("has fewer central directory records than its end record counts")
        header = _CENTRAL.unpack(_read_at(fp, at, _CENTRAL.size, "the central directory"))
        if header[0] != b"PK\x01\x02":
            raise _Layout("has a damaged central directory")
        name_len, extra_len, comment_len, start_disk = header[10:14]
        name = _read_at(fp, at + _CENTRAL.size, name_len, "the central directory")
        where = f"the central record of {name.decode('utf-8', 'replace')}"
        extra = _read_at(fp, at + _CENTRAL.size + name_len, extra_len, where)
        if comment_len:
            raise _Layout(f"{where} carries a {comment_len}-byte comment")
        size, compressed, offset = _zip64_values(extra, (header[9], header[8], header[16]), where)
        if start_disk:
            raise _Layout(f"{where} claims another disk")
        # The version needed may differ: a writer raises it in the directory alone
        # when a zip64 offset is added there.
        records.append(_Central(name, header[3:7], header[7], compressed, size, offset))
        at += _CENTRAL.size + name_len + extra_len + comment_len
    if at != cd_end:
        raise _Layout(f"holds {cd_end - at} byte(s) after its central directory records")

    # The members: each where the one before ended, the first at byte 0.
    at, previous = 0, None
    for record in records:
        label = record.name.decode("utf-8", "replace")
        if record.offset != at:
            where = "before its first member" if previous is None else f"after {previous}"
            if record.offset > at:
                raise _Layout(f"holds {record.offset - at} byte(s) {where}")
            raise _Layout(f"has members that overlap ({label})")
        header = _LOCAL.unpack(_read_at(fp, at, _LOCAL.size, f"the header of {label}"))
        signature, _, *fields, crc, compressed, size, name_len, extra_len = header
        if signature != b"PK\x03\x04":
            raise _Layout(f"has no local header where {label} begins")
        name = _read_at(fp, at + _LOCAL.size, name_len, f"the header of {label}")
        extra = _read_at(fp, at + _LOCAL.size + name_len, extra_len, f"the header of {label}")
        if name != record.name or tuple(fields) != record.fields:
            raise _Layout(f"the local header of {label} differs from its central record")
        where = f"the local header of {label}"
        size, compressed = _zip64_values(extra, (size, compressed), where)[:2]
        data_end = at + _LOCAL.size + name_len + extra_len + record.compressed
        if record.fields[0] & _USE_DESCRIPTOR:
            if (crc, compressed, size) != (0, 0, 0):
                raise _Layout(f"{where} has sizes and a data descriptor")
            wide = _ZIP64_EXTRA in _extra_fields(extra, where)
            descriptor = struct.pack(
                "<IQQ" if wide else "<III", record.crc, record.compressed, record.size
            )
            found = _read_at(fp, data_end, 4, f"the data of {label}")
            if found == _DESCRIPTOR_SIGNATURE:
                descriptor = _DESCRIPTOR_SIGNATURE + descriptor
            if _read_at(fp, data_end, len(descriptor), f"the data of {label}") != descriptor:
                raise _Layout(f"the data descriptor of {label} differs from its central record")
            data_end += len(descriptor)
        elif (crc, compressed, size) != (record.crc, record.compressed, record.size):
            raise _Layout(f"{where} has other sizes than its central record")
        at, previous = data_end, label
    if at != cd_offset:
        where = f"after {previous}" if previous else "before its central directory"
        if at > cd_offset:
            raise _Layout(f"has a member ({previous}) that runs into its central directory")
        raise _Layout(f"holds {cd_offset - at} byte(s) {where}")


def _read(archive: zipfile.ZipFile, name: str, limit: int, result: PackResult) -> bytes:
    with archive.open(name) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        result.fail(name, f"larger than the {limit} bytes allowed for it")
        raise _Stop
    return data


def _verify(archive: zipfile.ZipFile, trusted: list[NoteVerifier], result: PackResult) -> None:
    # (1) a sound zip with exactly the expected members.
    infos: dict[str, zipfile.ZipInfo] = {}
    flagged: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
        if (
            name.startswith(("/", "\\"))
            or ".." in name.replace("\\", "/").split("/")
            or "/" in name
            or "\\" in name
            or ":" in name
            or info.is_dir()
        ):
            result.fail(name, "member name is a path, not a plain file name")
            flagged.add(name)
        elif name in infos:
            result.fail(name, "the member appears twice")
        elif kind not in (0, stat.S_IFREG):
            # unzip would make a symbolic link (or a device) of it, not a file.
            what = "a symbolic link" if kind == stat.S_IFLNK else "not a plain file"
            result.fail(name, f"the member is {what} (mode {info.external_attr >> 16:o})")
        elif info.file_size > MAX_MEMBER_BYTES:
            result.fail(name, f"declares {info.file_size} bytes uncompressed, over the limit")
        elif info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            result.fail(name, "compressed more than any honest member could be (zip bomb)")
        infos[name] = info
    expected = {*MEMBERS, MANIFEST, SIGNATURE}
    for name in sorted(set(infos) - expected - flagged):
        result.fail(name, "unexpected member: not part of an evidence pack")
    for name in (*MEMBERS, MANIFEST, SIGNATURE):
        if name not in infos:
            result.fail(name, "member missing from the pack")
    if result.problems:
        raise _Stop

    # (2) the manifest and its signature.
    manifest_bytes = _read(archive, MANIFEST, MAX_SMALL_BYTES, result)
    try:
        manifest = json.loads(manifest_bytes)
        origin = str(manifest["origin"])
        listed = {m["name"]: m for m in manifest["members"]}
        repeated = len(listed) != len(manifest["members"])
        start, stop = int(manifest["start_size"]), int(manifest["end_size"])
        rotations = manifest.get("key_rotations", [])
        result.period = (str(manifest["period"]["from"]), str(manifest["period"]["to"]))
    except (ValueError, KeyError, TypeError) as exc:
        result.fail(MANIFEST, f"not a pack manifest: {exc}")
        raise _Stop from None
    result.origin, result.start_size, result.end_size = origin, start, stop
    signature = _text(_read(archive, SIGNATURE, MAX_SMALL_BYTES, result), SIGNATURE, result)
    try:
        note = parse_note(signature)
    except VerificationError as exc:
        result.fail(SIGNATURE, f"not a signed note: {exc}")
        raise _Stop from None
    if note.text != manifest_statement(origin, manifest_bytes):
        result.fail(MANIFEST, "differs from what manifest.sig signs: it was altered")
        raise _Stop
    # The signature before the rotations, cheapest first: the key allowed to sign
    # is a trusted key or one a listed rotation names as new, so unless one of
    # those signed, no rotation needs checking; a forged manifest costs at most
    # one signature check per signature line, however many rotations it lists.
    named = {key: note.verified_by(key) for key in _named_signers(note, trusted, rotations)}
    if True not in named.values():
        invalid = any(named.get(key) is False for key in trusted)
        result.fail(
            SIGNATURE,
            "carries an invalid signature by a trusted key"
            if invalid
            else "is not signed by a trusted key or a key it rotated to",
        )
        raise _Stop
    try:
        keys, current = key_chain(trusted, rotations, MAX_KEY_ROTATIONS)
    except VerificationError as exc:
        result.fail(MANIFEST, f"its key rotations are unusable: {exc}")
        raise _Stop from None
    verdicts = {key: named[key] if key in named else note.verified_by(key) for key in current}
    if False in verdicts.values():
        result.fail(SIGNATURE, "carries an invalid signature by a trusted key")
        raise _Stop
    signers = [key for key, ok in verdicts.items() if ok]
    if not signers:
        result.fail(SIGNATURE, "is not signed by a trusted key or a key it rotated to")
        raise _Stop
    result.signer = f"{signers[0].name} {signers[0].key_id_hex}"

    # (3) every member's digest and size, and the manifest lists exactly them.
    if repeated:
        result.fail(MANIFEST, "lists a member more than once")
        raise _Stop
    if set(listed) != set(MEMBERS):
        extra = sorted(set(listed) ^ set(MEMBERS))
        result.fail(MANIFEST, f"lists members other than the pack's: {', '.join(extra)}")
        raise _Stop
    for name in MEMBERS:
        digest, size = _digest(archive, name, infos[name])
        if size != listed[name].get("size") or digest != listed[name].get("sha256"):
            result.fail(name, "its SHA-256 or size differs from manifest.json: it was altered")
    if result.problems:
        raise _Stop

    # (4) both checkpoints, signed and of the manifest's ledger and sizes.
    notes: dict[str, str] = {}
    roots: dict[str, bytes] = {}
    for name, size in ((CHECKPOINT_START, start), (CHECKPOINT_END, stop)):
        notes[name] = _text(_read(archive, name, MAX_SMALL_BYTES, result), name, result)
        try:
            body = _signed_checkpoint(notes[name], current if name == CHECKPOINT_END else keys)
        except VerificationError as exc:
            result.fail(name, str(exc))
            raise _Stop from None
        if body.origin != origin or body.size != size:
            result.fail(name, f"is for {body.origin} size {body.size}, not {origin} size {size}")
            raise _Stop
        roots[name] = body.root_hash

    # (5) the consistency proof, over these two checkpoints.
    proof_text = _text(_read(archive, CONSISTENCY, MAX_SMALL_BYTES, result), CONSISTENCY, result)
    try:
        proof = json.loads(proof_text)
        if (
            proof.get("old_checkpoint") != notes[CHECKPOINT_START]
            or proof.get("new_checkpoint") != notes[CHECKPOINT_END]
        ):
            result.fail(CONSISTENCY, "does not carry the pack's two checkpoints")
            raise _Stop
        check = check_proof(proof_text, keys)
        if check.kind != "consistency":
            result.fail(CONSISTENCY, "is not a consistency proof")
    except ValueError:
        result.fail(CONSISTENCY, "is not JSON")
    except VerificationError as exc:
        result.fail(CONSISTENCY, str(exc))

    # (6, 7) entries and their inclusion proofs, line by line, in step.
    _check_entries(archive, start, stop, roots[CHECKPOINT_END], result)


def _named_signers(
    note: SignedNote, trusted: list[NoteVerifier], rotations: Any
) -> list[NoteVerifier]:
    """Trusted keys and keys the rotations name as new that sign ``note`` by name and
    key id: the only keys that may have signed it. No signature is checked here."""
    lines = {(sig.name, sig.key_id) for sig in note.signatures}
    found = [key for key in trusted if (key.name, key.key_id) in lines]
    for body in rotations if isinstance(rotations, list) else []:
        if not isinstance(body, dict) or not isinstance(body.get("new"), str):
            continue
        name, _, rest = body["new"].strip().partition("+")
        if (name, _hex(rest.partition("+")[0])) not in lines:
            continue
        try:
            key = NoteVerifier.from_vkey(body["new"])
        except SigningKeyError:
            continue
        if key not in found:
            found.append(key)
    return found


def _hex(text: str) -> int:
    try:
        return int(text, 16) if len(text) == 8 else -1
    except ValueError:
        return -1


def _text(data: bytes, name: str, result: PackResult) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        result.fail(name, "is not UTF-8 text")
        raise _Stop from None


def _digest(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            if size > MAX_MEMBER_BYTES:
                break
    return digest.hexdigest(), size


def _signed_checkpoint(note: str, keys: list[NoteVerifier]) -> CheckpointBody:
    parsed = parse_note(note)
    verdicts = [parsed.verified_by(key) for key in keys]
    if False in verdicts:
        raise VerificationError("has an invalid signature by a trusted key")
    if True not in verdicts:
        raise VerificationError("is not signed by a trusted key or a key it rotated to")
    return CheckpointBody.parse(parsed.text)


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[int, bytes]]:
    with archive.open(name) as stream:
        number = 0
        # readline with a limit: a line is never held whole before its length is known.
        while line := stream.readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE:
                raise _Malformed(name, f"line {number} is longer than {MAX_LINE} bytes")
            yield number, line


class _Malformed(Exception):
    def __init__(self, member: str, message: str) -> None:
        super().__init__(message)
        self.member = member


def _object(member: str, number: int, line: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        raise _Malformed(member, f"line {number} is not JSON") from None
    if not isinstance(value, dict) or any(f not in value for f in fields):
        raise _Malformed(member, f"line {number} lacks one of {', '.join(fields)}")
    return value


def _check_entries(
    archive: zipfile.ZipFile, start: int, stop: int, root: bytes, result: PackResult
) -> None:
    try:
        _check_entry_lines(archive, start, stop, root, result)
    except _Malformed as exc:
        result.fail(exc.member, str(exc))


def _check_entry_lines(
    archive: zipfile.ZipFile, start: int, stop: int, root: bytes, result: PackResult
) -> None:
    expected = start
    prev: str | None = GENESIS_PREV if start == 0 else None
    proofs = _lines(archive, INCLUSION)
    for number, line in _lines(archive, ENTRIES):
        where = f"line {number}"
        entry = _object(ENTRIES, number, line, ("seq", "leaf_hash", "envelope", "body", "salt"))
        seq = entry["seq"]
        if seq != expected:
            result.fail(ENTRIES, f"{where}: entry {seq} where entry {expected} belongs")
            return
        # (6) leaf hash from the envelope, never taken on trust; chain link; body hash.
        try:
            envelope = str(entry["envelope"]).encode("ascii")
            fields = json.loads(envelope)
            salted = (
                None
                if entry["body"] is None and entry["salt"] is None
                else bytes.fromhex(str(entry["salt"])) + str(entry["body"]).encode("utf-8")
            )
        except (ValueError, UnicodeEncodeError):
            raise _Malformed(ENTRIES, f"{where}: entry {seq} has a garbled field") from None
        leaf = merkle.leaf_hash(envelope)
        if leaf.hex() != entry["leaf_hash"]:
            result.fail(ENTRIES, f"{where}: entry {seq}'s envelope does not hash to its leaf")
            return
        if not isinstance(fields, dict) or fields.get("seq") != seq:
            result.fail(ENTRIES, f"{where}: the envelope is not that of entry {seq}")
            return
        if prev is not None and fields.get("prev") != prev:
            result.fail(ENTRIES, f"{where}: entry {seq} does not link to the entry before")
            return
        prev = leaf.hex()
        if salted is None:
            result.erased += 1
        elif hashlib.sha256(salted).hexdigest() != fields.get("body_hash"):
            result.fail(ENTRIES, f"{where}: entry {seq}'s body does not match its hash")
            return

        # (7) its inclusion proof against the end checkpoint.
        proof_line = next(proofs, None)
        if proof_line is None:
            result.fail(INCLUSION, f"no proof for entry {seq}: the proofs end early")
            return
        at, raw = proof_line
        proof = _object(INCLUSION, at, raw, ("seq", "leaf_hash", "tree_size", "path"))
        try:
            path = [bytes.fromhex(h) for h in proof["path"]]
        except (ValueError, TypeError):
            raise _Malformed(INCLUSION, f"line {at}: the path is not a list of hex") from None
        if (
            proof["seq"] != seq
            or proof["leaf_hash"] != leaf.hex()
            or proof["tree_size"] != stop
            or not merkle.verify_inclusion(leaf, seq, stop, path, root)
        ):
            result.fail(INCLUSION, f"line {at}: does not prove entry {seq} in the end checkpoint")
            return
        expected += 1
    if next(proofs, None) is not None:
        result.fail(INCLUSION, "holds more proofs than there are entries")
    if expected != stop:
        result.fail(ENTRIES, f"holds entries {start}..{expected - 1}, not {start}..{stop - 1}")
    result.entries = expected - start
