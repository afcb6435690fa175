"""Loopback-only HTTP plumbing shared by the simulated members, the NLB stand-in and the load generator.

Owns the guard that keeps all sandbox traffic on 127.0.0.0/8 and a threaded stdlib HTTP
server tuned for many small servers in one process (quiet, daemon threads, quick shutdown).
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

# serve_forever() checks for shutdown this often; it is a select() timeout, not a busy loop,
# and short enough that stopping a dozen members does not take seconds.
POLL_INTERVAL_S = 0.2


def require_loopback(host: str) -> str:
    """Return `host` if it is an IPv4 literal in 127.0.0.0/8, else raise ValueError."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP literal; the sandbox only talks to 127.0.0.0/8") from None
    if addr not in LOOPBACK:
        raise ValueError(f"{host} is outside 127.0.0.0/8; the sandbox never leaves loopback")
    return host


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for handlers still sleeping on modelled CPU
    request_queue_size = 256  # the default backlog of 5 drops connections in bursts

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A peer that resets a kept-alive connection (or a member dropping its own on stop) is
        # how connections end here, not a fault worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """Base handler: no per-request stderr log, helpers for plain-text answers."""

    server_version = "sandbox/1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_text(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); nothing left to tell it


class ServerThread:
    """One LoopbackServer running serve_forever() in a daemon thread."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler],
                 server_class: type[LoopbackServer] = LoopbackServer) -> None:
        self.server = server_class((require_loopback(host), port), handler)
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=f"http-{host}:{self.port}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def begin_stop(self) -> threading.Thread:
        """Ask serve_forever() to stop without waiting (so several servers stop in parallel)."""
        stopper = threading.Thread(target=self._stop, daemon=True)
        stopper.start()
        return stopper

    def _stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
