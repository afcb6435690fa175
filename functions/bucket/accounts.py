"""What the tick keeps about money and outcomes from one tick to the next, inside the scaler state:
the spend ledger (functions/money/ledger.py), how many history records each outcome has had (the
counters the dashboard's annotations read), and how often, and last when, the spend cap held a
scale-up back. Typed and strict like the rest of state.py."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from functions.common.fields import Fields
from functions.money.ledger import Ledger

Json = dict[str, Any]


@dataclass(frozen=True)
class Held:
    """The last scale-up the cap trimmed or refused, and the figures that decided it."""
    at: float
    message: str

    def to_json(self) -> Json:
        return {"at": self.at, "message": self.message}

    @classmethod
    def read(cls, f: Fields) -> Held:
        return cls(f.number("at"), f.text("message"))


@dataclass(frozen=True)
class Accounts:
    ledger: Ledger | None = None
    outcomes: Mapping[str, int] = field(default_factory=dict)   # history records per outcome
    budget_held: int = 0                                         # ticks the cap held a scale-up back
    held: Held | None = None

    def counted(self, actions: Iterable[str]) -> Accounts:
        counts = dict(self.outcomes)
        for action in actions:
            counts[action] = counts.get(action, 0) + 1
        return replace(self, outcomes=counts)

    def to_json(self) -> Json:
        return {"ledger": None if self.ledger is None else self.ledger.to_json(),
                "outcomes": dict(sorted(self.outcomes.items())), "budget_held": self.budget_held,
                "held": None if self.held is None else self.held.to_json()}

    @classmethod
    def read(cls, f: Fields) -> Accounts:
        ledger = f.obj("ledger", Ledger.read)
        outcomes = f.obj("outcomes", lambda counts: {name: counts.integer(name, low=0) for name in list(counts.body)})
        return cls(ledger, outcomes or {}, f.integer("budget_held", 0), f.obj("held", Held.read))
