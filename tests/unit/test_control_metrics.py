"""The control figures as textfile metrics: valid exposition, counters typed as counters, one series
per outcome from the start, and no cost series while the cost is unknown."""
from __future__ import annotations

import shutil
import subprocess

from functions.scaler.tick.metrics import OUTCOMES, ControlFigures, render
from functions.scaler.tick.policy import Outcome


def promtool_ok(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_before_the_first_recorded_size_cost_is_absent_and_counters_start_at_zero() -> None:
    text = render(ControlFigures())
    promtool_ok(text)
    assert "autoscaler_cost_per_hour" not in text and "autoscaler_spend" not in text
    assert "autoscaler_budget_cap" not in text
    assert "# TYPE autoscaler_outcomes_total counter" in text
    assert "# TYPE autoscaler_budget_held_total counter" in text
    for outcome in OUTCOMES:
        assert f'autoscaler_outcomes_total{{outcome="{outcome}"}} 0.0' in text
    assert sorted(OUTCOMES) == sorted(str(o) for o in Outcome)


def test_figures_with_caps() -> None:
    text = render(ControlFigures(currency="CHF", cost_per_hour=0.0834, spend={"day": 1.5, "month": 20.25},
                                 caps={"month": 50.0}, projected={"month": 48.1}, rules_in_force=1,
                                 outcomes={"budget": 4, "scale-up": 2}, budget_held=5))
    promtool_ok(text)
    for line in ('autoscaler_cost_per_hour{currency="CHF"} 0.0834',
                 'autoscaler_spend{currency="CHF",period="day"} 1.5',
                 'autoscaler_spend{currency="CHF",period="month"} 20.25',
                 'autoscaler_budget_cap{currency="CHF",period="month"} 50.0',
                 'autoscaler_budget_projected{currency="CHF",period="month"} 48.1',
                 'autoscaler_outcomes_total{outcome="budget"} 4.0', "autoscaler_budget_held_total 5.0",
                 "autoscaler_schedule_rules_in_force 1.0"):
        assert line in text, line
    assert 'period="day"} ' not in text.split("autoscaler_budget_cap")[1].split("# HELP")[0]
