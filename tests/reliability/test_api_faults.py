"""Exoscale API faults during a tick, beyond tests/integration/test_tick.py (5xx on reads and calls).

Throttling (429 + Retry-After), reads slower than the client's timeout, a scaling call that
times out after the platform performed it, connections dropped on every call, and operations
that never complete. The emulator's operation log is the witness for "called exactly once".
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from functions.common import keys
from functions.common.exo import make_client
from functions.scaler.tick import run as tick_mod
from functions.scaler.tick.run import TickFailed
from tests.integration.tickkit import (
    World,
    add_request,
    history,
    pending_keys,
    scaling_calls,
    tick_world,
    wait_running,
)
from tests.waiting import wait_for

SHORT = (1.0, 0.3)  # (connect, read) seconds: a client that gives up before the slow emulator


@pytest.fixture
def world(moto_endpoint: str, bucket: str) -> Iterator[World]:
    with tick_world(moto_endpoint, bucket, SCALER_COOLDOWN_S="0") as w:
        yield w


def calls_to(world: World, operation: str) -> list[int | None]:
    return [r.status for r in world.emu.requests() if r.operation_id == operation]


def run_main(world: World, monkeypatch: pytest.MonkeyPatch,
             timeout: tuple[float, float] | None = None) -> int:
    """The real entry point in-process, so its log lines can be read; optionally short timeouts."""
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    if timeout is not None:
        monkeypatch.setattr(tick_mod.PoolApi, "from_config", classmethod(
            lambda cls, cfg: cls(make_client(cfg, timeout=timeout), cfg.pool_id)))
    return tick_mod.main([])


def test_throttled_reads_honour_retry_after_and_then_scale(world: World) -> None:
    world.emu.set_faults({"rules": [{"operations": ["get-instance-pool"], "rate_429": 1.0,
                                     "max_hits": 2}]})
    add_request(world.store, world.pool, "up")
    started = time.monotonic()
    world.tick().run()
    elapsed = time.monotonic() - started
    # Bounded: two retries, no more. Retry-After: 1 was waited for each time (the backoff alone
    # would be ~0.3 s + 0.6 s); a lower bound only, which a loaded machine cannot break.
    assert calls_to(world, "get-instance-pool") == [429, 429, 200]
    assert elapsed >= 2.0
    assert [c.arguments for c in scaling_calls(world.emu)] == [{"size": 3}]


def test_endless_throttling_is_bounded_and_leaves_requests_pending(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    world.emu.set_faults({"rules": [{"operations": ["get-instance-pool"], "rate_429": 1.0}]})
    key = add_request(world.store, world.pool, "up")
    with caplog.at_level(logging.INFO):
        assert run_main(world, monkeypatch) == 1
    assert calls_to(world, "get-instance-pool") == [429] * 4  # one call + 3 retries, no more
    assert any(r.levelno == logging.ERROR and "tick failed" in r.getMessage() and "429" in r.getMessage()
               for r in caplog.records)
    assert scaling_calls(world.emu) == [] and pending_keys(world.store, world.pool) == [key]
    world.emu.set_faults({"rules": []})
    assert run_main(world, monkeypatch) == 0
    assert [c.arguments for c in scaling_calls(world.emu)] == [{"size": 3}]
    assert pending_keys(world.store, world.pool) == []


def test_throttled_scaling_call_is_retried_next_tick_not_dropped(world: World) -> None:
    # 429 on the mutation means "later", not "no": the request must not be consumed as refused.
    world.emu.set_faults({"rules": [{"operations": ["scale-instance-pool"], "rate_429": 1.0,
                                     "max_hits": 1}]})
    key = add_request(world.store, world.pool, "up")
    with pytest.raises(TickFailed, match="will retry next tick"):
        world.tick().run()
    assert pending_keys(world.store, world.pool) == [key]
    assert [r["action"] for r in history(world.store, world.pool)] == []
    world.tick().run()
    assert [c.arguments for c in scaling_calls(world.emu)] == [{"size": 3}]
    assert [r["action"] for r in history(world.store, world.pool)] == ["scale-up"]


def test_read_slower_than_the_client_timeout_fails_clearly_then_next_tick_completes(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    world.emu.set_faults({"rules": [{"operations": ["get-instance-pool"], "latency_s": 1.0}]})
    key = add_request(world.store, world.pool, "up")
    with caplog.at_level(logging.INFO):
        code = run_main(world, monkeypatch, timeout=SHORT)
    assert code == 1  # after 4 tries of a 0.3 s read timeout (the retry policy's bound)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and "tick failed" in failures[0].getMessage()
    assert "timed out" in failures[0].getMessage().lower()
    assert failures[0].exc_info is None  # one line, not a traceback
    assert scaling_calls(world.emu) == [] and pending_keys(world.store, world.pool) == [key]
    assert world.store.get(keys.scaler_state(world.pool)) is None or world.state().intent is None
    world.emu.set_faults({"rules": []})
    assert run_main(world, monkeypatch, timeout=SHORT) == 0
    assert [c.arguments for c in scaling_calls(world.emu)] == [{"size": 3}]
    assert pending_keys(world.store, world.pool) == []


def test_scaling_call_that_times_out_after_it_was_performed_is_not_repeated(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    # The emulator sleeps, then performs the call: the client has long given up by then.
    world.emu.set_faults({"rules": [{"operations": ["scale-instance-pool"], "latency_s": 1.0}]})
    requests = [add_request(world.store, world.pool, "up", fingerprint=f"f{i}") for i in range(2)]
    with caplog.at_level(logging.INFO), pytest.raises(TickFailed, match="will retry next tick"):
        world.tick(timeout=SHORT).run()
    intent = world.state().intent
    assert intent is not None and intent.phase == "decided" and intent.attempts == 1
    # The emulator performs it after its injected latency.
    wait_for("the late scaling call", lambda: scaling_calls(world.emu))
    assert world.size() == 3  # performed although the client saw a timeout
    world.emu.set_faults({"rules": []})
    state = world.tick(timeout=SHORT).run()
    assert len(scaling_calls(world.emu)) == 1, "the scaling call was sent twice"
    assert state.intent is None and state.last_action is not None
    assert state.last_action.to_size == 3
    assert pending_keys(world.store, world.pool) == []
    [record] = history(world.store, world.pool)
    assert record["action"] == "scale-up" and {r["key"] for r in record["requests"]} == set(requests)


def test_scaling_call_whose_connection_always_drops_is_given_up_not_wedged(world: World) -> None:
    world.emu.set_faults({"rules": [{"operations": ["scale-instance-pool"],
                                     "outages": [{"in_s": 0, "for_s": 600, "mode": "close"}]}]})
    add_request(world.store, world.pool, "up")
    for attempt in (1, 2):
        with pytest.raises(TickFailed, match="will retry next tick"):
            world.tick(timeout=SHORT).run()
        intent = world.state().intent
        assert intent is not None and intent.attempts == attempt
    state = world.tick(timeout=SHORT).run()  # third failure: given up and recorded
    assert state.intent is None and state.refusal is not None
    assert "failed" in state.refusal.message
    assert [r["action"] for r in history(world.store, world.pool)] == ["failed"]
    assert pending_keys(world.store, world.pool) == []
    # Later requests are handled once the platform answers again.
    world.emu.set_faults({"rules": []})
    add_request(world.store, world.pool, "up", fingerprint="later")
    world.tick().run()
    assert world.size() == 3 and pending_keys(world.store, world.pool) == []


def test_operation_that_never_completes_does_not_wedge_the_scaler(world: World) -> None:
    world.emu.set_faults({"rules": [{"operations": ["scale-instance-pool"], "stuck_operations": True}]})
    add_request(world.store, world.pool, "up")
    first = world.tick().run()
    assert first.last_action is not None
    op_id = first.last_action.operation_id
    assert op_id and world.emu.model.get_operation(op_id).state(time.time()) == "pending"
    wait_running(world.emu, world.pool)
    add_request(world.store, world.pool, "up", fingerprint="later")
    second = world.tick().run()
    assert [c.arguments for c in scaling_calls(world.emu)] == [{"size": 3}, {"size": 4}]
    assert world.emu.model.get_operation(op_id).state(time.time()) == "pending"  # still stuck
    assert second.intent is None and pending_keys(world.store, world.pool) == []
    assert [r["action"] for r in history(world.store, world.pool)] == ["scale-up", "scale-up"]
