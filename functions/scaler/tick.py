"""One 60-second tick: apply what the receiver stored, at most one scaling action.

Order (ARCHITECTURE.md): lease → SOS honours conditions → finish an unfinished intent →
pending requests (expire stale ones) and settings → pool → decide() → write the intent →
act with an absolute target → outcome and history → delete consumed requests.
Killed at any point, the next tick neither loses a request nor applies one twice: the
intent is written (IfMatch) before the API call, and finishing it first checks the pool.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict

from functions.common import bounds as bounds_mod
from functions.common import config, keys, lease, textfile
from functions.common.exo import API_ERRORS, PoolApi, is_refusal
from functions.common.store import Conflict, Json, Store, StoreError

from . import policy
from .scale_request import from_json

log = logging.getLogger("scaler.tick")
MAX_ATTEMPTS = 3  # ticks that may retry an unfinished call before it is given up
PRUNE_BATCH = 200  # history objects one tick may delete


def checkpoint(name: str) -> None:
    """A named step of the tick; the crash tests replace this to SIGKILL the process here."""
    log.debug("step %s", name)


class TickFailed(RuntimeError):
    pass


# What ends a tick with one log line instead of a traceback.
STOP_ERRORS: tuple[type[BaseException], ...] = (StoreError, TickFailed, *API_ERRORS)


class Tick:
    def __init__(self, cfg: config.Config, store: Store, api: PoolApi,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self.api = api
        self.clock = clock
        self.pool_id = cfg.pool_id
        self.state_key = keys.scaler_state(cfg.pool_id)
        self.pending_left: dict[str, int] = {}
        self.calls = 0  # scaling calls this tick has sent
        self.holder = "dry-run"
        self.params = policy.Params(cfg.policy, cfg.target_utilization, cfg.max_step,
                                    cfg.cooldown_s, cfg.settle_s)

    # ---- reading -----------------------------------------------------------------
    def read_state(self) -> tuple[Json, str | None]:
        stored = self.store.get(self.state_key)
        if stored is None:
            return {"revision": 0, "intent": None}, None
        if stored.body is None:
            # A corrupt state object must not stop scaling forever: start over, keep the etag.
            log.error("scaler state is corrupt (%s); starting from an empty state", stored.error)
            return {"revision": 0, "intent": None}, stored.etag
        return stored.body, stored.etag

    def save_state(self, state: Json, etag: str | None) -> str:
        state["revision"] = int(state.get("revision", 0)) + 1
        state.pop("schema", None)
        if etag is None:
            return self.store.put(self.state_key, state, if_none_match=True)
        return self.store.put(self.state_key, state, if_match=etag)

    def read_pending(self, now: float) -> tuple[list[policy.Pending], list[Json]]:
        """Pending requests (oldest first), plus corrupt ones that are moved to history."""
        pending: list[policy.Pending] = []
        corrupt: list[Json] = []
        for item in self.store.read_all(keys.requests_prefix(self.pool_id)):
            try:
                if item.body is None:
                    raise ValueError(item.error or "unreadable")
                pending.append(policy.Pending(item.key, from_json(item.body)))
            except ValueError as exc:
                corrupt.append({"key": item.key, "error": str(exc)})
        return pending, corrupt

    def read_settings(self) -> Json:
        stored = self.store.get(keys.settings(self.pool_id))
        if stored is None:
            return {}
        if stored.body is None:
            log.error("operator settings are corrupt (%s); ignoring them", stored.error)
            return {}
        return stored.body

    def read_pool(self) -> policy.PoolView:
        pool = self.api.pool()
        members = tuple(
            policy.Member(str(m["id"]), str(m.get("state", "")), str(m.get("created-at", "")))
            for m in self.api.members())
        return policy.PoolView(int(pool.get("size", 0)), str(pool.get("state", "")), members)

    # ---- writing history ---------------------------------------------------------
    def history(self, at: float, action: str, unique: str, record: Json) -> None:
        self.store.put(keys.history(self.pool_id, at, action, unique),
                       {"at": at, "action": action, **record})

    def prune_history(self, state: Json, now: float) -> None:
        """Once a day, delete history older than SCALER_HISTORY_DAYS (SOS has no lifecycle rules).

        Keys sort by day, so one listing from the oldest stops at the first day kept. A large
        backlog is worked off PRUNE_BATCH objects per tick so a tick stays short.
        """
        today = time.strftime("%Y-%m-%d", time.gmtime(now))
        if state.get("history_pruned_on") == today:
            return
        cutoff = keys.history_day_prefix(self.pool_id, now - self.cfg.history_days * 86400)
        deleted = 0
        for key in self.store.list_keys(keys.history_prefix(self.pool_id)):
            if key >= cutoff or deleted >= PRUNE_BATCH:
                break
            self.store.delete(key)
            deleted += 1
        if deleted:
            log.info("pruned %d history record(s) older than %d days", deleted,
                     self.cfg.history_days)
        if deleted < PRUNE_BATCH:
            state["history_pruned_on"] = today

    def consume(self, request_keys: list[str]) -> None:
        for key in request_keys:
            self.store.delete(key)

    # ---- the intent --------------------------------------------------------------
    def act(self, intent: Json, pool: policy.PoolView) -> str | None:
        """Send the scaling call for `intent` unless the pool shows it already applied."""
        target = int(intent["target_size"])
        if intent["action"] == policy.UP:
            if pool.size >= target or pool.state == "scaling-up":
                log.info("scale-up to %d already applied (size %d, %s)", target, pool.size, pool.state)
                return None
            return str(self.api.scale(target).get("id", ""))
        members = {m.id for m in pool.members}
        remaining = [i for i in intent["evict"] if i in members]
        if pool.size <= target or pool.state == "scaling-down" or not remaining:
            log.info("scale-down to %d already applied (size %d, %s)", target, pool.size, pool.state)
            return None
        return str(self.api.evict(remaining).get("id", ""))

    def finish(self, state: Json, etag: str | None, pool: policy.PoolView | None,
               now: float) -> tuple[Json, str | None]:
        """Drive an intent to its end: call (if needed) → record outcome → consume requests."""
        intent = state["intent"]
        if intent["phase"] == "decided":
            pool = pool or self.read_pool()
            try:
                op_id = self.act(intent, pool)
                if op_id is not None:
                    self.calls += 1
            except API_ERRORS as exc:
                # A timeout may hide a call the platform performed: counted like a 5xx, and the
                # next tick's act() reads the pool before calling again.
                if is_refusal(exc):
                    return self.drop(state, etag, intent, now, "refused", str(exc))
                intent["attempts"] = int(intent.get("attempts", 0)) + 1
                if intent["attempts"] >= MAX_ATTEMPTS or now - intent["decided_at"] > self.cfg.request_ttl_s:
                    return self.drop(state, etag, intent, now, "failed", str(exc))
                state["intent"] = intent
                self.save_state(state, etag)
                raise TickFailed(f"scaling call failed (attempt {intent['attempts']}), "
                                 f"will retry next tick: {exc}") from exc
            checkpoint("acted")
            intent.update(phase="acted", operation_id=op_id or intent.get("operation_id"))
            state["intent"] = intent
            etag = self.save_state(state, etag)
            checkpoint("acted-recorded")
        at = float(intent["decided_at"])
        self.history(at, intent["action"], intent["id"], {
            "from_size": intent["from_size"], "to_size": intent["target_size"],
            "reason": intent["reason"], "requests": intent["requests"],
            "evicted": intent["evict"], "operation_id": intent.get("operation_id")})
        checkpoint("history-written")
        self.consume([r["key"] for r in intent["requests"]])
        checkpoint("requests-deleted")
        state.update(intent=None, settled_at=None, refusal=None, last_action={
            "at": at, "action": intent["action"], "from_size": intent["from_size"],
            "to_size": intent["target_size"], "reason": intent["reason"],
            "evicted": intent["evict"], "operation_id": intent.get("operation_id"),
            "requests": len(intent["requests"])},
            cooldown_until=at + self.cfg.cooldown_s)
        etag = self.save_state(state, etag)
        log.info("%s %d → %d done (%s)", intent["action"], intent["from_size"],
                 intent["target_size"], intent["reason"])
        return state, etag

    def drop(self, state: Json, etag: str | None, intent: Json, now: float, outcome: str,
             message: str) -> tuple[Json, str | None]:
        """End an intent without its action ("refused" by a 4xx, or "failed" after the last
        attempt): its requests go to the history, the state shows why."""
        log.error("%s %s to %d (attempts %d): %s", outcome, intent["action"],
                  intent["target_size"], int(intent.get("attempts", 0)), message)
        self.history(now, outcome, intent["id"], {
            "from_size": intent["from_size"], "to_size": intent["target_size"],
            "reason": f"{intent['reason']}; {outcome}: {message}", "requests": intent["requests"],
            "evicted": [], "operation_id": None})
        self.consume([r["key"] for r in intent["requests"]])
        shown = message[:500] if outcome == "refused" else f"failed: {message[:480]}"
        state.update(intent=None, refusal={"at": now, "message": shown})
        return state, self.save_state(state, etag)

    # ---- one tick ----------------------------------------------------------------
    def observe(self, now: float, state: Json) -> tuple[policy.Decision, policy.PoolView, Json]:
        """Read requests, settings and the pool, and decide. Expired/corrupt are reported."""
        pending, corrupt = self.read_pending(now)
        live, expired = policy.split_expired(pending, now, self.cfg.request_ttl_s)
        settings = self.read_settings()
        low, high = bounds_mod.effective_bounds(self.cfg.min_size, self.cfg.max_size, settings)
        paused = settings.get("paused") is True  # a hand-edited "no" must not pause scaling
        checkpoint("requests-read")
        pool = self.read_pool()
        checkpoint("pool-read")
        memory = policy.memory_for_decision(policy.Memory(
            last_action_at=(state.get("last_action") or {}).get("at"),
            settled_at=state.get("settled_at"), last_tick_at=state.get("last_tick_at")), pool, now)
        decision = policy.decide(now, pool, live, (low, high), self.params, memory, paused)
        left = [p.request.direction for p in live if p.key not in decision.consume]
        facts = {"expired": list(expired), "corrupt": corrupt, "bounds": {"min": low, "max": high},
                 "paused": paused, "settled_at": memory.settled_at, "pending": len(live),
                 "pending_left": {d: left.count(d) for d in ("up", "down")}}
        return decision, pool, facts

    def run(self) -> Json:
        now = self.clock()
        state, etag = self.read_state()
        checkpoint("state-read")
        pool: policy.PoolView | None = None
        if state.get("intent"):
            log.info("finishing unfinished intent %s", state["intent"].get("id"))
            calls = self.calls
            state, etag = self.finish(state, etag, None, now)
            if self.calls > calls:
                return state  # at most one scaling call per tick: new requests wait for the next
        decision, pool, facts = self.observe(now, state)
        for p in facts["expired"]:
            self.history(now, "expired", p.key.rsplit("/", 1)[-1].removesuffix(".json"), {
                "reason": f"pending longer than {self.cfg.request_ttl_s:.0f}s",
                "requests": [{"key": p.key, **p.request.to_json()}]})
            self.consume([p.key])
        for bad in facts["corrupt"]:
            log.error("corrupt request %s: %s", bad["key"], bad["error"])
            self.history(now, "corrupt", uuid.uuid4().hex[:8], {"reason": bad["error"],
                                                                 "requests": [bad]})
            self.consume([bad["key"]])
        log.info("decision: %s → %d (%s)", decision.action, decision.target_size, decision.reason)
        checkpoint("decided")

        requests = [{"key": p.key, **p.request.to_json()} for p in decision.requests]
        self.pending_left = facts["pending_left"]
        state.update(last_tick_at=now, last_tick_by=self.holder, paused=facts["paused"],
                     bounds=facts["bounds"],
                     settled_at=facts["settled_at"],
                     pool={"size": pool.size, "state": pool.state, "serving": pool.serving,
                           "observed_at": now},
                     last_decision={"at": now, "action": decision.action,
                                    "reason": decision.reason})
        self.prune_history(state, now)
        if decision.action == policy.NONE:
            if decision.consume:
                self.history(now, decision.outcome, uuid.uuid4().hex[:8], {
                    "from_size": pool.size, "to_size": pool.size, "reason": decision.reason,
                    "requests": requests, "evicted": [], "operation_id": None})
                self.consume(list(decision.consume))
            self.save_state(state, etag)
            return state
        state["intent"] = {
            "id": uuid.uuid4().hex[:12], "action": decision.action, "from_size": pool.size,
            "target_size": decision.target_size, "evict": list(decision.evict),
            "requests": requests, "phase": "decided", "operation_id": None,
            "decided_at": now, "reason": decision.reason, "outcome": decision.outcome}
        etag = self.save_state(state, etag)
        checkpoint("intent-written")
        state, etag = self.finish(state, etag, pool, now)
        return state


def dry_run(tick: Tick) -> Json:
    now = tick.clock()
    state, _ = tick.read_state()
    decision, pool, facts = tick.observe(now, state)
    return {"decision": {k: v for k, v in asdict(decision).items() if k != "requests"},
            "pool": asdict(pool), "unfinished_intent": state.get("intent"),
            "expired": [p.key for p in facts["expired"]], "bounds": facts["bounds"],
            "paused": facts["paused"], "pending": facts["pending"]}


HELP = {
    "autoscaler_tick_last_success_timestamp_seconds": "Unix time of the last tick that completed.",
    "autoscaler_tick_last_run_timestamp_seconds": "Unix time the last tick started.",
    "autoscaler_pool_size": "Pool size the last tick observed.",
    "autoscaler_pool_serving": "Running members the last tick observed.",
    "autoscaler_pool_min_size": "Effective minimum pool size (hard and operator bounds).",
    "autoscaler_pool_max_size": "Effective maximum pool size (hard and operator bounds).",
    "autoscaler_last_action_timestamp_seconds": "Unix time of the last scaling action.",
    "autoscaler_last_action_info": "The last scaling action and its reason.",
    "autoscaler_last_decision_info": "What the last tick decided.",
    "autoscaler_pending_requests": "Scale requests left pending after the last tick.",
    "autoscaler_paused": "1 while the operator has paused scaling.",
}


def metrics(state: Json, pending: dict[str, int], now: float) -> str:
    last = state.get("last_action") or {}
    decision = state.get("last_decision") or {}
    pool = state.get("pool") or {}
    bounds = state.get("bounds") or {}
    return textfile.render({
        "autoscaler_tick_last_success_timestamp_seconds": now,
        "autoscaler_pool_size": pool.get("size", 0),
        "autoscaler_pool_serving": pool.get("serving", 0),
        "autoscaler_pool_min_size": bounds.get("min", 0),
        "autoscaler_pool_max_size": bounds.get("max", 0),
        "autoscaler_last_action_timestamp_seconds": last.get("at", 0),
        "autoscaler_last_action_info": [({"action": str(last.get("action", "none")),
                                          "reason": str(last.get("reason", ""))[:200]}, 1)],
        # No reason label here: it changes every tick, and each value would be a new series.
        "autoscaler_last_decision_info": [({"action": str(decision.get("action", "none"))}, 1)],
        "autoscaler_pending_requests": [({"direction": d}, pending.get(d, 0)) for d in ("up", "down")],
        "autoscaler_paused": 1 if state.get("paused") else 0,
    }, HELP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.scaler.tick", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="decide and print; change nothing")
    args = parser.parse_args(argv)
    cfg = config.from_environ_or_exit()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s tick %(levelname)s %(message)s")
    store = Store.from_config(cfg, connect_timeout=3.0, read_timeout=10.0, attempts=3)
    tick = Tick(cfg, store, PoolApi.from_config(cfg))
    now = tick.clock()
    textfile.write(cfg.textfile_dir, "autoscaler_tick_run", textfile.render(
        {"autoscaler_tick_last_run_timestamp_seconds": now}, HELP))
    if args.dry_run:
        try:
            print(json.dumps(dry_run(tick), indent=2, default=str))
        except STOP_ERRORS as exc:
            log.error("dry run failed: %s", exc)
            return 1
        return 0
    holder = lease.new_holder()
    try:
        held = lease.acquire(store, keys.lease(cfg.pool_id), holder, now, cfg.lease_s)
    except StoreError as exc:
        log.error("cannot reach the state bucket: %s", exc)
        return 1
    if held is None:
        log.info("another tick holds the lease; nothing to do")
        return 0
    tick.holder = holder
    checkpoint("lease")
    try:
        if not store.conditions_honoured(keys.probe(cfg.pool_id)):
            log.error("SOS does not honour conditional writes: refusing to act")
            return 1
        checkpoint("probe")
        state = tick.run()
        textfile.write(cfg.textfile_dir, "autoscaler_tick", metrics(state, tick.pending_left, now))
        return 0
    except Conflict as exc:
        log.error("another writer changed the scaler state; stopping this tick: %s", exc)
        return 1
    except STOP_ERRORS as exc:
        log.error("tick failed: %s", exc)
        return 1
    finally:
        with contextlib.suppress(StoreError):
            held.release(store, tick.clock())


if __name__ == "__main__":
    sys.exit(main())
