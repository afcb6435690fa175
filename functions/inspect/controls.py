"""`inspect set-budget` and `inspect schedule add|list|remove`: argparse wiring and the writes.

Values are checked by the pure merges in settings.py, so every refusal is one line naming the
problem (cli.py adds "refused: …; nothing written") and nothing is stored.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from functions.common import config, prices
from functions.views import controls as controls_view

from . import settings as opsettings
from . import tables

Json = dict[str, Any]
Write = Callable[[Callable[[Json | None], Json]], Json]
COMMANDS = ("set-budget", "schedule")


def add_commands(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    budget = sub.add_parser(
        "set-budget", parents=parents, help="spend caps per day and/or month that the tick honours",
        description="Caps are amounts in the price table's currency; 'none' removes a cap, an omitted "
                    "flag keeps it. The tick refuses (or trims) a scale-up whose projected spend "
                    "(spent so far + new hourly cost × hours left in the period) exceeds a cap; it "
                    "never holds the pool below its minimum.")
    budget.add_argument("--daily", metavar="AMOUNT|none")
    budget.add_argument("--monthly", metavar="AMOUNT|none")
    budget.add_argument("--tz", metavar="ZONE",
                        help="IANA zone of the days and months (omitted: the stored one; UTC at first)")
    schedule = sub.add_parser("schedule", parents=parents, help="scheduled bounds: add, list, remove")
    verbs = schedule.add_subparsers(dest="verb", required=True, metavar="add|list|remove")
    add = verbs.add_parser(
        "add", parents=parents, help="from each CRON start, for --duration, at least --min members",
        description="CRON is a standard five-field expression (quote it), evaluated in --tz like "
                    "Debian's cron, daylight-saving changes included. While a rule is in force the "
                    "minimum is at least its --min and, with --max, the maximum is its --max.")
    add.add_argument("cron", metavar="CRON")
    add.add_argument("--min", required=True, metavar="N")
    add.add_argument("--max", metavar="M")
    add.add_argument("--duration", required=True, metavar="D", help="e.g. 10h, 90m, 1h30m, 2d")
    add.add_argument("--tz", default="UTC", metavar="ZONE", help="IANA zone of CRON (default UTC)")
    verbs.add_parser("list", parents=parents, help="the rules, the bounds in force, the next change")
    remove = verbs.add_parser("remove", parents=parents, help="remove one rule by its id")
    remove.add_argument("rule_id", metavar="ID")


def _whole(raw: str | None, name: str) -> int | None:
    """--min/--max of a schedule rule: a whole number >= 1; `none` only for --max (no maximum)."""
    if raw is None:
        return None
    try:
        value = opsettings.parse_size(raw)
    except ValueError as exc:
        raise ValueError(f"--{name}: {exc}") from None
    if value is None and name == "min":
        raise ValueError(f"--min must be a whole number >= 1, got {raw!r}")
    return value


def _keep(raw: str | None, parse: Callable[[str], Any]) -> Any:
    return opsettings.KEEP if raw is None else parse(raw)


def run(args: argparse.Namespace, cfg: config.Config, now: float, by: str, read: Callable[[], Json | None],
        write: Write, out: TextIO, as_json: bool) -> int:
    """One control command; ValueError when the input is refused (before anything is written)."""
    hard = (cfg.min_size, cfg.max_size)
    if args.command == "set-budget":
        if args.daily is None and args.monthly is None and args.tz is None:
            raise ValueError("set-budget needs --daily, --monthly and/or --tz")
        daily = _keep(args.daily, lambda raw: opsettings.parse_cap(raw, "daily"))
        monthly = _keep(args.monthly, lambda raw: opsettings.parse_cap(raw, "monthly"))
        zone = _keep(args.tz, str)
        new = write(lambda cur: opsettings.with_budget(cur, now=now, by=by, daily=daily, monthly=monthly,
                                                       tz=zone))
        view = controls_view.budget_view(new)
        headline = "budget stored; the next tick honours it"
        text = tables.budget_text(view, prices.load().currency)
    elif args.verb == "add":
        low, high = _whole(args.min, "min"), _whole(args.max, "max")
        assert low is not None  # argparse requires --min
        added: list[Any] = []

        def change(cur: Json | None) -> Json:
            body, rule = opsettings.with_rule(cur, now=now, by=by, cron=args.cron, min_size=low,
                                              max_size=high, duration=args.duration, tz=args.tz)
            added[:] = [rule]
            return body
        new = write(change)
        view = {"added": added[0].to_json(), **controls_view.schedule_view(new, hard, now)}
        headline = f"schedule rule {added[0].id} stored: {added[0].describe()}"
        text = tables.schedule_text(view)
    elif args.verb == "remove":
        removed: list[Any] = []

        def drop(cur: Json | None) -> Json:
            body, rule = opsettings.without_rule(cur, now=now, by=by, rule_id=args.rule_id)
            removed[:] = [rule]
            return body
        new = write(drop)
        view = {"removed": removed[0], **controls_view.schedule_view(new, hard, now)}
        headline = f"schedule rule {args.rule_id} removed"
        text = tables.schedule_text(view)
    else:
        view = controls_view.schedule_view(read(), hard, now)
        headline, text = "", tables.schedule_text(view)
    view = {"pool_id": cfg.pool_id, **view}
    print(json.dumps(view, indent=2, sort_keys=True) if as_json else
          "\n".join(p for p in (headline, text) if p), file=out)
    return 0
