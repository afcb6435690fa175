"""The spend-cap rule, applied to what `decide()` chose (a separate, named step of the transition).

A scale-up whose projected spend would exceed a cap (functions/money/budget.py) is trimmed to the
largest size every cap allows, or, when that is no larger than the pool, replaced by a refusal: its
requests are used up with the outcome `budget` and the figures in the reason. A correction up to
the minimum is never held back, and nothing else (scale-downs, no action) is touched. Pure.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from functions.money import budget
from functions.money.ledger import Ledger

from .policy import Action, Decision, Outcome


@dataclass(frozen=True)
class Capped:
    decision: Decision       # what the tick does instead
    message: str             # the figures, for the history, the state and the log


def hold_to_budget(decision: Decision, *, size: int, minimum: int, caps: budget.Budget,
                   ledger: Ledger | None, price_hourly: float, currency: str, now: float
                   ) -> Capped | None:
    """None when the cap does not bind (or there is none); else the trimmed or refused decision."""
    if decision.action != Action.UP or not caps.caps():
        return None
    verdict = budget.verdict(caps, ledger, now, price_hourly, current=size, wanted=decision.target_size,
                             minimum=minimum)
    if not verdict.limited:
        return None
    message = verdict.describe(currency, price_hourly)
    if verdict.refused:
        return Capped(Decision(Action.NONE, size, message, consume=decision.consume, outcome=Outcome.BUDGET,
                             requests=decision.requests), message)
    return Capped(replace(decision, target_size=verdict.allowed, reason=f"{decision.reason}; {message}"),
                message)
