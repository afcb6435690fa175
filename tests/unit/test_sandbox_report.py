"""The sandbox's report says which app a run used, how overload was judged, and plots what the app does."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from sandbox import report
from sandbox.apps import App, for_run, run_facts
from sandbox.measure import CpuOverload, LatencySlo, Overload, Sample, ScalingCall, summary
from sandbox.scenarios import SCENARIOS


def samples() -> list[Sample]:
    out = []
    for t in range(0, 120, 2):
        busy = 10 <= t < 80
        size = 1 if t < 40 else 2
        out.append(Sample(t, 2.5 if busy else 0.25, 2.0 if busy else 0.25, 10.0, 0, 1.0 if busy else 0.2,
                          size, size, 0, 3 if busy else 0, 2 if busy else 0, size))
    return out


def results(app: App, overload: Overload) -> dict[str, Any]:
    sc = SCENARIOS["smoke"]
    actions = [ScalingCall(30.0, "scale-instance-pool", 1, 2), ScalingCall(100.0, "evict-instance-pool-members", 2, 1)]
    facts = run_facts(app, 1)
    return {
        "scenario": sc.name, "description": sc.description, "policy": "proportional", "app": facts,
        "timings": {"name": "fast", "flap_window_s": 50},
        "overload": {"figure": overload.figure, "definition": overload.definition()},
        "profile_members": [list(p) for p in sc.profile],
        "profile_rps": [list(p) for p in sc.rps_profile(app.member_rps(1))],
        "summary": {"app": app.name, "load_errors": 3, "load_errors_at_scale_down": 2, **summary(
            samples(), actions, step_t=10, drop_t=80, overload=overload, requests_lost=0)},
        "actions": [vars(a) for a in actions],
        "deliveries": {"total": 2, "delivered": 2, "scale_alerts_delivered": 2, "alertmanager_notifications": 2,
                       "alertmanager_failed": 0},
    }


def png_height(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int(struct.unpack(">I", data[20:24])[0])


@pytest.mark.parametrize("name, overload, says, latency_panel", [
    ("http-load-generator", CpuOverload(0.8, 10), "takes 1.67 s (compressed ×6 from the deployed 10 s", False),
    ("processor-sharing", LatencySlo(2.0, 0.01), "needs 0.25 vCPU-seconds", True),
])
def test_report_names_the_app_and_its_overload_figure(tmp_path: Path, name: str, overload: Overload, says: str,
                                                      latency_panel: bool) -> None:
    app = for_run(name, speedup=6.0)
    doc = results(app, overload)
    report.write_json(tmp_path, doc)
    report.write_markdown(tmp_path, doc)
    md = (tmp_path / "report.md").read_text()
    assert f"({name}, fast timers" in md and f"App: **{name}**" in md and says in md
    assert f"| overload: {overload.definition()} |" in md
    assert "2.5 members' worth" in md
    assert "| load requests that failed (any non-200 answer, timeout or refusal) | 3 |" in md
    assert "| … of them at a scale-down (ended 2 s before to 10 s after a member was removed) | 2 |" in md
    report.write_plot(tmp_path, samples(), [ScalingCall(**a) for a in doc["actions"]], "title",
                      profile=SCENARIOS["smoke"].profile, duration_s=100, step_t=10, drop_t=80,
                      member_rps=app.member_rps(1), cpu_window_s=10, slo_p95_s=2.0 if latency_panel else None)
    # Six panels with the latency one, five without (cost is always there): 2.5 inches each at 110 dpi.
    assert png_height(tmp_path / "report.png") == (6 if latency_panel else 5) * 275


@pytest.mark.parametrize("passed, reached, back, verdict", [
    (True, 130.5, 118.0, "checker: PASSED"),
    (False, None, None, "checker: FAILED"),
])
def test_report_gives_the_checker_verdict_only_for_the_checker(tmp_path: Path, passed: bool, reached: float | None,
                                                                back: float | None, verdict: str) -> None:
    doc = results(for_run("http-load-generator"), CpuOverload(0.8, 60))
    report.write_markdown(tmp_path, doc)
    assert "checker:" not in (tmp_path / "report.md").read_text()
    doc["summary"].update(checker_passed=passed, checker_reached_2_s=reached, checker_back_to_min_s=back,
                          checker_limit_s=300.0, checker_clients=2)
    report.write_markdown(tmp_path, doc)
    md = (tmp_path / "report.md").read_text()
    assert f"| **{verdict}** (2 clients; pool at 2 within 300 s" in md
    assert f"| checker: load start → pool of 2 (operation log) | {'130.5 s' if reached else '—'} |" in md


@pytest.mark.parametrize(("policy", "says"), [
    ("proportional", "| requests lost (2xx deliveries missing from the bucket) | 0 |"),
    ("baseline", "| requests lost (2xx-delivered alerts without their ±1 step in the operation log, "
                 "the pool not at a bound) | 0 |"),
])
def test_requests_lost_says_what_it_counts_for_the_policy(tmp_path: Path, policy: str, says: str) -> None:
    doc = {**results(for_run("http-load-generator", speedup=6.0), CpuOverload(0.8, 10)), "policy": policy}
    report.write_markdown(tmp_path, doc)
    assert says in (tmp_path / "report.md").read_text()
