"""Grafana provisioning, cross-checked rather than only parsed: rule conditions, datasource uids,
contact point against the receiver's settings, the policy's route, and thresholds against the spec."""
from __future__ import annotations

import json
import re

import yaml

from bootstrap.render import prometheus_rule_group, signal
from tests.infra.conftest import BOOTSTRAP_DIR, TEST_VARS
from tests.infra.test_cloudinit import env_map

OPS = {">": "gt", "<": "lt"}


def provisioned_datasource_uids() -> set[str]:
    doc = yaml.safe_load((BOOTSTRAP_DIR / "grafana/provisioning/datasources.yaml").read_text())
    assert doc["apiVersion"] == 1
    return {d["uid"] for d in doc["datasources"]}


def alerting(rendered: dict) -> dict:
    doc = yaml.safe_load(rendered["grafana_alerting"])
    assert doc["apiVersion"] == 1
    return doc


def test_every_rule_condition_names_one_of_its_queries(rendered: dict) -> None:
    for group in alerting(rendered)["groups"]:
        for rule in group["rules"]:
            refs = [d["refId"] for d in rule["data"]]
            assert len(refs) == len(set(refs)), rule["title"]
            assert rule["condition"] in refs, rule["title"]
            for d in rule["data"]:
                assert d["model"]["refId"] == d["refId"]
                if d["datasourceUid"] == "__expr__":
                    assert d["model"]["expression"] in refs, rule["title"]
            for ref in re.findall(r"\$values\.(\w+)", json.dumps(rule["annotations"])):
                assert ref in refs, f"{rule['title']} annotation uses $values.{ref}"


def test_every_datasource_uid_is_provisioned(rendered: dict) -> None:
    uids = provisioned_datasource_uids() | {"__expr__"}
    for group in alerting(rendered)["groups"]:
        for rule in group["rules"]:
            for d in rule["data"]:
                assert d["datasourceUid"] in uids, (rule["title"], d["datasourceUid"])
    dashboard = json.loads(rendered["dashboard"])
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids


def contact_points(rendered: dict) -> dict[str, dict]:
    return {p["name"]: p for p in alerting(rendered)["contactPoints"]}


def test_contact_point_matches_the_receiver_settings(rendered: dict) -> None:
    env = env_map(rendered["scaler_env"])
    points = contact_points(rendered)
    assert set(points) == {"autoscaler-webhook", "autoscaler-operator"}
    assert len(points["autoscaler-webhook"]["receivers"]) == 1
    receiver = points["autoscaler-webhook"]["receivers"][0]
    assert receiver["type"] == "webhook"
    settings = receiver["settings"]
    assert settings["url"] == f"http://{env['LISTEN_ADDR']}:{env['LISTEN_PORT']}/webhook" == rendered["webhook_url"]
    assert settings["httpMethod"] == "POST"
    assert settings["authorization_scheme"] == "Bearer"
    assert settings["authorization_credentials"] == env["SCALER_TOKEN"] == TEST_VARS["scaler_token"]
    # without an operator URL the person's contact point is Grafana's no-op webhook (grafana/alerting
    # receivers/webhook/v1 NoopURL): the warnings then live on the dashboard's alert list
    operator = points["autoscaler-operator"]["receivers"][0]
    assert operator["type"] == "webhook" and operator["settings"]["url"] == "grafana://noop"
    assert "authorization_credentials" not in operator["settings"]


def seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


def test_policy_routes_scaling_alerts_to_the_scaler_and_warnings_to_a_person(rendered: dict, alert_spec: dict) -> None:
    doc = alerting(rendered)
    policy = doc["policies"][0]
    assert policy["receiver"] == "autoscaler-webhook"
    note = alert_spec["notification"]
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval"):
        assert policy[key] == note[key], key
    assert "scale" in policy["group_by"]
    (child,) = policy["routes"]
    assert child["receiver"] == "autoscaler-operator"
    assert child["object_matchers"] == [["severity", "=", "warning"]]
    assert seconds(child["repeat_interval"]) == 3600
    # every self-monitoring alert matches the person's route, no scaling alert does
    for alert in alert_spec["alerts"]:
        warned = alert["labels"].get("severity") == "warning"
        assert warned == ("scale" not in alert["labels"]), alert["name"]


def test_a_firing_scale_alert_is_re_sent_at_every_flush(alert_spec: dict) -> None:
    """Alertmanager's dedup (notify/dedup_stage.go needsUpdate, also used by Grafana) re-sends only when the
    last delivery ended before flush - repeat_interval: repeat must be below group_interval minus the
    delivery time. tests/reliability/test_alertmanager_cadence.py proves it with the real Alertmanager."""
    note = alert_spec["notification"]
    group_interval, repeat = seconds(note["group_interval"]), seconds(note["repeat_interval"])
    assert group_interval == 60
    assert repeat <= group_interval - 30, "leave room for a delivery of up to 30 s (Grafana's webhook timeout)"
    assert 10 <= seconds(note["group_wait"]) <= 30


def test_thresholds_labels_and_queries_equal_the_shared_spec(rendered: dict, alert_spec: dict) -> None:
    group = alerting(rendered)["groups"][0]
    assert group["interval"] == alert_spec["evaluation_interval"]
    prom = {r["alert"]: r for r in prometheus_rule_group(alert_spec)["rules"]}
    rules = {r["title"]: r for r in group["rules"]}
    assert set(rules) == set(prom) == {a["name"] for a in alert_spec["alerts"]}
    for spec in alert_spec["alerts"]:
        rule = rules[spec["name"]]
        data = {d["refId"]: d for d in rule["data"]}
        threshold = alert_spec["thresholds"][spec["threshold"]]
        evaluator = data[rule["condition"]]["model"]["conditions"][0]["evaluator"]
        assert evaluator == {"type": OPS[spec["op"]], "params": [threshold]}
        assert data["A"]["model"]["expr"] == signal(alert_spec, spec["signal"])
        assert prom[spec["name"]]["expr"] == f"({data['A']['model']['expr']}) {spec['op']} {threshold}"
        assert rule["labels"] == spec["labels"] == prom[spec["name"]]["labels"]
        assert rule["for"] == spec["for"] == prom[spec["name"]]["for"]
        # missing data or a query error never scales
        assert rule["noDataState"] == "OK" and rule["execErrState"] == "OK"
        if "scale" in spec["labels"]:
            assert data["B"]["model"]["expr"] == signal(alert_spec, spec["demand_signal"])
            assert "$values.B" in rule["annotations"]["scale_value"]
            # C carries the member count behind B's average, as an integer annotation
            assert data["C"]["model"]["expr"] == signal(alert_spec, spec["members_signal"])
            assert data["C"]["datasourceUid"] == data["A"]["datasourceUid"] and data["C"]["model"]["instant"]
            assert rule["annotations"]["scale_members"] == '{{ printf "%.0f" $values.C.Value }}'
            # Grafana and Prometheus annotate the same figures from the same queries.
            annotations = prom[spec["name"]]["annotations"]
            trend = {"scale_trend"} if "trend_signal" in spec else set()
            cpu = {"scale_cpu"} if "cpu_signal" in spec else set()
            expected = {"summary", "scale_value", "scale_members"} | trend | cpu
            assert set(annotations) == set(rule["annotations"]) == expected
            assert data["B"]["model"]["expr"] in annotations["scale_value"]
            assert data["C"]["model"]["expr"] in annotations["scale_members"]
            if trend:   # E carries the demand trend the scaler sizes ahead with
                assert data["E"]["model"]["expr"] == signal(alert_spec, spec["trend_signal"])
                assert data["E"]["model"]["expr"] in annotations["scale_trend"]
                assert rule["annotations"]["scale_trend"] == '{{ printf "%.5f" $values.E.Value }}'
            else:
                assert "E" not in data
            if cpu:     # F carries the pool's CPU beside B, which the scaler fits the spread of requests to
                assert data["F"]["model"]["expr"] == signal(alert_spec, spec["cpu_signal"])
                assert data["F"]["model"]["expr"] in annotations["scale_cpu"]
                assert rule["annotations"]["scale_cpu"] == '{{ printf "%.3f" $values.F.Value }}'
            else:
                assert "F" not in data
        else:
            assert set(data) == {"A", rule["condition"]} and set(rule["annotations"]) == {"summary"}
        # every ${threshold} placeholder was filled in by terraform
        assert "${" not in json.dumps(rule["data"])
    assert rules["PoolCpuHigh"]["labels"] == {"scale": "up"}
    assert "scale_cpu" in rules["PoolCpuHigh"]["annotations"]  # the scale-up's demand comes with its CPU
    assert rules["PoolCpuLow"]["labels"] == {"scale": "down"}
    assert alert_spec["thresholds"]["scale_up_cpu"] == 0.8 and alert_spec["thresholds"]["scale_down_cpu"] == 0.2


def test_dashboard_shows_the_required_panels_with_the_shared_thresholds(rendered: dict, alert_spec: dict) -> None:
    dashboard = json.loads(rendered["dashboard"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("autoscaler_pool_size", "node_cpu_seconds_total", "autoscaler_pending_requests",
                   "autoscaler_last_action_info", "autoscaler_last_action_timestamp_seconds",
                   "node_netstat_Tcp_CurrEstab", "autoscaler_tick_last_success_timestamp_seconds",
                   "autoscaler_sd_last_success_timestamp_seconds"):
        assert metric in exprs, metric
    cpu = next(p for p in dashboard["panels"] if p["title"].startswith("Average pool CPU"))
    steps = [s["value"] for s in cpu["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, alert_spec["thresholds"]["scale_down_cpu"], alert_spec["thresholds"]["scale_up_cpu"]]
    provider = yaml.safe_load((BOOTSTRAP_DIR / "grafana/provisioning/dashboards.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_demand_panel_plots_the_scale_up_alerts_scale_value(rendered: dict, alert_spec: dict) -> None:
    dashboard = json.loads(rendered["dashboard"])
    (up,) = [a for a in alert_spec["alerts"] if a["labels"].get("scale") == "up"]
    panel = next(p for p in dashboard["panels"] if p["title"].startswith("Demand per member"))
    (target,) = panel["targets"]
    assert target["expr"] == signal(alert_spec, up["demand_signal"])
    # ... which is exactly the query behind the alert's scale_value annotation
    rule = next(r for r in alerting(rendered)["groups"][0]["rules"] if r["title"] == up["name"])
    assert next(d for d in rule["data"] if d["refId"] == "B")["model"]["expr"] == target["expr"]


def test_in_flight_panel_shows_per_member_what_the_demand_averages(rendered: dict, alert_spec: dict) -> None:
    dashboard = json.loads(rendered["dashboard"])
    panel = next(p for p in dashboard["panels"] if p["title"].startswith("Requests in flight per member"))
    (target,) = panel["targets"]
    assert target["legendFormat"] == "{{pool}} {{instance}}"
    # the scale-up alert's demand is the same counter over the same window, summed over the pool
    # (so a member joining inside the window moves none of it) and divided by the members counted
    per_member = target["expr"].replace("[${rate_window}]", "[30s]")
    assert per_member == 'clamp_min(avg_over_time(node_netstat_Tcp_CurrEstab{job="pool"}[30s]) - 1, 0)'
    in_flight = signal(alert_spec, "in_flight")
    pool_sum = 'sum by (pool) (clamp_min(node_netstat_Tcp_CurrEstab{job="pool"} - 1, 0))'
    assert in_flight.startswith(f"avg_over_time(({pool_sum})[30s:5s])")
    assert in_flight.endswith(f" / ({signal(alert_spec, 'members')})")
    assert f"({in_flight})" in signal(alert_spec, "demand")


def test_dashboard_shows_firing_warnings_and_unfinished_boots(rendered: dict) -> None:
    dashboard = json.loads(rendered["dashboard"])
    alerts = next(p for p in dashboard["panels"] if p["type"] == "alertlist")
    assert alerts["options"]["stateFilter"]["firing"] is True
    # Grafana 12's alert list filters folders by uid only (grafana/grafana PR 103550); the rules'
    # folder is provisioned by title and gets a generated uid, and this Grafana holds only these
    # rules: no folder filter, so a title-only filter cannot hide every alert.
    assert "folder" not in alerts["options"]
    boot = next(p for p in dashboard["panels"] if p["title"].startswith("First boot"))
    exprs = [t["expr"] for t in boot["targets"]]
    assert any("autoscaler_boot_ok" in e for e in exprs) and 'up{job="pool"} == 0' in exprs
    boot_lib = (BOOTSTRAP_DIR / "scripts" / "boot-lib.sh").read_text()
    assert "autoscaler_boot_ok{role=" in boot_lib
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_cpu_panels_use_the_alerts_rate_window(rendered: dict, alert_spec: dict) -> None:
    """The scaling-signal panel is the cpu signal itself, and each member's CPU is what it averages."""
    dashboard = json.loads(rendered["dashboard"])
    exprs = {p["title"]: p["targets"][0]["expr"] for p in dashboard["panels"] if p.get("targets")}
    assert exprs["Average pool CPU (scaling signal)"] == signal(alert_spec, "cpu")
    assert f"avg by (pool) ({exprs['CPU per member']})" == signal(alert_spec, "cpu")


def test_the_datasources_scrape_interval_is_prometheus_own() -> None:
    """timeInterval is Grafana's lower bound for $__interval: it must be the real scrape interval."""
    doc = yaml.safe_load((BOOTSTRAP_DIR / "grafana/provisioning/datasources.yaml").read_text())
    prometheus = yaml.safe_load((BOOTSTRAP_DIR / "prometheus/prometheus.yml").read_text())
    (source,) = doc["datasources"]
    assert source["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]
