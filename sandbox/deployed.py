"""The deployment's own timers and thresholds, read from the files that deploy them.

The benchmark's pipeline model (benchmarks/pipeline.py) and the sandbox's "real" timings
(sandbox/timings.py) take every number of the alerting chain from here, so none is typed twice:
- bootstrap/alerting/alerts.json: thresholds, rule evaluation interval (Grafana evaluates the
  scaling rules), the rate window of the CPU signal, the trend's subquery window and step, each scaling alert's `for`,
  and the notification cadence;
- bootstrap/prometheus/prometheus.yml: the scrape interval;
- bootstrap/systemd/autoscaler-tick.timer and autoscaler-sd.timer: how often they run.
"""
from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bootstrap.render import load_spec

BOOTSTRAP = Path(__file__).resolve().parent.parent / "bootstrap"
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text: str) -> int:
    """A Prometheus or systemd duration ("15s", "1m", "1h30m") in whole seconds."""
    parts = _DURATION.findall(text.strip().replace(" ", ""))
    if not parts or "".join(n + u for n, u in parts) != text.strip().replace(" ", ""):
        raise ValueError(f"unsupported duration {text!r}")
    return round(sum(int(n) * _UNITS[u] for n, u in parts))


def timer_period_s(path: Path) -> int:
    """How often a systemd timer fires: OnUnitActiveSec=, or an OnCalendar= every minute."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # unit keys are case-sensitive
    unit.read(path)
    timer = unit["Timer"]
    if "OnUnitActiveSec" in timer:
        return seconds(timer["OnUnitActiveSec"])
    calendar = timer.get("OnCalendar", "")
    if re.fullmatch(r"(\*-\*-\* )?\*:\*:\d\d", calendar.strip()):
        return 60
    raise ValueError(f"{path.name}: cannot tell the period of OnCalendar={calendar!r}")


@dataclass(frozen=True)
class Deployed:
    scrape_s: int
    eval_s: int
    rate_window_s: int
    trend_window_s: int      # the scale-up trend's subquery [window:step]
    trend_step_s: int
    for_s: int               # the scale-up alert's `for`
    down_for_s: int          # the scale-down alert's
    group_wait_s: int
    group_interval_s: int
    repeat_s: int
    tick_s: int
    sd_s: int
    scale_up_cpu: float
    scale_down_cpu: float
    saturated_cpu: float
    trend_noise_z: float     # standard errors the scale-up trend signal takes off its slope


@cache
def read(bootstrap: Path = BOOTSTRAP) -> Deployed:
    spec = load_spec(bootstrap / "alerting" / "alerts.json")
    prometheus = yaml.safe_load((bootstrap / "prometheus" / "prometheus.yml").read_text())
    window = re.search(r"\[(\w+)\]", spec["signals"]["cpu"])
    if window is None:
        raise ValueError("alerts.json: the cpu signal has no [window]")
    high = next(a for a in spec["alerts"] if a.get("labels", {}).get("scale") == "up")
    low = next(a for a in spec["alerts"] if a.get("labels", {}).get("scale") == "down")
    subquery = re.search(r"\[(\w+):(\w+)\]", spec["signals"][high["trend_signal"]])
    if subquery is None:
        raise ValueError(f"alerts.json: the trend signal {high['trend_signal']} has no [window:step]")
    note, limits = spec["notification"], spec["thresholds"]
    return Deployed(
        scrape_s=seconds(prometheus["global"]["scrape_interval"]),
        eval_s=seconds(spec["evaluation_interval"]), rate_window_s=seconds(window.group(1)),
        trend_window_s=seconds(subquery.group(1)), trend_step_s=seconds(subquery.group(2)),
        for_s=seconds(high["for"]), down_for_s=seconds(low["for"]), group_wait_s=seconds(note["group_wait"]),
        group_interval_s=seconds(note["group_interval"]),
        repeat_s=seconds(note["repeat_interval"]),
        tick_s=timer_period_s(bootstrap / "systemd" / "autoscaler-tick.timer"),
        sd_s=timer_period_s(bootstrap / "systemd" / "autoscaler-sd.timer"),
        scale_up_cpu=limits["scale_up_cpu"], scale_down_cpu=limits["scale_down_cpu"],
        saturated_cpu=limits["saturated_cpu"], trend_noise_z=limits["trend_noise_z"])
