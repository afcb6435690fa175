"""The Grafana webhook fixtures (tests/fixtures/grafana_*.json) have exactly the shape Grafana 12.4.3
sends (key sets from grafana/alerting receivers/webhook/v1 and templates/template_data.go, see
tests/fixtures/README.md) and agree with what this deployment provisions: the receiver is the
contact point's name, groupLabels are the policy's group_by labels, groupKey is the route key."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import yaml

from tests.infra.conftest import REPO, TEST_VARS

FIXTURES = REPO / "tests" / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("grafana_*.json"))
# webhookMessage with ExtendedData embedded, in Go's field order; appVersion is omitempty
TOP = ["receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
       "appVersion", "version", "groupKey", "truncatedAlerts", "orgId", "title", "state", "message"]
ALERT = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint", "silenceURL",
         "dashboardURL", "panelURL", "ruleUID", "values", "valueString", "orgId"]
ZERO_TIME = "0001-01-01T00:00:00Z"
(POOL,) = TEST_VARS["pools"]


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_the_four_fixtures_exist() -> None:
    assert NAMES == ["grafana_firing_up", "grafana_mixed", "grafana_nodata", "grafana_resolved"]


@pytest.mark.parametrize("name", NAMES)
def test_keys_and_order_are_grafanas(name: str) -> None:
    body = load(name)
    assert list(body) == TOP
    assert body["version"] == "1" and body["orgId"] == 1 and body["truncatedAlerts"] == 0
    firing = [a for a in body["alerts"] if a["status"] == "firing"]
    assert body["status"] == ("firing" if firing else "resolved")
    assert body["state"] == ("alerting" if firing else "ok")
    for alert in body["alerts"]:
        assert list(alert) == ALERT
        assert (alert["endsAt"] == ZERO_TIME) == (alert["status"] == "firing")
        assert not any(k.startswith("__") for k in [*alert["labels"], *alert["annotations"]]), "private keys"
        assert alert["silenceURL"].startswith(body["externalURL"] + "alerting/silence/new?alertmanager=grafana")
        assert alert["values"] is None or isinstance(alert["values"], dict)
    for key, per_alert in (("commonLabels", "labels"), ("commonAnnotations", "annotations")):
        first = body["alerts"][0][per_alert]
        assert body[key] == {k: v for k, v in first.items() if all(a[per_alert].get(k) == v for a in body["alerts"])}


def route_key_and_group_by(rendered: dict, labels: dict) -> tuple[str, list[str], str]:
    policy = yaml.safe_load(rendered["grafana_alerting"])["policies"][0]
    for route in policy.get("routes", []):
        if all(labels.get(n) == v for n, op, v in route["object_matchers"] if op == "="):
            matchers = ",".join(f'{n}{op}"{v}"' for n, op, v in route["object_matchers"])
            return "{}/{" + matchers + "}", route["group_by"], route["receiver"]
    return "{}", policy["group_by"], policy["receiver"]


@pytest.mark.parametrize("name", ["grafana_firing_up", "grafana_resolved", "grafana_nodata"])
def test_receiver_group_labels_and_group_key_follow_the_provisioned_policy(rendered: dict, name: str) -> None:
    body = load(name)
    labels = body["alerts"][0]["labels"]
    route_key, group_by, receiver = route_key_and_group_by(rendered, labels)
    assert body["receiver"] == receiver == "autoscaler-webhook"
    assert body["groupLabels"] == {k: labels[k] for k in group_by if k in labels}
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(body["groupLabels"].items()))
    assert body["groupKey"] == f"{route_key}:{{{pairs}}}"


def test_scaling_fixtures_carry_the_rules_labels_and_annotations(rendered: dict) -> None:
    rules = {r["title"]: r for r in yaml.safe_load(rendered["grafana_alerting"])["groups"][0]["rules"]}
    for name in ("grafana_firing_up", "grafana_resolved"):
        alert = load(name)["alerts"][0]
        rule = rules[alert["labels"]["alertname"]]
        assert alert["ruleUID"] == rule["uid"]
        # the rule's labels, and the pool its queries aggregate by (the deployment's one pool)
        assert alert["labels"] == {"alertname": rule["title"], "grafana_folder": "Autoscaler",
                                   "pool": POOL, **rule["labels"]}
        assert set(alert["annotations"]) == set(rule["annotations"])
        assert set(alert["values"]) == {d["refId"] for d in rule["data"]}
        assert alert["generatorURL"].endswith(f"/alerting/grafana/{rule['uid']}/view?orgId=1")


def test_nodata_is_one_alert_per_datasource_with_the_rules_annotations_rendered_without_values(
        rendered: dict) -> None:
    """grafana/grafana pkg/services/ngalert/eval/eval.go evaluateExecutionResult: one NoData result per
    datasource, its empty queries' refIds joined (ref_id="A,B,C"); state/compat.go noDataAlert: rule
    labels + alertname and rulename, the rule's annotations. Those were expanded with no values
    (state/template/template.go: missingkey=invalid), so `printf "%.3f" $values.B.Value` gets Go's
    nil and prints "%!f(<nil>)"."""
    rules = {r["title"]: r for r in yaml.safe_load(rendered["grafana_alerting"])["groups"][0]["rules"]}
    (alert,) = load("grafana_nodata")["alerts"]   # every query of PoolCpuLow empty, one datasource
    rule = rules[alert["labels"]["rulename"]]
    assert alert["labels"]["alertname"] == "DatasourceNoData"
    assert {k: alert["labels"][k] for k in rule["labels"]} == rule["labels"]   # scale=down arrives too
    queried = sorted(d["refId"] for d in rule["data"] if d["datasourceUid"] != "__expr__")
    assert alert["labels"]["datasource_uid"] == "prometheus" and alert["labels"]["ref_id"] == ",".join(queried)
    assert alert["annotations"] == {k: "%!f(<nil>)" if "$values" in v else v for k, v in rule["annotations"].items()}
    assert alert["values"] is None and alert["valueString"] == ""
    assert alert["ruleUID"] == rule["uid"]


def go_value(value: float) -> str:
    """A float64 as text/template prints it (fmt %v: shortest form, no trailing .0)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def silence_url(body: dict, alert: dict) -> str:
    """templates/template_data.go generateSilenceURL on externalURL with orgId set (extendAlert):
    the rule uid replaces alertname and the folder; url.Values.Encode sorts the keys."""
    pairs = [("alertmanager", "grafana"), ("matcher", f"__alert_rule_uid__={alert['ruleUID']}")]
    pairs += [("matcher", f"{k}={v}") for k, v in sorted(alert["labels"].items())
              if k not in ("alertname", "grafana_folder")]
    return f"{body['externalURL']}alerting/silence/new?{urlencode([*pairs, ('orgId', str(alert['orgId']))])}"


def default_message(body: dict) -> str:
    """templates/default_template.go `default.message`, real newlines throughout."""
    def listed(alerts: list[dict]) -> str:
        out = ""
        for a in alerts:
            values = ", ".join(f"{k}={go_value(v)}" for k, v in sorted((a["values"] or {}).items()))
            out += "\nValue: " + (values or "[no value]") + "\nLabels:\n"
            out += "".join(f" - {k} = {v}\n" for k, v in sorted(a["labels"].items())) + "Annotations:\n"
            out += "".join(f" - {k} = {v}\n" for k, v in sorted(a["annotations"].items()))
            out += f"Source: {a['generatorURL']}\nSilence: {a['silenceURL']}\n"
        return out
    firing = [a for a in body["alerts"] if a["status"] == "firing"]
    resolved = [a for a in body["alerts"] if a["status"] == "resolved"]
    text = f"**Firing**\n{listed(firing)}" + ("\n\n" if resolved else "") if firing else ""
    return text + (f"**Resolved**\n{listed(resolved)}" if resolved else "")


def default_title(body: dict) -> str:
    """templates/default_template.go `__subject`: the status with counts, the group labels' values and
    the other common labels' values in parentheses, each sorted by label name."""
    firing = sum(a["status"] == "firing" for a in body["alerts"])
    resolved = len(body["alerts"]) - firing
    status = ", ".join([f"FIRING:{firing}"] * bool(firing) + [f"RESOLVED:{resolved}"] * bool(resolved))
    status = "RESOLVED" if not firing else status
    group = " ".join(v for _, v in sorted(body["groupLabels"].items()))
    rest = [v for k, v in sorted(body["commonLabels"].items()) if k not in body["groupLabels"]]
    return f"[{status}] {group} " + (f"({' '.join(rest)})" if rest else "")


@pytest.mark.parametrize("name", NAMES)
def test_silence_urls_title_and_message_are_what_grafana_renders(name: str) -> None:
    body = load(name)
    for alert in body["alerts"]:
        assert alert["silenceURL"] == silence_url(body, alert)
        assert alert["generatorURL"].endswith("?orgId=1")
    assert body["title"] == default_title(body)
    assert body["message"] == default_message(body)
    assert "\\n" not in body["message"]


def test_fixture_readme_names_the_pinned_version() -> None:
    readme = (FIXTURES / "README.md").read_text()
    script = (REPO / "bootstrap" / "scripts" / "install-monitoring.sh").read_text()
    variables = (REPO / "terraform" / "modules" / "bootstrap" / "variables.tf").read_text()
    assert "Grafana **12.4.3**" in readme and 'default     = "12.4.3"' in variables
    assert "grafana=${GRAFANA_VERSION}" in script
