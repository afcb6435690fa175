"""The tick as one pure state machine: `step(state, event, settings, now)` → (new state, effects).

Events, in the order one tick meets them:
- `Observed`: what the tick read (pending requests, unreadable ones, the pool). Expires stale
  requests, runs `decide()`, and either records why the requests it used up did nothing, or
  leaves an `Intent` in the state: the scaling call the tick is to make.
- `Called`: that call went out, or the pool showed it already applied (phase → acted).
- `CallFailed`: the API refused it (4xx: dropped) or failed (retried by later ticks, then dropped).
- `Superseded`: the pool showed a change this scaler did not make; the intent ends without its
  call, and its history record says what was seen (the audit trail only says what it did).
- `Finished`: the acted intent becomes the last action and a history record.

Around `decide()`, two further rules of the operator's controls: the bounds in force include the
schedule's (Settings.of), and a scale-up is held to the spend cap (budget_rule.py). Every step keeps
the spend ledger and the per-outcome counts in `state.accounts` (functions/bucket/accounts.py).

`Effects` are what the shell (run.py) carries out, in this order: history records, then
request deletions, then the new state. The benchmark (benchmarks/pipeline.py) drives the same
function, so what it measures is what is deployed. See docs/architecture.md ("The tick").
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from functions.bucket.accounts import Accounts, Held
from functions.bucket.state import (
    Bounds,
    Corrupt,
    Decided,
    Entry,
    HistoryRecord,
    Intent,
    LastAction,
    Phase,
    PoolSeen,
    Refusal,
    ScalerState,
    digest,
)
from functions.common.config import Config
from functions.money import ledger as ledger_mod
from functions.money.budget import Budget
from functions.schedule import rules as schedule_rules
from functions.schedule.in_force import bounds_at, combine

from . import budget_rule, policy
from .policy import Action, Decision, Outcome, Params, Pending, PoolView

GONE = frozenset({"destroying", "destroyed", "expunging"})   # instance states of an evicted member
MAX_ATTEMPTS = 3  # ticks that may send a failing scaling call before it is given up
REFUSAL_CHARS = 500


@dataclass(frozen=True)
class Settings:
    """What the tick is told: its configuration and the operator's settings of this moment."""
    params: Params = field(default_factory=Params)
    bounds: tuple[int, int] = (Config.min_size, Config.max_size)
    request_ttl_s: float = Config.request_ttl_s
    paused: bool = False
    budget: Budget = field(default_factory=Budget)
    price_hourly: float = Config.price_hourly      # one member, from the price table
    currency: str = Config.currency
    rules_in_force: tuple[str, ...] = ()           # schedule rules behind `bounds`
    problems: tuple[str, ...] = ()                 # parts of the operator's settings ignored, and why

    @classmethod
    def of(cls, cfg: Config, operator: Mapping[str, Any] | None, now: float | None = None) -> Settings:
        """From the configuration and control/<pool>/settings.json (None: absent or unreadable),
        with the schedule's bounds in force at `now` (None: without the schedule). A malformed
        schedule or budget is ignored as a whole and named in `problems`."""
        # Only a real `true` pauses: a hand-edited "no" must not stop scaling.
        paused = operator is not None and operator.get("paused") is True
        problems = []
        try:
            rules = schedule_rules.from_settings(operator)
        except ValueError as exc:
            rules, problems = (), [f"schedule ignored: {exc}"]
        try:
            caps = Budget.from_settings(operator)
        except ValueError as exc:
            caps = Budget()
            problems.append(f"budget ignored: {exc}")
        hard = (cfg.min_size, cfg.max_size)
        in_force = combine(hard, operator, []) if now is None else bounds_at(hard, operator, rules, now)
        return cls(Params.of(cfg), in_force.bounds, cfg.request_ttl_s, paused, caps, cfg.price_hourly,
                   cfg.currency, in_force.rules, tuple(problems))


@dataclass(frozen=True)
class Observed:
    pool: PoolView
    pending: tuple[Pending, ...] = ()     # readable requests, oldest first
    corrupt: tuple[Corrupt, ...] = ()
    by: str = ""                          # who ticks (the lease holder)


@dataclass(frozen=True)
class Called:
    operation_id: str | None   # None: the pool showed the action already applied
    at: float | None = None    # when the call went out (the ledger bills the new size from then)


@dataclass(frozen=True)
class CallFailed:
    message: str
    refused: bool   # a 4xx answer: never retried


@dataclass(frozen=True)
class Finished:
    by: str = ""


@dataclass(frozen=True)
class Superseded:
    """Before the call, the pool showed a change this scaler did not make (call_for)."""
    size: int
    state: str


Event = Observed | Called | CallFailed | Finished | Superseded


@dataclass(frozen=True)
class Effects:
    history: tuple[HistoryRecord, ...] = ()
    delete: tuple[str, ...] = ()          # request keys, deleted once the history is written
    decision: Decision | None = None      # what decide() said (logs, dry run, the benchmark)
    retry: str | None = None              # the call failed and stays for the next tick


def step(state: ScalerState, event: Event, settings: Settings, now: float
         ) -> tuple[ScalerState, Effects]:
    new, effects = _step(state, event, settings, now)
    # One count per history record: the counters the dashboard's annotations read.
    if effects.history:
        new = replace(new, accounts=new.accounts.counted(str(r.action) for r in effects.history))
    return new, effects


def _step(state: ScalerState, event: Event, settings: Settings, now: float
          ) -> tuple[ScalerState, Effects]:
    if isinstance(event, Observed):
        return _observed(state, event, settings, now)
    intent = state.intent
    if intent is None:
        raise ValueError(f"{type(event).__name__} without an intent")
    if isinstance(event, Called):
        # The cooldown counts from here: from the call that succeeded (not the decision, which a
        # retried call may follow by minutes), or from the tick that found the pool showing it.
        acted = replace(intent, phase=Phase.ACTED, acted_at=event.at or now,
                        operation_id=event.operation_id or intent.operation_id)
        # Billed from the call; when the pool already showed it applied (an earlier tick's call,
        # killed before it was recorded), from the decision, which came just before that call.
        at = intent.decided_at if event.operation_id is None else (event.at or now)
        return replace(state, intent=acted, accounts=_billed(state, at, intent.target_size, settings)), Effects()
    if isinstance(event, Finished):
        return _finished(state, intent, settings, now, event.by)
    if isinstance(event, Superseded):
        # The record says what was seen, under the intent's name and time (written twice after a
        # crash, it is the same object); no last action, no cooldown: this scaler did nothing.
        record = HistoryRecord(intent.decided_at, Outcome.SUPERSEDED,
                               f"{intent.reason}; not made: the pool was changed by something else "
                               f"(size {event.size}, {event.state})", intent.requests,
                               intent.from_size, event.size, id=intent.id)
        return (replace(state, intent=None, accounts=_billed(state, now, event.size, settings)),
                Effects((record,), tuple(p.key for p in intent.requests)))
    if event.refused:
        return _dropped(state, intent, now, Outcome.REFUSED, event.message)
    attempts = intent.attempts + 1
    if attempts >= MAX_ATTEMPTS or now - intent.decided_at > settings.request_ttl_s:
        return _dropped(state, intent, now, Outcome.FAILED, event.message)
    return (replace(state, intent=replace(intent, attempts=attempts)),
            Effects(retry=f"scaling call failed (attempt {attempts}), will retry next tick: "
                          f"{event.message}"))


def _observed(state: ScalerState, obs: Observed, settings: Settings, now: float
              ) -> tuple[ScalerState, Effects]:
    if state.intent is not None:
        raise ValueError("a new decision while an intent is unfinished")
    live, expired = policy.split_expired(obs.pending, now, settings.request_ttl_s)
    decision = policy.decide(now, obs.pool, live, settings.bounds, settings.params, state.memory(),
                             settings.paused)
    pool = obs.pool
    accounts = _billed(state, now, pool.size, settings)
    held = budget_rule.hold_to_budget(
        decision, size=pool.size, minimum=settings.bounds[0], caps=settings.budget,
        ledger=accounts.ledger, price_hourly=settings.price_hourly, currency=settings.currency, now=now)
    if held is not None:
        decision = held.decision
        accounts = replace(accounts, budget_held=accounts.budget_held + 1, held=Held(now, held.message))
    history: list[HistoryRecord] = []
    if expired:
        history.append(HistoryRecord(now, Outcome.EXPIRED,
                                     f"pending longer than {settings.request_ttl_s:.0f}s", expired))
    if obs.corrupt:
        history.append(HistoryRecord(now, Outcome.CORRUPT, "unreadable request(s)", obs.corrupt))
    gone = [p.key for p in expired] + [c.key for c in obs.corrupt]
    new = replace(state, accounts=accounts, last_tick_at=now, last_tick_by=obs.by, paused=settings.paused,
                  bounds=Bounds(*settings.bounds),
                  pool=PoolSeen(pool.size, pool.state, pool.serving, now),
                  last_decision=Decided(now, decision.action, decision.reason))
    if decision.action == Action.NONE:
        if decision.consume:
            assert decision.outcome is not None
            history.append(HistoryRecord(now, decision.outcome, decision.reason,
                                         decision.requests, pool.size, pool.size))
            gone += decision.consume
        return new, Effects(tuple(history), tuple(gone), decision)
    intent = Intent(digest(now, decision.action, decision.target_size, *decision.consume),
                    decision.action, pool.size, decision.target_size, now, decision.reason,
                    decision.evict, decision.requests)
    return replace(new, intent=intent), Effects(tuple(history), tuple(gone), decision)


def _billed(state: ScalerState, at: float, size: int, settings: Settings) -> Accounts:
    """The accounts with the ledger brought up to `at`, billing `size` members from then on."""
    ledger = ledger_mod.accrue(state.accounts.ledger, at, size, settings.budget.tz)
    return replace(state.accounts, ledger=ledger)


def _finished(state: ScalerState, intent: Intent, settings: Settings, now: float, by: str
              ) -> tuple[ScalerState, Effects]:
    if intent.phase != Phase.ACTED:
        raise ValueError("Finished before the intent's call")
    outcome = Outcome.SCALE_UP if intent.action == Action.UP else Outcome.SCALE_DOWN
    record = HistoryRecord(intent.decided_at, outcome, intent.reason, intent.requests,
                           intent.from_size, intent.target_size, intent.evict,
                           intent.operation_id, id=intent.id)
    acted_at = now if intent.acted_at is None else intent.acted_at
    last = LastAction(acted_at, intent.action, intent.from_size, intent.target_size,
                      intent.reason, intent.evict, intent.operation_id, len(intent.requests))
    new = replace(state, intent=None, refusal=None, last_action=last,
                  cooldown_until=acted_at + settings.params.cooldown_s,
                  last_tick_at=now, last_tick_by=by or state.last_tick_by)
    return new, Effects((record,), tuple(p.key for p in intent.requests))


def _dropped(state: ScalerState, intent: Intent, now: float, outcome: Outcome, message: str
             ) -> tuple[ScalerState, Effects]:
    """End an intent without its action: its requests go to the history, the state says why."""
    requests: tuple[Entry, ...] = intent.requests
    record = HistoryRecord(now, outcome, f"{intent.reason}; {outcome}: {message}", requests,
                           intent.from_size, intent.target_size, id=intent.id)
    shown = (message[:REFUSAL_CHARS] if outcome == Outcome.REFUSED
             else f"failed: {message[:REFUSAL_CHARS - 20]}")
    return (replace(state, intent=None, refusal=Refusal(now, shown)),
            Effects((record,), tuple(p.key for p in intent.requests)))


@dataclass(frozen=True)
class ScaleTo:
    size: int


@dataclass(frozen=True)
class Evict:
    instance_ids: tuple[str, ...]


def call_for(intent: Intent, pool: PoolView) -> ScaleTo | Evict | Superseded | None:
    """The API call that carries out `intent`; None when the pool shows it applied as that call
    leaves it (an earlier tick's call went out before that tick was killed): the target size, none
    of the named members left. A pool at neither the size the intent was decided on nor its target,
    or a named member gone without it, was changed by something else: Superseded, no call."""
    alive = {m.id for m in pool.members if m.state not in GONE}
    named = tuple(i for i in intent.evict if i in alive)
    if pool.size == intent.target_size and not named:
        return None
    if pool.size == intent.from_size and named == intent.evict:
        return ScaleTo(intent.target_size) if intent.action == Action.UP else Evict(named)
    return Superseded(pool.size, pool.state)


def pending_left(obs: Observed, state: ScalerState, effects: Effects) -> dict[str, int]:
    """Requests still pending after this tick, by direction (for the self-monitoring gauge)."""
    used = set(effects.delete)
    if state.intent is not None:
        used.update(p.key for p in state.intent.requests)
    return by_direction(p for p in obs.pending if p.key not in used)


def by_direction(pending: Iterable[Pending]) -> dict[str, int]:
    directions = [p.request.direction for p in pending]
    return {d: directions.count(d) for d in ("up", "down")}
