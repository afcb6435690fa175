"""The sandbox's money figures, measured from outside the scaler, and the budget story's controls.

- `instance_seconds`: the pool's size integrated over a window from the emulator's operation log
  (every size change the platform performed, at the moment it performed it).
- `cost_check`: the tick's own ledger (state/<pool>/scaler.json) against that integral over the
  ledger's window: the two must agree within 1 %.
- `budget_zone`, `budget_cap`, `schedule_start`: the controls of the `budget` scenario, chosen at run
  time so that the story does not depend on the hour it runs at (the cap allows `members` members for
  the rest of a local day that has many hours left; the schedule starts at a whole minute).
Pure.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.common import tz as tzmod


@dataclass(frozen=True)
class SizeChange:
    time: float          # Unix seconds
    size_before: int
    size_after: int


def instance_seconds(changes: Sequence[SizeChange], start: float, end: float) -> float:
    """∫ size dt over [start, end): the size before the first change holds from -∞."""
    ordered = sorted(changes, key=lambda c: c.time)
    if not ordered or end <= start:
        return 0.0
    total, size, at = 0.0, ordered[0].size_before, start
    for change in ordered:
        if change.time >= end:
            break
        if change.time > at:
            total += size * (change.time - at)
            at = change.time
        size = change.size_after
    return total + size * max(end - at, 0.0)


def cost_check(ledger: dict[str, Any], changes: Sequence[SizeChange], price_hourly: float) -> dict[str, Any]:
    """The ledger's instance-seconds and cost against the operation log's over the same window."""
    start, end = float(ledger["started_at"]), float(ledger["at"])
    mine, measured = float(ledger["total_s"]), instance_seconds(changes, start, end)
    difference = None if measured == 0 else 100.0 * (mine - measured) / measured
    return {"window_s": round(end - start, 1), "ledger_instance_s": round(mine, 1),
            "measured_instance_s": round(measured, 1),
            "difference_pct": None if difference is None else round(difference, 3),
            "ledger_cost": round(mine * price_hourly / 3600, 6),
            "measured_cost": round(measured * price_hourly / 3600, 6)}


def budget_zone(now: float, local_hour: int = 6) -> str:
    """A fixed-offset zone (Etc/GMT±N, whose sign is POSIX's, inverted) where it is about
    `local_hour` o'clock now: a run there never crosses its day's end, and many hours are left."""
    hour = datetime.fromtimestamp(now, UTC).hour
    offset = (local_hour - hour + 12) % 24 - 12          # -12 .. +11 hours from UTC
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def budget_cap(now: float, zone: str, members: int, price_hourly: float) -> float:
    """A daily cap under which a pool of `members` fits for the rest of the day, `members + 1` not
    (half a member's worth of margin for what the run itself spends)."""
    _, end = tzmod.period_span(now, zone, "day")
    return round((members + 0.5) * price_hourly * (end - now) / 3600.0, 4)


def schedule_start(now: float, at_least_s: float) -> tuple[str, float]:
    """A cron expression for the first whole UTC minute at least `at_least_s` ahead, and its time."""
    start = math.ceil((now + at_least_s) / 60.0) * 60.0
    when = datetime.fromtimestamp(start, UTC)
    return f"{when.minute} {when.hour} {when.day} {when.month} *", start
