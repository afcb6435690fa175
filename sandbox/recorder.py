"""A recording proxy between Alertmanager and the receiver: the sender's view of each delivery.

It forwards every webhook unchanged (asked by the soak, one scale delivery twice, as a sender's
retry would) and keeps what a sender would count: when it was sent, the receiver's status, and
the firing scale alerts in it with the pool each names. "Requests lost" is measured from this
record against the bucket's history, from outside the scaler.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field

from sandbox.loopback_http import QuietHandler, ServerThread


@dataclass(frozen=True)
class Delivery:
    at: float                     # wall clock
    status: int                   # receiver's answer; 0 when it could not be reached
    alerts: tuple[tuple[str, str], ...] = field(default=())  # (fingerprint, scale) firing ones
    pools: tuple[str, ...] = field(default=())  # each alert's `pool` label ("" without one), aligned

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


def scale_alerts(body: bytes) -> tuple[tuple[str, str], ...]:
    """Pure: the firing alerts with a scale label, as (fingerprint, direction)."""
    return tuple((fp, scale) for fp, scale, _pool in pooled_scale_alerts(body))


def pooled_scale_alerts(body: bytes) -> tuple[tuple[str, str, str], ...]:
    """Pure: the firing alerts with a scale label, as (fingerprint, direction, pool label or "")."""
    try:
        doc = json.loads(body)
        alerts = doc.get("alerts", []) if isinstance(doc, dict) else []
    except ValueError:
        return ()
    out = []
    for a in alerts if isinstance(alerts, list) else []:
        if not isinstance(a, dict) or a.get("status") != "firing":
            continue
        labels = a.get("labels") or {}
        scale = labels.get("scale")
        if scale in ("up", "down"):
            out.append((str(a.get("fingerprint", "")), scale, str(labels.get("pool") or "")))
    return tuple(out)


class Recorder:
    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._repeat = False
        self.repeated = 0  # scale deliveries sent to the receiver twice
        recorder = self

        class RecorderHandler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = recorder._forward(self.path, body, dict(self.headers))
                found = pooled_scale_alerts(body)
                alerts = tuple((fp, scale) for fp, scale, _pool in found)
                pools = tuple(pool for _fp, _scale, pool in found)
                recorder._note(Delivery(time.time(), status, alerts, pools))
                if alerts and recorder._take_repeat():  # the soak's repeated delivery
                    again, _ = recorder._forward(self.path, body, dict(self.headers))
                    recorder._note(Delivery(time.time(), again, alerts, pools))
                self.send_response(status or 503)  # unreachable: 503, so the sender retries
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ServerThread("127.0.0.1", port, RecorderHandler)

    def _forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            keep = {k: v for k, v in headers.items()
                    if k.lower() in ("content-type", "authorization", "user-agent")}
            conn.request("POST", path, body=body, headers=keep)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except OSError as exc:
            return 0, json.dumps({"error": f"receiver unreachable: {exc}"}).encode()
        finally:
            conn.close()

    def _note(self, d: Delivery) -> None:
        with self._lock:
            self._deliveries.append(d)

    def repeat_next(self) -> None:
        """Send the next delivery that carries a scale alert to the receiver twice."""
        with self._lock:
            self._repeat = True

    def _take_repeat(self) -> bool:
        with self._lock:
            taken, self._repeat = self._repeat, False
            self.repeated += taken
            return taken

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.begin_stop().join(timeout=5)
