"""Pure tests of routing a delivery's alerts to pools (functions/scaler/receiver/routing.py), the
`pool` label in parsing (payload.py), the choice of a pool by an operator (functions/views/pools.py)
and the every-pool overview (functions/views/overview.py, inspect/tables.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.bucket.request import ScaleRequest
from functions.common.store import Stored
from functions.inspect import tables
from functions.scaler.receiver import payload, routing
from functions.views import overview
from functions.views import pools as choice
from functions.views.status import status_view

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T0 = 1_740_823_200.0
ONE = ("default",)
TWO = ("web", "api")


# --- which pool an alert belongs to ------------------------------------------------------------

@pytest.mark.parametrize("configured,label,pool", [
    # one pool: every alert is its, as before pools had names
    (ONE, None, "default"), (ONE, "", "default"), (ONE, "default", "default"),
    (ONE, "web", "default"), (ONE, "00000000-0000-0000-0000-000000000001", "default"),
    (("app",), None, "app"),
    # several: the label must name one of them, exactly
    (TWO, "web", "web"), (TWO, "api", "api"), (TWO, None, None), (TWO, "", None),
    (TWO, "gone", None), (TWO, "Web", None), (TWO, "web ", None), (TWO, "default", None),
])
def test_alert_pool(configured: tuple[str, ...], label: str | None, pool: str | None) -> None:
    assert routing.alert_pool(configured, label) == pool


def req(direction: str, fingerprint: str) -> ScaleRequest:
    return ScaleRequest(direction, "grafana", T0, fingerprint=fingerprint)


@pytest.mark.parametrize("configured,labels,ignored,routed,counts", [
    (TWO, ["web", "api", "web"], {}, ["web", "api", "web"], {}),
    (TWO, ["web", "gone", None], {"resolved": 2}, ["web"], {"resolved": 2, "unknown_pool": 2}),
    (TWO, ["gone"], {}, [], {"unknown_pool": 1}),
    (ONE, ["web", None, "default"], {"other": 1}, ["default"] * 3, {"other": 1}),
    (TWO, [], {"resolved": 1}, [], {"resolved": 1}),
])
def test_route_keeps_order_and_counts_unknown_pools(
        configured: tuple[str, ...], labels: list[str | None], ignored: dict[str, int],
        routed: list[str], counts: dict[str, int]) -> None:
    requests = [req("up", f"fp{i}") for i in range(len(labels))]
    got, got_counts = routing.route(configured, requests, labels, ignored)
    assert [pool for pool, _ in got] == routed
    known = [r for r, label in zip(requests, labels, strict=True)
             if routing.alert_pool(configured, label) is not None]
    assert [r for _, r in got] == known  # the requests themselves, in delivery order
    assert got_counts == counts
    assert "unknown_pool" not in ignored  # the caller's counts are not changed in place


def test_unknown_pool_is_a_documented_ignore_reason() -> None:
    assert routing.UNKNOWN_POOL in payload.IGNORED_REASONS


def test_bad_annotations_only_the_non_zero_counts() -> None:
    parsed = payload.Parsed("grafana", (), bad_values=2, bad_cpus=1)
    assert routing.bad_annotations(parsed) == {"bad_scale_value": 2, "bad_scale_cpu": 1}
    assert routing.bad_annotations(payload.Parsed("grafana", ())) == {}


# --- the pool label in parsing -------------------------------------------------------------------

def test_two_pool_fixture_labels_align_with_requests() -> None:
    parsed = payload.parse((FIXTURES / "pools" / "grafana_two_pools.json").read_bytes(), T0)
    assert [(r.direction, r.fingerprint) for r in parsed.requests] == [
        ("up", "a1b2c3d4e5f60001"), ("down", "a1b2c3d4e5f60002"), ("up", "a1b2c3d4e5f60003"),
        ("up", "a1b2c3d4e5f60004")]
    assert parsed.pools == ("web", "api", "gone", None)
    assert parsed.ignored == {"resolved": 1}  # resolved first, whatever its pool
    routed, counts = routing.route(TWO, parsed.requests, parsed.pools, parsed.ignored)
    assert [(pool, r.fingerprint) for pool, r in routed] == [
        ("web", "a1b2c3d4e5f60001"), ("api", "a1b2c3d4e5f60002")]
    assert counts == {"resolved": 1, "unknown_pool": 2}


def alert(**labels: Any) -> dict[str, Any]:
    return {"status": "firing", "labels": {"scale": "up", **labels}}


def test_a_pool_label_that_is_not_a_string_is_refused_like_the_other_read_labels() -> None:
    body = json.dumps({"alerts": [alert(pool=3)]}).encode()
    with pytest.raises(payload.ParseError, match=r"alerts\[0\]\.labels\.pool must be a string"):
        payload.parse(body, T0)


def test_ignored_alerts_carry_no_pool_entry() -> None:
    body = json.dumps({"alerts": [alert(pool="web"), {"status": "resolved", "labels": {
        "scale": "up", "pool": "api"}}, alert()]}).encode()
    parsed = payload.parse(body, T0)
    assert parsed.pools == ("web", None) and len(parsed.requests) == 2


# --- an operator's choice of pool ----------------------------------------------------------------

@pytest.mark.parametrize("configured,given,result", [
    (ONE, None, "default"), (ONE, "", "default"), (ONE, "default", "default"),
    (ONE, "web", "no pool named 'web': this deployment scales default"),
    (TWO, "api", "api"), (TWO, "web", "web"),
    (TWO, None, "--pool NAME is required: this deployment scales web, api"),
    (TWO, "", "--pool NAME is required: this deployment scales web, api"),
    (TWO, "db", "no pool named 'db': this deployment scales web, api"),
])
def test_pick(configured: tuple[str, ...], given: str | None, result: str) -> None:
    if result in configured:
        assert choice.pick(configured, given, "--pool NAME") == result
    else:
        with pytest.raises(choice.PoolChoiceError) as caught:
            choice.pick(configured, given, "--pool NAME")
        assert str(caught.value) == result


# --- the overview ------------------------------------------------------------------------------

def view(pool_id: str, paused: bool = False, **state: Any) -> dict[str, Any]:
    scaler = None
    if state:
        body = {"schema": 3, "revision": 1, "last_tick_at": T0 - 30, "last_tick_by": "vm",
                "last_action": None, "last_decision": None, "cooldown_until": None, "pool": None,
                "intent": None, "refusal": None, "bounds": None, "paused": False, **state}
        scaler = Stored(f"state/{pool_id}/scaler.json", body, "e1")
    # `paused` is the operator's setting (control/<pool>/settings.json), as inspect shows it
    settings = Stored(f"control/{pool_id}/settings.json", {"paused": True}, "e2") if paused else None
    return status_view(pool_id, T0, scaler=scaler, discovery=None, lease=None, settings=settings,
                       requests=[], hard_min=1, hard_max=4)


def test_overview_rows_follow_each_pools_view() -> None:
    busy = view("id-web", pool={"size": 3, "state": "running", "serving": 3,
                                "observed_at": T0 - 30},
                last_action={"at": T0 - 300, "action": "scale-up", "from_size": 2, "to_size": 3,
                             "reason": "r", "evicted": [], "operation_id": None, "requests": 1},
                cooldown_until=T0 + 40, bounds={"min": 2, "max": 4}, paused=True)
    doc = overview.overview([("web", busy), ("api", view("id-api"))], T0)
    web, api = doc["pools"]
    assert (web["name"], web["pool_id"], web["size"], web["state"]) == ("web", "id-web", 3, "running")
    assert web["last_action"]["action"] == "scale-up" and web["last_action"]["age_s"] == 300.0
    assert web["cooldown_remaining_s"] == 40.0 and web["bounds"] == {"min": 2, "max": 4}
    assert web["tick_age_s"] == 30.0 and web["errors"] == 0
    assert (api["name"], api["size"], api["last_action"], api["tick_age_s"]) == ("api", None, None, None)
    assert api["bounds"] == {"min": 1, "max": 4} and doc["errors"] == []
    lines = tables.overview_text(doc).splitlines()
    assert len(lines) == 3 and lines[0].split()[:2] == ["POOL", "SIZE"]
    assert lines[1].startswith("web ") and "3 running" in lines[1] and "2..4" in lines[1]
    assert "scale-up 2 -> 3, 5m 00s ago" in lines[1] and "cooldown 40s" in lines[1]
    assert "paused" in lines[1]
    assert lines[2].startswith("api ") and "none yet" in lines[2] and "no tick yet" in lines[2]


def test_overview_gathers_every_pools_errors() -> None:
    broken = status_view("id-api", T0, scaler=Stored("state/id-api/scaler.json", None, "e",
                                                     error="not JSON"),
                         discovery=None, lease=None, settings=None, requests=[], hard_min=1,
                         hard_max=4)
    doc = overview.overview([("web", view("id-web")), ("api", broken)], T0)
    assert [r["errors"] for r in doc["pools"]] == [0, 1]
    assert [e["key"] for e in doc["errors"]] == ["state/id-api/scaler.json"]
    assert "1 error" in tables.overview_text(doc).splitlines()[2]
