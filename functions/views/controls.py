"""Pure views of the operator's money and clock controls: the budget and the schedule rules,
with the bounds in force and the next change (for `schedule list`, `set-budget` and `status`;
inspect/tables.py renders them as text)."""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from functions.money import budget as budget_mod
from functions.money.budget import Budget
from functions.money.ledger import Ledger, Spend
from functions.schedule import rules as rules_mod
from functions.schedule.in_force import InForce, bounds_at, next_change

from .objects import iso

Json = dict[str, Any]


def _in_force(now: InForce) -> Json:
    return {"min": now.min, "max": now.max, "rules": list(now.rules),
            "operator": {"min": now.operator[0], "max": now.operator[1]}}


def rule_row(rule: rules_mod.Rule, now: float) -> Json:
    started = rule.last_start(now)
    live = started is not None and now < started + rule.duration_s
    upcoming = next(itertools.islice(rule.starts_after(now), 1), None)
    return {"id": rule.id, "cron": rule.cron, "tz": rule.tz, "min": rule.min, "max": rule.max,
            "duration_s": rule.duration_s, "duration": rules_mod.duration_text(rule.duration_s),
            "explain": rule.explain(), "in_force": live,
            "started_at": iso(started) if live and started is not None else None,
            "ends_at": iso(started + rule.duration_s) if live and started is not None else None,
            "next_start": None if upcoming is None else iso(upcoming)}


def schedule_view(settings: Mapping[str, Any] | None, hard: tuple[int, int], now: float) -> Json:
    """The rules, the bounds in force now and the next change; a malformed schedule is reported
    (the tick ignores it as a whole, so the view shows the bounds without it)."""
    try:
        rules = rules_mod.from_settings(settings)
        error = None
    except ValueError as exc:
        rules, error = (), str(exc)
    current = bounds_at(hard, settings, rules, now)
    change = next_change(hard, settings, rules, now)
    return {"rules": [rule_row(r, now) for r in rules], "error": error,
            "in_force": _in_force(current),
            "next_change": None if change is None else {
                "at": iso(change.at), "in_s": round(change.at - now, 1), **_in_force(change.to)}}


def budget_view(settings: Mapping[str, Any] | None) -> Json:
    try:
        budget, error = Budget.from_settings(settings), None
    except ValueError as exc:
        budget, error = Budget(), str(exc)
    return {**budget.to_json(), "error": error}


def money_view(settings: Mapping[str, Any] | None, ledger: Ledger | None, *, price_hourly: float,
               currency: str, instance_type: str, now: float, held: Json | None = None) -> Json:
    """Cost now, spend of the day and month, and each cap's state at the current size.

    Before the first tick recorded a size every figure is None (shown as `unknown`): spend that
    was never measured is not zero. `held` is the last time the cap held a scale-up back.
    """
    budget = budget_view(settings)
    caps = Budget(budget["daily"], budget["monthly"], budget["tz"])  # read once, by budget_view (Budget() if malformed)
    view: Json = {"currency": currency, "instance_type": instance_type, "price_hourly": price_hourly,
                  "tz": caps.tz, "size": None, "cost_per_hour": None, "spend_day": None,
                  "spend_month": None, "since": None, "budget": budget, "caps": [], "held": held}
    if ledger is None:
        return view
    spend = Spend.of(ledger, now, price_hourly, caps.tz)
    view.update(size=spend.size, cost_per_hour=spend.hourly, spend_day=spend.day, spend_month=spend.month,
                since=iso(spend.since),
                caps=[c.to_json() for c in budget_mod.checks(caps, spend, spend.size, price_hourly, now)])
    return view
