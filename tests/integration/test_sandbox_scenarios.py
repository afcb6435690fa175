"""The main job end to end: `python -m sandbox` runs the checker (compressed, with the deployed policy
and the classic baseline side by side) and replace-vm scenarios.

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


def sandbox(scenario: str, out: Path, *options: str, timeout_s: float = 330) -> str:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--scenario", scenario, "--out",
                           str(out), *options], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "load=" in proc.stdout and "serving=" in proc.stdout  # the live progress line
    return proc.stdout


def read_report(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.png").stat().st_size > 20_000
    assert "| max pool size |" in (out / "report.md").read_text()
    return report


def run_sandbox(scenario: str, out: Path, *options: str) -> dict:
    sandbox(scenario, out, *options)
    report = read_report(out)
    check_tick_run(report)
    return report


def check_tick_run(report: dict) -> None:
    """What every run of the real handlers shows, whatever its scenario."""
    # The default app, its 10 s compressed with the fast timers, judged by CPU, not latency.
    assert report["app"]["name"] == report["summary"]["app"] == "http-load-generator"
    assert report["app"]["request_s"] * report["app"]["compressed_by"] == pytest.approx(10.0)
    assert report["overload"]["figure"] == "cpu_above_scale_up"
    assert any(s["in_flight"] > 1 for s in report["samples"])
    # failed /load requests at scale-downs are counted in every run (the aim is none)
    assert 0 <= report["summary"]["load_errors_at_scale_down"] <= report["summary"]["load_errors"]
    # The tick's own cost ledger agrees with the pool's size over time as the emulator performed it.
    cost = report["cost"]
    assert cost["measured_instance_s"] > 0 and abs(cost["difference_pct"]) <= 1.0, cost


def test_checker_sizes_the_pool_in_one_round_and_returns_to_one(tmp_path: Path) -> None:
    """The course checker's scenario (its limits compressed with the timers): steady /load from the
    acceptance run's closed-loop clients through the NLB stand-in; then the same with the classic
    ±1-per-alert baseline in the scaler's place, and the two side by side."""
    printed = sandbox("checker", tmp_path, "--fast", "--compare", "proportional,baseline", timeout_s=600)
    report = read_report(tmp_path / "proportional")
    check_tick_run(report)
    check_deployed_run(report, tmp_path / "proportional")
    base = read_report(tmp_path / "baseline")
    # The classic scaler: one step per delivered firing alert, every call a scale (no eviction),
    # nothing stored in the bucket; each 2xx delivery's step is found in the operation log.
    steps = [(a["size_before"], a["size_after"]) for a in base["actions"]]
    assert steps and all(abs(after - before) == 1 for before, after in steps), steps
    assert {a["operation"] for a in base["actions"]} == {"scale-instance-pool"}
    assert base["summary"]["max_pool_size"] >= 2 and base["summary"]["requests_lost"] == 0
    assert base["summary"]["actions"] <= base["deliveries"]["scale_alerts_delivered"]
    assert base["tick_runs"] == [] and "no history" in base["inspect"]["history"]
    for run in (report, base):  # the reaction split into the alert's part and the scaler's, both seen
        assert run["summary"]["step_to_first_up_delivery_s"] is not None, run["summary"]
        assert run["summary"]["first_up_delivery_to_action_s"] is not None, run["summary"]
    side = json.loads((tmp_path / "compare.json").read_text())
    assert side["policies"] == ["proportional", "baseline"]
    assert side["runs"]["baseline"]["summary"] == base["summary"]
    assert "| figure (measured from outside the scaler) | proportional | baseline |" in printed
    assert (tmp_path / "compare.png").stat().st_size > 20_000


def check_deployed_run(report: dict, out: Path) -> None:
    s = report["summary"]
    # Two requests always in flight are two members' worth: requests in flight, not the saturated
    # CPU, size the pool, so the first round already gives the checker its 2 members (3 when the
    # alert's window held only loaded seconds: ceil(2 / 0.7); more with a rising trend), the pool
    # only grows while the load lasts, and one scale-down after it brings the pool back to 1.
    moves = [(a["size_before"], a["size_after"]) for a in report["actions"]]
    assert moves[0][0] == 1 and moves[0][1] >= 2, moves
    ups = [m for m in moves if m[1] > m[0]]
    assert moves[:len(ups)] == ups and moves[len(ups):] == [(ups[-1][1], 1)], moves
    assert s["flaps"] == 0, moves
    assert report["actions"][len(ups)]["t"] >= SCENARIOS["checker"].compressed(6).drop_t, moves
    assert s["final_pool_size"] == 1 and s["checker_back_to_min_s"] is not None
    # The verdict is the grader's: 2 members within the (compressed) 300 s, and back to 1. How soon
    # depends on this machine's speed too, so the test checks the verdict's logic, not the clock;
    # the command-line run (README, docs/sandbox/checker) shows the real-timer figures.
    assert s["checker_limit_s"] == 50 and s["checker_reached_2_s"] is not None
    assert s["checker_passed"] is (s["checker_reached_2_s"] <= s["checker_limit_s"])
    assert s["requests_lost"] == 0 and s["load_errors"] == 0
    assert report["load"]["ok"] > 0 and report["app"]["demand_signal"] == "demand"
    assert report["nlb_healthcheck"]["interval_s"] == pytest.approx(5 / 6)
    assert report["deliveries"]["delivered"] >= 2
    ops = {a["operation"] for a in report["actions"]}
    assert ops == {"scale-instance-pool", "evict-instance-pool-members"}
    assert "last action" in report["inspect"]["status"]
    assert "scale-up" in report["inspect"]["history"]
    assert "| **checker: " in (out / "report.md").read_text()


def test_replace_vm_loses_no_request_and_no_snapshot(tmp_path: Path) -> None:
    report = run_sandbox("replace-vm", tmp_path)
    r, s = report["replace_vm"], report["summary"]
    assert r is not None and r["targets_before"] >= 1
    assert r["targets_identical"] is True  # file_sd rebuilt from the SOS snapshot
    assert s["requests_lost"] == 0
    assert s["max_pool_size"] >= 2  # scaling carried on after the replacement
    assert s["final_pool_size"] < s["max_pool_size"]
