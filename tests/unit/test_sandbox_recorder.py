"""The recording proxy's repeated delivery (the soak's fault): the next delivery carrying a scale
alert reaches the receiver twice and is recorded twice; others pass once."""
from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from sandbox.loopback_http import QuietHandler, ServerThread
from sandbox.recorder import Recorder

SCALE = {"alerts": [{"status": "firing", "fingerprint": "f1", "labels": {"scale": "up"}}]}
OTHER = {"alerts": [{"status": "firing", "fingerprint": "f2", "labels": {"alertname": "TickStale"}}]}


@pytest.fixture
def wired() -> Iterator[tuple[Recorder, list[bytes]]]:
    received: list[bytes] = []

    class Receiver(QuietHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_text(202, "{}", "application/json")

    upstream = ServerThread("127.0.0.1", 0, Receiver)
    upstream.start()
    recorder = Recorder("127.0.0.1", upstream.port)
    recorder.start()
    yield recorder, received
    recorder.stop()
    upstream.begin_stop().join(timeout=5)


def post(recorder: Recorder, body: dict[str, object]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", recorder.port, timeout=10)
    conn.request("POST", "/webhook", body=json.dumps(body), headers={"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_next_scale_delivery_is_sent_twice(wired: tuple[Recorder, list[bytes]]) -> None:
    recorder, received = wired
    recorder.repeat_next()
    assert post(recorder, OTHER) == 202          # no scale alert: passes once, the repeat waits
    assert post(recorder, SCALE) == 202          # sent twice
    assert post(recorder, SCALE) == 202          # once again
    assert [json.loads(b)["alerts"][0]["fingerprint"] for b in received] == ["f2", "f1", "f1", "f1"]
    assert recorder.repeated == 1
    assert [d.alerts for d in recorder.deliveries()] == [(), (("f1", "up"),), (("f1", "up"),), (("f1", "up"),)]
    assert all(d.delivered for d in recorder.deliveries())
