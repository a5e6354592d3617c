"""The ledger entry envelope, and the checkpoint that seals a tree of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HEX64 = r"^[0-9a-f]{64}$"


class Entry(BaseModel):
    """The hashed part of a ledger entry.

    Its RFC 8785 bytes are the Merkle leaf. The body itself is not in it: only
    ``body_hash``, a salted SHA-256 of the body's canonical bytes, so a body can
    be erased later while every hash and proof over the envelope still holds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = Field(default=1, description="Envelope format version.")
    seq: int = Field(ge=0, description="Sequence number: the leaf index in the tree.")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9.-]{0,63}$",
        description="What the body records, e.g. 'artifact', 'finding', 'key-rotation'.",
    )
    time: str = Field(description="When the entry was appended: RFC 3339, UTC, microseconds.")
    prev: str = Field(
        pattern=HEX64,
        description="Leaf hash of the entry before (64 zeros for the first entry).",
    )
    body_hash: str = Field(
        pattern=HEX64,
        description="SHA-256 of the 32-byte salt followed by the body's RFC 8785 bytes.",
    )


class Checkpoint(BaseModel):
    """A signed tree head in the C2SP tlog-checkpoint format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str = Field(description="The ledger's origin line, unique per ledger.")
    size: int = Field(ge=0, description="Number of entries the tree commits to.")
    root_hash: str = Field(description="RFC 9162 Merkle tree root, base64.")
    note: str = Field(description="The complete signed note text, signatures included.")
