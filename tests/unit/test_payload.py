"""Table-driven tests of webhook parsing (functions/scaler/receiver/payload.py) over documented payloads."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from functions.scaler.receiver import payload
from functions.scaler.receiver.payload import ParseError, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T0 = 1_740_823_200.0


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def doc(name: str) -> dict[str, Any]:
    return json.loads(fixture(name))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


# name, source, [(direction, alertname, fingerprint, value, members)], ignored, bad_values, bad_members
FIXTURE_CASES = [
    ("grafana_firing_up", "grafana", [("up", "PoolCpuHigh", "57c6d9296de2ad39", 0.93, 3)], {}, 0, 0),
    ("grafana_resolved", "grafana", [], {"resolved": 1}, 0, 0),
    ("grafana_nodata", "grafana", [], {"datasource_alert": 1}, 0, 0),
    ("grafana_mixed", "grafana", [("down", "PoolCpuLow", "1111111111111111", None, None)],
     {"no_scale_label": 1, "invalid_scale_label": 1, "resolved": 1}, 1, 1),
    ("alertmanager_firing_up", "alertmanager",
     [("up", "PoolLoadHigh", "c1d4e8f2a9b3c7d6", 2.5, 2)], {}, 0, 0),
    # the resolved alert's "0" members is not counted: ignored alerts are not read further
    ("alertmanager_mixed", "alertmanager",
     [("down", "PoolCpuLow", "aaaaaaaaaaaaaaaa", 0.11, 4),
      ("up", "PoolCpuHigh", "bbbbbbbbbbbbbbbb", None, None)],
     {"resolved": 1, "no_scale_label": 1}, 0, 0),
]


@pytest.mark.parametrize("name,source,expected,ignored,bad,bad_members", FIXTURE_CASES,
                         ids=[c[0] for c in FIXTURE_CASES])
def test_documented_payloads(name: str, source: str, expected: list[tuple[Any, ...]],
                             ignored: dict[str, int], bad: int, bad_members: int) -> None:
    parsed = parse(fixture(name), T0)
    assert parsed.source == source
    got = [(r.direction, r.alertname, r.fingerprint, r.value, r.members) for r in parsed.requests]
    assert got == expected
    assert parsed.ignored == ignored
    assert parsed.bad_values == bad
    assert parsed.bad_members == bad_members
    for req in parsed.requests:
        assert req.source == source and req.received_at == T0
    # Every alert is accounted for exactly once.
    assert len(parsed.requests) + sum(parsed.ignored.values()) == len(doc(name)["alerts"])


def with_alert(**changes: Any) -> bytes:
    body = doc("alertmanager_firing_up")
    alert = body["alerts"][0]
    for key, value in changes.items():
        if value is DELETE:
            alert.pop(key, None)
        else:
            alert[key] = value
    return dumps(body)


def with_top(**changes: Any) -> bytes:
    body = doc("grafana_firing_up")
    for key, value in changes.items():
        if value is DELETE:
            body.pop(key, None)
        else:
            body[key] = value
    return dumps(body)


DELETE = object()

# body, fragment of the error message
BAD_BODIES = [
    (b"", "malformed JSON"),
    (b"{", "malformed JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"alerts": []}\x00', "malformed JSON"),
    (b'{"alerts": [], "x": NaN}', "NaN"),
    (b'{"alerts": [], "x": -Infinity}', "Infinity"),
    (b"[]", "JSON object"),
    (b'"alerts"', "JSON object"),
    (b"null", "JSON object"),
    (b"{}", "alerts is required"),
    (b'{"alerts": {}}', "alerts must be a list"),
    (b'{"alerts": null}', "alerts must be a list"),
    (b'{"alerts": [1]}', "alerts[0] must be an object"),
    (b'{"alerts": [[]]}', "alerts[0] must be an object"),
    (b"[" * 100_000 + b"]" * 100_000, "nesting"),
    (b'{"alerts": [], "x": ' + b"[" * 100 + b"]" * 100 + b"}", "nesting"),
    (b'{"alerts": [], "x": 1' + b"0" * 5000 + b"}", "malformed JSON"),
    (dumps({"alerts": [{"status": "firing", "labels": {}}] * (payload.MAX_ALERTS + 1)}),
     "more than"),
    (with_alert(status=DELETE), "alerts[0].status is required"),
    (with_alert(status=1), "alerts[0].status must be a string"),
    (with_alert(status=None), "alerts[0].status must be a string"),
    (with_alert(labels=DELETE), "alerts[0].labels is required"),
    (with_alert(labels=None), "alerts[0].labels must be an object"),
    (with_alert(labels=["scale", "up"]), "alerts[0].labels must be an object"),
    (with_alert(labels={"scale": ["up"]}), "alerts[0].labels.scale must be a string"),
    (with_alert(annotations="x"), "alerts[0].annotations must be an object"),
    (with_alert(annotations={"scale_value": 0.5}), "alerts[0].annotations.scale_value must be a string"),
    (with_alert(annotations={"scale_members": 3}), "alerts[0].annotations.scale_members must be a string"),
    (with_alert(fingerprint=12), "alerts[0].fingerprint must be a string"),
    (with_alert(labels={"scale": "up", "alertname": 3}), "alerts[0].labels.alertname must be a string"),
    (with_alert(annotations={"scale_trend": 0.1}), "alerts[0].annotations.scale_trend must be a string"),
    (with_alert(annotations={"scale_cpu": None}), "alerts[0].annotations.scale_cpu must be a string"),
]


@pytest.mark.parametrize("body,message", BAD_BODIES, ids=[f"bad{i}" for i in range(len(BAD_BODIES))])
def test_bad_bodies_are_refused_with_a_clear_message(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(body, T0)
    assert message in str(err.value)


# Fields the receiver never reads: whatever their type, the delivery scales (a firing scale alert
# is never lost over a detail); a retired annotation is accepted and ignored the same way.
UNREAD = [
    with_top(version=4), with_top(status=None), with_top(orgId="1"), with_top(orgId=True),
    with_top(truncatedAlerts=1.5), with_top(commonLabels={"scale": 1}), with_alert(values={"A": True}),
    with_top(commonLabels=[]), with_top(groupLabels={"a": None}), with_top(receiver=["x"]),
    with_top(commonAnnotations={"a": {"b": "c"}}), with_top(externalURL=1), with_top(message=2),
    with_alert(startsAt=None), with_alert(values=[1]), with_alert(values={"A": "1"}),
    with_alert(valueString=3), with_alert(imageURL=7), with_alert(panelURL=None),
    with_alert(dashboardURL={"u": 1}), with_alert(silenceURL=False), with_alert(generatorURL=[]),
    with_alert(annotations=None, fingerprint=None),
    with_alert(labels={"scale": "up", "alertname": "PoolLoadHigh", "n": 1, "pod": None}),
    with_alert(annotations={"scale_value": "2.5", "scale_members": "2", "summary": {"a": [1]},
                            "scale_occupancy": 0.4, "runbook": None}),
]


@pytest.mark.parametrize("body", UNREAD, ids=[f"unread{i}" for i in range(len(UNREAD))])
def test_a_field_the_receiver_never_reads_never_refuses_a_delivery(body: bytes) -> None:
    parsed = parse(body, T0)
    assert [(r.direction, r.alertname) for r in parsed.requests] == [
        ("up", json.loads(body)["alerts"][0]["labels"]["alertname"])]
    assert (parsed.bad_values, parsed.bad_members) == (0, 0)


def test_a_later_bad_alert_refuses_the_whole_delivery() -> None:
    body = doc("alertmanager_mixed")
    body["alerts"].append({"status": "firing", "labels": {"scale": 1}})
    with pytest.raises(ParseError, match=r"alerts\[4\]\.labels\.scale"):
        parse(dumps(body), T0)


# labels, status, expected reason (None = scales)
CLASSIFY = [
    ({"scale": "up"}, "firing", None),
    ({"scale": "down"}, "firing", None),
    ({"scale": "up"}, "resolved", "resolved"),
    ({"scale": "up"}, "pending", "other"),
    ({"scale": "up"}, "", "other"),
    ({}, "firing", "no_scale_label"),
    ({"scale": "UP"}, "firing", "invalid_scale_label"),
    ({"scale": ""}, "firing", "invalid_scale_label"),
    ({"scale": "up", "alertname": "DatasourceNoData"}, "firing", "datasource_alert"),
    ({"scale": "down", "alertname": "DatasourceError"}, "firing", "datasource_alert"),
    ({"scale": "down", "alertname": "DatasourceError"}, "resolved", "resolved"),
    ({"alertname": "DatasourceNoData"}, "firing", "datasource_alert"),
]


@pytest.mark.parametrize("labels,status,reason", CLASSIFY)
def test_classify(labels: dict[str, str], status: str, reason: str | None) -> None:
    assert payload.classify(status, labels) == reason


# annotation, value
VALUES = [
    (None, None), ("0.93", 0.93), ("0", 0.0), (" 1.5 ", 1.5), ("2.5e0", 2.5), ("12", 12.0),
    ("", None), ("abc", None), ("-0.1", None), ("nan", None), ("inf", None), ("-inf", None),
    ("1e400", None), ("{{ $values.A.Value }}", None), ("93%", None),
]


@pytest.mark.parametrize("raw,value", VALUES)
def test_scale_value(raw: str | None, value: float | None) -> None:
    got = payload.scale_value(raw)
    assert got == value
    assert got is None or (math.isfinite(got) and got >= 0)


# annotation, members
MEMBERS = [
    (None, None), ("3", 3), ("1", 1), ("3.0", 3), (" 2 ", 2), ("2.", 2), ("1e1", 10), ("12", 12),
    ("0", None), ("0.0", None), ("-1", None), ("-0", None), ("2.5", None), ("0.5", None),
    ("", None), ("abc", None), ("nan", None), ("inf", None), ("1e400", None), ("3 members", None),
    ("{{ printf \"%.0f\" $values.C.Value }}", None), ("0x3", None),
]


@pytest.mark.parametrize("raw,members", MEMBERS)
def test_scale_members(raw: str | None, members: int | None) -> None:
    got = payload.scale_members(raw)
    assert got == members
    assert got is None or (type(got) is int and got >= 1)


# annotation, trend (members' worth per second; negative = falling)
TRENDS = [
    (None, None), ("0.01250", 0.0125), ("-0.5", -0.5), ("0", 0.0), (" 1e-3 ", 0.001),
    ("", None), ("abc", None), ("nan", None), ("inf", None), ("-inf", None), ("1e400", None),
    ("{{ printf \"%.5f\" $values.E.Value }}", None),
]


@pytest.mark.parametrize("raw,trend", TRENDS)
def test_scale_trend(raw: str | None, trend: float | None) -> None:
    assert payload.scale_trend(raw) == trend


@pytest.mark.parametrize("raw,trend,bad", [("0.002", 0.002, 0), ("-0.002", -0.002, 0),
                                           ("NaN", None, 0), ("nan", None, 1), ("soon", None, 1), (None, None, 0),
                                           (" ", None, 0)])
def test_a_bad_trend_never_blocks_the_scale_and_is_counted(raw: str | None, trend: float | None,
                                                           bad: int) -> None:
    notes = {"scale_value": "0.85", "scale_members": "2"} | ({} if raw is None else {"scale_trend": raw})
    parsed = parse(with_alert(annotations=notes), T0)
    assert [(r.direction, r.value, r.members, r.trend) for r in parsed.requests] == [
        ("up", 0.85, 2, trend)]
    assert (parsed.bad_values, parsed.bad_members, parsed.bad_trends) == (0, 0, bad)


# annotation, cpu (the pool's average CPU, 0..1; a rate can read a hair above 1)
CPUS = [
    (None, None), ("0.817", 0.817), ("1.000", 1.0), ("1.002", 1.002), ("0", 0.0), (" 0.9 ", 0.9),
    ("", None), ("-0.001", None), ("abc", None), ("nan", None), ("inf", None), ("1e400", None),
    ("{{ printf \"%.3f\" $values.F.Value }}", None),
]


@pytest.mark.parametrize("raw,cpu", CPUS)
def test_scale_cpu(raw: str | None, cpu: float | None) -> None:
    assert payload.scale_cpu(raw) == cpu


@pytest.mark.parametrize("raw,cpu,bad", [("0.817", 0.817, 0), ("NaN", None, 0), ("busy", None, 1),
                                         ("-0.2", None, 1), (None, None, 0), (" ", None, 0)])
def test_a_bad_cpu_never_blocks_the_scale_and_is_counted(raw: str | None, cpu: float | None,
                                                         bad: int) -> None:
    notes = {"scale_value": "1.700", "scale_members": "3"} | ({} if raw is None else {"scale_cpu": raw})
    parsed = parse(with_alert(annotations=notes), T0)
    assert [(r.direction, r.value, r.members, r.cpu) for r in parsed.requests] == [
        ("up", 1.7, 3, cpu)]
    assert (parsed.bad_values, parsed.bad_members, parsed.bad_trends, parsed.bad_cpus) == (0, 0, 0, bad)


# annotations of one firing scale-up alert, (value, members), bad_values, bad_members
ANNOTATIONS = [
    ({"scale_value": "0.85", "scale_members": "2"}, (0.85, 2), 0, 0),
    ({"scale_value": "0.85", "scale_members": "2.0"}, (0.85, 2), 0, 0),
    ({"scale_value": "0.85"}, (0.85, None), 0, 0),                    # a sender without the annotation
    ({"scale_members": "2"}, (None, 2), 0, 0),
    ({"scale_value": "0.85", "scale_members": "0"}, (0.85, None), 0, 1),
    ({"scale_value": "0.85", "scale_members": "2.5"}, (0.85, None), 0, 1),
    ({"scale_value": "oops", "scale_members": "oops"}, (None, None), 1, 1),
    ({"scale_value": "oops", "scale_members": "3"}, (None, 3), 1, 0),
    ({}, (None, None), 0, 0),
]


@pytest.mark.parametrize("annotations,expected,bad,bad_members", ANNOTATIONS)
def test_odd_annotations_keep_the_request_and_are_counted(annotations: dict[str, str],
                                                          expected: tuple[Any, Any], bad: int,
                                                          bad_members: int) -> None:
    parsed = parse(with_alert(annotations=annotations), T0)
    assert [(r.direction, r.value, r.members) for r in parsed.requests] == [("up", *expected)]
    assert (parsed.bad_values, parsed.bad_members) == (bad, bad_members)


def test_bad_scale_value_keeps_the_request_without_a_value() -> None:
    parsed = parse(with_alert(annotations={"scale_value": "oops"}), T0)
    assert [r.value for r in parsed.requests] == [None]
    assert parsed.bad_values == 1


def test_missing_annotations_are_tolerated() -> None:
    parsed = parse(with_alert(annotations=DELETE), T0)
    assert [(r.direction, r.value, r.members) for r in parsed.requests] == [("up", None, None)]
    assert parsed.bad_values == 0 and parsed.bad_members == 0


# top-level changes, source
SOURCES = [
    ({}, "grafana"),
    ({"version": "4", "orgId": DELETE, "state": DELETE}, "alertmanager"),
    ({"version": DELETE, "orgId": DELETE, "state": DELETE}, "alertmanager"),
    ({"version": DELETE, "state": DELETE}, "grafana"),
    ({"version": "4", "orgId": DELETE}, "grafana"),
]


@pytest.mark.parametrize("changes,source", SOURCES)
def test_source_detection(changes: dict[str, Any], source: str) -> None:
    assert parse(with_top(**changes), T0).source == source


def test_empty_alerts_is_valid_and_holds_nothing() -> None:
    parsed = parse(b'{"alerts": []}', T0)
    assert parsed.requests == () and parsed.ignored == {}


def test_unknown_fields_are_tolerated_and_fingerprint_kept_raw() -> None:
    body = doc("alertmanager_firing_up")
    body["extra"] = {"nested": [1, 2, {"x": None}]}
    body["alerts"][0]["fingerprint"] = "weird/../fp with spaces"
    body["alerts"][0]["newField"] = [True]
    parsed = parse(dumps(body), T0)
    assert parsed.requests[0].fingerprint == "weird/../fp with spaces"
    # The key never carries an unsafe fingerprint.
    assert "/" not in parsed.requests[0].unique()


def test_values_may_be_null_in_grafana_payloads() -> None:
    body = doc("grafana_firing_up")
    body["alerts"][0]["values"] = {"A": None}
    assert len(parse(dumps(body), T0).requests) == 1
