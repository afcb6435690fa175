"""Loopback servers on the pool members' IPs that answer `GET /metrics` in node exporter's text
format with a settable `node_netstat_Tcp_CurrEstab` each: the peers of the tick's in-flight reader.
(The real node exporter reports its host's count, which a test cannot set per member; its format
is checked against the real binary in tests/unit/test_in_flight.py.)"""
from __future__ import annotations

import socket
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeExporters:
    def __init__(self, ips: Sequence[str]) -> None:
        self.established: dict[str, float] = dict.fromkeys(ips, 2.0)  # idle (in_flight() says why 2)
        self.paths: list[tuple[str, str]] = []  # (ip, path with query) of every request
        self.hold = threading.Event()  # cleared: the servers take connections and never answer
        self.hold.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ip = self.server.server_address[0]
                fake.paths.append((str(ip), self.path))
                fake.hold.wait(30)
                body = (f"# TYPE node_netstat_Tcp_CurrEstab untyped\n"
                        f"node_netstat_Tcp_CurrEstab {fake.established[str(ip)]:g}\n").encode()
                ok = urllib.parse.urlsplit(self.path).path == "/metrics"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.servers: list[ThreadingHTTPServer] = []
        self.port = 0
        for ip in ips:  # one port on every IP, as TARGET_PORT is one setting
            self.servers.append(ThreadingHTTPServer((ip, self.port), Handler))
            self.port = int(self.servers[-1].server_address[1])

    def in_flight(self, ip: str, requests: float) -> None:
        # the reader's own connection and Prometheus' kept-alive scrape connection are established too
        self.established[ip] = requests + 2


@contextmanager
def fake_exporters(ips: Sequence[str]) -> Iterator[FakeExporters]:
    fake = FakeExporters(ips)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in fake.servers]
    for t in threads:
        t.start()
    try:
        yield fake
    finally:
        fake.hold.set()
        for s in fake.servers:
            s.shutdown()
            s.server_close()


def refused_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago, closed again: a connection to it is refused."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
