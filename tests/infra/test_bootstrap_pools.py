"""The bootstrap module's `pools` variable (terraform/modules/bootstrap), rendered by terraform itself:
the handlers' env per pool count (read back by functions/common/config.py), the Grafana rules per
pool and per demand kind (equal to bootstrap/render.py's for Prometheus), the per-pool grouping, the
dashboard, and the variable's validation."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bootstrap.render import for_pools, prometheus_rule_group, signal
from functions.common import config
from tests.infra.conftest import MODULE_DIR, TEST_VARS, TWO_POOLS, tool
from tests.infra.test_cloudinit import env_map


def rules_of(rendered: dict) -> list[dict]:
    return yaml.safe_load(rendered["grafana_alerting"])["groups"][0]["rules"]


def test_one_pool_is_written_as_instancepool_id_and_name(rendered: dict) -> None:
    env = env_map(rendered["scaler_env"])
    (name, pool), = TEST_VARS["pools"].items()
    assert (env["INSTANCEPOOL_ID"], env["INSTANCEPOOL_NAME"]) == (pool["id"], name)
    assert "INSTANCEPOOLS" not in env and "SCALER_MAX_STEP" not in env and "SCALER_COOLDOWN_S" not in env
    cfg = config.load(env)
    assert [(p.name, p.id, p.min_size, p.max_size, p.instance_type) for p in cfg.pools] == [
        (name, pool["id"], pool["min_size"], pool["max_size"], pool["instance_type"])]


def test_several_pools_are_written_as_instancepools_with_their_own_settings(rendered_two: dict) -> None:
    env = env_map(rendered_two["scaler_env"])
    assert "INSTANCEPOOL_ID" not in env and "INSTANCEPOOL_NAME" not in env and "SCALER_MIN_SIZE" not in env
    cfg = config.load(env)
    defaults = config.load({**env, "INSTANCEPOOLS": "", "INSTANCEPOOL_ID": "x"})   # the handlers' defaults
    assert sorted(p.name for p in cfg.pools) == sorted(TWO_POOLS)
    for spec in cfg.pools:
        pool = TWO_POOLS[spec.name]
        assert (spec.id, spec.min_size, spec.max_size, spec.instance_type) == (
            pool["id"], pool["min_size"], pool["max_size"], pool["instance_type"])
        assert spec.max_step == (pool["max_step"] or defaults.max_step)
        assert spec.cooldown_s == (pool["cooldown_s"] or defaults.cooldown_s)


def test_mixed_demand_renders_the_scale_up_rule_per_kind_as_render_py_does(rendered_two: dict,
                                                                          alert_spec: dict) -> None:
    rules = rules_of(rendered_two)
    spec = for_pools(alert_spec, {name: p["demand"] for name, p in TWO_POOLS.items()})
    prom = prometheus_rule_group(spec)["rules"]
    assert [r["title"] for r in rules] == [a["name"] for a in spec["alerts"]] == [r["alert"] for r in prom]
    assert [r["uid"] for r in rules] == [a["uid"] for a in spec["alerts"]]
    assert len({r["uid"] for r in rules}) == len({r["title"] for r in rules}) == len(rules)
    for rule, prom_rule in zip(rules, prom, strict=True):
        data = {d["refId"]: d["model"] for d in rule["data"]}
        assert prom_rule["expr"].startswith(f"({data['A']['expr']}) ")
        for ref, annotation in (("B", "scale_value"), ("C", "scale_members"), ("E", "scale_trend"),
                                ("F", "scale_cpu")):
            assert (ref in data) == (annotation in prom_rule["annotations"]) == (annotation in rule["annotations"])
            if ref in data:
                assert f"`{data[ref]['expr']}`" in prom_rule["annotations"][annotation]
    ups = {r["title"]: {d["refId"]: d["model"]["expr"] for d in r["data"] if "expr" in d["model"]}
           for r in rules if r["labels"].get("scale") == "up"}
    assert set(ups) == {"PoolCpuHigh", "PoolCpuHighCpu"}
    assert all('pool=~"web"' in e and "batch" not in e for e in ups["PoolCpuHigh"].values())
    assert all('pool=~"batch"' in e and "web" not in e for e in ups["PoolCpuHighCpu"].values())
    assert ups["PoolCpuHighCpu"]["B"] == signal(alert_spec, "demand_cpu_bound").replace(
        'job="pool"', 'job="pool",pool=~"batch"')


def test_every_alert_is_per_pool_and_grouped_by_pool(rendered_two: dict) -> None:
    """Every member signal aggregates by (pool), so Grafana makes one alert instance per pool; only
    discovery's staleness is global (one sd run covers every pool)."""
    for rule in rules_of(rendered_two):
        for d in rule["data"]:
            if "expr" in d["model"] and rule["title"] != "AutoscalerDiscoveryStale":
                assert "by (pool)" in d["model"]["expr"], (rule["title"], d["refId"])
    policy = yaml.safe_load(rendered_two["grafana_alerting"])["policies"][0]
    assert "pool" in policy["group_by"] and all("pool" in r["group_by"] for r in policy["routes"])


def test_the_dashboard_shows_each_pool(rendered_two: dict, alert_spec: dict) -> None:
    dashboard = json.loads(rendered_two["dashboard"])
    panels = {p["title"]: p for p in dashboard["panels"]}
    (demand,) = panels["Demand per member (scale_value of the scale-up alert)"]["targets"]
    web = signal(alert_spec, "demand").replace('job="pool"', 'job="pool",pool=~"web"')
    batch = signal(alert_spec, "demand_cpu_bound").replace('job="pool"', 'job="pool",pool=~"batch"')
    assert demand["expr"] == f"({batch}) or ({web})" and demand["legendFormat"].startswith("{{pool}}")
    size = panels["Pool size"]["targets"]
    assert all("by (pool)" in t["expr"] and t["legendFormat"].startswith("{{pool}}") for t in size)
    # grafana/grafana public/app/plugins/panel/alertlist/types.ts: GroupMode.Custom groups the
    # instances by the groupBy labels
    alert_list = next(p for p in dashboard["panels"] if p["type"] == "alertlist")
    assert alert_list["options"]["groupMode"] == "custom" and alert_list["options"]["groupBy"] == ["pool"]


@pytest.mark.parametrize("bad, message", [
    ({}, "1 to 20 pools"),
    ({"Web": TWO_POOLS["web"]}, "pool name"),
    ({"web": {**TWO_POOLS["web"], "demand": "load"}}, "demand"),
    ({"web": {**TWO_POOLS["web"], "min_size": 5, "max_size": 4}}, "min_size"),
])
def test_bad_pools_are_refused(tmp_path: Path, bad: dict, message: str) -> None:
    var_file = tmp_path / "bad.tfvars.json"
    var_file.write_text(json.dumps({**TEST_VARS, "pools": bad}))
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(tmp_path / "tfdata"))
    proc = subprocess.run([tool("terraform"), f"-chdir={MODULE_DIR}", "console", "-no-color",
                           f"-var-file={var_file}"],
                          input="local.scaler_env\n", capture_output=True, text=True, timeout=60, env=env)
    # terraform 1.0's console reports a refused variable on stderr and still exits 0
    errors = " ".join(proc.stderr.split())
    assert "Invalid value for variable" in errors and message in errors, proc.stderr
    assert "EXOSCALE_KEY" not in proc.stdout
