"""Typed shapes of what the tick keeps in the bucket: its state object and its history records.

`state/<pool>/scaler.json` is a `ScalerState` (schema 3); every history object is a
`HistoryRecord` (schema 1). Both are read strictly, one version each (`from_json` raises
`SchemaError` for any other version, `ShapeError` naming the first wrong field) by the tick,
the receiver's `GET /status` and `inspect` alike. See docs/architecture.md ("The state bucket").
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from functions.common import keys
from functions.common.fields import Fields, ShapeError, require_schema

from .accounts import Accounts
from .request import Outcome, Pending, ScaleRequest

STATE_SCHEMA = 3
HISTORY_SCHEMA = 1
Json = dict[str, Any]


class Action(StrEnum):
    """What one decision does to the pool."""
    UP = "scale-up"
    DOWN = "scale-down"
    NONE = "none"


@dataclass(frozen=True)
class Memory:
    """What earlier ticks left in the state object that the decision depends on."""
    last_action_at: float | None = None


class Phase(StrEnum):
    DECIDED = "decided"   # written before the scaling call
    ACTED = "acted"       # the call went out (or the pool showed it applied)


@dataclass(frozen=True)
class Corrupt:
    """A stored request that could not be read: it goes to the history as it is named."""
    key: str
    error: str


Entry = Pending | Corrupt


def entry_json(entry: Entry) -> Json:
    if isinstance(entry, Corrupt):
        return {"key": entry.key, "error": entry.error}
    return {"key": entry.key, **asdict(entry.request)}  # versioned by the record it is in


def entry_from(body: Any, where: str) -> Entry:
    f = Fields(body, where)
    key = f.text("key")
    entry = Corrupt(key, f.text("error")) if "error" in body else Pending(key, ScaleRequest.read(f))
    f.done()
    return entry


def digest(*parts: object) -> str:
    """A short stable name from what a record or intent is about (same input, same name)."""
    return hashlib.sha1("\n".join(map(str, parts)).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class HistoryRecord:
    """One audit record: an action, or why the requests it names were used up without one."""
    at: float
    action: Outcome
    reason: str
    requests: tuple[Entry, ...] = ()
    from_size: int | None = None
    to_size: int | None = None
    evicted: tuple[str, ...] = ()
    operation_id: str | None = None
    # The key's last part (not in the body); by default a digest of the time and the requests.
    id: str = field(default="", compare=False)

    def name(self) -> str:
        return self.id or digest(self.at, self.action, *(e.key for e in self.requests))

    def key(self, pool: str) -> str:
        return keys.history(pool, self.at, self.action, self.name())

    def to_json(self) -> Json:
        return {"schema": HISTORY_SCHEMA, "at": self.at, "action": str(self.action),
                "reason": self.reason, "requests": [entry_json(e) for e in self.requests],
                "from_size": self.from_size, "to_size": self.to_size,
                "evicted": list(self.evicted), "operation_id": self.operation_id}

    @classmethod
    def from_json(cls, body: Any, where: str = "history") -> HistoryRecord:
        f = Fields(body, where)
        require_schema(body, HISTORY_SCHEMA, where)
        record = cls(f.number("at"), f.choice("action", Outcome), f.opt_text("reason") or "",
                     tuple(entry_from(e, f"{where}.requests[{i}]")
                           for i, e in enumerate(f.items("requests"))),
                     f.opt_integer("from_size"), f.opt_integer("to_size"), f.strs("evicted"),
                     f.opt_text("operation_id"))
        f.done()
        return record


@dataclass(frozen=True)
class Intent:
    """A scaling action between its decision and its record: written before the call."""
    id: str
    action: Action
    from_size: int
    target_size: int
    decided_at: float
    reason: str
    evict: tuple[str, ...] = ()
    requests: tuple[Pending, ...] = ()
    phase: Phase = Phase.DECIDED
    operation_id: str | None = None
    attempts: int = 0   # scaling calls that failed and are to be retried
    acted_at: float | None = None   # when the call succeeded (or the pool was seen to show it)

    def to_json(self) -> Json:
        return {"id": self.id, "action": str(self.action), "from_size": self.from_size,
                "target_size": self.target_size, "decided_at": self.decided_at,
                "reason": self.reason, "evict": list(self.evict),
                "requests": [entry_json(p) for p in self.requests], "phase": str(self.phase),
                "operation_id": self.operation_id, "attempts": self.attempts,
                "acted_at": self.acted_at}

    @classmethod
    def read(cls, f: Fields) -> Intent:
        requests = []
        for i, body in enumerate(f.items("requests")):
            entry = entry_from(body, f"{f.where}.requests[{i}]")
            if not isinstance(entry, Pending):
                raise ShapeError(f"{f.where}.requests[{i}]: not a scale request")
            requests.append(entry)
        intent = cls(f.text("id"), f.choice("action", Action), f.integer("from_size"),
                     f.integer("target_size"), f.number("decided_at"), f.opt_text("reason") or "",
                     f.strs("evict"), tuple(requests), f.choice("phase", Phase),
                     f.opt_text("operation_id"), f.integer("attempts", 0), f.opt_number("acted_at"))
        if intent.action == Action.NONE:
            raise ShapeError(f"{f.where}: an intent must scale")
        return intent


@dataclass(frozen=True)
class LastAction:
    at: float
    action: Action
    from_size: int
    to_size: int
    reason: str
    evicted: tuple[str, ...] = ()
    operation_id: str | None = None
    requests: int = 0

    def to_json(self) -> Json:
        return {"at": self.at, "action": str(self.action), "from_size": self.from_size,
                "to_size": self.to_size, "reason": self.reason, "evicted": list(self.evicted),
                "operation_id": self.operation_id, "requests": self.requests}

    @classmethod
    def read(cls, f: Fields) -> LastAction:
        return cls(f.number("at"), f.choice("action", Action), f.integer("from_size"),
                   f.integer("to_size"), f.opt_text("reason") or "", f.strs("evicted"),
                   f.opt_text("operation_id"), f.integer("requests", 0))


@dataclass(frozen=True)
class Decided:
    """What the last tick decided (also when it decided to do nothing)."""
    at: float
    action: Action
    reason: str

    def to_json(self) -> Json:
        return {"at": self.at, "action": str(self.action), "reason": self.reason}

    @classmethod
    def read(cls, f: Fields) -> Decided:
        return cls(f.number("at"), f.choice("action", Action), f.opt_text("reason") or "")


@dataclass(frozen=True)
class PoolSeen:
    size: int
    state: str
    serving: int
    observed_at: float

    def to_json(self) -> Json:
        return {"size": self.size, "state": self.state, "serving": self.serving,
                "observed_at": self.observed_at}

    @classmethod
    def read(cls, f: Fields) -> PoolSeen:
        return cls(f.integer("size"), f.text("state"), f.integer("serving"), f.number("observed_at"))


@dataclass(frozen=True)
class Refusal:
    at: float
    message: str

    def to_json(self) -> Json:
        return {"at": self.at, "message": self.message}

    @classmethod
    def read(cls, f: Fields) -> Refusal:
        return cls(f.number("at"), f.opt_text("message") or "")


@dataclass(frozen=True)
class Bounds:
    min: int
    max: int

    def to_json(self) -> Json:
        return {"min": self.min, "max": self.max}

    @classmethod
    def read(cls, f: Fields) -> Bounds:
        bounds = cls(f.integer("min"), f.integer("max"))
        if not 1 <= bounds.min <= bounds.max:
            raise ShapeError(f"{f.where}: needs 1 <= min <= max, got {bounds.min}..{bounds.max}")
        return bounds


@dataclass(frozen=True)
class ScalerState:
    """state/<pool>/scaler.json: what one tick leaves for the next, and for the operator."""
    revision: int = 0
    last_tick_at: float | None = None
    last_tick_by: str | None = None
    paused: bool = False                    # as the last tick found the operator's settings
    bounds: Bounds | None = None            # the bounds the last tick enforced
    pool: PoolSeen | None = None            # the pool as the last tick saw it
    last_decision: Decided | None = None
    last_action: LastAction | None = None
    cooldown_until: float | None = None     # no scale-down before this (last call + cooldown)
    refusal: Refusal | None = None          # the last scaling call the API refused or that failed
    intent: Intent | None = None
    history_pruned_on: str | None = None    # UTC day of the last history pruning
    accounts: Accounts = field(default_factory=Accounts)   # spend ledger, outcome counts (accounts.py)

    def memory(self) -> Memory:
        """What decide() needs from earlier ticks."""
        return Memory(self.last_action.at if self.last_action else None)

    def to_json(self) -> Json:
        def opt(part: Any) -> Any:
            return None if part is None else part.to_json()

        return {"schema": STATE_SCHEMA, "revision": self.revision,
                "last_tick_at": self.last_tick_at, "last_tick_by": self.last_tick_by,
                "paused": self.paused, "bounds": opt(self.bounds), "pool": opt(self.pool),
                "last_decision": opt(self.last_decision), "last_action": opt(self.last_action),
                "cooldown_until": self.cooldown_until,
                "refusal": opt(self.refusal), "intent": opt(self.intent),
                "history_pruned_on": self.history_pruned_on, "accounts": self.accounts.to_json()}

    @classmethod
    def from_json(cls, body: Any, where: str = "scaler state") -> ScalerState:
        """The typed state; SchemaError for any schema but STATE_SCHEMA (nothing was released
        with another), ShapeError naming the first wrong field."""
        require_schema(body, STATE_SCHEMA, where)
        f = Fields(body, where)
        state = cls(
            revision=f.integer("revision", 0), last_tick_at=f.opt_number("last_tick_at"),
            last_tick_by=f.opt_text("last_tick_by"), paused=f.flag("paused"),
            bounds=f.obj("bounds", Bounds.read), pool=f.obj("pool", PoolSeen.read),
            last_decision=f.obj("last_decision", Decided.read),
            last_action=f.obj("last_action", LastAction.read),
            cooldown_until=f.opt_number("cooldown_until"),
            refusal=f.obj("refusal", Refusal.read), intent=f.obj("intent", Intent.read),
            history_pruned_on=f.opt_text("history_pruned_on"),
            accounts=f.obj("accounts", Accounts.read) or Accounts())
        f.done()
        return state


def today(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))
