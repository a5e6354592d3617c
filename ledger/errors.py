"""The exceptions trailseal raises.

The CLI catches :class:`TrailsealError` alone and prints its message as one
paragraph with the exit code the subclass carries; anything else is a bug
and shows a traceback.
"""

from __future__ import annotations


class TrailsealError(Exception):
    """Base class of every expected failure. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class InputError(TrailsealError):
    """A file, argument or record given to trailseal is unusable.

    The message names the file, the place in it (line, JSON path) and the problem.
    """


class LedgerNotFoundError(TrailsealError):
    """A command needs a ledger and there is none where it looked."""


class StorageError(TrailsealError):
    """The database refused or lost a read or a write."""


class SigningKeyError(TrailsealError):
    """A signing or verifier key is missing, unreadable or does not match."""


class VerificationError(TrailsealError):
    """A ledger, checkpoint, proof or pack failed verification.

    Raised by library callers that want an exception; the CLI reports the
    classified result object from :mod:`ledger.verify` instead.
    """

    exit_code = 1
