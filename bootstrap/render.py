"""Render the Prometheus alerting rules and Alertmanager config from bootstrap/alerting/alerts.json.

Stdlib only, so the sandbox can import it without extra packages:

    from bootstrap.render import render_prometheus_rules, render_alertmanager_config

The same alerts.json feeds the Grafana rules that terraform renders (terraform/modules/bootstrap),
so thresholds, `for` durations, labels and notification intervals have exactly one source.
Run as a script to print both documents: `python bootstrap/render.py [webhook_url [token]]`.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent / "alerting" / "alerts.json"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8090/webhook"
IN_FLIGHT_DEMAND = "demand"  # the demand signal that counts requests in flight (alerts.json)


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """Read the shared alert specification."""
    return json.loads(path.read_text())


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # JSON strings are valid double-quoted YAML scalars.
    return json.dumps(str(value))


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small block-style YAML emitter for dicts, lists and scalars."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            elif isinstance(item, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(item, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body.lstrip()}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return "\n".join(lines)


# `${name}` in a signal stands for thresholds[name]; terraform resolves the same syntax
# (alerting.tf), so a threshold used inside a query still has one source.
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def signal(spec: dict[str, Any], name: str) -> str:
    """The PromQL of a signal with its `${threshold}` placeholders filled in."""
    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in spec["thresholds"]:
            raise KeyError(f"signal {name} uses ${{{key}}}, which is not a threshold")
        return _scalar(spec["thresholds"][key])
    expr = _PLACEHOLDER.sub(fill, spec["signals"][name])
    if "$" in expr:  # terraform splits on every `$`: refuse here what it would refuse there
        raise ValueError(f"signal {name} has a `$` that is not a ${{threshold}} placeholder")
    return expr


def with_demand_signal(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of `spec` whose scale-up alert sends signal `name` as its demand (scale_value).

    The deployment sends `demand` (requests in flight, http-load-generator's figure); the sandbox's
    processor-sharing app uses `demand_cpu_bound` (see the comment in alerts.json).
    """
    if name not in spec["signals"]:
        raise KeyError(f"no signal {name!r} in the alert spec")
    trend = {"trend_signal": f"{name}_trend"} if f"{name}_trend" in spec["signals"] else {}
    alerts = [{**_without_cpu(a, name), "demand_signal": name, **trend}
              if a.get("labels", {}).get("scale") == "up" else a for a in spec["alerts"]]
    return {**spec, "alerts": alerts}


def _without_cpu(alert: dict[str, Any], demand_signal: str) -> dict[str, Any]:
    """The alert without its cpu_signal unless the demand is requests in flight (`demand`): the
    scaler reads scale_cpu beside scale_value as a spread of requests over members."""
    if demand_signal == IN_FLIGHT_DEMAND:
        return alert
    return {k: v for k, v in alert.items() if k != "cpu_signal"}


def _query_annotation(expr: str, fmt: str) -> str:
    return "{{ with query `" + expr + "` }}{{ . | first | value | printf \"" + fmt + "\" }}{{ end }}"


def demand_annotation(expr: str) -> str:
    """Prometheus template that evaluates the demand signal and prints it with three decimals."""
    return _query_annotation(expr, "%.3f")


def members_annotation(expr: str) -> str:
    """Prometheus template that evaluates the members signal and prints it as an integer."""
    return _query_annotation(expr, "%.0f")


def trend_annotation(expr: str) -> str:
    """Prometheus template that evaluates the trend signal and prints it with five decimals."""
    return _query_annotation(expr, "%.5f")


def prometheus_rule_group(spec: dict[str, Any]) -> dict[str, Any]:
    """The rule group as plain data (also used by tests)."""
    rules = []
    for alert in spec["alerts"]:
        threshold = spec["thresholds"][alert["threshold"]]
        rule: dict[str, Any] = {
            "alert": alert["name"],
            "expr": f"({signal(spec, alert['signal'])}) {alert['op']} {threshold}",
            "for": alert["for"],
            "labels": dict(alert["labels"]),
            "annotations": {"summary": alert["summary"]},
        }
        if alert.get("demand_signal"):
            rule["annotations"]["scale_value"] = demand_annotation(signal(spec, alert["demand_signal"]))
        if alert.get("members_signal"):
            rule["annotations"]["scale_members"] = members_annotation(signal(spec, alert["members_signal"]))
        if alert.get("trend_signal"):
            rule["annotations"]["scale_trend"] = trend_annotation(signal(spec, alert["trend_signal"]))
        if alert.get("cpu_signal"):
            rule["annotations"]["scale_cpu"] = _query_annotation(signal(spec, alert["cpu_signal"]), "%.3f")
        rules.append(rule)
    return {"name": "autoscaler", "interval": spec["evaluation_interval"], "rules": rules}


def render_prometheus_rules(spec: dict[str, Any] | None = None) -> str:
    """YAML text of the Prometheus alerting rules (scaling and self-monitoring) for the `pool` job.

    `spec` defaults to alerts.json; the sandbox passes a time-compressed copy for `--fast`.
    """
    spec = spec or load_spec()
    header = "# Generated by bootstrap/render.py from bootstrap/alerting/alerts.json; do not edit.\n"
    return header + to_yaml({"groups": [prometheus_rule_group(spec)]}) + "\n"


def render_alertmanager_config(webhook_url: str = DEFAULT_WEBHOOK_URL, token: str | None = None,
                               spec: dict[str, Any] | None = None) -> str:
    """YAML text of an Alertmanager config: scaling alerts to the scaler's webhook, self-monitoring
    warnings to an `operator` receiver with no integration (the sandbox has no person to notify;
    Grafana sends them to the operator contact point instead)."""
    note = (spec or load_spec())["notification"]
    operator = note["operator"]
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True, "max_alerts": 0}
    if token:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    config = {
        "route": {
            "receiver": "autoscaler",
            "group_by": list(note["group_by"]),
            "group_wait": note["group_wait"],
            "group_interval": note["group_interval"],
            "repeat_interval": note["repeat_interval"],
            "routes": [{
                "receiver": "operator",
                "matchers": [f'{name}{op}"{value}"' for name, op, value in operator["matchers"]],
                "group_by": list(operator["group_by"]),
                "group_wait": operator["group_wait"],
                "group_interval": operator["group_interval"],
                "repeat_interval": operator["repeat_interval"],
            }],
        },
        "receivers": [{"name": "autoscaler", "webhook_configs": [webhook]}, {"name": "operator"}],
    }
    header = "# Generated by bootstrap/render.py from bootstrap/alerting/alerts.json; do not edit.\n"
    return header + to_yaml(config) + "\n"


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_WEBHOOK_URL
    tok = sys.argv[2] if len(sys.argv) > 2 else None
    sys.stdout.write(render_prometheus_rules())
    sys.stdout.write("---\n")
    sys.stdout.write(render_alertmanager_config(url, tok))
