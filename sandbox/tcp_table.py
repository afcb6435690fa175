"""A simulated member's TCP counters as its kernel keeps them, counted on the sockets it really accepts.

node exporter's netstat collector (enabled by default) reads `Tcp: CurrEstab` (connections now
ESTABLISHED or CLOSE-WAIT, RFC 1213 tcpCurrEstab) and `Tcp: PassiveOpens` (connections accepted
since boot) from /proc/net/snmp and exports them as node_netstat_Tcp_CurrEstab and
node_netstat_Tcp_PassiveOpens (prometheus/node_exporter collector/netstat_linux.go). A member
here is two loopback servers in this process (app and exporter), so its table counts what they
accept: one connection per proxied /load (a layer-4 NLB hands the client's connection through),
one per NLB health check, and Prometheus' scrape connection, opened once and kept alive. A
connection counts from accept until the member closes its side (a client's FIN first leaves it
in CLOSE-WAIT, which the kernel still counts).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from sandbox.loopback_http import LoopbackServer


class TcpTable:
    """Thread-safe: the servers' accept loop and handler threads update it, /metrics reads it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Any] = set()
        self._passive_opens = 0

    def counts(self) -> tuple[int, int]:
        """(CurrEstab, PassiveOpens) now."""
        with self._lock:
            return len(self._open), self._passive_opens

    def server_class(self) -> type[LoopbackServer]:
        """A server class whose accepted connections this table counts."""
        table = self

        class CountingServer(LoopbackServer):
            def process_request(self, request: Any, client_address: Any) -> None:
                table._accepted(request)
                super().process_request(request, client_address)

            def shutdown_request(self, request: Any) -> None:
                # Called once for every accepted connection, however its handler ended.
                table._closed(request)
                super().shutdown_request(request)

        return CountingServer

    def drop_all(self) -> None:
        """The node goes away: end every open connection, idle keep-alive ones included.

        Their peers see the connection end, as when a VM is destroyed; the handler threads
        notice at their next read or write and close their side.
        """
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):  # already closed by its handler
                sock.shutdown(socket.SHUT_RDWR)

    def _accepted(self, sock: Any) -> None:
        with self._lock:
            self._open.add(sock)
            self._passive_opens += 1

    def _closed(self, sock: Any) -> None:
        with self._lock:
            self._open.discard(sock)
