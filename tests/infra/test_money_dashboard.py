"""The operator's money and actions on the dashboard and in the alerts: the budget alert fires and
resolves (promtool), the annotation queries mark every counted outcome exactly once (promtool's PromQL
tests), and the dashboard reads only metrics the tick exports."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bootstrap.render import render_prometheus_rules, signal
from functions.scaler.tick import metrics
from tests.infra.conftest import tool

STEP = "1m"   # what Grafana substitutes for $__interval at the annotations' 60 s step


def annotations(rendered: dict) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in json.loads(rendered["dashboard"])["annotations"]["list"]}


def promtool_test(tmp: Path, tests: list[dict[str, Any]], rules: str | None = None,
                  evaluation_interval: str = "20s") -> None:
    files = []
    if rules is not None:
        (tmp / "rules.yml").write_text(rules)
        files = ["rules.yml"]
    spec = {"rule_files": files, "evaluation_interval": evaluation_interval, "tests": tests}
    (tmp / "test.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    proc = subprocess.run([tool("promtool"), "test", "rules", "test.yml"], cwd=tmp, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr


def test_the_budget_alert_goes_to_a_person_and_reads_the_held_counter(alert_spec: dict) -> None:
    (rule,) = [a for a in alert_spec["alerts"] if a["signal"] == "budget_held"]
    assert rule["labels"] == {"severity": "warning"}              # the operator's route, never the scaler
    assert rule["op"] == ">" and alert_spec["thresholds"][rule["threshold"]] == 0
    assert metrics.TYPES["autoscaler_budget_held_total"] == "counter"
    assert "autoscaler_budget_held_total" in signal(alert_spec, "budget_held")


def test_the_budget_alert_fires_on_a_hold_and_resolves_15_minutes_after_the_last(tmp_path: Path,
                                                                               alert_spec: dict) -> None:
    (rule,) = [a for a in alert_spec["alerts"] if a["signal"] == "budget_held"]
    firing = [{"exp_labels": {"alertname": rule["name"], "severity": "warning"},
               "exp_annotations": {"summary": rule["summary"]}}]
    promtool_test(tmp_path, [
        {   # held once at 5 min (scraped every 5 s): fires at once, for 15 minutes, then resolves
            "interval": "5s",
            "input_series": [{"series": "autoscaler_budget_held_total", "values": "0x59 1x300"}],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": rule["name"], "exp_alerts": []},
                {"eval_time": "5m20s", "alertname": rule["name"], "exp_alerts": firing},
                {"eval_time": "19m", "alertname": rule["name"], "exp_alerts": firing},
                {"eval_time": "21m", "alertname": rule["name"], "exp_alerts": []},
            ],
        },
        {   # a cap that never binds: a flat counter never fires, nor does a counter reset
            "interval": "5s",
            "input_series": [{"series": "autoscaler_budget_held_total", "values": "3x120 0x120"}],
            "alert_rule_test": [{"eval_time": t, "alertname": rule["name"], "exp_alerts": []}
                                for t in ("5m", "10m", "15m", "20m")],
        },
    ], render_prometheus_rules(), alert_spec["evaluation_interval"])


# --- annotations ---------------------------------------------------------------------------

def test_annotations_cover_every_action_and_refusal_with_grafanas_fields(rendered: dict) -> None:
    found = annotations(rendered)
    assert set(found) == {"Scaling actions", "Refusals (bounds, cooldown, budget) and failed scaling calls"}
    marked: list[str] = []
    for name, anno in found.items():
        # Grafana's Prometheus annotation fields (grafana/grafana packages/grafana-prometheus/src/
        # annotations.ts: expr and step move into target, the formats and tagKeys are read as they are)
        assert anno["datasource"] == {"type": "prometheus", "uid": "prometheus"} and anno["enable"] is True
        assert anno["step"] == "60s" and anno["tagKeys"] == "outcome" and anno["useValueForTime"] is False
        assert anno["titleFormat"] == "{{outcome}}" and "{{" in anno["textFormat"]
        # a counter per outcome, the increase of one step: no reason label on any counter
        (selector,) = set(re.findall(r'autoscaler_outcomes_total\{outcome=~"([^"]+)"\}', anno["expr"]))
        assert "offset $__interval > 0" in anno["expr"], name
        marked += selector.split("|")
    assert sorted(marked) == sorted(metrics.ACTIONS + metrics.REFUSALS)
    assert set(marked) <= set(metrics.OUTCOMES)
    assert found["Scaling actions"]["textFormat"] == "{{reason}}"     # the reason of the action, from
    assert "autoscaler_last_action_info" in found["Scaling actions"]["expr"]    # the existing info metric


def series(outcome: str, values: str) -> dict[str, str]:
    return {"series": f'autoscaler_outcomes_total{{outcome="{outcome}"}}', "values": values}


def test_each_counted_outcome_is_marked_once_at_the_step_that_saw_it(tmp_path: Path, rendered: dict) -> None:
    found = annotations(rendered)
    refusals = found["Refusals (bounds, cooldown, budget) and failed scaling calls"]["expr"].replace(
        "$__interval", STEP)
    actions = found["Scaling actions"]["expr"].replace("$__interval", STEP)
    # scraped every 15 s: budget +1 at 75 s (not on a minute), cooldown +1 at 120 s and +2 more at 195 s
    # and 210 s (one step, one mark of value 2), a counter reset at 300 s is no event; scale-up at 135 s
    tests = [{
        "interval": "15s",
        "input_series": [
            series("budget", "0x4 1x40"), series("cooldown", "0x7 1x4 2 3x6 0x20"),
            series("at-bound", "0x40"), series("scale-up", "0x8 1x40"), series("scale-down", "0x40"),
            {"series": 'autoscaler_last_action_info{action="none",reason=""}', "values": "1x8 stale"},
            {"series": 'autoscaler_last_action_info{action="scale-up",reason="2 up request(s)"}',
             "values": "_x8 1x40"},
        ],
        "promql_expr_test": [
            *({"expr": refusals, "eval_time": f"{m}m", "exp_samples": samples}
              for m, samples in [(1, []), (2, [{"labels": '{outcome="budget"}', "value": 1},
                                               {"labels": '{outcome="cooldown"}', "value": 1}]),
                                 (3, []), (4, [{"labels": '{outcome="cooldown"}', "value": 2}]),
                                 (5, []), (6, []), (7, [])]),
            *({"expr": actions, "eval_time": f"{m}m", "exp_samples": samples}
              for m, samples in [(2, []), (3, [{"labels": '{outcome="scale-up",reason="2 up request(s)"}',
                                                "value": 1}]), (4, [])]),
        ],
    }]
    promtool_test(tmp_path, tests)


def test_every_autoscaler_metric_the_dashboard_reads_is_exported(rendered: dict) -> None:
    dashboard = json.loads(rendered["dashboard"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"]]
    # the tick's metrics (discovery and the boot scripts export their own autoscaler_sd_/_boot_ ones)
    used = {m for e in exprs for m in re.findall(r"\b(autoscaler_[a-z_]+)", e)
            if not m.startswith(("autoscaler_sd_", "autoscaler_boot_"))}
    exported = set(metrics.HELP)
    assert used <= exported, used - exported
    titles = " ".join(p["title"] for p in dashboard["panels"])
    for words in ("Cost per hour", "Budget: spent, projected", "Budget state", "Outcomes"):
        assert words in titles
