"""A loopback HTTP proxy in front of moto server that can make SOS unavailable: while it is down,
every S3 call is answered `503 ServiceUnavailable` in S3's XML error shape (as S3 documents the
error, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), which the SDK's
standard retry mode retries and then reports. Up, it forwards each request unchanged."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from sandbox.loopback_http import QuietHandler, ServerThread

UNAVAILABLE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
               b"<Message>Please reduce your request rate.</Message></Error>")
# Connection-level headers are the proxy's own business on each side (RFC 9110, section 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect"}


class SosGate:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", int(target.port or 80))
        self.down = threading.Event()
        self._lock = threading.Lock()
        self.refused = 0  # calls answered 503 while down
        gate = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if gate.down.is_set():
                    gate._count()
                    self._answer(503, [("Content-Type", "application/xml")], UNAVAILABLE)
                    return
                try:
                    status, headers, answer = gate._forward(self.command, self.path, body,
                                                            self.headers.items())
                except OSError:
                    self._answer(502, [], b"")
                    return
                self._answer(status, headers, answer)

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and (name.lower() != "content-length"
                                                           or self.command == "HEAD"):
                        self.send_header(name, value)
                if self.command != "HEAD":  # a HEAD answer keeps the length the GET would have
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ServerThread("127.0.0.1", 0, Handler)

    def _count(self) -> None:
        with self._lock:
            self.refused += 1

    def _forward(self, method: str, path: str, body: bytes,
                 headers: Iterable[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            keep = {k: v for k, v in headers if k.lower() not in HOP_BY_HOP}
            conn.request(method, path, body=body, headers=keep)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> SosGate:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.begin_stop().join(timeout=5)
