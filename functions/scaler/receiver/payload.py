"""Webhook payloads from Grafana unified alerting and Prometheus Alertmanager → scale requests.

Pure: bytes in, ScaleRequests and counts of ignored alerts out, or a ParseError naming the first
field it reads that is not of the documented shape (or nesting too deep). Both senders share the `alerts[]`
core; Grafana's body is `version` "1" with `orgId`/`state`, Alertmanager's is `version` "4".

Decisions:
- Only what the receiver reads is checked: `alerts`, each alert's `status`, `labels` (its `scale`,
  `alertname` and `pool`), `annotations` (the scale_* ones below) and `fingerprint`. Every other field,
  label and annotation is tolerated whatever its type (senders add and change fields over time,
  a retired annotation stays harmless): a detail never costs a firing scale alert. Nesting deeper
  than MAX_DEPTH is refused, and the receiver limits the body's size.
- An alert scales when its `status` is "firing", its `alertname` is not one of Grafana's own
  DatasourceNoData / DatasourceError alerts (those copy the rule's labels, `scale` included),
  and its label `scale` is "up" or "down". Everything else is counted under IGNORED_REASONS.
- A missing `scale_value` annotation leaves the demand unknown (value None). An unparsable,
  negative or non-finite one does the same and is counted in `bad_values`: the direction of a
  firing scale alert is still trustworthy, and dropping it over a templating slip would lose a
  scale-up; the tick then falls back to stepping.
- The `scale_members` annotation (how many pool instances `scale_value` was averaged over) is
  read the same way into `members`: a positive whole number, written as "3" or "3.0" (Prometheus
  and Grafana print it with `%.0f`, but a float format must not cost the figure). Missing →
  None; anything else ("0", "2.5", "-1", "abc", "NaN", a leftover template) → None, counted in
  `bad_members`, and the alert still scales: without members decide() treats the request as
  not measured, i.e. as before the annotation existed.
- The `scale_trend` annotation (how fast the pool's total demand grows, members' worth per
  second, from deriv() over the alert's window less its noise; negative when falling or lost in
  the noise) is read into `trend`: any finite number. Missing, blank or "NaN" (the query had no
  result) → None; anything else → None, counted in `bad_trends`, and the alert still scales:
  without a trend decide() sizes for the measured demand alone.
- The `scale_cpu` annotation (the pool's average CPU over the window `scale_value` was taken
  over, 0..1) is read into `cpu` the same way: a finite number, not negative. Missing, blank or
  "NaN" → None; anything else → None, counted in `bad_cpus`, and the alert still scales: without it
  decide() sizes by requests in flight alone, as before the annotation existed.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from functions.bucket.request import DIRECTIONS, ScaleRequest

MAX_ALERTS = 1000     # one delivery; more is not a real alert group but a flood
MAX_DEPTH = 32        # real payloads are 4 levels deep
DATASOURCE_ALERTS = frozenset({"DatasourceNoData", "DatasourceError"})
# `unknown_pool` is counted by routing.py, after parsing: it depends on the pools configured.
IGNORED_REASONS = ("resolved", "no_scale_label", "invalid_scale_label", "datasource_alert", "other",
                   "unknown_pool")

# The labels and annotations the receiver reads (strings when present); the rest are not looked at.
READ_LABELS = ("scale", "alertname", "pool")
READ_ANNOTATIONS = ("scale_value", "scale_members", "scale_trend", "scale_cpu")


class ParseError(ValueError):
    """The body is not JSON, or not of the documented webhook shape; the message says where."""


@dataclass(frozen=True)
class Parsed:
    source: str                                   # "grafana" | "alertmanager"
    requests: tuple[ScaleRequest, ...]
    ignored: dict[str, int] = field(default_factory=dict)  # reason → count, only non-zero
    bad_values: int = 0                           # scale alerts whose scale_value was unusable
    bad_members: int = 0                          # scale alerts whose scale_members was unusable
    bad_trends: int = 0                           # scale alerts whose scale_trend was unusable
    bad_cpus: int = 0                             # scale alerts whose scale_cpu was unusable
    # The `pool` label of each request's alert (None: no label), aligned with `requests`.
    pools: tuple[str | None, ...] = ()


def _reject_constant(name: str) -> float:
    raise ParseError(f"malformed JSON: {name} is not a JSON number")


def loads(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, bounded nesting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"body is not UTF-8 at byte {exc.start}") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ParseError(f"nesting deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError, and int() refusing a huge number
        if isinstance(exc, ParseError):
            raise
        raise ParseError(f"malformed JSON: {exc}") from None
    _check_depth(doc)
    return doc


def _check_depth(doc: Any) -> None:
    # Iterative: the document came through json, so it is at most ~1000 deep, but a
    # recursive walk here would be the second place to blow the stack.
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _strings(where: str, value: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The named entries of a string map (an object; each named entry a string when present)."""
    if not isinstance(value, dict):
        raise ParseError(f"{where} must be an object")
    for name in names:
        if name in value and not isinstance(value[name], str):
            raise ParseError(f"{where}.{name} must be a string")
    return {name: value[name] for name in names if name in value}


def _finite(raw: str | None) -> float | None:
    """A finite number written in an annotation; None when absent or unusable."""
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def scale_value(raw: str | None) -> float | None:
    """The demand figure from the `scale_value` annotation; None when absent or unusable."""
    value = _finite(raw)
    return None if value is None or value < 0 else value


def scale_trend(raw: str | None) -> float | None:
    """The demand trend from the `scale_trend` annotation (negative = falling); None when absent
    or unusable."""
    return _finite(raw)


def scale_cpu(raw: str | None) -> float | None:
    """The pool's CPU from the `scale_cpu` annotation; None when absent or unusable."""
    return scale_value(raw)


def scale_members(raw: str | None) -> int | None:
    """The member count from the `scale_members` annotation; None when absent or unusable."""
    value = scale_value(raw)
    if value is None or value < 1 or not value.is_integer():
        return None
    return int(value)


def _given(notes: Mapping[str, str], name: str) -> str | None:
    """An annotation's text; None when missing, blank or `NaN`: the rules send NaN when the query
    behind it is empty (an empty query would hold back the whole Grafana rule), which is also
    what Grafana prints for a query without a value (grafana/grafana pkg/services/ngalert/state/
    template/template.go NewValues)."""
    raw = notes.get(name, "").strip()
    return None if raw in ("", "NaN") else raw


def detect_source(doc: Mapping[str, Any]) -> str:
    if doc.get("version") == "1" or "orgId" in doc or "state" in doc:
        return "grafana"
    return "alertmanager"


def _validate_top(doc: Any) -> list[Any]:
    if not isinstance(doc, dict):
        raise ParseError("body must be a JSON object")
    if "alerts" not in doc:
        raise ParseError("alerts is required")
    alerts = doc["alerts"]
    if not isinstance(alerts, list):
        raise ParseError("alerts must be a list")
    if len(alerts) > MAX_ALERTS:
        raise ParseError(f"alerts holds {len(alerts)} entries, more than {MAX_ALERTS}")
    return alerts


def _validate_alert(i: int, alert: Any) -> tuple[str, dict[str, str], dict[str, str]]:
    where = f"alerts[{i}]"
    if not isinstance(alert, dict):
        raise ParseError(f"{where} must be an object")
    if "status" not in alert:
        raise ParseError(f"{where}.status is required")
    if not isinstance(alert["status"], str):
        raise ParseError(f"{where}.status must be a string")
    if "labels" not in alert:
        raise ParseError(f"{where}.labels is required")
    labels = _strings(f"{where}.labels", alert["labels"], READ_LABELS)
    # A Go nil map marshals to null: no annotations.
    notes = alert.get("annotations")
    annotations = {} if notes is None else _strings(f"{where}.annotations", notes, READ_ANNOTATIONS)
    if alert.get("fingerprint") is not None and not isinstance(alert["fingerprint"], str):
        raise ParseError(f"{where}.fingerprint must be a string")
    return alert["status"], labels, annotations


def classify(status: str, labels: Mapping[str, str]) -> str | None:
    """The reason an alert is ignored, or None when it scales."""
    if status == "resolved":
        return "resolved"
    if status != "firing":
        return "other"
    if labels.get("alertname") in DATASOURCE_ALERTS:
        return "datasource_alert"
    if "scale" not in labels:
        return "no_scale_label"
    if labels["scale"] not in DIRECTIONS:
        return "invalid_scale_label"
    return None


def parse(body: bytes, received_at: float) -> Parsed:
    """A whole delivery; raises ParseError when a field it reads is not of the documented shape."""
    doc = loads(body)
    alerts = _validate_top(doc)
    source = detect_source(doc)
    # Validate every alert before building anything: a delivery is accepted or refused whole.
    checked = [_validate_alert(i, alert) for i, alert in enumerate(alerts)]
    requests: list[ScaleRequest] = []
    pools: list[str | None] = []
    ignored: dict[str, int] = {}
    bad_values = bad_members = bad_trends = bad_cpus = 0
    for alert, (status, labels, notes) in zip(alerts, checked, strict=True):
        reason = classify(status, labels)
        if reason is not None:
            ignored[reason] = ignored.get(reason, 0) + 1
            continue
        raw_value = notes.get("scale_value")
        value = scale_value(raw_value)
        if raw_value is not None and value is None:
            bad_values += 1
        raw_members = notes.get("scale_members")
        members = scale_members(raw_members)
        if raw_members is not None and members is None:
            bad_members += 1
        raw_trend = _given(notes, "scale_trend")
        trend = scale_trend(raw_trend)
        if raw_trend is not None and trend is None:
            bad_trends += 1
        raw_cpu = _given(notes, "scale_cpu")
        cpu = scale_cpu(raw_cpu)
        if raw_cpu is not None and cpu is None:
            bad_cpus += 1
        requests.append(ScaleRequest(
            direction=labels["scale"], source=source, received_at=received_at,
            alertname=labels.get("alertname"), fingerprint=alert.get("fingerprint"), value=value,
            members=members, trend=trend, cpu=cpu))
        pools.append(labels.get("pool"))
    return Parsed(source, tuple(requests), ignored, bad_values, bad_members, bad_trends, bad_cpus,
                  tuple(pools))
