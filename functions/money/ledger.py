"""The spend ledger: instance-seconds of the current day and month, integrated from pool sizes.

The tick accrues it each time it learns the pool's size (each observation, each scaling call), so
the integral is over the size as the API reports it: members are billed while they exist, booting
ones included (Exoscale bills by the second, https://www.exoscale.com/faq/general/). Between two
accruals the last size is assumed to hold. It is kept as instance-seconds rather than money, so a
corrected price table re-prices the period; the figures in money come from `Spend.of`.

Pure; stored inside the scaler state (read with functions/common/fields.py like the rest of it).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from functions.common import tz as tzmod
from functions.common.fields import Fields, require_schema

LEDGER_SCHEMA = 1
Json = dict[str, Any]


@dataclass(frozen=True)
class Ledger:
    tz: str             # the zone whose calendar days and months the totals belong to
    started_at: float   # the first recorded size: spend before it is unknown, not zero
    at: float           # accrued up to here
    size: int           # members billed from `at` on, until the next accrual
    day: str            # period keys (tz.period_key) of the totals below
    day_s: float        # instance-seconds of `day` up to `at`
    month: str
    month_s: float
    total_s: float = 0.0  # instance-seconds since started_at (what a run's figures are checked against)

    def to_json(self) -> Json:
        return {"schema": LEDGER_SCHEMA, "tz": self.tz, "started_at": self.started_at, "at": self.at,
                "size": self.size, "day": self.day, "day_s": self.day_s, "month": self.month,
                "month_s": self.month_s, "total_s": self.total_s}

    @classmethod
    def read(cls, f: Fields) -> Ledger:
        require_schema(f.body, LEDGER_SCHEMA, f.where)
        return cls(f.text("tz"), f.number("started_at", 0), f.number("at", 0), f.integer("size", low=0),
                   f.text("day"), f.number("day_s", 0), f.text("month"), f.number("month_s", 0),
                   f.number("total_s", 0))


def start(at: float, size: int, tz: str) -> Ledger:
    return Ledger(tz, at, at, size, tzmod.period_key(at, tz, "day"), 0.0,
                  tzmod.period_key(at, tz, "month"), 0.0)


def accrue(ledger: Ledger | None, at: float, size: int, tz: str) -> Ledger:
    """The ledger brought up to `at` at its last size, billing `size` members from then on.

    A time before the ledger's own (a clock step back) accrues nothing. A change of zone keeps a
    period's total when the period is the same one in both calendars, and otherwise starts that
    period from the change (the totals cannot be split again by the other calendar).
    """
    if size < 0:
        raise ValueError(f"a pool size cannot be negative: {size}")
    if ledger is None:
        return start(at, size, tz)
    if ledger.tz != tz:
        ledger = _rezoned(ledger, tz)
    if at <= ledger.at:
        return replace(ledger, size=size)
    day, day_s = _carried(ledger, at, tz, "day")
    month, month_s = _carried(ledger, at, tz, "month")
    return replace(ledger, at=at, size=size, day=day, day_s=day_s, month=month, month_s=month_s,
                   total_s=ledger.total_s + ledger.size * (at - ledger.at))


def _carried(ledger: Ledger, at: float, tz: str, period: tzmod.Period) -> tuple[str, float]:
    """The period holding `at` and its instance-seconds once the last size is carried up to `at`."""
    key = tzmod.period_key(at, tz, period)
    if key == getattr(ledger, period):
        return key, getattr(ledger, f"{period}_s") + ledger.size * (at - ledger.at)
    begin, _ = tzmod.period_span(at, tz, period)
    return key, ledger.size * (at - max(begin, ledger.at))


def _rezoned(ledger: Ledger, tz: str) -> Ledger:
    day = tzmod.period_key(ledger.at, tz, "day")
    month = tzmod.period_key(ledger.at, tz, "month")
    return replace(ledger, tz=tz, day=day, month=month,
                   day_s=ledger.day_s if day == ledger.day else 0.0,
                   month_s=ledger.month_s if month == ledger.month else 0.0)


@dataclass(frozen=True)
class Spend:
    """The ledger in money at a moment: what the operator and the budget check look at."""
    at: float
    size: int
    hourly: float        # the pool's cost per hour at `size`
    day: float           # spent so far in the current day / month (since `since` at the earliest)
    month: float
    since: float

    @classmethod
    def of(cls, ledger: Ledger, now: float, price_hourly: float, tz: str | None = None) -> Spend:
        """Figures at `now`, the last size assumed to hold since the ledger's last accrual."""
        current = accrue(ledger, max(now, ledger.at), ledger.size, tz or ledger.tz)
        per_second = price_hourly / 3600.0
        return cls(now, current.size, current.size * price_hourly, current.day_s * per_second,
                   current.month_s * per_second, ledger.started_at)
