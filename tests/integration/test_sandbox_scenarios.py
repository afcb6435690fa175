"""The main job end to end: `python -m sandbox` runs the smoke and replace-vm scenarios.

Real processes throughout (moto server, emulator, Prometheus, Alertmanager, receiver, tick,
discovery); the figures are read back from report.json, measured outside the scaler.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run_sandbox(scenario: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--scenario", scenario, "--out",
                           str(out)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=330)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "load=" in proc.stdout and "serving=" in proc.stdout  # the live progress line
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.png").stat().st_size > 20_000
    assert "| max pool size |" in (out / "report.md").read_text()
    # The default app, its 10 s compressed with the fast timers, judged by CPU, not latency.
    assert report["app"]["name"] == report["summary"]["app"] == "http-load-generator"
    assert report["app"]["request_s"] * report["app"]["compressed_by"] == pytest.approx(10.0)
    assert report["overload"]["figure"] == "cpu_above_scale_up"
    assert any(s["in_flight"] > 1 for s in report["samples"])
    # The tick's own cost ledger agrees with the pool's size over time as the emulator performed it.
    cost = report["cost"]
    assert cost["measured_instance_s"] > 0 and abs(cost["difference_pct"]) <= 1.0, cost
    return report


def test_smoke_scales_up_from_one_and_back_down(tmp_path: Path) -> None:
    report = run_sandbox("smoke", tmp_path)
    s = report["summary"]
    # CPU saturates on this app, so CPU-only sizing grows the pool by one round's 1/0.6 at a time.
    assert s["max_pool_size"] >= 2, report["actions"]
    assert s["final_pool_size"] == 1, report["actions"]
    assert s["scale_up_reaction_s"] is not None and s["scale_down_reaction_s"] is not None
    assert s["requests_lost"] == 0
    # No reversal the load does not explain: every scale-up before the first scale-down, and no
    # scale-down before the load dropped. How soon each came (the report's reactions and its
    # flap count, a reversal within a time window) depends on this machine's speed: benchmarks.
    moves = [(a["t"], a["size_after"] - a["size_before"]) for a in report["actions"]]
    ups = [t for t, change in moves if change > 0]
    downs = [t for t, change in moves if change < 0]
    assert ups and downs and max(ups) < min(downs), report["actions"]
    assert min(downs) >= SCENARIOS["smoke"].drop_t, report["actions"]
    assert report["deliveries"]["delivered"] >= 2
    ops = {a["operation"] for a in report["actions"]}
    assert ops == {"scale-instance-pool", "evict-instance-pool-members"}
    assert "last action" in report["inspect"]["status"]
    assert "scale-up" in report["inspect"]["history"]


def test_replace_vm_loses_no_request_and_no_snapshot(tmp_path: Path) -> None:
    report = run_sandbox("replace-vm", tmp_path)
    r, s = report["replace_vm"], report["summary"]
    assert r is not None and r["targets_before"] >= 1
    assert r["targets_identical"] is True  # file_sd rebuilt from the SOS snapshot
    assert s["requests_lost"] == 0
    assert s["max_pool_size"] >= 2  # scaling carried on after the replacement
    assert s["final_pool_size"] < s["max_pool_size"]
