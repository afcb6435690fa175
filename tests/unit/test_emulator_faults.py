"""Fault injection: the pure decision, config parsing, and its effect over HTTP."""

from __future__ import annotations

import random
import time

import pytest
import requests
from exoscale.api.exceptions import ExoscaleAPIClientException, ExoscaleAPIServerException
from exoscale.api.v2 import Client

from sandbox.emulator import EmulatorServer
from sandbox.emulator.faults import (
    FaultConfig,
    FaultConfigError,
    FaultInjector,
    FaultRule,
    Outage,
    decide,
    parse_config,
)

from .emulator_kit import KEY, SECRET, FakeClock, admin

SCALE = "scale-instance-pool"


def one(rule: FaultRule, op: str | None = SCALE, now: float = 0.0, seed: int = 0):
    return decide(FaultConfig(rules=(rule,)), op, now, random.Random(seed), [0])


@pytest.mark.parametrize("rule,op,now,status,close", [
    (FaultRule(), SCALE, 0, None, False),
    (FaultRule(error_5xx_rate=1.0), SCALE, 0, 500, False),
    (FaultRule(error_5xx_rate=1.0, error_5xx_status=502), SCALE, 0, 502, False),
    (FaultRule(rate_429=1.0), SCALE, 0, 429, False),
    (FaultRule(error_5xx_rate=1.0, operations=(SCALE,)), "get-instance-pool", 0, None, False),
    (FaultRule(error_5xx_rate=1.0, operations=(SCALE,)), None, 0, None, False),
    (FaultRule(outages=(Outage(10, 20),)), SCALE, 9.99, None, False),
    (FaultRule(outages=(Outage(10, 20),)), SCALE, 10, 503, False),
    (FaultRule(outages=(Outage(10, 20),)), None, 15, 503, False),   # an outage hits unknown routes too
    (FaultRule(outages=(Outage(10, 20),)), SCALE, 20, None, False),
    (FaultRule(outages=(Outage(10, 20, "close"),)), SCALE, 15, None, True),
])
def test_decide_table(rule: FaultRule, op: str | None, now: float, status: int | None, close: bool) -> None:
    d = one(rule, op, now)
    assert (d.status, d.close) == (status, close)
    assert d.rejects == (status is not None or close)


def test_max_hits_limits_injected_errors() -> None:
    inj = FaultInjector(FaultConfig(rules=(FaultRule(error_5xx_rate=1.0, max_hits=2),)))
    assert [inj.decide(SCALE, 0).status for _ in range(4)] == [500, 500, None, None]


def test_same_seed_same_faults() -> None:
    cfg = FaultConfig(rules=(FaultRule(error_5xx_rate=0.3, rate_429=0.3),), seed=42)
    injectors = [FaultInjector(cfg), FaultInjector(cfg)]
    runs = [[inj.decide(SCALE, 0) for _ in range(50)] for inj in injectors]
    statuses = [d.status for d in runs[0]]
    assert statuses == [d.status for d in runs[1]]
    assert {500, 429, None} <= set(statuses)


def test_latency_and_stuck_accumulate() -> None:
    cfg = FaultConfig(rules=(FaultRule(latency_s=0.1), FaultRule(latency_s=0.2, stuck_operations=True)))
    d = decide(cfg, SCALE, 0, random.Random(0), [0, 0])
    assert d.latency_s == pytest.approx(0.3) and d.stuck and not d.rejects


@pytest.mark.parametrize("raw", [
    [], {"error_5xx_rate": 2}, {"error_5xx_rate": "x"}, {"rate_429": -0.1}, {"nope": 1},
    {"operations": "scale-instance-pool"}, {"error_5xx_status": 404}, {"max_hits": -1},
    {"outages": [{"start": 5, "end": 1}]}, {"outages": [{"in_s": 0, "for_s": 1, "mode": "reset"}]},
    {"rules": [{}], "extra": 1}, {"seed": "x"}, {"stuck_operations": "yes"},
])
def test_bad_fault_configs_are_refused(raw: object) -> None:
    with pytest.raises(FaultConfigError):
        parse_config(raw, 100.0)


def test_relative_outage_is_anchored_at_now() -> None:
    cfg = parse_config({"outages": [{"in_s": 5, "for_s": 10}]}, 100.0)
    assert cfg.rules[0].outages == (Outage(105.0, 115.0, "503"),)


# ---- over HTTP --------------------------------------------------------------------------------

def test_rejected_mutation_is_not_performed_but_is_request_logged(emu: EmulatorServer, client: Client,
                                                                  pool_id: str) -> None:
    assert admin(emu, "POST", "faults", {"operations": [SCALE], "error_5xx_rate": 1.0}).status == 200
    with pytest.raises(ExoscaleAPIServerException):
        client.scale_instance_pool(id=pool_id, size=5)
    assert client.get_instance_pool(id=pool_id)["size"] == 2   # other operations unaffected
    assert emu.operations() == []
    reqs = admin(emu, "GET", "requests").body["requests"]
    assert [(r["operation_id"], r["status"], r["fault"]) for r in reqs] == [
        (SCALE, 500, "error-500"), ("get-instance-pool", 200, None)]


def test_429_is_a_client_error_with_retry_after(emu: EmulatorServer, client: Client, pool_id: str) -> None:
    emu.set_faults({"rate_429": 1.0})
    with pytest.raises(ExoscaleAPIClientException) as err:
        client.evict_instance_pool_members(id=pool_id, instances=[emu.model.get_pool(pool_id).members[0]])
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert emu.model.get_pool(pool_id).size == 2 and emu.operations() == []


def test_outage_window_answers_503_then_recovers(emu: EmulatorServer, client: Client, clock: FakeClock,
                                                 pool_id: str) -> None:
    admin(emu, "POST", "faults", {"outages": [{"in_s": 0, "for_s": 10}]})
    with pytest.raises(ExoscaleAPIServerException) as err:
        client.get_instance_pool(id=pool_id)
    assert err.value.response.status_code == 503
    clock.advance(10)
    assert client.get_instance_pool(id=pool_id)["size"] == 2


def test_outage_can_drop_connections(emu: EmulatorServer, client: Client, pool_id: str) -> None:
    emu.set_faults({"outages": [{"in_s": 0, "for_s": 60, "mode": "close"}]})
    with pytest.raises(requests.ConnectionError):
        client.scale_instance_pool(id=pool_id, size=4)
    assert emu.operations() == []
    (rec,) = emu.requests()
    assert (rec.status, rec.fault, rec.operation_id) == (None, "outage-close", SCALE)
    admin(emu, "DELETE", "faults")
    assert client.get_instance_pool(id=pool_id)["size"] == 2


def test_stuck_operations_stay_pending(emu: EmulatorServer, client: Client, clock: FakeClock,
                                       pool_id: str) -> None:
    emu.set_faults({"operations": [SCALE], "stuck_operations": True})
    op = client.scale_instance_pool(id=pool_id, size=3)
    clock.advance(3600)
    assert client.get_operation(id=op["id"])["state"] == "pending"
    assert client.get_instance_pool(id=pool_id)["size"] == 3
    assert emu.operations()[0].completes is False


def test_latency_is_added(emu: EmulatorServer, client: Client, pool_id: str) -> None:
    emu.set_faults({"latency_s": 0.2, "operations": ["get-instance-pool"]})
    started = time.monotonic()
    client.get_instance_pool(id=pool_id)
    assert time.monotonic() - started >= 0.2


def test_faults_at_construction_and_max_hits(clock: FakeClock) -> None:
    cfg = {"rules": [{"operations": [SCALE], "error_5xx_rate": 1.0, "max_hits": 1}], "seed": 3}
    with EmulatorServer(KEY, SECRET, clock=clock, faults_config=cfg) as server:
        pid = server.create_pool(1)
        c = Client(KEY, SECRET, url=server.url)
        with pytest.raises(ExoscaleAPIServerException):
            c.scale_instance_pool(id=pid, size=2)
        assert c.scale_instance_pool(id=pid, size=2)["state"] == "pending"   # the retry goes through
        assert [e.size_after for e in server.operations()] == [2]


def test_admin_faults_roundtrip(emu: EmulatorServer) -> None:
    set_ = admin(emu, "POST", "faults", {"seed": 1, "rules": [{"rate_429": 0.5}]})
    assert set_.status == 200 and set_.body["rules"][0]["rate_429"] == 0.5
    assert admin(emu, "GET", "faults").body == set_.body
    assert admin(emu, "POST", "faults", {"rate_429": 5}).status == 400
    assert admin(emu, "DELETE", "faults").body["rules"] == []
