"""The receiver's checks of one HTTP request, before anything is stored: bearer token, body
limits (declared or not), content type. Pure over the WSGI environ; `Refused` carries the answer.
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

import bottle

BODY_LIMIT = 256 * 1024
READ_CHUNK = 64 * 1024
JSON_TYPES = ("application/json", "text/json")


class Refused(Exception):
    """An answer other than success, decided before any write."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def answer(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
           ) -> bottle.HTTPResponse:
    return bottle.HTTPResponse(json.dumps(body, sort_keys=True) + "\n", status,
                               headers={"Content-Type": "application/json", **(headers or {})})


# ---------------------------------------------------------------------------- request checks


def authorized(header: str | None, token: str | None) -> bool:
    """Constant-time check of `Authorization: Bearer <token>`; no token configured = open."""
    if token is None:
        return True
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # WSGI hands header values over as latin-1 text; compare the raw bytes.
    return hmac.compare_digest(given.strip().encode("latin-1", "replace"), token.encode("utf-8"))


def declared_length(environ: Mapping[str, Any]) -> int | None:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    # isdigit() alone admits '¹' and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise Refused(400, "malformed Content-Length")
    digits = raw.lstrip("0") or "0"
    # int() refuses very long digit strings; anything this long is over every limit anyway.
    return int(digits) if len(digits) <= 18 else 10**18


def read_body(environ: Mapping[str, Any], limit: int = BODY_LIMIT) -> bytes:
    """The request body, never more than `limit` bytes read (413 past it, declared or not)."""
    length = declared_length(environ)
    if length is not None and length > limit:
        raise Refused(413, f"body over {limit} bytes")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if length is None and not chunked:
        return b""  # WSGI: no length and no chunking means no body
    want = limit + 1 if length is None else length
    parts: list[bytes] = []
    got = 0
    while got < want:
        part = stream.read(min(READ_CHUNK, want - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    if got > limit:
        raise Refused(413, f"body over {limit} bytes")
    if length is not None and got < length:
        raise Refused(400, "body shorter than Content-Length")
    return b"".join(parts)


def check_content_type(environ: Mapping[str, Any]) -> None:
    # Grafana and Alertmanager both send application/json; an absent type is tolerated for curl.
    ctype = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if ctype and ctype not in JSON_TYPES and not ctype.endswith("+json"):
        raise Refused(415, f"content type {ctype[:64]!r} is not JSON")
