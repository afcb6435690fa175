"""Shared helpers for the emulator tests: a fake clock and raw signed HTTP calls (fixtures: conftest.py)."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any

from sandbox.emulator import EmulatorServer
from sandbox.emulator.signature import sign

KEY = "EXOemulatortestkey0123"
SECRET = "emulator-test-secret"


class FakeClock:
    """A settable clock: model transitions happen only when a test moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Raw:
    status: int
    body: Any
    headers: dict[str, str]


def raw_request(emu: EmulatorServer, method: str, path: str, *, body: bytes = b"", query: str = "",
                signed: bool = True, authorization: str | None = None, key: str = KEY, secret: str = SECRET,
                expires: int | None = None, timeout: float = 5.0) -> Raw:
    """Send exactly these bytes (the client cannot be made to send malformed requests)."""
    headers = {"Content-Type": "application/json"}
    if authorization is None and signed:
        authorization = sign(key, secret, method, path, body, query,
                             expires if expires is not None else int(time.time()) + 600)
    if authorization is not None:
        headers["Authorization"] = authorization
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        conn.request(method, path + (f"?{query}" if query else ""), body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Raw(resp.status, json.loads(data) if data else None, dict(resp.getheaders()))
    finally:
        conn.close()


def admin(emu: EmulatorServer, method: str, route: str, payload: Any = None) -> Raw:
    body = json.dumps(payload).encode() if payload is not None else b""
    return raw_request(emu, method, f"/_emulator/{route}", body=body, signed=False)
