"""Prometheus side: the VM's config, the rendered rules (promtool check + unit tests proving each alert
fires and resolves at the right values) and the rendered Alertmanager config (amtool)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from benchmarks.exporters import trend_net_of_noise
from bootstrap.render import (
    prometheus_rule_group,
    render_alertmanager_config,
    render_prometheus_rules,
    signal,
    with_demand_signal,
)
from sandbox import monitoring, timings
from tests.infra.conftest import BOOTSTRAP_DIR, tool

IDLE = 'node_cpu_seconds_total{job="pool",instance="10.0.0.1:9100",cpu="0",mode="idle"}'
LOAD = 'node_load1{job="pool",instance="10.0.0.1:9100"}'


def idle(n: int, cpu: int = 0) -> str:
    """The idle counter of vCPU `cpu` on pool instance number n (1-based)."""
    return f'node_cpu_seconds_total{{job="pool",instance="10.0.0.{n}:9100",cpu="{cpu}",mode="idle"}}'


def load(n: int) -> str:
    return f'node_load1{{job="pool",instance="10.0.0.{n}:9100"}}'


# Prometheus' own process start (its self-scrape, job "prometheus" in bootstrap/prometheus/prometheus.yml)
PROMETHEUS_START = 'process_start_time_seconds{job="prometheus",instance="127.0.0.1:9090"}'


def estab(n: int) -> str:
    """node_netstat_Tcp_CurrEstab of pool instance number n (1-based)."""
    return f'node_netstat_Tcp_CurrEstab{{job="pool",instance="10.0.0.{n}:9100"}}'


PROMETHEUS_BINARY = monitoring.PROMETHEUS
SCRAPE_S = 5      # bootstrap/prometheus/prometheus.yml's scrape_interval, as the series below are written
N = 240           # samples per series: 20 minutes at 5 s


def idle_series(busy: float, samples: int = N) -> str:
    """A one-vCPU idle counter scraped every 5 s whose rate gives the given busy fraction (from
    1000, as a host's is: rate() does not extrapolate a window's start past a counter's zero)."""
    return f"1000+{round((1 - busy) * SCRAPE_S, 6)}x{samples}"


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


def includes_window_start() -> bool:
    """Prometheus 2 selects a range's start sample too, Prometheus 3 does not (prometheus/prometheus
    CHANGELOG.md, 3.0.0: "Range selectors and the lookback delta are now left-open")."""
    version = run([tool("promtool"), "--version"]).stdout.split()[2]
    return int(version.split(".")[0]) < 3


def write_rules(tmp: Path, spec: dict | None = None) -> Path:
    path = tmp / "autoscaler.rules.yml"
    path.write_text(render_prometheus_rules(spec))
    return path


def promtool_test(tmp: Path, rules: Path, tests: list[dict], evaluation_interval: str) -> None:
    spec = {"rule_files": [rules.name], "evaluation_interval": evaluation_interval, "tests": tests}
    test_file = tmp / "autoscaler.test.yml"
    test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    proc = run([tool("promtool"), "test", "rules", test_file.name], cwd=tmp)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr


def test_vm_prometheus_config_is_valid_and_scrapes_the_pool_job(tmp_path: Path, alert_spec: dict) -> None:
    source = BOOTSTRAP_DIR / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(source.read_text())
    pool = next(j for j in config["scrape_configs"] if j["job_name"] == alert_spec["pool_job"])
    assert pool["file_sd_configs"][0]["files"] == ["/var/lib/autoscaler/file_sd/pool.json"]
    # Check it together with the rules, as the sandbox loads them.
    config["rule_files"] = [str(write_rules(tmp_path))]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    proc = run([tool("promtool"), "check", "config", str(checked)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_rules_come_from_the_shared_spec(alert_spec: dict) -> None:
    group = prometheus_rule_group(alert_spec)
    assert group["interval"] == alert_spec["evaluation_interval"]
    for rule, alert in zip(group["rules"], alert_spec["alerts"], strict=True):
        threshold = alert_spec["thresholds"][alert["threshold"]]
        assert rule["alert"] == alert["name"]
        assert rule["expr"].endswith(f" {alert['op']} {threshold}")
        assert rule["for"] == alert["for"] and rule["labels"] == alert["labels"]
        # the pool's members for the CPU alerts; the tick's age also knows the pools by their targets
        assert ('job="pool"' in rule["expr"]) == ("cpu" in alert["signal"] or alert["signal"] == "tick_age")
    scale = {r["labels"]["scale"]: r for r in group["rules"] if "scale" in r["labels"]}
    assert set(scale) == {"up", "down"}
    assert all("scale_value" in r["annotations"] for r in scale.values())
    assert all("scale_members" in r["annotations"] for r in scale.values())
    members = signal(alert_spec, "members")
    assert all(members in r["annotations"]["scale_members"] and '"%.0f"' in r["annotations"]["scale_members"]
               for r in scale.values())
    # The members are counted, per pool, over exactly the instance set the cpu signal averages.
    by_pool = "count by (pool) ("
    assert members.startswith(by_pool) and members[len(by_pool):-1] in alert_spec["signals"]["cpu"]


def test_demand_is_requests_in_flight_with_cpu_as_the_fallback(alert_spec: dict) -> None:
    signals = alert_spec["signals"]
    in_flight = signal(alert_spec, "in_flight")
    assert "node_netstat_Tcp_CurrEstab" in in_flight and "- 1, 0)" in in_flight  # the scrape's own connection
    demand = signal(alert_spec, "demand")
    assert demand.startswith("max by (pool) (") and f"label_replace(({signals['cpu']})," in demand
    assert f" or label_replace(({in_flight})," in demand
    up = next(a for a in alert_spec["alerts"] if a["labels"].get("scale") == "up")
    down = next(a for a in alert_spec["alerts"] if a["labels"].get("scale") == "down")
    assert (up["demand_signal"], up["signal"]) == ("demand", "cpu")  # the trigger stays CPU
    # Scale-down reads CPU alone: the in-flight and load averages lag a drop by their windows.
    assert down["demand_signal"] == "cpu"
    for rule in prometheus_rule_group(alert_spec)["rules"]:
        assert "${" not in json.dumps(rule)


def test_cpu_bound_demand_counts_load_only_from_the_saturated_cpu_threshold(alert_spec: dict) -> None:
    assert alert_spec["thresholds"]["saturated_cpu"] == 0.95
    assert "${saturated_cpu}" in alert_spec["signals"]["demand_cpu_bound"]
    demand = signal(alert_spec, "demand_cpu_bound")
    assert ">= 0.95)" in demand and "${" not in demand
    swapped = with_demand_signal(alert_spec, "demand_cpu_bound")
    assert [a.get("demand_signal") for a in swapped["alerts"]][:2] == ["demand_cpu_bound", "cpu"]
    assert [a.get("trend_signal") for a in swapped["alerts"]][:2] == ["demand_cpu_bound_trend", None]
    # scale_cpu is read beside requests in flight only: a CPU-bound app's rules do not send it
    assert alert_spec["alerts"][0]["cpu_signal"] == "cpu"
    assert [a.get("cpu_signal") for a in swapped["alerts"]][:2] == [None, None]
    assert alert_spec["alerts"][0]["demand_signal"] == "demand"  # the spec itself is untouched
    with pytest.raises(KeyError, match="no signal 'load'"):
        with_demand_signal(alert_spec, "load")


def test_a_signal_names_a_threshold_by_value_and_a_signal_in_parentheses() -> None:
    spec = {"thresholds": {"z": 3, "cap": 0.5},
            "signals": {"a": "x - y", "b": "${z} * ${a}", "c": "max(${b}) > ${cap}", "d": "${c} or ${b}",
                        "e": "${d}", "loop": "1 + ${loop}", "typo": "${nope}", "cash": "$5"}}
    assert signal(spec, "b") == "3 * (x - y)"
    assert signal(spec, "c") == "max((3 * (x - y))) > 0.5"
    assert signal(spec, "d") == "(max((3 * (x - y))) > 0.5) or (3 * (x - y))"
    with pytest.raises(ValueError, match="more than 3 signals deep"):
        signal(spec, "e")   # e → d → c → b → a: deeper than terraform's two passes resolve
    with pytest.raises(ValueError, match="more than 3 signals deep"):
        signal(spec, "loop")
    with pytest.raises(KeyError, match="neither a threshold nor a signal"):
        signal(spec, "typo")
    with pytest.raises(ValueError, match="not a \\$\\{name\\} placeholder"):
        signal(spec, "cash")


def test_promtool_check_rules(tmp_path: Path) -> None:
    proc = run([tool("promtool"), "check", "rules", str(write_rules(tmp_path))])
    assert proc.returncode == 0 and "SUCCESS: 6 rules found" in proc.stdout, proc.stdout + proc.stderr


def alert(name: str, labels: dict, annotations: dict) -> dict:
    return {"exp_labels": {"alertname": name, **labels}, "exp_annotations": annotations}


# Both stale warnings quiet just before their thresholds (3 and 2 minutes) and firing just after,
# counted from the last success or, when there never was one, from Prometheus' start.
STALE_AFTER_THRESHOLDS = [
    {"eval_time": "160s", "alertname": "AutoscalerTickStale", "exp_alerts": []},
    {"eval_time": "200s", "alertname": "AutoscalerTickStale",
     "exp_alerts": [alert("AutoscalerTickStale", {"severity": "warning"},
                          {"summary": "The scaler tick has not succeeded for more than 3 minutes"})]},
    {"eval_time": "100s", "alertname": "AutoscalerDiscoveryStale", "exp_alerts": []},
    {"eval_time": "140s", "alertname": "AutoscalerDiscoveryStale",
     "exp_alerts": [alert("AutoscalerDiscoveryStale", {"severity": "warning"},
                          {"summary": "Service discovery has not succeeded for more than 2 minutes"})]},
]


def test_promtool_unit_tests_fire_and_resolve_at_the_thresholds(tmp_path: Path, alert_spec: dict) -> None:
    rules = write_rules(tmp_path)
    up = next(a for a in alert_spec["alerts"] if a["labels"].get("scale") == "up")
    down = next(a for a in alert_spec["alerts"] if a["labels"].get("scale") == "down")
    assert alert_spec["thresholds"][up["threshold"]] == 0.8 and up["for"] == "10s"
    assert alert_spec["evaluation_interval"] == "10s"
    assert alert_spec["thresholds"][down["threshold"]] == 0.2 and down["for"] == "1m"
    # scale_trend: deriv() of the pool's requests in flight less its noise; NaN (what the receiver
    # reads as absent) without the netstat figure. The benchmark's model of it must read what Prometheus reads.
    steps = [(t, 3.0 if t == 90 else 2.0 if t % 10 == 5 else 4.0) for t in range(90, 121, 5)]
    in_window = steps if includes_window_start() else steps[1:]
    alternating_trend = trend_net_of_noise(in_window, alert_spec["thresholds"]["trend_noise_z"])
    assert alternating_trend is not None and alternating_trend < 0
    hi = {"summary": up["summary"], "scale_members": "1", "scale_trend": "NaN"}
    steady = {**hi, "scale_trend": "0.00000"}
    lo = {"summary": down["summary"], "scale_members": "1"}
    tests = [
        {   # 0.81 busy: rate() has two samples from 5 s, so the evaluation at 10 s sees it (pending)
            # and the next, `for: 10s` later, fires; demand annotation = CPU
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.81)}, {"series": LOAD, "values": f"0.5x{N}"}],
            "alert_rule_test": [
                {"eval_time": "10s", "alertname": "PoolCpuHigh", "exp_alerts": []},
                # (0.857 at 20 s: the series is younger than the window, so rate() extrapolates its
                # start by half an interval only, 3.8 × 22.5/20 idle seconds over 30 s)
                {"eval_time": "20s", "alertname": "PoolCpuHigh",
                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"},
                                      {**hi, "scale_value": "0.857", "scale_cpu": "0.857"})]},
                {"eval_time": "2m", "alertname": "PoolCpuHigh",
                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "0.810",
                                                                       "scale_cpu": "0.810"})]},
                {"eval_time": "2m", "alertname": "PoolCpuLow", "exp_alerts": []},
            ],
        },
        {   # 0.79 busy never scales up
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.79)}],
            "alert_rule_test": [{"eval_time": "10m", "alertname": "PoolCpuHigh", "exp_alerts": []}],
        },
        {   # saturated (CPU 0.97): 3 requests in flight (CurrEstab 4 = 3 + the scrape) keep growing past 1
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.97)}, {"series": LOAD, "values": f"1x{N}"},
                             {"series": estab(1), "values": f"4x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**steady, "scale_value": "3.000", "scale_cpu": "0.970"})]}],
        },
        {   # requests in flight rising by 0.05 every 5 s scrape: the trend is 0.01 members' worth/s
            # (scale_value: the 30 s window's mean of CurrEstab - 1, 2.05 at 120 s with its start
            # sample included as in Prometheus 2)
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.97)},
                             {"series": estab(1), "values": f"3+0.05x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "3.050", "scale_trend": "0.01000",
                                                       "scale_cpu": "0.970"})]}],
        },
        {   # a second member joins at 75 s and takes half the requests: the pool's total (what the
            # trend follows) stays 4, so the trend stays 0 while the per-member figure halves
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(1), "values": idle_series(0.97)},
                             {"series": idle(2), "values": "_x15 " + idle_series(0.97, N - 15)},
                             {"series": estab(1), "values": f"5x14 3x{N - 15}"},
                             {"series": estab(2), "values": f"_x15 3x{N - 15}"}],
            "alert_rule_test": [{"eval_time": "3m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"},
                      {**hi, "scale_value": "2.000", "scale_members": "2", "scale_trend": "0.00000",
                       "scale_cpu": "0.970"})]}],
        },
        {   # in flight averaged over the rules' window, not the last scrape: 2 and 4 requests in turn
            # → 3 (the step at 90 s, inside the window in Prometheus 2 only, is 3 itself). The
            # trend's slope through that scatter is noise: with its standard errors taken off it
            # reads below zero, so the scaler sizes for the measured demand alone.
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.99)},
                             {"series": estab(1), "values": "4x18 " + " ".join(["3 5"] * (N // 2))}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"},
                      {**hi, "scale_value": "3.000", "scale_trend": f"{alternating_trend:.5f}",
                       "scale_cpu": "0.990"})]}],
        },
        {   # only the scrape's connection (CPU used by something that is not a request): CPU is larger
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.81)}, {"series": estab(1), "values": f"1x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**steady, "scale_value": "0.810", "scale_cpu": "0.810"})]}],
        },
        {   # a counter below the scrape's own connection never makes demand negative
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.9)}, {"series": estab(1), "values": f"0x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**steady, "scale_value": "0.900", "scale_cpu": "0.900"})]}],
        },
        {   # two instances at 0.85 with a high load1 (what just after a scale-up looks like):
            # scale_value is the CPU, not the load, and scale_members counts both instances
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(n), "values": idle_series(0.85)} for n in (1, 2)]
                            + [{"series": load(n), "values": f"3x{N}"} for n in (1, 2)],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh",
                                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"},
                                                      {**hi, "scale_value": "0.850", "scale_members": "2",
                                                       "scale_cpu": "0.850"})]}],
        },
        {   # two saturated instances with 2 and 1 requests in flight: 1.5 per member over 2 members
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(n), "values": idle_series(0.98)} for n in (1, 2)]
                            + [{"series": estab(1), "values": f"3x{N}"}, {"series": estab(2), "values": f"2x{N}"}]
                            + [{"series": load(n), "values": f"1x{N}"} for n in (1, 2)],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh",
                                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"},
                                                      {**steady, "scale_value": "1.500", "scale_members": "2",
                                                       "scale_cpu": "0.980"})]}],
        },
        {   # blips: 100 % for 15 s (120-135 s) on a half-busy member: the 30 s window's average
            # peaks at 0.75, never above 0.8 (the window filters it)
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": f"0+2.5x24 60x2 62.5+2.5x{N}"}],
            "alert_rule_test": [{"eval_time": f"{t}s", "alertname": "PoolCpuHigh", "exp_alerts": []}
                                for t in range(120, 200, 10)],
        },
        {   # 100 % for 25 s (120-145 s) on a member 20 % busy: above 0.8 at the evaluation at 150 s
            # only (0.87; 0.73 at 140 s, 0.60 at 160 s), so pending once and never firing (`for` filters it)
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": f"0+4x24 96x4 100+4x{N}"}],
            "alert_rule_test": [{"eval_time": f"{t}s", "alertname": "PoolCpuHigh", "exp_alerts": []}
                                for t in range(120, 200, 10)],
        },
        {   # 100 % for 40 s (120-160 s) on a half-busy member: above at 140 s (0.83), firing at 150 s
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": f"0+2.5x24 60x8 62.5+2.5x{N}"}],
            "alert_rule_test": [
                {"eval_time": "140s", "alertname": "PoolCpuHigh", "exp_alerts": []},
                {"eval_time": "150s", "alertname": "PoolCpuHigh", "exp_alerts": [
                    alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "1.000", "scale_cpu": "1.000"})]}],
        },
        {   # high for 3 minutes, then 0.5: the alert resolves
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": f"0+0.95x36 36.7+2.5x{N}"}],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "PoolCpuHigh",
                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "0.810",
                                                                       "scale_cpu": "0.810"})]},
                {"eval_time": "6m", "alertname": "PoolCpuHigh", "exp_alerts": []},
            ],
        },
        {   # 0.19 busy scales down after `for`; 0.21 does not
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.19)}],
            "alert_rule_test": [
                {"eval_time": "40s", "alertname": "PoolCpuLow", "exp_alerts": []},
                {"eval_time": "2m", "alertname": "PoolCpuLow",
                 "exp_alerts": [alert("PoolCpuLow", {"scale": "down"}, {**lo, "scale_value": "0.190"})]},
            ],
        },
        {   # three idle instances scale down with scale_members 3 and the CPU as demand
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(n), "values": idle_series(0.1)} for n in (1, 2, 3)]
                            + [{"series": load(n), "values": f"0.5x{N}"} for n in (1, 2, 3)],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuLow",
                                 "exp_alerts": [alert("PoolCpuLow", {"scale": "down"},
                                                      {**lo, "scale_value": "0.100", "scale_members": "3"})]}],
        },
        {
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.21)}],
            "alert_rule_test": [{"eval_time": "10m", "alertname": "PoolCpuLow", "exp_alerts": []}],
        },
        {   # no data at all (the DatasourceNoData case): nothing scales, nothing fires
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": 'up{job="monitoring"}', "values": f"1x{N}"}],
            "alert_rule_test": [{"eval_time": "10m", "alertname": name, "exp_alerts": []}
                                for name in ("PoolCpuHigh", "PoolCpuLow", "PoolAtMaxOverloaded")],
        },
        {   # self-monitoring: tick and discovery last succeeded at t=0
            "interval": f"{SCRAPE_S}s",
            "input_series": [
                {"series": "autoscaler_tick_last_success_timestamp_seconds", "values": f"0x{N}"},
                {"series": "autoscaler_sd_last_success_timestamp_seconds", "values": f"0x{N}"},
            ],
            "alert_rule_test": STALE_AFTER_THRESHOLDS,
        },
        {   # self-monitoring: neither handler ever succeeded (nothing exported) while Prometheus has
            # run since t=0: each warning fires once that outlasts its threshold
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": PROMETHEUS_START, "values": f"0x{N}"}],
            "alert_rule_test": STALE_AFTER_THRESHOLDS,
        },
        {   # ... and both succeeding at every scrape keep them quiet however long Prometheus has run
            "interval": f"{SCRAPE_S}s",
            "input_series": [
                {"series": PROMETHEUS_START, "values": f"0x{N}"},
                {"series": "autoscaler_tick_last_success_timestamp_seconds", "values": f"0+{SCRAPE_S}x{N}"},
                {"series": "autoscaler_sd_last_success_timestamp_seconds", "values": f"0+{SCRAPE_S}x{N}"},
            ],
            "alert_rule_test": [{"eval_time": "15m", "alertname": name, "exp_alerts": []}
                                for name in ("AutoscalerTickStale", "AutoscalerDiscoveryStale")],
        },
        {   # pool at its maximum and still above the scale-up threshold for 5 minutes
            "interval": f"{SCRAPE_S}s",
            "input_series": [
                {"series": IDLE, "values": idle_series(0.9)},
                {"series": "autoscaler_pool_size", "values": f"4x{N}"},
                {"series": "autoscaler_pool_max_size", "values": f"4x{N}"},
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "PoolAtMaxOverloaded", "exp_alerts": []},
                {"eval_time": "7m", "alertname": "PoolAtMaxOverloaded",
                 "exp_alerts": [alert("PoolAtMaxOverloaded", {"severity": "warning"},
                                      {"summary": "The pool is at its maximum size and still overloaded"})]},
            ],
        },
        {   # below the maximum, the same load only scales
            "interval": f"{SCRAPE_S}s",
            "input_series": [
                {"series": IDLE, "values": idle_series(0.9)},
                {"series": "autoscaler_pool_size", "values": f"3x{N}"},
                {"series": "autoscaler_pool_max_size", "values": f"4x{N}"},
            ],
            "alert_rule_test": [{"eval_time": "10m", "alertname": "PoolAtMaxOverloaded", "exp_alerts": []}],
        },
    ]
    promtool_test(tmp_path, rules, tests, alert_spec["evaluation_interval"])


def test_promtool_cpu_bound_demand_for_the_processor_sharing_app(tmp_path: Path, alert_spec: dict) -> None:
    """The rules the sandbox renders for an app whose request time grows with load: requests in
    flight are ignored there (they grow as u/(1-u)), load1 per core counts once CPU is saturated."""
    rules = write_rules(tmp_path, with_demand_signal(alert_spec, "demand_cpu_bound"))
    up = next(a for a in alert_spec["alerts"] if a["labels"].get("scale") == "up")
    # the trend follows the pool's summed CPU here: steady CPU, no trend
    hi = {"summary": up["summary"], "scale_members": "1", "scale_trend": "0.00000"}
    tests = [
        {   # connections do not count here: 0.85 busy with 6 connections is 0.85
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.85)}, {"series": LOAD, "values": f"0.9x{N}"},
                             {"series": estab(1), "values": f"7x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "0.850"})]}],
        },
        {   # saturated (CPU 0.97 >= 0.95): load per core 2.5 > CPU, so the demand keeps growing past 1
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.97)}, {"series": LOAD, "values": f"2.5x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "2.500"})]}],
        },
        {   # just below saturation (0.94): the lagging load1 does not count, demand = CPU
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": IDLE, "values": idle_series(0.94)}, {"series": LOAD, "values": f"2.5x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
                alert("PoolCpuHigh", {"scale": "up"}, {**hi, "scale_value": "0.940"})]}],
        },
        {   # two saturated instances: load per core (4 and 2 on one vCPU each, avg 3) is the demand
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(n), "values": idle_series(0.98)} for n in (1, 2)]
                            + [{"series": load(1), "values": f"4x{N}"}, {"series": load(2), "values": f"2x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh",
                                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"},
                                                      {**hi, "scale_value": "3.000", "scale_members": "2"})]}],
        },
        {   # members are instances, not vCPUs: one 2-vCPU instance (load 5 → 2.5 per core) and
            # two 1-vCPU ones, all saturated → 3 members, load per core avg (2.5 + 1.5 + 1.0) / 3
            "interval": f"{SCRAPE_S}s",
            "input_series": [{"series": idle(1, cpu), "values": idle_series(0.97)} for cpu in (0, 1)]
                            + [{"series": idle(n), "values": idle_series(0.97)} for n in (2, 3)]
                            + [{"series": load(1), "values": f"5x{N}"}, {"series": load(2), "values": f"1.5x{N}"},
                               {"series": load(3), "values": f"1x{N}"}],
            "alert_rule_test": [{"eval_time": "2m", "alertname": "PoolCpuHigh",
                                 "exp_alerts": [alert("PoolCpuHigh", {"scale": "up"},
                                                      {**hi, "scale_value": "1.667", "scale_members": "3"})]}],
        },
    ]
    promtool_test(tmp_path, rules, tests, alert_spec["evaluation_interval"])


def test_alertmanager_config_checks_and_matches_the_spec(tmp_path: Path, alert_spec: dict) -> None:
    for token in ("s3cret-token", None):
        path = tmp_path / "alertmanager.yml"
        path.write_text(render_alertmanager_config("http://127.0.0.1:8090/webhook", token))
        proc = run([tool("amtool"), "check-config", str(path)])
        assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr
        config = yaml.safe_load(path.read_text())
        route, note = config["route"], alert_spec["notification"]
        for key in ("group_wait", "group_interval", "repeat_interval", "group_by"):
            assert route[key] == note[key], key
        hook = config["receivers"][0]["webhook_configs"][0]
        assert hook["url"] == "http://127.0.0.1:8090/webhook"
        if token:
            assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": token}
        else:
            assert "http_config" not in hook


# What a pool member exports that the scaling conditions do not need: node exporter's netstat
# collector (requests in flight) and load1. A member without them still has node_cpu_seconds_total.
OPTIONAL_METRICS = ("node_netstat_Tcp_CurrEstab", "node_load1")
# Two pools with different data: two members at 0.9, one at 0.5 (conftest.TWO_POOLS' names).
POOL_MEMBERS = {"web": ((1, 2), 0.9, 3), "batch": ((3,), 0.5, 2)}


def pool_series(pool: str, missing: tuple[str, ...]) -> list[dict]:
    members, busy, value = POOL_MEMBERS[pool]

    def labels(n: int) -> str:
        return f'job="pool",pool="{pool}",instance="10.0.0.{n}:9100"'
    series = [{"series": f'node_cpu_seconds_total{{{labels(n)},cpu="0",mode="idle"}}', "values": idle_series(busy)}
              for n in members]
    return series + [{"series": f"{metric}{{{labels(n)}}}", "values": f"{value}x{N}"}
                     for metric in OPTIONAL_METRICS if metric not in missing for n in members]


def datasource_queries(rule: dict) -> tuple[str, dict[str, str]]:
    """The ref the rule's condition expression reads, and every datasource query by ref."""
    data = {d["refId"]: d for d in rule["data"]}
    queries = {ref: d["model"]["expr"] for ref, d in data.items() if d["datasourceUid"] != "__expr__"}
    return data[rule["condition"]]["model"]["expression"], queries


@pytest.mark.parametrize("rendering", ["rendered", "rendered_two"])
def test_every_query_of_a_grafana_scaling_rule_has_a_result_for_each_pool_whenever_its_condition_does(
        tmp_path: Path, rendering: str, request: pytest.FixtureRequest) -> None:
    """Grafana runs a rule's queries together, and one empty datasource query puts the whole rule in
    its noDataState without looking at the condition (grafana/grafana pkg/services/ngalert/eval/
    eval.go: every empty datasource query goes into ExecutionResults.NoData, and
    evaluateExecutionResult returns NoData results when it is not empty). With noDataState OK, an
    empty auxiliary query would stop a scaling alert from firing. Per pool, the same holds for each
    alert instance: eval.go (queryDataResponseToExecutionResults) attaches to a condition frame the
    values of every other query whose labels equal, contain or are contained in the frame's, so a
    pool's instance lacks a query's value when that query has neither the pool's series nor an
    unlabelled one. So: on the exact queries terraform provisions, for two pools with different
    data, with each optional series missing in turn (and all of them) in either pool, whenever the
    condition's query has a result for a pool, every other query has one for that pool or one
    without a pool label. Both renderings: one pool, and two of different demand kinds (their
    scale-up rules restricted to their pools)."""
    rendered = request.getfixturevalue(rendering)
    rules = [r for r in yaml.safe_load(rendered["grafana_alerting"])["groups"][0]["rules"] if "scale" in r["labels"]]
    assert {r["labels"]["scale"] for r in rules} >= {"up", "down"}
    options: list[tuple[str, ...]] = [(), *[(name,) for name in OPTIONAL_METRICS], OPTIONAL_METRICS]
    tests = []
    for missing_a in options:
        for missing_b in options:
            checks = []
            for rule in rules:
                condition_ref, queries = datasource_queries(rule)
                condition = queries[condition_ref]
                restricted = re.search(r'pool=~"([^"]+)"', condition)   # a per-demand-kind variant
                pools = [p for p in POOL_MEMBERS if not restricted or p in restricted.group(1).split("|")]
                for t in ("10s", "30s", "2m"):
                    # the condition has a result for each of its pools here, so the check is not vacuous
                    checks.append({"expr": f"count by (pool) ({condition})", "eval_time": t,
                                   "exp_samples": [{"labels": f'{{pool="{p}"}}', "value": 1} for p in pools]})
                    checks += [{"expr": f"(count by (pool) ({condition}) unless on (pool) count by (pool) ({expr}))"
                                        f" unless on () (count by (pool) ({expr}) and on (pool) vector(1))",
                                "eval_time": t, "exp_samples": []}
                               for ref, expr in queries.items() if ref != condition_ref]
            tests.append({"interval": f"{SCRAPE_S}s", "promql_expr_test": checks,
                          "input_series": pool_series("web", missing_a) + pool_series("batch", missing_b)})
    promtool_test(tmp_path, write_rules(tmp_path), tests, "10s")


def test_the_sandboxs_prometheus_re_sends_a_firing_alert_as_often_as_grafana() -> None:
    """Grafana re-sends a still-firing alert to its Alertmanager every 30 s (ResendDelay); Prometheus'
    --rules.alert.resend-delay defaults to 1m, which made the sandbox's annotations older than
    Grafana's. The fast timers compress it with the tick."""
    assert timings.REAL.tick_s == 60 and timings.FAST.tick_s == 10
    assert monitoring.resend_delay(timings.REAL) == "30s"
    assert monitoring.resend_delay(timings.FAST) == "5s"
    proc = run([PROMETHEUS_BINARY, "--help"])
    help_text = proc.stdout + proc.stderr
    assert "--rules.alert.resend-delay=1m" in help_text   # the default this replaces
