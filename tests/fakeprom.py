"""A loopback HTTP server that answers `GET /api/v1/query` as Prometheus' HTTP API does
(https://prometheus.io/docs/prometheus/latest/querying/api/): the tick's in-flight reader's peer."""
from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def vector(by_instance: dict[str, float], job: str = "pool") -> dict[str, Any]:
    """A successful instant query's body: one series per `instance` label."""
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"instance": inst, "job": job, "instance_id": f"id-{inst}"},
         "value": [1_760_000_000.123, str(v)]} for inst, v in by_instance.items()]}}


class FakePrometheus:
    """Answers every query with `status` and `body` (bytes as they are, anything else as JSON);
    `hold` makes it wait until released (a Prometheus that does not answer in time)."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = vector({})
        self.queries: list[str] = []
        self.hold = threading.Event()
        self.hold.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                fake.queries.append(urllib.parse.parse_qs(url.query).get("query", [""])[0])
                fake.hold.wait(30)
                raw = fake.body if isinstance(fake.body, bytes) else json.dumps(fake.body).encode()
                self.send_response(fake.status if url.path == "/api/v1/query" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def fake_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.hold.set()
        fake.server.shutdown()
        fake.server.server_close()
