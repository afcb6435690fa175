"""The emulated platform state: pools, their member instances and async operations.

No I/O and no real time: every transition is computed from an injected clock, lazily on
each call and whenever `advance()` is called. Lifecycle callbacks fire after the lock is
released so a callback may safely call back into the model.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from dataclasses import replace
from typing import Any

from .entities import Callbacks, Clock, Instance, ModelError, Operation, Pool, copy_pool, ip_for_index
from .inventory import Inventory
from .logs import EventLog, OperationRecord


class Model:
    """Thread-safe emulated Exoscale compute state for one zone."""

    def __init__(self, *, clock: Clock, boot_delay_s: float = 20.0, op_delay_s: float = 1.0,
                 destroy_delay_s: float = 5.0, seed: int | None = None,
                 callbacks: Callbacks | None = None, operation_log: EventLog | None = None) -> None:
        self.clock = clock
        self.boot_delay_s = boot_delay_s
        self.op_delay_s = op_delay_s
        self.destroy_delay_s = destroy_delay_s
        self.callbacks = callbacks or Callbacks()
        self.operation_log = operation_log if operation_log is not None else EventLog()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        # Objects the emulator only lists (load balancers, security groups, IAM, SSH keys, VMs).
        self.inventory = Inventory()
        self._pools: dict[str, Pool] = {}
        self._instances: dict[str, Instance] = {}
        self._operations: dict[str, Operation] = {}
        self._serial = itertools.count(1)

    # ---- identity -------------------------------------------------------------------
    def _uuid(self) -> str:
        # Seeded so a run with a fixed seed produces the same ids (reproducible logs).
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _free_ip(self) -> str:
        used = {i.public_ip for i in self._instances.values()}
        return next(ip for ip in map(ip_for_index, itertools.count()) if ip not in used)

    # ---- time -----------------------------------------------------------------------
    def advance(self) -> None:
        """Apply every transition due at the current clock and fire callbacks."""
        with self._lock:
            events = self._advance_locked(self.clock())
        self._fire(events)

    def _advance_locked(self, now: float) -> list[tuple[str, Instance]]:
        events: list[tuple[str, Instance]] = []
        for inst in list(self._instances.values()):
            if inst.state == "starting" and now >= inst.running_at:
                inst.state = "running"
                events.append(("running", replace(inst)))
            elif inst.state == "destroying" and inst.destroyed_at is not None and now >= inst.destroyed_at:
                del self._instances[inst.id]
        for pool in self._pools.values():
            pool.state = self._pool_state(pool)
        return events

    def _fire(self, events: list[tuple[str, Instance]]) -> None:
        for kind, inst in events:
            cb = getattr(self.callbacks, f"on_member_{kind}")
            if cb is not None:
                cb(inst)

    # ---- reads ----------------------------------------------------------------------
    def _pool_state(self, pool: Pool) -> str:
        states = {self._instances[i].state for i in pool.members}
        if "starting" in states:
            return "scaling-up"
        if any(i.pool_id == pool.id and i.state == "destroying" for i in self._instances.values()):
            return "scaling-down"
        return "running"

    def get_pool(self, pool_id: str) -> Pool:
        self.advance()
        with self._lock:
            if pool_id not in self._pools:
                raise ModelError(404, f"instance pool {pool_id} not found")
            return copy_pool(self._pools[pool_id])

    def list_pools(self) -> list[Pool]:
        self.advance()
        with self._lock:
            return [copy_pool(p) for p in self._pools.values()]

    def delete_pool(self, pool_id: str) -> None:
        """The pool and its members vanish at once (the acceptance tests' stand-in for a destroy)."""
        with self._lock:
            self._pools.pop(pool_id, None)
            self._instances = {k: i for k, i in self._instances.items() if i.pool_id != pool_id}

    def get_instance(self, instance_id: str) -> Instance:
        self.advance()
        with self._lock:
            if instance_id not in self._instances:
                raise ModelError(404, f"instance {instance_id} not found")
            return replace(self._instances[instance_id])

    def list_instances(self, manager_id: str | None = None, ip_address: str | None = None) -> list[Instance]:
        self.advance()
        with self._lock:
            found = sorted(self._instances.values(), key=lambda i: (i.created_at, i.serial))
            if manager_id is not None:
                found = [i for i in found if i.pool_id == manager_id]
            if ip_address is not None:
                found = [i for i in found if i.public_ip == ip_address]
            return [replace(i) for i in found]

    def get_operation(self, op_id: str) -> Operation:
        with self._lock:
            if op_id not in self._operations:
                raise ModelError(404, f"operation {op_id} not found")
            return self._operations[op_id]

    def snapshot(self) -> dict[str, Any]:
        """Plain-data view of everything, for the admin route and assertions."""
        self.advance()
        with self._lock:
            return {
                "time": self.clock(),
                "pools": [{"id": p.id, "name": p.name, "zone": p.zone, "size": p.size,
                           "state": p.state, "members": list(p.members)}
                          for p in self._pools.values()],
                "instances": [{"id": i.id, "name": i.name, "pool-id": i.pool_id, "state": i.state,
                               "public-ip": i.public_ip, "created-at": i.created_at}
                              for i in self._instances.values()],
            }

    # ---- mutations ------------------------------------------------------------------
    def detach_public_ip(self, instance_id: str) -> Instance:
        """Admin-side: the member keeps running without a public IP (as with assignment "none").

        Discovery must skip such a member with a log line; this lets tests create one.
        """
        with self._lock:
            if instance_id not in self._instances:
                raise ModelError(404, f"instance {instance_id} not found")
            self._instances[instance_id].public_ip = ""
            return replace(self._instances[instance_id])

    def _add_member(self, pool: Pool, now: float, boot_delay_s: float) -> Instance:
        iid = self._uuid()
        n = next(self._serial)
        inst = Instance(id=iid, name=f"{pool.instance_prefix}-{iid[:5]}-{n:05d}"[:63], pool_id=pool.id,
                        public_ip=self._free_ip(), created_at=now, running_at=now + boot_delay_s, serial=n)
        self._instances[iid] = inst
        pool.members.append(iid)
        return inst

    def _remove_member(self, pool: Pool, iid: str, now: float) -> Instance:
        pool.members.remove(iid)
        inst = self._instances[iid]
        inst.state = "destroying"
        inst.destroyed_at = now + self.destroy_delay_s
        if self.destroy_delay_s <= 0:
            del self._instances[iid]
        return inst

    def create_pool(self, size: int, *, name: str = "autoscaler-pool", zone: str = "at-vie-1",
                    instance_prefix: str = "pool", running: bool = True) -> Pool:
        """Admin-side creation (not an API operation): members start running unless running=False."""
        if size < 0:
            raise ModelError(400, "size must be >= 0")
        events: list[tuple[str, Instance]] = []
        with self._lock:
            now = self.clock()
            pool = Pool(id=self._uuid(), name=name, zone=zone, instance_prefix=instance_prefix, created_at=now)
            self._pools[pool.id] = pool
            for _ in range(size):
                inst = self._add_member(pool, now, 0.0 if running else self.boot_delay_s)
                events.append(("added", replace(inst)))
            events += self._advance_locked(now)
            result = copy_pool(pool)
        self._fire(events)
        return result

    def _new_operation(self, command: str, pool: Pool, now: float, stuck: bool) -> Operation:
        op = Operation(id=self._uuid(), command=command, pool_id=pool.id, created_at=now,
                       complete_at=None if stuck else now + self.op_delay_s)
        self._operations[op.id] = op
        return op

    def scale(self, pool_id: str, size: int, *, stuck: bool = False) -> Operation:
        """scale-instance-pool: grow with new members, or shrink by removing the OLDEST."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ModelError(400, "size must be an integer >= 0")
        self.advance()
        events: list[tuple[str, Instance]] = []
        with self._lock:
            pool = self._require_pool(pool_id)
            now = self.clock()
            before = pool.size
            added, removed = [], []
            while pool.size < size:
                inst = self._add_member(pool, now, self.boot_delay_s)
                added.append(inst.id)
                events.append(("added", replace(inst)))
            while pool.size > size:
                inst = self._remove_member(pool, pool.members[0], now)
                removed.append(inst.id)
                events.append(("removed", replace(inst)))
            events += self._advance_locked(now)  # a zero boot delay makes members run at once
            op = self._new_operation("scale-instance-pool", pool, now, stuck)
            self._record(now, op, pool, {"size": size}, before, added, removed)
        self._fire(events)
        return op

    def evict(self, pool_id: str, instance_ids: list[str], *, stuck: bool = False) -> Operation:
        """evict-instance-pool-members: remove exactly these members; size drops by their number."""
        self.advance()
        events: list[tuple[str, Instance]] = []
        with self._lock:
            pool = self._require_pool(pool_id)
            if not instance_ids:
                raise ModelError(400, "instances must name at least one member")
            if len(set(instance_ids)) != len(instance_ids):
                raise ModelError(400, "instances contains duplicates")
            strangers = [i for i in instance_ids if i not in pool.members]
            if strangers:
                # All or nothing: nothing is evicted when one id is not a current member.
                raise ModelError(400, f"not members of instance pool {pool_id}: {', '.join(strangers)}")
            now = self.clock()
            before = pool.size
            for iid in instance_ids:
                events.append(("removed", replace(self._remove_member(pool, iid, now))))
            events += self._advance_locked(now)
            op = self._new_operation("evict-instance-pool-members", pool, now, stuck)
            self._record(now, op, pool, {"instances": list(instance_ids)}, before, [], list(instance_ids))
        self._fire(events)
        return op

    def _require_pool(self, pool_id: str) -> Pool:
        if pool_id not in self._pools:
            raise ModelError(404, f"instance pool {pool_id} not found")
        return self._pools[pool_id]

    def _record(self, now: float, op: Operation, pool: Pool, arguments: dict[str, Any], before: int,
                added: list[str], removed: list[str]) -> None:
        self.operation_log.append(OperationRecord(
            time=now, operation_id=op.id, operation=op.command, pool_id=pool.id, arguments=arguments,
            size_before=before, size_after=pool.size, added=added, removed=removed,
            completes=op.complete_at is not None))
