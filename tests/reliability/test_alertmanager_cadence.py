"""A still-firing alert is re-sent at every flush with the deployed intervals, proven with Debian's real
Alertmanager (Grafana runs the same notify/dedup_stage.go). Time is compressed: group_interval becomes
2 s and repeat_interval keeps its deployed ratio to it. The negative control (repeat_interval equal to
group_interval, the earlier setting) re-sends only at every second flush. The test waits for deliveries
and compares their spacing with group_interval within generous margins; it asserts no speed."""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest

from bootstrap import render
from sandbox.monitoring import ALERTMANAGER
from tests.conftest import free_port

GROUP_INTERVAL_S = 2.0
# Each answer takes this long, as a real delivery does: Alertmanager stamps its notification log when
# the send ends, so the negative control then depends on the flush timer's jitter being below 0.5 s
# (not below a loopback round trip of a millisecond, which a loaded machine exceeds).
DELIVERY_S = 0.5


def seconds(text: str) -> float:
    return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


class Deliveries:
    """A loopback webhook receiver: the arrival times of the POSTs to each path."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.cond:
                    outer.times.setdefault(self.path, []).append(time.monotonic())
                    outer.cond.notify_all()
                time.sleep(DELIVERY_S)  # the delivery's own duration, not a synchronisation
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, count: int, timeout: float) -> list[float]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.times.get(path, [])) >= count, timeout)
            return list(self.times.get(path, []))


def start_alertmanager(tmp: Path, name: str, webhook: str, repeat_s: float) -> tuple[subprocess.Popen[bytes], int]:
    spec = render.load_spec()
    spec["notification"].update(group_wait="1s", group_interval=f"{GROUP_INTERVAL_S:g}s",
                                repeat_interval=f"{int(repeat_s * 1000)}ms")
    config = tmp / f"{name}.yml"
    config.write_text(render.render_alertmanager_config(webhook, None, spec))
    port = free_port()
    log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 -- the child process writes to it for its whole life
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp / name}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=warn"], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, (tmp / f"{name}.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    return proc, port
        except OSError:
            pass
        assert time.monotonic() < deadline, "alertmanager not ready within 30 s"
        time.sleep(0.1)  # polling for readiness, not synchronising on an outcome


def fire(port: int) -> None:
    now = datetime.now(UTC)
    alert = [{"labels": {"alertname": "PoolCpuHigh", "scale": "up"}, "annotations": {"scale_value": "0.9"},
              "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=json.dumps(alert).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@pytest.fixture()
def deliveries() -> Iterator[Deliveries]:
    if not shutil.which(ALERTMANAGER):
        pytest.fail(f"{ALERTMANAGER} not found: install apt package 'prometheus-alertmanager'", pytrace=False)
    d = Deliveries()
    yield d
    d.server.shutdown()


def test_deployed_intervals_resend_at_every_flush_and_equal_ones_every_second(
        deliveries: Deliveries, tmp_path: Path) -> None:
    note = render.load_spec()["notification"]
    deployed_ratio = seconds(note["repeat_interval"]) / seconds(note["group_interval"])
    url = f"http://127.0.0.1:{deliveries.port}"
    procs = []
    try:
        for name, repeat in (("deployed", deployed_ratio * GROUP_INTERVAL_S), ("equal", GROUP_INTERVAL_S)):
            proc, port = start_alertmanager(tmp_path, name, f"{url}/{name}", repeat)
            procs.append(proc)
            fire(port)
        deployed = deliveries.wait("/deployed", 7, timeout=90)
        equal = deliveries.wait("/equal", 5, timeout=90)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    assert len(deployed) >= 7 and len(equal) >= 5, (len(deployed), len(equal))
    # spacing of the re-sends (the first delivery comes after group_wait), in flushes
    deployed_flushes = statistics.median(b - a for a, b in pairwise(deployed[1:])) / GROUP_INTERVAL_S
    equal_flushes = statistics.median(b - a for a, b in pairwise(equal[1:])) / GROUP_INTERVAL_S
    assert deployed_flushes < 1.5, f"deployed: a re-send every {deployed_flushes:.2f} flushes"
    assert equal_flushes > 1.5, f"negative control: a re-send every {equal_flushes:.2f} flushes"
