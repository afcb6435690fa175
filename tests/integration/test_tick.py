"""The tick end to end in-process: real SOS protocol (moto server), real client, API emulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.bucket.state import Bounds
from functions.common import keys
from functions.scaler.tick.run import dry_run
from tests.fake_exporters import fake_exporters
from tests.integration.tickkit import (
    World,
    add_request,
    history,
    pending_keys,
    scaling_calls,
    tick_world,
    wait_running,
)

ROOT = Path(__file__).resolve().parents[2]


class Skewed:
    """The emulator's clock, which a test may move forward (wall clock plus a skew)."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


@pytest.fixture
def clock() -> Skewed:
    return Skewed()


@pytest.fixture
def world(moto_endpoint: str, bucket: str, clock: Skewed) -> Iterator[World]:
    with tick_world(moto_endpoint, bucket, emulator={"clock": clock}, SCALER_COOLDOWN_S="0") as w:
        yield w


def test_up_request_scales_once_and_is_consumed_into_history(world: World) -> None:
    key = add_request(world.store, world.pool, "up")
    add_request(world.store, world.pool, "up", fingerprint="again")  # a re-delivery
    state = world.tick().run()
    assert world.size() == 3
    calls = scaling_calls(world.emu)
    assert len(calls) == 1 and calls[0].arguments == {"size": 3}
    assert pending_keys(world.store, world.pool) == []
    [record] = history(world.store, world.pool)
    assert record["action"] == "scale-up" and key in [r["key"] for r in record["requests"]]
    assert len(record["requests"]) == 2
    assert state.intent is None and state.last_action is not None
    assert state.last_action.to_size == 3


def test_no_request_no_call(world: World) -> None:
    world.tick().run()
    assert scaling_calls(world.emu) == [] and history(world.store, world.pool) == []
    decided = world.state().last_decision
    assert decided is not None and decided.action == "none"


def test_scale_down_evicts_the_newest_member_by_name(world: World, clock: Skewed) -> None:
    emu, pool_id = world.emu, world.pool
    clock.skew += 2  # the API's created-at has whole seconds: make the new member visibly newer
    world.tick(SCALER_MIN_SIZE=3).run()  # corrects 2 → 3 without any request
    wait_running(emu, pool_id)
    members = sorted(emu.model.get_pool(pool_id).members,
                     key=lambda i: emu.model.get_instance(i).created_at)
    add_request(world.store, pool_id, "down")
    world.tick().run()
    evict = scaling_calls(emu)[-1]
    assert evict.operation == "evict-instance-pool-members"
    assert evict.arguments["instances"] == [members[-1]]
    assert world.size() == 2


def test_scale_down_evicts_the_idle_member_its_node_exporter_shows(moto_endpoint: str, bucket: str) -> None:
    """Requests in flight per member (read from each member's node exporter when the decision
    evicts) come before age: the two members that the old order (newest, then id) would evict
    first hold requests; the third is idle."""
    with tick_world(moto_endpoint, bucket, size=3, SCALER_COOLDOWN_S="0") as w:
        members = sorted(w.emu.model.get_pool(w.pool).members)  # one creation time: by id
        ips = [w.emu.model.get_instance(i).public_ip for i in members]
        with fake_exporters(ips) as exporters:
            exporters.in_flight(ips[0], 2)
            exporters.in_flight(ips[1], 1)
            w.tick(TARGET_PORT=str(exporters.port)).run()  # no request: no decision to evict
            assert exporters.paths == []  # a tick that evicts nobody reads no member
            add_request(w.store, w.pool, "down")
            w.tick(TARGET_PORT=str(exporters.port)).run()
        evict = scaling_calls(w.emu)[-1]
        assert evict.operation == "evict-instance-pool-members"
        assert evict.arguments["instances"] == [members[2]]
        assert sorted(ip for ip, _ in exporters.paths) == sorted(ips)  # each member once


def test_pool_not_running_keeps_requests_pending(world: World) -> None:
    # Members boot for an hour of the model's time: the second tick meets the pool scaling up
    # however long the first one took on a loaded machine (0.2 s was not always enough).
    world.emu.model.boot_delay_s = 3600.0
    add_request(world.store, world.pool, "up")
    world.tick().run()  # 2 → 3, the new member boots
    assert world.emu.model.get_pool(world.pool).state == "scaling-up"
    key = add_request(world.store, world.pool, "up", fingerprint="during-boot")
    world.tick().run()
    assert len(scaling_calls(world.emu)) == 1
    assert key in pending_keys(world.store, world.pool)


def test_paused_by_operator_keeps_requests(world: World) -> None:
    world.store.put(keys.settings(world.pool), {"paused": True})
    key = add_request(world.store, world.pool, "up")
    state = world.tick().run()
    assert scaling_calls(world.emu) == [] and state.paused is True
    assert pending_keys(world.store, world.pool) == [key]


def test_operator_bounds_are_clamped_and_honoured(world: World) -> None:
    world.store.put(keys.settings(world.pool), {"min_size": 4, "max_size": 50})
    state = world.tick(SCALER_MAX_SIZE=5).run()
    assert state.bounds == Bounds(4, 5) and world.size() == 4


def test_stale_requests_expire_into_history(world: World) -> None:
    old = add_request(world.store, world.pool, "up", at=time.time() - 1000)
    world.tick().run()
    assert scaling_calls(world.emu) == []
    [record] = history(world.store, world.pool)
    assert record["action"] == "expired" and record["requests"][0]["key"] == old


def test_corrupt_request_is_recorded_and_removed(world: World) -> None:
    bad = keys.request(world.pool, int(time.time() * 1000), "broken")
    world.store.s3.put_object(Bucket=world.cfg.bucket, Key=bad, Body=b"{oops")
    world.tick().run()
    assert pending_keys(world.store, world.pool) == []
    assert [r["action"] for r in history(world.store, world.pool)] == ["corrupt"]


def test_at_maximum_is_recorded_as_at_bound(world: World) -> None:
    add_request(world.store, world.pool, "up")
    world.tick(SCALER_MAX_SIZE=2).run()
    assert scaling_calls(world.emu) == []
    assert [r["action"] for r in history(world.store, world.pool)] == ["at-bound"]


def test_refusal_is_recorded_not_retried(world: World) -> None:
    emu, pool_id = world.emu, world.pool
    add_request(world.store, pool_id, "down")
    tick = world.tick()
    real_evict = tick.api.evict
    # The member named in the intent disappears between decision and call: the API answers 4xx.
    tick.api.evict = lambda ids: real_evict(["00000000-0000-0000-0000-00000000dead"])
    state = tick.run()
    assert state.refusal is not None
    assert "404" in state.refusal.message or "400" in state.refusal.message
    assert [r["action"] for r in history(world.store, pool_id)] == ["refused"]
    assert pending_keys(world.store, pool_id) == [] and state.intent is None
    world.tick().run()
    assert scaling_calls(emu) == []


def test_server_errors_retry_next_tick_then_give_up(world: World) -> None:
    emu, pool_id = world.emu, world.pool
    emu.set_faults({"rules": [{"operations": ["scale-instance-pool"], "error_5xx_rate": 1.0,
                               "error_5xx_status": 503}]})
    add_request(world.store, pool_id, "up")
    for attempt in (1, 2):
        with pytest.raises(Exception, match="will retry next tick"):
            world.tick().run()
        intent = world.state().intent
        assert intent is not None and intent.attempts == attempt
    state = world.tick().run()  # third failure: given up, recorded, not wedged
    assert state.intent is None and state.refusal is not None
    assert "failed" in state.refusal.message
    assert [r["action"] for r in history(world.store, pool_id)] == ["failed"]
    emu.set_faults({"rules": []})
    add_request(world.store, pool_id, "up")
    world.tick().run()
    assert [op.arguments for op in scaling_calls(emu)] == [{"size": 3}]


def test_transient_server_errors_on_reads_are_retried(world: World) -> None:
    world.emu.set_faults({"rules": [{"operations": ["get-instance-pool"],
                                        "error_5xx_rate": 1.0, "max_hits": 2}]})
    add_request(world.store, world.pool, "up")
    world.tick().run()
    assert world.size() == 3


def test_dry_run_changes_nothing(world: World) -> None:
    key = add_request(world.store, world.pool, "up")
    out = dry_run(world.tick())
    assert out["decision"]["action"] == "scale-up" and out["decision"]["target_size"] == 3
    assert scaling_calls(world.emu) == [] and pending_keys(world.store, world.pool) == [key]
    assert world.store.get(keys.scaler_state(world.pool)) is None


def test_finishing_an_intent_is_this_ticks_one_call(world: World, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    from functions.scaler.tick import run as tick_module

    class Crash(Exception):
        pass

    def crash_after_intent(name: str) -> None:
        if name == "intent-written":
            raise Crash()

    add_request(world.store, world.pool, "up")
    monkeypatch.setattr(tick_module, "checkpoint", crash_after_intent)
    with pytest.raises(Crash):
        world.tick().run()
    monkeypatch.undo()
    assert scaling_calls(world.emu) == []
    late = add_request(world.store, world.pool, "up", fingerprint="late")
    world.tick().run()
    assert [op.arguments for op in scaling_calls(world.emu)] == [{"size": 3}]
    assert pending_keys(world.store, world.pool) == [late]


@pytest.mark.parametrize("direction, other_size", [("up", 5), ("down", 4)])
def test_a_pool_changed_by_something_else_is_recorded_as_seen_not_as_our_action(
        world: World, monkeypatch: pytest.MonkeyPatch, direction: str, other_size: int) -> None:
    from functions.scaler.tick import run as tick_module

    class Crash(Exception):
        pass

    def crash_after_intent(name: str) -> None:
        if name == "intent-written":
            raise Crash()

    world.emu.model.scale(world.pool, 3)
    wait_running(world.emu, world.pool)
    key = add_request(world.store, world.pool, direction)
    monkeypatch.setattr(tick_module, "checkpoint", crash_after_intent)
    with pytest.raises(Crash):
        world.tick().run()
    monkeypatch.undo()
    world.emu.model.scale(world.pool, other_size)         # someone else, before the next tick
    wait_running(world.emu, world.pool)
    world.emu.reset_logs()
    state = world.tick().run()
    assert scaling_calls(world.emu) == [] and world.size() == other_size
    [record] = history(world.store, world.pool)
    assert record["action"] == "superseded" and (record["from_size"], record["to_size"]) == (3, other_size)
    assert [r["key"] for r in record["requests"]] == [key]
    assert state.intent is None and state.last_action is None and state.cooldown_until is None
    assert pending_keys(world.store, world.pool) == []


def test_history_older_than_the_retention_is_pruned_once_a_day(world: World) -> None:
    now = time.time()
    store, pool_id = world.store, world.pool
    old = [keys.history(pool_id, now - days * 86400, "scale-up", f"o{days}") for days in (40, 31)]
    kept = [keys.history(pool_id, now - days * 86400, "scale-up", f"k{days}") for days in (29, 0)]
    for key in old + kept:
        store.put(key, {"at": 0, "action": "scale-up"})
    state = world.tick().run()
    remaining = list(store.list_keys(keys.history_prefix(pool_id)))
    assert remaining == sorted(kept)
    assert state.history_pruned_on == time.strftime("%Y-%m-%d", time.gmtime(now))
    store.put(old[0], {"at": 0, "action": "scale-up"})  # appears after today's pruning
    world.tick().run()
    assert old[0] in list(store.list_keys(keys.history_prefix(pool_id)))  # next run is tomorrow


def test_dry_run_writes_nothing_anywhere(world: World, tmp_path: Path) -> None:
    """Not the bucket (the state is not rewritten, expired and corrupt requests stay),
    not the API, not the textfile directory."""
    store = world.store
    add_request(store, world.pool, "up")
    add_request(store, world.pool, "up", at=time.time() - 1000, fingerprint="old")
    store.s3.put_object(Bucket=world.cfg.bucket, Body=b"{oops",
                        Key=keys.request(world.pool, int(time.time() * 1000), "broken"))
    store.put(keys.scaler_state(world.pool), {"schema": 3, "revision": 3, "last_tick_at": time.time() - 60})
    store.put(keys.settings(world.pool), {"paused": False, "min_size": 1, "max_size": 5})

    def snapshot() -> dict[str, str]:
        listed = store.s3.list_objects_v2(Bucket=world.cfg.bucket)
        return {o["Key"]: o["ETag"] for o in listed.get("Contents", [])}

    before = snapshot()
    done = subprocess.run([sys.executable, "-m", "functions.scaler.tick", "--dry-run"],
                          env={**os.environ, **world.env, "TEXTFILE_DIR": str(tmp_path),
                               "PYTHONPATH": str(ROOT)},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["decision"]["action"] == "scale-up" and len(out["expired"]) == 1
    assert snapshot() == before
    assert list(tmp_path.iterdir()) == []
    assert scaling_calls(world.emu) == []
