"""The tick end to end in-process: real SOS protocol (moto server), real client, API emulator."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from functions.common import keys
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.scaler.tick import Tick, dry_run
from tests.integration.tickkit import (
    add_request,
    cfg_for,
    env_for,
    history,
    pending_keys,
    scaling_calls,
    start_emulator,
    wait_running,
)


@pytest.fixture
def world(moto_endpoint: str, bucket: str) -> Iterator[dict]:
    emu, pool_id = start_emulator(2)
    env = env_for(moto_endpoint, bucket, emu, pool_id, SCALER_COOLDOWN_S="0", SCALER_SETTLE_S="0")
    cfg = cfg_for(env)
    store = Store.from_config(cfg)
    yield {"emu": emu, "pool": pool_id, "cfg": cfg, "store": store, "env": env}
    emu.stop()


def make_tick(world: dict, **over: object) -> Tick:
    cfg = world["cfg"]
    if over:
        cfg = cfg_for({**world["env"], **{k: str(v) for k, v in over.items()}})
    return Tick(cfg, world["store"], PoolApi(make_client(cfg), cfg.pool_id))


def pool_size(world: dict) -> int:
    return world["emu"].model.get_pool(world["pool"]).size


def test_up_request_scales_once_and_is_consumed_into_history(world: dict) -> None:
    key = add_request(world["store"], world["pool"], "up")
    add_request(world["store"], world["pool"], "up", fingerprint="again")  # a re-delivery
    state = make_tick(world).run()
    assert pool_size(world) == 3
    calls = scaling_calls(world["emu"])
    assert len(calls) == 1 and calls[0].arguments == {"size": 3}
    assert pending_keys(world["store"], world["pool"]) == []
    [record] = history(world["store"], world["pool"])
    assert record["action"] == "scale-up" and key in [r["key"] for r in record["requests"]]
    assert len(record["requests"]) == 2
    assert state["intent"] is None and state["last_action"]["to_size"] == 3


def test_no_request_no_call(world: dict) -> None:
    make_tick(world).run()
    assert scaling_calls(world["emu"]) == [] and history(world["store"], world["pool"]) == []
    stored = world["store"].get(keys.scaler_state(world["pool"]))
    assert stored is not None and stored.body["last_decision"]["action"] == "none"


def test_scale_down_evicts_the_newest_member_by_name(world: dict) -> None:
    emu, pool_id = world["emu"], world["pool"]
    time.sleep(1.1)  # the API's created-at has whole seconds: make the new member visibly newer
    make_tick(world, SCALER_MIN_SIZE=3).run()  # corrects 2 → 3 without any request
    wait_running(emu, pool_id)
    members = sorted(emu.model.get_pool(pool_id).members,
                     key=lambda i: emu.model.get_instance(i).created_at)
    add_request(world["store"], pool_id, "down")
    make_tick(world).run()
    evict = scaling_calls(emu)[-1]
    assert evict.operation == "evict-instance-pool-members"
    assert evict.arguments["instances"] == [members[-1]]
    assert pool_size(world) == 2


def test_pool_not_running_keeps_requests_pending(world: dict) -> None:
    add_request(world["store"], world["pool"], "up")
    make_tick(world).run()  # 2 → 3, the new member boots
    key = add_request(world["store"], world["pool"], "up", fingerprint="during-boot")
    make_tick(world).run()
    assert len(scaling_calls(world["emu"])) == 1
    assert key in pending_keys(world["store"], world["pool"])


def test_paused_by_operator_keeps_requests(world: dict) -> None:
    world["store"].put(keys.settings(world["pool"]), {"paused": True})
    key = add_request(world["store"], world["pool"], "up")
    state = make_tick(world).run()
    assert scaling_calls(world["emu"]) == [] and state["paused"] is True
    assert pending_keys(world["store"], world["pool"]) == [key]


def test_operator_bounds_are_clamped_and_honoured(world: dict) -> None:
    world["store"].put(keys.settings(world["pool"]), {"min_size": 4, "max_size": 50})
    state = make_tick(world, SCALER_MAX_SIZE=5).run()
    assert state["bounds"] == {"min": 4, "max": 5} and pool_size(world) == 4


def test_stale_requests_expire_into_history(world: dict) -> None:
    old = add_request(world["store"], world["pool"], "up", at=time.time() - 1000)
    make_tick(world).run()
    assert scaling_calls(world["emu"]) == []
    [record] = history(world["store"], world["pool"])
    assert record["action"] == "expired" and record["requests"][0]["key"] == old


def test_corrupt_request_is_recorded_and_removed(world: dict) -> None:
    bad = keys.request(world["pool"], int(time.time() * 1000), "broken")
    world["store"].s3.put_object(Bucket=world["cfg"].bucket, Key=bad, Body=b"{oops")
    make_tick(world).run()
    assert pending_keys(world["store"], world["pool"]) == []
    assert [r["action"] for r in history(world["store"], world["pool"])] == ["corrupt"]


def test_at_maximum_is_recorded_as_at_bound(world: dict) -> None:
    add_request(world["store"], world["pool"], "up")
    make_tick(world, SCALER_MAX_SIZE=2).run()
    assert scaling_calls(world["emu"]) == []
    assert [r["action"] for r in history(world["store"], world["pool"])] == ["at-bound"]


def test_refusal_is_recorded_not_retried(world: dict) -> None:
    emu, pool_id = world["emu"], world["pool"]
    add_request(world["store"], pool_id, "down")
    tick = make_tick(world)
    real_evict = tick.api.evict
    # The member named in the intent disappears between decision and call: the API answers 4xx.
    tick.api.evict = lambda ids: real_evict(["00000000-0000-0000-0000-00000000dead"])  # type: ignore
    state = tick.run()
    assert (state["refusal"] is not None and "404" in state["refusal"]["message"]) or \
        "400" in state["refusal"]["message"]
    assert [r["action"] for r in history(world["store"], pool_id)] == ["refused"]
    assert pending_keys(world["store"], pool_id) == [] and state["intent"] is None
    make_tick(world).run()
    assert scaling_calls(emu) == []


def test_server_errors_retry_next_tick_then_give_up(world: dict) -> None:
    emu, pool_id = world["emu"], world["pool"]
    emu.set_faults({"rules": [{"operations": ["scale-instance-pool"], "error_5xx_rate": 1.0,
                               "error_5xx_status": 503}]})
    add_request(world["store"], pool_id, "up")
    for attempt in (1, 2):
        with pytest.raises(Exception, match="will retry next tick"):
            make_tick(world).run()
        state = world["store"].get(keys.scaler_state(pool_id)).body
        assert state["intent"]["attempts"] == attempt
    state = make_tick(world).run()  # third failure: given up, recorded, not wedged
    assert state["intent"] is None and "failed" in state["refusal"]["message"]
    assert [r["action"] for r in history(world["store"], pool_id)] == ["failed"]
    emu.set_faults({"rules": []})
    add_request(world["store"], pool_id, "up")
    make_tick(world).run()
    assert [op.arguments for op in scaling_calls(emu)] == [{"size": 3}]


def test_transient_server_errors_on_reads_are_retried(world: dict) -> None:
    world["emu"].set_faults({"rules": [{"operations": ["get-instance-pool"],
                                        "error_5xx_rate": 1.0, "max_hits": 2}]})
    add_request(world["store"], world["pool"], "up")
    make_tick(world).run()
    assert pool_size(world) == 3


def test_dry_run_changes_nothing(world: dict) -> None:
    key = add_request(world["store"], world["pool"], "up")
    out = dry_run(make_tick(world))
    assert out["decision"]["action"] == "scale-up" and out["decision"]["target_size"] == 3
    assert scaling_calls(world["emu"]) == [] and pending_keys(world["store"], world["pool"]) == [key]
    assert world["store"].get(keys.scaler_state(world["pool"])) is None


def test_finishing_an_intent_is_this_ticks_one_call(world: dict, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    from functions.scaler import tick as tick_module

    class Crash(Exception):
        pass

    def crash_after_intent(name: str) -> None:
        if name == "intent-written":
            raise Crash()

    add_request(world["store"], world["pool"], "up")
    monkeypatch.setattr(tick_module, "checkpoint", crash_after_intent)
    with pytest.raises(Crash):
        make_tick(world).run()
    monkeypatch.undo()
    assert scaling_calls(world["emu"]) == []
    late = add_request(world["store"], world["pool"], "up", fingerprint="late")
    make_tick(world).run()
    assert [op.arguments for op in scaling_calls(world["emu"])] == [{"size": 3}]
    assert pending_keys(world["store"], world["pool"]) == [late]


def test_history_older_than_the_retention_is_pruned_once_a_day(world: dict) -> None:
    now = time.time()
    store, pool_id = world["store"], world["pool"]
    old = [keys.history(pool_id, now - days * 86400, "scale-up", f"o{days}") for days in (40, 31)]
    kept = [keys.history(pool_id, now - days * 86400, "scale-up", f"k{days}") for days in (29, 0)]
    for key in old + kept:
        store.put(key, {"at": 0, "action": "scale-up"})
    state = make_tick(world).run()
    remaining = list(store.list_keys(keys.history_prefix(pool_id)))
    assert remaining == sorted(kept)
    assert state["history_pruned_on"] == time.strftime("%Y-%m-%d", time.gmtime(now))
    store.put(old[0], {"at": 0, "action": "scale-up"})  # appears after today's pruning
    make_tick(world).run()
    assert old[0] in list(store.list_keys(keys.history_prefix(pool_id)))  # next run is tomorrow
