"""SOS outage while webhooks arrive, with the real Alertmanager as the sender.

Alertmanager (Debian's binary, config from bootstrap/render.py with short timings) → recording
proxy (sandbox/recorder.py, the sender's view) → the real receiver process → a cuttable TCP proxy
→ moto server. SOS is cut while the alert keeps being re-sent, so the receiver answers 503 and
Alertmanager retries; then SOS comes back. Every delivery answered 2xx must be in the bucket
(sandbox/measure.lost_requests), Alertmanager's own counters must agree with the proxy, and one
real tick against the emulator must turn all of it into exactly one scaling call.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bootstrap import render
from functions.common.store import Store
from functions.scaler.tick import policy
from sandbox.measure import lost_requests
from sandbox.monitoring import ALERTMANAGER
from sandbox.recorder import Recorder
from tests.conftest import free_port
from tests.integration.test_receiver_process import start as start_receiver
from tests.integration.test_receiver_process import wait_healthy
from tests.integration.tickkit import cfg_for, env_for, history, pending_keys, scaling_calls, start_emulator
from tests.tcpproxy import TcpProxy
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "reliability-am-token"

pytestmark = pytest.mark.skipif(shutil.which(ALERTMANAGER) is None,
                                reason=f"{ALERTMANAGER} is not installed")


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def post_alerts(port: int, alerts: list[dict[str, Any]]) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts",
                                 data=json.dumps(alerts).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def am_counters(port: int) -> dict[str, float]:
    """Alertmanager's own webhook counters (0.25): notifications (one per flush, failed when all
    its retries failed) and notification requests (one per HTTP attempt)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out = dict.fromkeys(("alertmanager_notifications_total",
                         "alertmanager_notifications_failed_total",
                         "alertmanager_notification_requests_total",
                         "alertmanager_notification_requests_failed_total"), 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in out and 'integration="webhook"' in line:
            out[name] += float(line.rsplit(" ", 1)[1])
    return out


@pytest.fixture
def loop(moto_endpoint: str, bucket: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    emu, pool_id = start_emulator(2)
    sos = TcpProxy(moto_endpoint)
    receiver_port = free_port()
    receiver_env = env_for(sos.endpoint, bucket, emu, pool_id, LISTEN_PORT=str(receiver_port),
                           SCALER_TOKEN=TOKEN)
    receiver = start_receiver(receiver_env)
    recorder = Recorder("127.0.0.1", receiver_port)
    am: subprocess.Popen[bytes] | None = None
    try:
        wait_healthy(receiver, receiver_port)
        recorder.start()
        spec = render.load_spec()
        # Short timings: the group is re-sent every 2 s, so an outage of a few seconds spans
        # several deliveries and Alertmanager's own retries.
        spec["notification"].update(group_wait="1s", group_interval="2s", repeat_interval="2s")
        config = tmp_path / "alertmanager.yml"
        config.write_text(render.render_alertmanager_config(
            f"http://127.0.0.1:{recorder.port}/webhook", TOKEN, spec))
        am_port = free_port()
        am_log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 -- the child process writes to it for its whole life
        am = subprocess.Popen([ALERTMANAGER, f"--config.file={config}",
                               f"--storage.path={tmp_path / 'am-data'}",
                               f"--web.listen-address=127.0.0.1:{am_port}",
                               "--cluster.listen-address=", "--log.level=warn"],
                              stdout=am_log, stderr=am_log)

        def ready() -> bool:
            assert am is not None and am.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{am_port}/-/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for("alertmanager ready", ready)
        tick_env = env_for(moto_endpoint, bucket, emu, pool_id)
        yield {"emu": emu, "pool": pool_id, "sos": sos, "recorder": recorder, "am_port": am_port,
               "tick_env": tick_env, "store": Store.from_config(cfg_for(tick_env)),
               "receiver": receiver}
    finally:
        if am is not None:
            am.terminate()
            am.wait(timeout=10)
        recorder.stop()
        receiver.terminate()
        receiver.communicate(timeout=10)
        sos.close()
        emu.stop()


def test_sos_outage_under_real_alertmanager_loses_nothing_and_scales_once(
        loop: dict[str, Any]) -> None:
    recorder: Recorder = loop["recorder"]
    now = datetime.now(UTC)
    scale_up = {"labels": {"alertname": "PoolCpuHigh", "scale": "up"},
                "annotations": {"scale_value": "0.93"}, "startsAt": iso(now),
                "endsAt": iso(now + timedelta(minutes=5))}
    other = {"labels": {"alertname": "AutoscalerTickStale", "severity": "warning"},
             "startsAt": iso(now), "endsAt": iso(now + timedelta(minutes=5))}
    post_alerts(loop["am_port"], [scale_up, other])

    def delivered_scale(after: float = 0.0) -> int:
        return sum(1 for d in recorder.deliveries() if d.delivered and d.alerts and d.at > after)

    wait_for("a first delivery", lambda: delivered_scale() >= 1)
    loop["sos"].cut.set()
    cut_at = time.time()
    # The outage lasts until the sender has been refused twice (a delivery and its retry).
    wait_for("two deliveries refused during the outage", lambda: sum(
        1 for d in recorder.deliveries() if d.status == 503 and d.at >= cut_at) >= 2)
    loop["sos"].cut.clear()
    restored_at = time.time()
    wait_for("two deliveries after SOS is back", lambda: delivered_scale(restored_at) >= 2)

    # Resolve both alerts: Alertmanager sends the resolution once and then falls silent,
    # so its counters and the proxy's record can be compared at rest.
    ended = datetime.now(UTC)
    post_alerts(loop["am_port"], [{**a, "endsAt": iso(ended)} for a in (scale_up, other)])
    wait_for("the resolved notification", lambda: any(
        d.delivered and not d.alerts and d.at > ended.timestamp() for d in recorder.deliveries()))
    # Alertmanager counts an attempt once its answer is in: wait until its count has caught up.
    wait_for("Alertmanager's count of the attempts", lambda: am_counters(loop["am_port"])[
        "alertmanager_notification_requests_total"] >= len(recorder.deliveries()))
    deliveries = recorder.deliveries()
    counters = am_counters(loop["am_port"])

    failed = [d for d in deliveries if not d.delivered]
    during = [d for d in deliveries if cut_at <= d.at <= restored_at + 1.0]
    assert any(d.status == 503 for d in during), "the outage never reached the sender"
    assert all(d.status in (503,) for d in failed), [d.status for d in failed]
    # The sender's own bookkeeping agrees with the proxy: every attempt, every failed attempt,
    # and the notifications it counts as successful are exactly the 2xx deliveries.
    assert counters["alertmanager_notification_requests_total"] == len(deliveries), counters
    assert counters["alertmanager_notification_requests_failed_total"] == len(failed), counters
    successful = (counters["alertmanager_notifications_total"]
                  - counters["alertmanager_notifications_failed_total"])
    assert successful == len(deliveries) - len(failed), counters

    store: Store = loop["store"]
    pool = loop["pool"]
    stored = [item.body for item in store.read_all(f"requests/{pool}/") if item.body]
    ok_scale = [d for d in deliveries if d.delivered and d.alerts]
    assert lost_requests(deliveries, [(r["fingerprint"], r["received_at"]) for r in stored]) == 0
    assert len(stored) >= len(ok_scale) >= 3
    assert all(r["direction"] == "up" and r["alertname"] == "PoolCpuHigh" for r in stored)

    tick = subprocess.run([sys.executable, "-m", "functions.scaler.tick"], cwd=ROOT,
                          env={**os.environ, **loop["tick_env"], "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert tick.returncode == 0, tick.stderr
    calls = scaling_calls(loop["emu"])
    # 2 members at 0.93 need ceil(1.86 / 0.7) = 3, and a measured scale-up adds at least MIN_UP_STEP
    assert [(c.operation, c.arguments) for c in calls] == [
        ("scale-instance-pool", {"size": 2 + policy.MIN_UP_STEP})]
    assert pending_keys(store, pool) == []
    records = history(store, pool)
    assert [r["action"] for r in records] == ["scale-up"]
    in_history = [(r["fingerprint"], r["received_at"]) for r in records[0]["requests"]]
    assert len(in_history) == len(stored)
    assert lost_requests(deliveries, in_history) == 0
