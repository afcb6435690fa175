"""Several pools on one Prometheus: every alert is one instance per pool (`pool` label), carrying its
own pool's figures in the annotations, never another pool's; the tick's staleness warning fires per
pool, also for a pool whose tick never succeeded or never ran; pools of different demand kinds get the scale-up
rule once per kind, restricted to their pools."""
from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.render import for_pools, pool_selector, with_demand_signal
from tests.infra.test_prometheus import PROMETHEUS_START, SCRAPE_S, N, alert, idle_series, promtool_test, write_rules

UP = "Average pool CPU above the scale-up threshold"
DOWN = "Average pool CPU below the scale-down threshold"
TICK_STALE = "The scaler tick has not succeeded for more than 3 minutes"


def member(metric: str, pool: str, n: int, **extra: str) -> str:
    labels = {"job": "pool", "pool": pool, "instance": f"10.0.{ord(pool) - 96}.{n}:9100", **extra}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def cpu(pool: str, n: int, busy: float) -> dict:
    return {"series": member("node_cpu_seconds_total", pool, n, cpu="0", mode="idle"), "values": idle_series(busy)}


def estab(pool: str, n: int, value: float) -> dict:
    return {"series": member("node_netstat_Tcp_CurrEstab", pool, n), "values": f"{value}x{N}"}


def load(pool: str, n: int, value: float) -> dict:
    return {"series": member("node_load1", pool, n), "values": f"{value}x{N}"}


def test_each_pool_fires_its_own_scaling_alert_with_its_own_figures(tmp_path: Path, alert_spec: dict) -> None:
    """a: two members 0.9 busy with 2 requests in flight each; b: one member 0.85 busy without netstat
    (its trend is the unlabelled NaN fallback); c: one member 0.1 busy. Each alert instance names its
    pool and prints that pool's demand, members, CPU and trend."""
    series = [cpu("a", 1, 0.9), cpu("a", 2, 0.9), estab("a", 1, 3), estab("a", 2, 3),
              cpu("b", 1, 0.85), cpu("c", 1, 0.1), estab("c", 1, 2)]
    tests = [{"interval": f"{SCRAPE_S}s", "input_series": series, "alert_rule_test": [
        {"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
            alert("PoolCpuHigh", {"scale": "up", "pool": "a"},
                  {"summary": UP, "scale_value": "2.000", "scale_members": "2", "scale_cpu": "0.900",
                   "scale_trend": "0.00000"}),
            alert("PoolCpuHigh", {"scale": "up", "pool": "b"},
                  {"summary": UP, "scale_value": "0.850", "scale_members": "1", "scale_cpu": "0.850",
                   "scale_trend": "NaN"})]},
        {"eval_time": "2m", "alertname": "PoolCpuLow", "exp_alerts": [
            alert("PoolCpuLow", {"scale": "down", "pool": "c"},
                  {"summary": DOWN, "scale_value": "0.100", "scale_members": "1"})]},
    ]}]
    promtool_test(tmp_path, write_rules(tmp_path), tests, alert_spec["evaluation_interval"])


def tick(metric: str, pool: str, values: str) -> dict:
    return {"series": f'autoscaler_tick_last_{metric}_timestamp_seconds{{pool="{pool}"}}', "values": values}


def stale(*pools: str) -> list[dict]:
    return [alert("AutoscalerTickStale", {"severity": "warning", "pool": p}, {"summary": TICK_STALE}) for p in pools]


def test_tick_staleness_is_per_pool_and_fires_for_a_pool_that_never_succeeded(
        tmp_path: Path, alert_spec: dict) -> None:
    """a succeeds at every scrape; b last succeeded at t=0; c runs (its run file is written) but never
    succeeded; d exported nothing at all, but discovery found its members. c's and d's age is
    Prometheus' uptime. Only b, c and d warn, once past 3 minutes."""
    fresh, once = f"0+{SCRAPE_S}x{N}", f"0x{N}"
    series = [{"series": PROMETHEUS_START, "values": once},
              tick("success", "a", fresh), tick("run", "a", fresh),
              tick("success", "b", once), tick("run", "b", fresh), tick("run", "c", fresh),
              *({"series": f'up{{job="pool",pool="{p}",instance="10.0.0.{n}:9100"}}', "values": f"1x{N}"}
                for n, p in enumerate("abcd"))]
    tests = [{"interval": f"{SCRAPE_S}s", "input_series": series, "alert_rule_test": [
        {"eval_time": "160s", "alertname": "AutoscalerTickStale", "exp_alerts": []},
        {"eval_time": "200s", "alertname": "AutoscalerTickStale", "exp_alerts": stale("b", "c", "d")},
        {"eval_time": "15m", "alertname": "AutoscalerTickStale", "exp_alerts": stale("b", "c", "d")},
    ]}, {   # every pool fresh: no warning, and no unlabelled one from the "nothing exported" fallback
        "interval": f"{SCRAPE_S}s",
        "input_series": [{"series": PROMETHEUS_START, "values": once}]
                        + [tick(m, p, fresh) for m in ("success", "run") for p in ("a", "b")],
        "alert_rule_test": [{"eval_time": "15m", "alertname": "AutoscalerTickStale", "exp_alerts": []}],
    }]
    promtool_test(tmp_path, write_rules(tmp_path), tests, alert_spec["evaluation_interval"])


def test_pools_of_different_demand_kinds_each_get_their_own_scale_up_rule(tmp_path: Path, alert_spec: dict) -> None:
    """a counts requests in flight, b is CPU-bound (load per core once saturated). Both are saturated
    with the same load and connections: a's rule sends a's in-flight figure, b's its load per core,
    and neither rule fires for the other pool."""
    spec = for_pools(alert_spec, {"a": "in_flight", "b": "cpu"})
    ups = [a for a in spec["alerts"] if a["labels"].get("scale") == "up"]
    assert [(a["name"], a["uid"], a["pools"], a["demand_signal"]) for a in ups] == [
        ("PoolCpuHighCpu", "autoscaler-cpu-high-cpu", ["b"], "demand_cpu_bound"),
        ("PoolCpuHigh", "autoscaler-cpu-high", ["a"], "demand")]
    assert [a.get("cpu_signal") for a in ups] == [None, "cpu"]
    series = [s for p in ("a", "b") for s in (cpu(p, 1, 0.97), estab(p, 1, 3), load(p, 1, 2.5))]
    tests = [{"interval": f"{SCRAPE_S}s", "input_series": series, "alert_rule_test": [
        {"eval_time": "2m", "alertname": "PoolCpuHigh", "exp_alerts": [
            alert("PoolCpuHigh", {"scale": "up", "pool": "a"},
                  {"summary": UP, "scale_value": "2.000", "scale_members": "1", "scale_cpu": "0.970",
                   "scale_trend": "0.00000"})]},
        {"eval_time": "2m", "alertname": "PoolCpuHighCpu", "exp_alerts": [
            alert("PoolCpuHighCpu", {"scale": "up", "pool": "b"},
                  {"summary": UP, "scale_value": "2.500", "scale_members": "1", "scale_trend": "0.00000"})]},
    ]}]
    promtool_test(tmp_path, write_rules(tmp_path, spec), tests, alert_spec["evaluation_interval"])


def test_one_demand_kind_keeps_one_unrestricted_rule_per_alert(alert_spec: dict) -> None:
    assert for_pools(alert_spec, {"a": "in_flight", "b": "in_flight"}) == alert_spec
    assert for_pools(alert_spec, {"a": "cpu"}) == with_demand_signal(alert_spec, "demand_cpu_bound")
    with pytest.raises(ValueError, match="demand must be one of"):
        for_pools(alert_spec, {"a": "load"})
    with pytest.raises(ValueError, match="no pool"):
        for_pools(alert_spec, {})
    assert pool_selector('x{job="pool",mode="idle"} / y{job="pool"}', ["a", "b-2"]) == \
        'x{job="pool",pool=~"a|b-2",mode="idle"} / y{job="pool",pool=~"a|b-2"}'
