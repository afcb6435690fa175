"""The operator's spend cap (control settings `budget`) and the check the tick makes before growing.

projected spend of a period = spent so far in it + the pool's new hourly cost × the hours left in
it. A scale-up whose projection exceeds a cap is trimmed to the largest size every cap allows, or
refused when that is no larger than the pool; the cap never holds the pool below its minimum and
never shrinks it. Pure.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.common import tz as tzmod
from functions.common.fields import Fields

from .ledger import Ledger, Spend

Json = dict[str, Any]
EPSILON = 1e-9  # money compared in floats: a projection equal to the cap is within it


@dataclass(frozen=True)
class Budget:
    """`budget` in control/<pool>/settings.json: caps in the price table's currency; None = no cap."""
    daily: float | None = None
    monthly: float | None = None
    tz: str = "UTC"     # the calendar of the day and month, also for the spend `inspect` shows

    def caps(self) -> tuple[tuple[tzmod.Period, float], ...]:
        pairs: tuple[tuple[tzmod.Period, float | None], ...] = (("day", self.daily), ("month", self.monthly))
        return tuple((period, limit) for period, limit in pairs if limit is not None)

    def to_json(self) -> Json:
        return {"daily": self.daily, "monthly": self.monthly, "tz": self.tz}

    @classmethod
    def from_json(cls, body: Any) -> Budget:
        """Read like every stored record (functions/common/fields.py): a ValueError naming the
        field (the tick then ignores the cap and says so)."""
        f = Fields(body, "budget")
        budget = cls(f.opt_number("daily", 0), f.opt_number("monthly", 0), f.opt_text("tz") or "UTC")
        f.done()
        tzmod.zone(budget.tz)
        return budget

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> Budget:
        return cls() if not settings or settings.get("budget") is None else cls.from_json(settings["budget"])


def amount(value: float) -> str:
    """Money for people: cents, and four decimals below one unit (a short run spends fractions of a cent)."""
    return f"{value:.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"


@dataclass(frozen=True)
class PeriodCheck:
    period: tzmod.Period
    cap: float
    spent: float
    hours_left: float
    size: int            # the size the projection is for
    projected: float

    @property
    def within(self) -> bool:
        return self.projected <= self.cap + EPSILON

    def to_json(self) -> Json:
        return {"period": self.period, "cap": self.cap, "spent": round(self.spent, 6),
                "hours_left": round(self.hours_left, 4), "size": self.size,
                "projected": round(self.projected, 6), "within": self.within}

    def describe(self, currency: str, price_hourly: float) -> str:
        word = "daily" if self.period == "day" else "monthly"
        relation = "within" if self.within else "over"
        return (f"{word} cap {amount(self.cap)} {currency}: spent {amount(self.spent)} + {self.size} × "
                f"{price_hourly:.4f}/h × {self.hours_left:.1f} h left = {amount(self.projected)}, {relation}")


def checks(budget: Budget, spend: Spend, size: int, price_hourly: float, now: float
           ) -> tuple[PeriodCheck, ...]:
    """The projection of every cap for the pool at `size` from `now` to the end of each period."""
    found = []
    for period, limit in budget.caps():
        _, end = tzmod.period_span(now, budget.tz, period)
        hours = max(end - now, 0.0) / 3600.0
        spent = spend.day if period == "day" else spend.month
        found.append(PeriodCheck(period, limit, spent, hours, size, spent + size * price_hourly * hours))
    return tuple(found)


def largest_within(budget: Budget, spend: Spend, price_hourly: float, now: float) -> int | None:
    """The largest size whose projection stays within every cap (None: no cap binds)."""
    sizes = []
    for check in checks(budget, spend, 0, price_hourly, now):
        per_member = price_hourly * check.hours_left
        if per_member > 0:
            sizes.append(math.floor((check.cap - check.spent) / per_member + EPSILON))
    return max(min(sizes), 0) if sizes else None


@dataclass(frozen=True)
class Verdict:
    current: int
    wanted: int
    allowed: int                       # what the pool may grow to; == wanted when no cap binds
    checks: tuple[PeriodCheck, ...]    # the figures at `wanted`

    @property
    def limited(self) -> bool:
        return self.allowed < self.wanted

    @property
    def refused(self) -> bool:
        return self.allowed <= self.current < self.wanted

    def describe(self, currency: str, price_hourly: float) -> str:
        over = "; ".join(c.describe(currency, price_hourly) for c in self.checks if not c.within)
        if not self.limited:
            return "within the budget"
        what = (f"budget refuses {self.current} -> {self.wanted}" if self.refused
                else f"budget trims {self.current} -> {self.wanted} to {self.allowed}")
        return f"{what} ({over})"


def verdict(budget: Budget, ledger: Ledger | None, now: float, price_hourly: float, *,
            current: int, wanted: int, minimum: int) -> Verdict:
    """May the pool grow from `current` to `wanted`? Never below `minimum`, never shrinking it.

    Without a ledger (no size recorded yet) spend is unknown and only the projection of the new
    size counts: spent is taken as 0, the most lenient reading, so a fresh deployment can scale.
    """
    spend = (Spend.of(ledger, now, price_hourly, budget.tz) if ledger is not None
             else Spend(now, current, current * price_hourly, 0.0, 0.0, now))
    figures = checks(budget, spend, wanted, price_hourly, now)
    ceiling = largest_within(budget, spend, price_hourly, now)
    allowed = wanted if ceiling is None else max(min(wanted, ceiling), current, minimum)
    return Verdict(current, wanted, allowed, figures)
