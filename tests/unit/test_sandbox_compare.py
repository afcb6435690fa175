"""`--compare`: the policy list's one-line refusals, and the side-by-side table, JSON and plot."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox import compare
from sandbox.__main__ import POLICIES
from sandbox.apps import for_run
from sandbox.measure import CpuOverload, Sample, ScalingCall, summary

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "expected"), [
    ("proportional,baseline", ["proportional", "baseline"]),
    ("baseline", ["baseline"]),
    (" proportional , baseline ", ["proportional", "baseline"]),
    ("baseline,proportional,", ["baseline", "proportional"]),
])
def test_a_policy_list_is_read_in_order(text: str, expected: list[str]) -> None:
    assert compare.parse_policies(text, POLICIES) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("", "needs at least one policy (choose from proportional, baseline)"),
    (",,", "needs at least one policy"),
    ("baseline,step", "unknown policy 'step' (choose from proportional, baseline)"),
    ("baseline,baseline", "'baseline' is named twice"),
])
def test_a_bad_policy_list_is_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(compare.CompareError, match=says.replace("(", r"\(").replace(")", r"\)")):
        compare.parse_policies(text, POLICIES)


@pytest.mark.parametrize(("arg", "says"), [
    ("proportional,step", "sandbox: --compare: unknown policy 'step'"),
    ("", "sandbox: --compare needs at least one policy"),
])
def test_the_command_refuses_a_bad_list_before_starting_anything(tmp_path: Path, arg: str, says: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--compare", arg, "--out", str(tmp_path / "out")],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith(says) and proc.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def run(policy: str, up_at: float, size: int) -> dict[str, Any]:
    """One run's report as the runner writes it: the pool reaches `size` at `up_at`, back at 100 s."""
    samples = [Sample(t, 1.0, 1.0, None, 0, 1.0 if 10 <= t < up_at + 20 else 0.3,
                      size if up_at <= t < 100 else 1, 1, 0) for t in range(0, 120, 2)]
    actions = [ScalingCall(up_at, "scale-instance-pool", 1, size),
               ScalingCall(100.0, "evict-instance-pool-members", size, 1)]
    overload = CpuOverload(0.8, 10)
    return {
        "scenario": "smoke", "description": "a step", "policy": policy, "app": {"name": for_run(
            "http-load-generator", 6.0).name}, "timings": {"name": "fast", "rate_window": "10s", "flap_window_s": 50},
        "overload": {"figure": overload.figure, "definition": overload.definition()},
        "step_t": 10, "drop_t": 80,
        "summary": {"load_errors": 1, "load_errors_at_scale_down": 1 if policy == "baseline" else 0,
                    **summary(samples, actions, step_t=10, drop_t=80, overload=overload, requests_lost=0)},
        "actions": [vars(a) for a in actions], "samples": [s.as_dict() for s in samples],
        "deliveries": {"delivered": 3, "scale_alerts_delivered": 4},
    }


def test_the_table_has_one_column_per_policy_in_the_order_run() -> None:
    runs = {"proportional": run("proportional", 30, 4), "baseline": run("baseline", 50, 2)}
    lines = compare.table(runs)
    assert lines[0] == "| figure (measured from outside the scaler) | proportional | baseline |"
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in lines[2:]}
    assert rows["scaling actions"] == ["2: 1→4 at 30 s, 4→1 at 100 s", "2: 1→2 at 50 s, 2→1 at 100 s |"]
    assert rows["pool size: max / final"] == ["4 / 1", "2 / 1 |"]
    # CPU over 10 s above 80 % from 16 s to 50 s (to 70 s for the later scale-up)
    assert rows["overload / SLO-violation seconds (definition below)"] == ["36 s", "56 s |"]
    assert rows["webhook deliveries answered 2xx (scale alerts in them)"] == ["3 (4)", "3 (4) |"]
    assert rows["… of them at a scale-down"] == ["0", "1 |"]
    assert len(lines) == 2 + len(compare.ROWS)


def test_compare_writes_the_table_the_figures_and_a_plot(tmp_path: Path) -> None:
    runs = {"proportional": run("proportional", 40, 3), "baseline": run("baseline", 50, 2)}
    compare.write(tmp_path, runs, "python -m sandbox --compare proportional,baseline --scenario smoke")
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert doc["policies"] == ["proportional", "baseline"]
    assert doc["runs"]["baseline"]["summary"] == runs["baseline"]["summary"]
    text = (tmp_path / "compare.md").read_text()
    assert "`python -m sandbox --compare proportional,baseline --scenario smoke`" in text
    assert "[proportional/](proportional/report.md)" in text and "\n".join(compare.table(runs)) in text
    assert (tmp_path / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
