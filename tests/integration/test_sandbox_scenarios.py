"""The main job end to end: `python -m sandbox` runs the checker (compressed, with the deployed policy
and the classic baseline side by side), replace-vm, a short soak and two pools.

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
from sandbox.soak_plan import KINDS, plan

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
    drop_t = SCENARIOS["checker"].compressed(6).drop_t
    assert report["actions"][len(ups)]["t"] >= drop_t, moves
    # The load outlasts the flap window by 45 s (7.5 s with --fast), so the return to 1 after it is
    # no reversal, unless a loaded machine delayed the last scale-up into that margin: then the one
    # reversal counted is that return, after the load, and nothing else.
    up_t, down_t = report["actions"][len(ups) - 1]["t"], report["actions"][len(ups)]["t"]
    late = down_t - up_t < report["timings"]["flap_window_s"]
    assert s["flaps"] == (1 if late else 0), (moves, report["actions"])
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


def test_soak_keeps_its_invariants_while_faults_come(tmp_path: Path) -> None:
    """Three minutes of soak with seed 42, whose plan holds every kind of fault once. The outages and
    bursts hold until a call has met them and the VM's replacement needs nothing: those are injected
    as planned; the others only if their moment comes (a running tick, a scaling call, a scale
    delivery), which most do."""
    planned = plan(42, 180, (1, 6)).planned()
    assert all(planned[k] == 1 for k in KINDS), planned
    sandbox("soak", tmp_path, "--duration", "3", "--seed", "42", timeout_s=3 * 60 + 300)
    report = read_report(tmp_path)
    check_tick_run(report)
    s, soak = report["summary"], report["soak"]
    assert soak["seed"] == 42 and soak["planned"] == planned
    assert list(s["faults_injected"]) == list(KINDS)
    for kind in ("sos_unavailable", "api_5xx", "api_429", "vm_replaced"):
        assert s["faults_injected"][kind] == 1, s["faults_injected"]
    assert sum(n > 0 for n in s["faults_injected"].values()) >= 5, soak["events"]
    assert soak["sos_calls_refused"] > 0 and soak["api_calls_faulted"], soak
    assert (s["requests_lost"], s["bound_violations"], s["ticks_with_two_calls"]) == (0, 0, 0), soak["events"]
    assert s["ledger_vs_oplog_pct"] is not None and abs(s["ledger_vs_oplog_pct"]) <= 1.0
    assert s["invariants_held"] is True
    assert "## Soak: seed 42, 3 minutes" in (tmp_path / "report.md").read_text()


def multi_pool_support_missing() -> str | None:
    """What this tree lacks to scale two pools from one monitoring VM, None when nothing: discovery,
    the tick and the receiver each configured per pool (Config.each_pool / for_pool / pools), and the
    alert rules aggregated `by (pool)`. The sandbox side stands alone; the run needs them all."""
    missing = [f"functions/{part}" for part in ("sd", "scaler/tick", "scaler/receiver")
               if not any(word in path.read_text() for path in (ROOT / "functions" / part).rglob("*.py")
                          for word in ("each_pool(", "for_pool(", ".pools"))]
    if "by (pool)" not in (ROOT / "bootstrap" / "alerting" / "alerts.json").read_text():
        missing.append("bootstrap/alerting/alerts.json (no rule aggregates by (pool))")
    return None if not missing else "the multi-pool handlers are not in this tree: " + ", ".join(missing)


@pytest.mark.skipif(multi_pool_support_missing() is not None, reason=str(multi_pool_support_missing()))
def test_two_pools_each_scale_for_their_own_load_and_no_other(tmp_path: Path) -> None:
    """Two pools behind their own NLB stand-ins, the handlers configured with INSTANCEPOOLS: a step
    on web, then, once web is back down, on api. Each scales up for its own load and back to one,
    neither acts in the other's span nor loses a request, and every scale alert names its pool."""
    sandbox("two-pools", tmp_path, "--fast", timeout_s=600)
    report = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "report.png").stat().st_size > 20_000
    md = (tmp_path / "report.md").read_text()
    assert "| figure | web | api |" in md
    s, pools, details = report["summary"], report["pools"], report["pool_details"]
    assert list(pools) == ["web", "api"]
    assert all(set(fig) == {"max_pool_size", "final_pool_size", "actions", "requests_lost", "flaps"}
               for fig in pools.values())
    late = {}
    for name, fig in pools.items():
        acts = [a for a in report["actions"] if a["pool"] == name]
        ups = [a for a in acts if a["size_after"] > a["size_before"]]
        # the pool grows while its load lasts, and the scale-downs after its drop bring it back to one
        assert ups and acts[:len(ups)] == ups and acts[-1]["size_after"] == 1, acts
        assert all(a["t"] >= details[name]["drop_t"] for a in acts[len(ups):]), acts
        assert fig["max_pool_size"] >= 2 and fig["final_pool_size"] == 1 and fig["requests_lost"] == 0, (name, fig)
        # As in the checker's test: a loaded machine can delay a second scale-up so late in the hold
        # that the return after the load falls within the flap window; then that return is the one
        # reversal counted, and the verdict says so. Nothing else may fail.
        late[name] = acts[len(ups)]["t"] - ups[-1]["t"] <= report["timings"]["flap_window_s"]
        assert fig["flaps"] == (1 if late[name] else 0), (name, acts)
        # the alerts were per pool: scale alerts named each pool, none named no pool
        assert details[name]["scale_alerts_delivered"] >= 2, details[name]
        # each pool's tick kept its own ledger, and it agrees with that pool's operation log
        cost = details[name]["cost"]
        assert cost is not None and abs(cost["difference_pct"]) <= 1.0, (name, cost)
    expected = [f"{name} flapped 1 time(s)" for name in pools if late[name]]
    assert s["failures"] == expected and s["passed"] is (not expected), s["failures"]
    assert ("**PASSED**" if not expected else "**FAILED**") in md
    assert s["scale_alerts_unrouted"] == 0 and s["requests_lost"] == 0
    api_step = details["api"]["step_t"]
    # web scaled up before api's step only (its return to one may come after it on a slow machine)
    assert all(a["t"] < api_step or a["size_after"] < a["size_before"]
               for a in report["actions"] if a["pool"] == "web"), report["actions"]
    assert all(a["t"] >= api_step for a in report["actions"] if a["pool"] == "api"), report["actions"]
    assert "web" in report["inspect"]["status"] and "api" in report["inspect"]["status"]
