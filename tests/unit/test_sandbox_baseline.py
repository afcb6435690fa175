"""The sandbox's classic scaler: what a delivery means (pure), and a delivery against the emulator."""
from __future__ import annotations

import dataclasses
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.common.exo import PoolApi
from functions.scaler.receiver.payload import ParseError
from sandbox.baseline import directions, next_size, serve
from sandbox.emulator import EmulatorServer

from .emulator_kit import KEY, SECRET

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = "baseline-test-token"


def delivery(*alerts: tuple[str, str | None]) -> bytes:
    """An Alertmanager body with one alert per (status, scale label or None)."""
    return json.dumps({"version": "4", "status": "firing", "receiver": "autoscaler", "alerts": [
        {"status": status, "labels": {"alertname": "PoolCpuHigh", **({"scale": scale} if scale else {})},
         "annotations": {}, "fingerprint": f"f{i}"}
        for i, (status, scale) in enumerate(alerts)]}).encode()


@pytest.mark.parametrize(("alerts", "expected"), [
    ([("firing", "up")], ("up",)),
    ([("firing", "down")], ("down",)),
    ([("resolved", "up")], ()),
    ([("firing", None)], ()),
    ([("firing", "sideways")], ()),
    ([("firing", "up"), ("resolved", "down"), ("firing", "up")], ("up", "up")),
    ([], ()),
])
def test_a_delivery_means_one_move_per_firing_scale_alert(alerts: list[tuple[str, str | None]],
                                                          expected: tuple[str, ...]) -> None:
    assert directions(delivery(*alerts)) == expected


def test_the_recorded_fixtures_read_as_their_firing_scale_alerts() -> None:
    assert directions((FIXTURES / "alertmanager_firing_up.json").read_bytes()) == ("up",)
    assert directions((FIXTURES / "grafana_resolved.json").read_bytes()) == ()


def test_a_body_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ParseError):
        directions(b"not json")


@pytest.mark.parametrize(("size", "direction", "expected"), [
    (2, "up", 3), (2, "down", 1), (1, "down", None), (6, "up", None), (5, "up", 6), (0, "up", 1),
    (7, "down", 6),  # above the maximum (bounds lowered): down still moves toward them
])
def test_next_size_is_one_step_within_bounds(size: int, direction: str, expected: int | None) -> None:
    assert next_size(size, direction, 1, 6) == expected


@pytest.fixture
def baseline(emu: EmulatorServer, pool_id: str) -> Iterator[int]:
    from functions.common import config
    cfg = config.load({"EXOSCALE_KEY": KEY, "EXOSCALE_SECRET": SECRET, "EXOSCALE_ZONE": "at-vie-1",
                       "INSTANCEPOOL_ID": pool_id, "EXOSCALE_API_URL": emu.url, "SOS_BUCKET": "unused",
                       "SOS_ENDPOINT": "http://127.0.0.1:1", "SCALER_TOKEN": TOKEN, "SCALER_MAX_SIZE": "3"})
    cfg = dataclasses.replace(cfg, listen_port=0)  # any free port
    server = serve(cfg, PoolApi.from_config(cfg))
    yield server.port
    server.begin_stop().join(timeout=5)


def post(port: int, body: bytes, token: str = TOKEN) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/webhook", body=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_firing_delivery_moves_the_pool_by_one_and_a_resolved_one_does_nothing(
        emu: EmulatorServer, pool_id: str, baseline: int) -> None:
    assert post(baseline, delivery(("firing", "up")))[0] == 200
    assert emu.model.get_pool(pool_id).size == 3
    assert post(baseline, delivery(("resolved", "up"), ("resolved", "down")))[0] == 200
    assert emu.model.get_pool(pool_id).size == 3
    assert post(baseline, delivery(("firing", "up")))[0] == 200  # at the maximum: no call
    assert post(baseline, delivery(("firing", "down"), ("firing", "down")))[0] == 200
    assert emu.model.get_pool(pool_id).size == 1
    ops = [(o.operation, o.size_before, o.size_after) for o in emu.operations()]
    assert ops == [("scale-instance-pool", 2, 3), ("scale-instance-pool", 3, 2), ("scale-instance-pool", 2, 1)]


def test_a_wrong_token_or_body_is_refused_and_moves_nothing(emu: EmulatorServer, pool_id: str,
                                                              baseline: int) -> None:
    assert post(baseline, delivery(("firing", "up")), token="wrong")[0] == 401
    status, answer = post(baseline, b"{")
    assert status == 400 and answer.strip()
    assert emu.model.get_pool(pool_id).size == 2
    assert emu.operations() == []
