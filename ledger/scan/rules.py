"""The rule catalogue of ``trailseal scan``: stable ids, titles, help, CWE, severity.

Ids never change meaning once published; a retired rule keeps its number
unused (there is no JWT015). ``security_severity`` is the CVSS-like score
GitHub code scanning reads from ``properties.security-severity`` to rank
results; it follows the severity band of each rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.finding import Severity

CWE_PAGE = "https://cwe.mitre.org/data/definitions/{}.html"
"""MITRE's page for one weakness, by number."""

OWASP_API1 = (
    "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"
)
"""OWASP API Security Top 10 2023, API1: Broken Object Level Authorization."""


@dataclass(frozen=True)
class Rule:
    """One check: what it finds, why it matters and how to fix it."""

    id: str
    name: str
    title: str
    help: str
    cwe: tuple[str, ...]
    severity: Severity

    @property
    def family(self) -> str:
        """The rule family, ``JWT``, ``BOLA`` or ``SUP``."""
        return self.id.rstrip("0123456789")

    @property
    def security_severity(self) -> str:
        """The SARIF ``security-severity`` score for this rule's band."""
        return _SCORES[self.severity]

    @property
    def help_uri(self) -> str | None:
        """A public reference for the weakness: OWASP API1:2023 for the BOLA rules, else the
        CWE page of the rule's first weakness; None for rules with neither. The rule's own
        documentation is its ``help`` text, carried in every SARIF log."""
        if self.family == "BOLA":
            return OWASP_API1
        if self.cwe:
            return CWE_PAGE.format(self.cwe[0].removeprefix("CWE-"))
        return None


_SCORES = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _rule(id_: str, name: str, severity: Severity, cwe: str, title: str, help_: str) -> Rule:
    return Rule(id_, name, title, help_, tuple(cwe.split()), severity)


_CATALOGUE = (
    _rule("JWT001", "JwtSignatureNotVerified", "critical", "CWE-347",
          "JWT signature verification disabled",
          "The token is decoded with signature verification switched off (options "
          "verify_signature=False, or the legacy verify=False), so anyone can forge its "
          "claims. Verify the signature with the issuer's key; read unverified headers "
          "only to choose that key."),
    _rule("JWT002", "JwtNoneAlgorithm", "critical", "CWE-347",
          "JWT 'none' algorithm allowed",
          "The 'none' algorithm means an unsigned token. Accepting or issuing it lets a "
          "client write any claims. Remove 'none' from the algorithm list."),
    _rule("JWT003", "JwtAlgorithmsNotPinned", "high", "CWE-347 CWE-757",
          "JWT algorithms not pinned or taken from the token header",
          "Without an explicit allow-list of algorithms (or with one read from the "
          "untrusted token header) an attacker picks the algorithm, e.g. HS256 signed "
          "with the RSA public key (RFC 8725 section 3.1). Pass algorithms=[...] with the "
          "one algorithm your issuer uses."),
    _rule("JWT004", "JwtAlgorithmConfusion", "high", "CWE-327",
          "HMAC and public-key JWT algorithms mixed in one list",
          "An allow-list holding both HS* and RS/ES/PS/EdDSA algorithms lets a token "
          "signed with HMAC, keyed with the public key, pass as valid (algorithm "
          "confusion, RFC 8725 section 2.1). Accept one family per key."),
    _rule("JWT005", "JwtAudienceNotValidated", "medium", "CWE-287",
          "JWT audience not validated",
          "Tokens from a shared identity provider are valid for every application it "
          "serves; without an audience check a token minted for another service is "
          "accepted here (RFC 8725 section 3.9). Pass audience= and keep verify_aud on."),
    _rule("JWT006", "JwtIssuerNotValidated", "medium", "CWE-287",
          "JWT issuer not validated",
          "Without an issuer check a token from any issuer whose key is trusted (e.g. "
          "another tenant of the same provider) is accepted (RFC 8725 section 3.8). Pass "
          "issuer= and keep verify_iss on."),
    _rule("JWT007", "JwtExpiryNotRequired", "medium", "CWE-613",
          "JWT 'exp' claim not required",
          "Tokens issued without an expiry, or accepted when they carry none, stay valid "
          "forever once leaked. Set 'exp' when issuing and require it when decoding "
          "(options={'require': ['exp']})."),
    _rule("JWT008", "JwtTimeClaimsNotVerified", "high", "CWE-613",
          "JWT time-claim verification disabled",
          "verify_exp, verify_nbf or verify_iat is switched off, so expired or not yet "
          "valid tokens are accepted. Keep time-claim verification on."),
    _rule("JWT009", "JwtExcessiveLeeway", "medium", "CWE-613",
          "JWT leeway over five minutes",
          "A leeway longer than clock skew needs (300 s) extends every token's life by "
          "that much. Keep leeway at a few seconds to a minute."),
    _rule("JWT010", "JwtClaimsNotValidated", "high", "CWE-345 CWE-613",
          "authlib claims decoded without validate()",
          "authlib's jwt.decode checks the signature only; expiry, issuer and audience "
          "are checked by claims.validate(). Call it before using the claims."),
    _rule("JWT011", "JwtHardcodedKey", "high", "CWE-321 CWE-798",
          "Hardcoded JWT signing key",
          "A key written in the source (as a literal, as the default of an environment "
          "lookup, or a well-known tutorial key) is known to everyone with the code and "
          "lets them mint tokens. Load it from a secret store and fail when it is absent."),
    _rule("JWT012", "JwtWeakHmacKey", "high", "CWE-326 CWE-330",
          "HMAC key shorter than 32 bytes or guessable",
          "HS256 needs a key of at least 256 bits (RFC 7518 section 3.2); a short key or "
          "one derived from time or a non-cryptographic generator can be brute-forced "
          "offline from one token. Use secrets.token_bytes(32) or longer."),
    _rule("JWT013", "JwtUnverifiedClaimsTrusted", "critical", "CWE-345",
          "Authorisation decided from unverified JWT claims",
          "Claims read without verification (get_unverified_claims, a decode with "
          "verification off, or a hand-made base64 decode) are attacker controlled. Use "
          "them only to choose the key, then decode again with verification."),
    _rule("JWT014", "JwtSecretInPayload", "high", "CWE-312 CWE-359",
          "Secret or password in the JWT payload",
          "A JWT payload is only base64-encoded: anyone holding the token reads it. Keep "
          "passwords, hashes and secrets out of claims."),
    _rule("JWT016", "JwksCachedWithoutExpiry", "medium", "CWE-324",
          "JWKS keys cached without expiry",
          "Keys fetched once and cached forever (at import time, in lru_cache, or with "
          "PyJWKClient(cache_keys=True)) stay trusted after the issuer rotates or revokes "
          "them. Cache with a lifespan and refetch on unknown kid."),
    _rule("BOLA001", "ObjectReadWithoutOwnership", "high", "CWE-639 CWE-285",
          "Object read by a request id without an ownership check",
          "The handler knows the current user but loads an owned object by an id from "
          "the request with no filter on its owner and no ownership check afterwards, "
          "so any user reads any other user's object (OWASP API1:2023). Filter by the "
          "owner bound to the token, or compare after the fetch and refuse."),
    _rule("BOLA002", "ObjectWriteWithoutOwnership", "critical", "CWE-639 CWE-285",
          "Object updated or deleted by a request id without an ownership check",
          "As BOLA001, for an update or a delete: any user can change or remove any "
          "other user's object. Scope the query to the token's principal."),
    _rule("BOLA003", "OwnerIdFromRequest", "high", "CWE-639",
          "Owner id taken from the request instead of the token",
          "The owner of the object is taken from the path, query or body, so a user "
          "acts as another by changing one number. Use the principal from the token."),
    _rule("BOLA004", "NestedObjectNotScopedToParent", "high", "CWE-639",
          "Nested object looked up by its own id under a checked parent",
          "The parent was checked for ownership, but the child is loaded by its own id "
          "without requiring it to belong to that parent, so children of other users' "
          "parents are reachable. Filter the child by the parent's id."),
    _rule("BOLA005", "DrfQuerysetNotScoped", "high", "CWE-639 CWE-285",
          "DRF view whose queryset is not scoped to the user",
          "The view serves an owned model from an unfiltered queryset with no "
          "object-level permission, so list and detail routes expose every user's "
          "rows. Override get_queryset() to filter by self.request.user."),
    _rule("SUP001", "SuppressionWithoutReason", "low", "",
          "Suppression without a reason",
          "An inline '# trailseal: ignore[RULE]' must say why the finding does not "
          "apply; auditors read it as a risk acceptance. Add the reason after the "
          "bracket."),
)  # fmt: skip

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
"""Every rule by id, in catalogue order."""

FAMILIES = ("JWT", "BOLA")
"""Families whose accuracy the labelled corpus measures."""

SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
"""Severities ranked, for ``--fail-on`` thresholds."""
