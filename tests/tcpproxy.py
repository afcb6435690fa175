"""A TCP proxy for fault tests: cut (reset) or black-hole the path to a loopback server."""
from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from urllib.parse import urlsplit


class TcpProxy:
    """TCP proxy in front of a loopback server that can fail in two ways, and recover.

    `cut`: every connection is reset at once (new ones and open keep-alive ones), so a client
    fails fast: an outage. `blackhole`: connections stay open but nothing is forwarded, so a
    client waits for its own timeouts: a hung server.
    """

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", int(target.port or 80))
        self.cut = threading.Event()
        self.blackhole = False
        self.closed = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # SO_LINGER 0: close() sends RST, the client sees "connection reset" immediately.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                self._reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._reset(client)
            return
        pair = {client: upstream, upstream: client}
        try:
            while not self.closed and not self.cut.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if not self.blackhole:
                        pair[sock].sendall(data)
        except OSError:
            pass
        finally:
            # Reset only for a cut: after a normal end a reset could discard an answer the
            # client has not read yet.
            if self.cut.is_set():
                self._reset(client)
            else:
                client.close()
            upstream.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
