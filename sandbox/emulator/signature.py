"""EXO2-HMAC-SHA256 request signatures: building and verifying them, as pure functions.

The message layout mirrors what `exoscale_auth.ExoscaleV2Auth` signs:
``"<METHOD> <path>\\n<body>\\n<signed query values>\\n\\n<expires>"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs

SCHEME = "EXO2-HMAC-SHA256"


@dataclass(frozen=True)
class AuthHeader:
    credential: str
    signed_query_args: tuple[str, ...]
    expires: int
    signature: str


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str = ""


class MalformedHeader(ValueError):
    pass


def parse_header(value: str | None) -> AuthHeader:
    """Split an Authorization header into its fields; raise MalformedHeader if it is not EXO2."""
    if not value:
        raise MalformedHeader("missing Authorization header")
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SCHEME or not rest:
        raise MalformedHeader("unsupported authorization scheme")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        # The base64 signature may itself contain '=', so split on the first one only.
        name, sep, val = part.strip().partition("=")
        if not sep or name in fields:
            raise MalformedHeader(f"malformed authorization field {name!r}")
        fields[name] = val
    unknown = set(fields) - {"credential", "signed-query-args", "expires", "signature"}
    if unknown:
        raise MalformedHeader(f"unknown authorization fields {sorted(unknown)}")
    for needed in ("credential", "expires", "signature"):
        if not fields.get(needed):
            raise MalformedHeader(f"missing authorization field {needed!r}")
    try:
        expires = int(fields["expires"])
    except ValueError:
        raise MalformedHeader("expires is not an integer") from None
    args = tuple(a for a in fields.get("signed-query-args", "").split(";") if a)
    return AuthHeader(fields["credential"], args, expires, fields["signature"])


def _query_values(query: dict[str, list[str]], names: tuple[str, ...]) -> bytes:
    # The client leaves multi-valued parameters out of the message while still listing
    # them; mirror that so a legitimate request verifies.
    return "".join(query[n][0] for n in names if len(query.get(n, [])) == 1).encode()


def message(method: str, path: str, body: bytes, query: dict[str, list[str]],
            signed_args: tuple[str, ...], expires: int) -> bytes:
    """The exact byte string that is HMAC'd."""
    return b"\n".join([
        f"{method} {path}".encode(),
        body,
        _query_values(query, signed_args),
        b"",
        str(expires).encode(),
    ])


def compute_signature(secret: str, msg: bytes) -> str:
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()
    return base64.standard_b64encode(digest).decode()


def sign(key: str, secret: str, method: str, path: str, body: bytes = b"",
         query_string: str = "", expires: int = 0) -> str:
    """Build an Authorization header value (used by tests to forge and tamper requests)."""
    query = parse_qs(query_string, keep_blank_values=True)
    names = tuple(sorted(query))
    header = f"{SCHEME} credential={key}"
    if names:
        header += ",signed-query-args=" + ";".join(names)
    sig = compute_signature(secret, message(method, path, body, query, names, expires))
    return header + f",expires={expires},signature={sig}"


def verify(*, key: str, secret: str, method: str, path: str, query_string: str,
           body: bytes, authorization: str | None, now: float) -> SignatureCheck:
    """Decide whether a request carries a valid, unexpired signature by `key`/`secret`."""
    try:
        hdr = parse_header(authorization)
    except MalformedHeader as exc:
        return SignatureCheck(False, str(exc))
    if not hmac.compare_digest(hdr.credential.encode(), key.encode()):
        return SignatureCheck(False, "unknown API key")
    if hdr.expires < now:
        return SignatureCheck(False, "request expired")
    query = parse_qs(query_string, keep_blank_values=True)
    # Every query argument must be covered by the signature, otherwise it could be
    # added or altered in transit without detection.
    unsigned = set(query) - set(hdr.signed_query_args)
    if unsigned:
        return SignatureCheck(False, f"unsigned query arguments {sorted(unsigned)}")
    missing = set(hdr.signed_query_args) - set(query)
    if missing:
        return SignatureCheck(False, f"signed query arguments absent {sorted(missing)}")
    expected = compute_signature(
        secret, message(method, path, body, query, hdr.signed_query_args, hdr.expires))
    if not hmac.compare_digest(expected.encode(), hdr.signature.encode()):
        return SignatureCheck(False, "signature mismatch")
    return SignatureCheck(True)
