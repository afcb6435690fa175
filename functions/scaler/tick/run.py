"""One 60-second tick (`python -m functions.scaler.tick`): the shell around `transition.step()`, run
for every configured pool in turn (`main()`, the loop in pools.py; one pool: as it always ran).

Order (docs/architecture.md, "The tick"): lease → SOS honours conditions → finish an
unfinished intent (under the operator's settings) → pending requests and settings → pool →
step(Observed) → its history and deletions → write the intent → act with an absolute target →
outcome and history → delete the consumed requests. Killed at any point, the next tick neither
loses a request nor applies one twice: the intent is written (IfMatch) before the API call, and
finishing it first checks the pool. Each `checkpoint()` names a point the crash tests kill the
process at.

A backlog costs a bounded number of round trips: at most MAX_REQUESTS_PER_TICK requests (the
oldest) are read per tick, READ_WORKERS at a time, and deleted 1000 per request.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace

from functions.bucket.state import ScalerState
from functions.common import config, keys, lease, textfile
from functions.common.exo import API_ERRORS, PoolApi, is_refusal
from functions.common.store import Conflict, Json, Store, StoreError

from . import eviction, in_flight, metrics, policy
from . import pools as loop
from .bucket import READ_WORKERS, TickBucket, TickFailed
from .transition import (
    Called,
    CallFailed,
    Effects,
    Evict,
    Finished,
    Observed,
    ScaleTo,
    Settings,
    Superseded,
    by_direction,
    call_for,
    pending_left,
    step,
)

log = logging.getLogger("scaler.tick")


def checkpoint(name: str) -> None:
    """A named step of the tick; the crash tests replace this to SIGKILL the process here."""
    log.debug("step %s", name)


# What ends a tick with one log line instead of a traceback.
STOP_ERRORS: tuple[type[BaseException], ...] = (StoreError, TickFailed, *API_ERRORS)


class Tick:
    def __init__(self, cfg: config.Config, store: Store, api: PoolApi,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.store, self.api, self.clock = cfg, store, api, clock
        self.bucket = TickBucket(cfg, store)
        # The operator's settings as this tick read them: what it bills, finishes and reports with.
        self.settings = Settings.of(cfg, None)
        self.pending_left: dict[str, int] = {}
        self.calls = 0  # scaling calls this tick has sent
        self.holder = "dry-run"

    def read_pool(self) -> policy.PoolView:
        pool = self.api.pool()
        members = tuple(
            policy.Member(str(m["id"]), str(m.get("state", "")), str(m.get("created-at", "")),
                          str(m.get("public-ip") or ""))
            for m in self.api.members())
        return policy.PoolView(int(pool.get("size", 0)), str(pool.get("state", "")), members)

    def observe(self, now: float) -> tuple[Observed, Settings]:
        pending, corrupt = self.bucket.read_requests()
        settings = self.settings = self.bucket.read_settings(now)
        checkpoint("requests-read")
        pool = self.read_pool()
        checkpoint("pool-read")
        return Observed(pool, pending, corrupt, self.holder), settings

    def decide(self, state: ScalerState, observed: Observed, settings: Settings, now: float
               ) -> tuple[Observed, tuple[ScalerState, Effects]]:
        """step(); when it evicts, step() again with each member's requests in flight read now,
        so that whom it evicts is chosen by figures as fresh as the call that follows. Only a
        scale-down pays for the reads."""
        stepped = step(state, observed, settings, now)
        decision = stepped[1].decision
        if decision is None or not decision.evict:
            return observed, stepped
        members = observed.pool.members
        figures = in_flight.by_ip((m.ip for m in members if m.ip), self.cfg.target_port)
        observed = replace(observed, pool=replace(
            observed.pool, members=eviction.with_in_flight(members, figures)))
        return observed, step(state, observed, settings, now)

    # ---- the intent --------------------------------------------------------------
    def send(self, intent_call: ScaleTo | Evict) -> str:
        if isinstance(intent_call, Evict):
            return str(self.api.evict(list(intent_call.instance_ids)).get("id", ""))
        return str(self.api.scale(intent_call.size).get("id", ""))

    def finish(self, state: ScalerState, etag: str | None, pool: policy.PoolView | None,
               now: float) -> tuple[ScalerState, str | None]:
        """Drive an intent to its end: call (if needed) → record outcome → consume requests."""
        intent = state.intent
        assert intent is not None
        if intent.phase == "decided":
            call = call_for(intent, pool or self.read_pool())
            if isinstance(call, Superseded):
                log.warning("%s %d → %d not made: the pool is at %d (%s), changed by something else",
                            intent.action, intent.from_size, intent.target_size, call.size, call.state)
                state, effects = step(state, call, self.settings, now)
                self.bucket.carry_out(effects)
                return self.bucket.save(state, etag)
            op_id: str | None = None
            try:
                if call is None:
                    log.info("%s to %d already applied", intent.action, intent.target_size)
                else:
                    op_id = self.send(call)
                    self.calls += 1
            except API_ERRORS as exc:
                # A timeout may hide a call the platform performed: counted like a 5xx, and the
                # next tick's call_for() reads the pool before calling again.
                state, effects = step(state, CallFailed(str(exc), is_refusal(exc)), self.settings,
                                   now)
                if effects.retry:
                    self.bucket.save(state, etag)
                    raise TickFailed(effects.retry) from exc
                log.error("%s %s to %d: %s", effects.history[0].action, intent.action,
                          intent.target_size, exc)
                self.bucket.carry_out(effects)
                return self.bucket.save(state, etag)
            checkpoint("acted")
            state, _ = step(state, Called(op_id, self.clock()), self.settings, now)
            state, etag = self.bucket.save(state, etag)
            checkpoint("acted-recorded")
        state, effects = step(state, Finished(self.holder), self.settings, now)
        self.bucket.record(effects.history)
        checkpoint("history-written")
        self.store.delete_many(effects.delete)
        checkpoint("requests-deleted")
        log.info("%s %d → %d done (%s)", intent.action, intent.from_size, intent.target_size,
                 intent.reason)
        return self.bucket.save(state, etag)

    # ---- one tick ----------------------------------------------------------------
    def run(self) -> ScalerState:
        now = self.clock()
        state, etag = self.bucket.read_state()
        checkpoint("state-read")
        if state.intent is not None:
            log.info("finishing unfinished intent %s", state.intent.id)
            # Its call is billed in the budget's zone: base settings would re-zone the ledger.
            self.settings = self.bucket.read_settings(now)
            calls = self.calls
            state, etag = self.finish(state, etag, None, now)
            if self.calls > calls:
                # At most one scaling call per tick: new requests wait for the next (and are counted).
                self.pending_left = by_direction(self.bucket.read_requests()[0])
                return state
        observed, settings = self.observe(now)
        observed, (state, effects) = self.decide(state, observed, settings, now)
        decision = effects.decision
        assert decision is not None
        log.info("decision: %s → %d (%s)", decision.action, decision.target_size, decision.reason)
        self.bucket.carry_out(effects)
        checkpoint("decided")
        self.pending_left = pending_left(observed, state, effects)
        state, etag = self.bucket.save(self.bucket.prune_history(state, now), etag)
        if state.intent is None:
            return state
        checkpoint("intent-written")
        state, _ = self.finish(state, etag, observed.pool, now)
        return state


def dry_run(tick: Tick) -> Json:
    """What this tick would decide now; reads only, writes nothing (not even the textfile)."""
    now = tick.clock()
    state, _ = tick.bucket.read_state()
    observed, settings = tick.observe(now)
    # An unfinished intent would be finished first; the decision shown is the one after it.
    observed, (_, effects) = tick.decide(replace(state, intent=None), observed, settings, now)
    decision = effects.decision
    assert decision is not None
    expired = [e.key for r in effects.history if r.action == policy.Outcome.EXPIRED
               for e in r.requests]
    return {"decision": {k: v for k, v in asdict(decision).items() if k != "requests"},
            "pool": asdict(observed.pool),
            "unfinished_intent": state.intent.to_json() if state.intent else None,
            "expired": expired, "bounds": {"min": settings.bounds[0], "max": settings.bounds[1]},
            "paused": settings.paused, "pending": len(observed.pending) - len(expired)}


def tick_pool(cfg: config.Config, store: Store, api: PoolApi, probe: loop.Probe) -> bool:
    """One pool's tick, as the single-pool tick always ran: True unless it failed."""
    tick = Tick(cfg, store, api)
    now = tick.clock()
    outcome_file, run_file = loop.file_names(cfg.pool_name)
    textfile.write(cfg.textfile_dir, run_file, metrics.started(now, cfg.pool_name))
    holder = lease.new_holder()
    try:
        held = lease.acquire(store, keys.lease(cfg.pool_id), holder, now, cfg.lease_s)
    except StoreError as exc:
        log.error("cannot reach the state bucket: %s", exc)
        return False
    if held is None:
        log.info("another tick holds the lease; nothing to do")
        return True
    tick.holder = holder
    checkpoint("lease")
    try:
        if not probe.check(store, keys.probe(cfg.pool_id)):
            log.error("SOS does not honour conditional writes: refusing to act")
            return False
        checkpoint("probe")
        state = tick.run()
        textfile.write(cfg.textfile_dir, outcome_file,
                       metrics.metrics(state, tick.pending_left, now, tick.settings, cfg.pool_name))
        return True
    except Conflict as exc:
        log.error("another writer changed the scaler state; stopping this tick: %s", exc)
        return False
    except STOP_ERRORS as exc:
        log.error("tick failed: %s", exc)
        return False
    finally:
        with contextlib.suppress(StoreError):
            held.release(store, tick.clock())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.scaler.tick",
                                     description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="decide and print; change nothing")
    args = parser.parse_args(argv)
    cfg = config.from_environ_or_exit()
    pools = cfg.each_pool()
    several = len(pools) > 1
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s tick " + ("pool=%(pool)s " if several else "")
                        + "%(levelname)s %(message)s")
    tag = loop.PoolTag()
    for handler in logging.getLogger().handlers if several else ():
        handler.addFilter(tag)
    store = Store.from_config(cfg, connect_timeout=3.0, read_timeout=10.0, attempts=3,
                              pool_connections=READ_WORKERS)
    first = PoolApi.from_config(cfg)  # its client (and connection pool) serves every pool

    def api_for(pool: config.Config) -> PoolApi:
        return first if pool.pool_id == first.pool_id else PoolApi(first.client, pool.pool_id)
    if args.dry_run:
        return loop.dry_run_all(pools, lambda p: dry_run(Tick(p, store, api_for(p))), STOP_ERRORS)
    loop.remove_stale(cfg.textfile_dir, [p.pool_name for p in pools])
    return loop.run_all(pools, lambda p, probe: tick_pool(p, store, api_for(p), probe), tag)
