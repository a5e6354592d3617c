"""A finding's identity: the same problem keeps it across runs.

The identity is the hex SHA-256 of the RFC 8785 canonical JSON of one of
two objects (``v`` lets the recipe change later without collisions):

* trusted tool fingerprint::

      {"v": 1, "kind": "fingerprint", "tool": <tool, case-folded>,
       "rule": <rule_id>, "fingerprint": <fingerprint>}

  used when the caller says the fingerprint can be trusted (it is not
  repeated within the report) and it is not a known placeholder such as
  Semgrep's logged-out ``"requires login"``;

* otherwise, derived from content::

      {"v": 1, "kind": "content", "tool": <tool, case-folded>,
       "rule": <rule_id>, "path": <normalise_path(location.path)>,
       "logical": <location.logical, whitespace-normalised, or "">,
       "text": <normalise_snippet(location.snippet)
                or normalise_message(message) or normalise_message(title)>}

Line and column numbers are never part of either recipe, so inserting
lines above a finding, or re-indenting it, keeps its identity; the snippet
is compared as a code formatter leaves it (:func:`normalise_snippet`), so a
reformatting that only changes quotes or splits a call over several lines
keeps it too. A secret result's snippet is recorded as the keyed digest of
its normalised text (:func:`redact_snippet`), so the same holds for it. The
path is part of the content recipe: a file renamed or moved between runs
gives its findings new identities. Two results of one rule on the same text
of one file share an identity; the pipeline tells such repeats apart by
their order in the report.

Path normalisation (:func:`normalise_path`) is also what readers apply to
artifact paths, so a finding's recorded path and its identity agree.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

from ledger import canonical
from ledger.ingest.formats._common import is_placeholder
from schemas.finding import Finding

RECIPE_VERSION = 1

_WINDOWS_DRIVE = re.compile(r"^/?([A-Za-z]):/")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_WHITESPACE = re.compile(r"\s+")
_LINE_WORDS = re.compile(
    r"(?i)\b(lines?|ln|l\.|rows?|col(?:umn)?s?)(\s*[:#]?\s*)\d+(?:\s*(?:-|–|to|:)\s*\d+)?"
)
_FILE_LINE = re.compile(r"(\.[A-Za-z0-9_]{1,10}|\w/\w+)((?::\d+){1,2}|\(\d+(?:,\s*\d+)?\))")
_NUMBERED_LINE = re.compile(r"^\s*\d+[ \t:|]")
# What code formatters (Black, Prettier, gofmt...) change without changing the code.
_TRAILING_COMMA = re.compile(r",\s*([)\]}])")
_AFTER_OPEN = re.compile(r"([(\[{])\s+")
_BEFORE_CLOSE = re.compile(r"\s+([)\]}])")


def normalise_path(
    value: str,
    *,
    repo_root: str | None = None,
    bases: Iterable[str] = (),
) -> str:
    """A repository-relative, forward-slash path for an artifact location.

    Steps: a ``file:`` URI loses its scheme and host; %-escapes are decoded;
    backslashes become slashes; a leading ``./`` and repeated or ``.``
    segments are removed (``..`` is resolved lexically and never escapes
    the root); an absolute path under ``repo_root`` or under one of
    ``bases`` (absolute base URIs from SARIF ``originalUriBaseIds``) is made
    relative to the first of them that contains it. Other URLs (``https:``,
    ``pkg:``) are returned as they are.
    """
    text = value.strip()
    scheme = _SCHEME.match(text)
    if scheme and len(scheme.group(1)) > 1:
        if scheme.group(1).lower() != "file":
            return text
        parts = urlsplit(text)
        text = parts.path if not parts.netloc or parts.netloc == "localhost" else text[5:]
    text = unquote(text).replace("\\", "/")
    drive = _WINDOWS_DRIVE.match(text)
    if drive:
        text = f"{drive.group(1).upper()}:" + _clean_absolute(text[drive.end() - 1 :])
    elif text.startswith("/"):
        text = _clean_absolute(text)
    # Cleaned before the roots are tried, so '/ws/../ws/a.py' and 'C:\ws\\a.py' are
    # under the root '/ws' or 'C:\ws' as the file system sees them.

    for root in _roots(repo_root, bases):
        if _under(text, root):
            text = text[len(root) :]
            break

    absolute = text.startswith("/") or bool(drive)
    if not absolute:
        # Lexical clean-up; a leading '..' stays, it names a file outside the root.
        text = posixpath.normpath(text) if text else text
        if text == ".":
            text = ""
    return text


def _clean_absolute(path: str) -> str:
    """An absolute path (after any drive) with ``.``, ``..`` and repeated slashes
    resolved lexically; ``..`` stops at the top."""
    path = posixpath.normpath(path)
    return path[1:] if path.startswith("//") else path


def _roots(repo_root: str | None, bases: Iterable[str]) -> list[str]:
    roots = []
    for root in [repo_root, *bases]:
        if not root:
            continue
        cleaned = normalise_path(root).rstrip("/")
        # A file system root would make every absolute path look relative.
        if cleaned.startswith("/") or (_WINDOWS_DRIVE.match(cleaned + "/") and len(cleaned) > 2):
            roots.append(cleaned + "/")
    # In the order given: the caller ranks the repository root first.
    return roots


def _under(path: str, root: str) -> bool:
    if _WINDOWS_DRIVE.match(root):
        return path.lower().startswith(root.lower())
    return path.startswith(root)


def normalise_snippet(snippet: str | None) -> str:
    """Source text with layout removed, as a code formatter would leave it.

    Removed: line-number gutters; whitespace runs (each becomes one space);
    whitespace just inside brackets and a comma before a closing bracket
    (a call split one argument per line gains both); and the choice of
    quote (every ``'`` becomes ``"``). So Black's rewrite of
    ``f('a', b)`` as ``f(\\n    "a",\\n    b,\\n)`` keeps the text.
    """
    if not snippet:
        return ""
    lines = snippet.splitlines()
    # Tools such as Bandit prefix each line with its number.
    if lines and all(_NUMBERED_LINE.match(line) for line in lines if line.strip()):
        lines = [_NUMBERED_LINE.sub("", line, count=1) for line in lines]
    text = _WHITESPACE.sub(" ", " ".join(lines)).strip().replace("'", '"')
    text = _TRAILING_COMMA.sub(r"\1", text)
    return _BEFORE_CLOSE.sub(r"\1", _AFTER_OPEN.sub(r"\1", text))


def redact_snippet(redact: Callable[[str], str], snippet: str | None) -> str | None:
    """A secret result's source text as the keyed digest of its normalised form.

    The digest stands in for the snippet, so it is taken after
    :func:`normalise_snippet`: re-indenting or re-wrapping the line that holds
    a secret keeps the finding's identity, as it does for any other finding.
    """
    if not snippet:
        return None
    return redact(normalise_snippet(snippet) or snippet)


def normalise_message(message: str | None) -> str:
    """A message without the line and column numbers tools embed in it."""
    if not message:
        return ""
    text = _LINE_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}N", message)
    text = _FILE_LINE.sub(lambda m: f"{m.group(1)}:N", text)
    return _WHITESPACE.sub(" ", text).strip()


def finding_identity(finding: Finding, *, trust_fingerprint: bool) -> str:
    """The identity of ``finding`` as lowercase hex SHA-256 (see the module doc)."""
    tool = finding.tool.casefold()
    fingerprint = finding.fingerprint
    if trust_fingerprint and fingerprint and not is_placeholder(fingerprint):
        body: dict[str, object] = {
            "v": RECIPE_VERSION,
            "kind": "fingerprint",
            "tool": tool,
            "rule": finding.rule_id,
            "fingerprint": fingerprint,
        }
    else:
        location = finding.location
        snippet = location.snippet if location else None
        if snippet and is_placeholder(snippet):
            snippet = None
        text = (
            normalise_snippet(snippet)
            or normalise_message(finding.message)
            or normalise_message(finding.title)
        )
        body = {
            "v": RECIPE_VERSION,
            "kind": "content",
            "tool": tool,
            "rule": finding.rule_id,
            "path": normalise_path(location.path) if location else "",
            "logical": _WHITESPACE.sub(" ", location.logical or "").strip() if location else "",
            "text": text,
        }
    return hashlib.sha256(canonical.dumps(body)).hexdigest()
