"""The sandbox's money figures, measured from outside the scaler, and the budget story's controls.

- `instance_seconds`: the pool's size integrated over a window from the emulator's operation log
  (every size change the platform performed, at the moment it performed it).
- `cost_check`: the tick's own ledger (state/<pool>/scaler.json) against that integral over the
  ledger's window: the two must agree within 1 %.
- `budget_zone`, `budget_cap`, `schedule_start`: the controls of the `budget` scenario, chosen at run
  time so that the story does not depend on the hour it runs at (the cap allows `members` members for
  the rest of a local day that has many hours left; the schedule starts at a whole minute).
Pure, except `run_figures`, which reads the run's bucket.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.common import keys
from functions.common import tz as tzmod
from functions.common.store import Store
from functions.schedule import rules


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


def apply_controls(budget_members: int | None, schedule_min: int | None, schedule_after_s: float,
                   schedule_for: str, now: float, price_hourly: float,
                   inspect: Callable[..., str]) -> dict[str, Any]:
    """Set the story's cap and schedule with `inspect`, as an operator would; what was set.
    A refused command stops the run (RuntimeError with inspect's line): the story needs both."""
    def run(*argv: str, expect: str) -> str:
        said = inspect(*argv)
        if not said.startswith(expect):
            raise RuntimeError(f"inspect {' '.join(argv)}: {said.strip()}")
        return said

    done: dict[str, Any] = {}
    if budget_members is not None:
        zone = budget_zone(now)
        cap = budget_cap(now, zone, budget_members, price_hourly)
        done["budget"] = {"daily": cap, "tz": zone, "fits_members": budget_members,
                          "output": run("set-budget", "--daily", f"{cap}", "--tz", zone, expect="budget stored")}
    if schedule_min is not None:
        cron, start = schedule_start(now, schedule_after_s)
        done["schedule"] = {"cron": cron, "tz": "UTC", "min": schedule_min, "duration": schedule_for,
                            "starts_at": start, "output": run("schedule", "add", cron, "--min", str(schedule_min),
                                                              "--duration", schedule_for, expect="schedule rule")}
    return done


def budget_events(history: Sequence[dict[str, Any]], t0: float) -> list[dict[str, Any]]:
    """The cap's holds from the bucket's history: refusals (`budget` records) and trimmed scale-ups."""
    found = []
    for record in history:
        reason = str(record.get("reason", ""))
        if record.get("action") == "budget" or "budget trims" in reason:
            found.append({"t": round(float(record["at"]) - t0, 2), "action": record["action"],
                          "from_size": record.get("from_size"), "to_size": record.get("to_size"),
                          "reason": reason})
    return sorted(found, key=lambda e: e["t"])


def schedule_window(controls: dict[str, Any], t0: float) -> tuple[float, float] | None:
    """When the story's schedule rule is in force, in seconds since `t0`."""
    sched = controls.get("schedule")
    if not sched:
        return None
    start = sched["starts_at"] - t0
    return start, start + rules.parse_duration(sched["duration"])


def run_figures(store: Store, pool_id: str, operations: Sequence[Any], price_hourly: float, currency: str,
                t0: float, controls: dict[str, Any]) -> dict[str, Any]:
    """The report's money part: the ledger check (None before any tick), the controls, the holds."""
    stored = store.get(keys.scaler_state(pool_id))
    ledger = ((stored.body or {}).get("accounts") or {}).get("ledger") if stored else None
    changes = [SizeChange(o.time, o.size_before, o.size_after) for o in operations if o.pool_id == pool_id]
    cost = None if not ledger else {"price_hourly": price_hourly, "currency": currency,
                                    **cost_check(ledger, changes, price_hourly)}
    history = [item.body for item in store.read_all(keys.history_prefix(pool_id)) if item.body]
    return {"cost": cost, "controls": controls, "budget_events": budget_events(history, t0)}
