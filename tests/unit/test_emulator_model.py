"""The pure model with an injected clock: state transitions, scaling, eviction, IPs, callbacks."""

from __future__ import annotations

import pytest

from sandbox.emulator.entities import Callbacks, ModelError, ip_for_index
from sandbox.emulator.model import Model

from .emulator_kit import FakeClock

BOOT, OP, DESTROY = 30.0, 2.0, 5.0


def make(clock: FakeClock, **kw: object) -> Model:
    return Model(clock=clock, boot_delay_s=BOOT, op_delay_s=OP, destroy_delay_s=DESTROY, seed=1, **kw)


def states(model: Model, pool_id: str) -> list[str]:
    return [i.state for i in model.list_instances(manager_id=pool_id)]


@pytest.mark.parametrize("start,target,elapsed,pool_state,member_states", [
    # scale up: new members boot, the pool says scaling-up until they all run
    (1, 3, 0.0, "scaling-up", ["running", "starting", "starting"]),
    (1, 3, BOOT - 0.01, "scaling-up", ["running", "starting", "starting"]),
    (1, 3, BOOT, "running", ["running", "running", "running"]),
    # scale down: removed members linger as destroying, the pool says scaling-down
    (3, 1, 0.0, "scaling-down", ["destroying", "destroying", "running"]),
    (3, 1, DESTROY, "running", ["running"]),
    # no change is still an operation, and leaves the pool running
    (2, 2, 0.0, "running", ["running", "running"]),
    (2, 0, DESTROY, "running", []),
])
def test_scale_transitions(start: int, target: int, elapsed: float, pool_state: str,
                           member_states: list[str]) -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(start)
    model.scale(pool.id, target)
    clock.advance(elapsed)
    got = model.get_pool(pool.id)
    assert got.size == target
    assert got.state == pool_state
    assert states(model, pool.id) == member_states


def test_operation_pending_then_success() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(1)
    op = model.scale(pool.id, 2)
    assert model.get_operation(op.id).state(clock()) == "pending"
    clock.advance(OP)
    assert model.get_operation(op.id).state(clock()) == "success"


def test_stuck_operation_never_completes() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(1)
    op = model.scale(pool.id, 2, stuck=True)
    clock.advance(1e6)
    assert op.state(clock()) == "pending"
    assert model.get_pool(pool.id).size == 2


def test_scale_down_removes_oldest_members() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(1)
    clock.advance(1)
    model.scale(pool.id, 3)
    members = model.get_pool(pool.id).members
    clock.advance(BOOT)
    model.scale(pool.id, 1)
    assert model.get_pool(pool.id).members == [members[2]]
    log = model.operation_log.entries()[-1]
    assert (log.size_before, log.size_after, log.removed) == (3, 1, members[:2])


def test_evict_removes_exactly_the_named_members() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(4)
    a, b, c, d = model.get_pool(pool.id).members
    model.evict(pool.id, [b, d])
    after = model.get_pool(pool.id)
    assert after.members == [a, c] and after.size == 2
    assert model.get_instance(b).state == "destroying"
    log = model.operation_log.entries()[-1]
    assert log.operation == "evict-instance-pool-members"
    assert (log.size_before, log.size_after, log.arguments) == (4, 2, {"instances": [b, d]})
    clock.advance(DESTROY)
    with pytest.raises(ModelError) as err:
        model.get_instance(b)
    assert err.value.status == 404


@pytest.mark.parametrize("case", ["stranger", "destroying member", "duplicate", "empty", "other pool"])
def test_evict_refuses_non_members_all_or_nothing(case: str) -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(3)
    other = model.create_pool(1)
    a, b, c = model.get_pool(pool.id).members
    model.evict(pool.id, [c])
    ids = {"stranger": [a, "00000000-0000-4000-8000-000000000000"], "destroying member": [a, c],
           "duplicate": [a, a], "empty": [], "other pool": [a, other.members[0]]}[case]
    with pytest.raises(ModelError) as err:
        model.evict(pool.id, ids)
    assert 400 <= err.value.status < 500
    assert model.get_pool(pool.id).members == [a, b]
    assert len(model.operation_log) == 1


def test_unknown_ids_are_404() -> None:
    model = make(FakeClock())
    for call in (lambda: model.get_pool("x"), lambda: model.get_instance("x"), lambda: model.get_operation("x"),
                 lambda: model.scale("x", 1), lambda: model.evict("x", ["y"])):
        with pytest.raises(ModelError) as err:
            call()
        assert err.value.status == 404


@pytest.mark.parametrize("size", [-1, True, 1.5, "2"])
def test_scale_rejects_bad_sizes(size: object) -> None:
    model = make(FakeClock())
    pool = model.create_pool(1)
    with pytest.raises(ModelError):
        model.scale(pool.id, size)


def test_public_ips_are_distinct_and_reused_only_after_destruction() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(3)
    ips = [i.public_ip for i in model.list_instances()]
    assert ips == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    model.scale(pool.id, 2)  # 127.0.1.1 is destroying, not yet free
    model.scale(pool.id, 3)
    live = [i.public_ip for i in model.list_instances()]
    assert len(set(live)) == len(live) and "127.0.1.4" in live
    clock.advance(DESTROY)
    model.scale(pool.id, 4)
    assert "127.0.1.1" in [i.public_ip for i in model.list_instances()]


def test_ip_allocation_stays_in_loopback() -> None:
    assert [ip_for_index(i) for i in (0, 253, 254)] == ["127.0.1.1", "127.0.1.254", "127.0.2.1"]


def test_members_carry_manager_and_creation_time() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(1)
    inst = model.list_instances(manager_id=pool.id)[0]
    assert inst.pool_id == pool.id and inst.created_at == clock()


def test_callbacks_fire_in_lifecycle_order() -> None:
    clock = FakeClock()
    seen: list[tuple[str, str, str]] = []
    cbs = Callbacks(on_member_added=lambda i: seen.append(("added", i.id, i.state)),
                    on_member_running=lambda i: seen.append(("running", i.id, i.state)),
                    on_member_removed=lambda i: seen.append(("removed", i.id, i.state)))
    model = make(clock, callbacks=cbs)
    pool = model.create_pool(0)
    model.scale(pool.id, 1)
    (iid,) = model.get_pool(pool.id).members
    assert seen == [("added", iid, "starting")]
    clock.advance(BOOT)
    model.advance()
    model.advance()  # idempotent: no second running event
    assert seen[1:] == [("running", iid, "running")]
    model.scale(pool.id, 0)
    assert seen[2:] == [("removed", iid, "destroying")]


def test_callback_may_call_back_into_the_model() -> None:
    clock = FakeClock()
    sizes: list[int] = []
    holder: dict[str, Model] = {}
    cbs = Callbacks(on_member_added=lambda i: sizes.append(holder["m"].get_pool(i.pool_id).size))
    model = holder["m"] = make(clock, callbacks=cbs)
    pool = model.create_pool(0)
    model.scale(pool.id, 2)
    assert sizes == [2, 2]


def test_initial_members_can_boot() -> None:
    clock = FakeClock()
    model = make(clock)
    pool = model.create_pool(2, running=False)
    assert model.get_pool(pool.id).state == "scaling-up"
    clock.advance(BOOT)
    assert model.get_pool(pool.id).state == "running"


def test_seed_makes_ids_reproducible() -> None:
    ids = [make(FakeClock()).create_pool(2).members for _ in range(2)]
    assert ids[0] == ids[1]
