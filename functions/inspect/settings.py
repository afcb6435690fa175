"""Pure validation and merge of the operator's settings (control/<pool>/settings.json).

`set-bounds` semantics: a flag that is omitted keeps the stored value; `none` clears it, so
the hard bound (SCALER_MIN_SIZE / SCALER_MAX_SIZE) applies again. The stored pair must satisfy
1 <= min <= max after the merge; bounds outside the hard bounds are stored as given (the VM's
hard bounds may differ from this environment's) and clamped by the tick.
`set-budget` follows the same keep/clear rule for its caps; `schedule add`/`remove` change one
rule and leave the others exactly as stored. Every merge keeps the fields it does not own.
"""
from __future__ import annotations

import enum
import math
from typing import Any

from functions.common import keys
from functions.common import tz as tzmod
from functions.common.bounds import effective_bounds, operator_size
from functions.money import budget as budget_mod
from functions.schedule import rules as rules_mod

Json = dict[str, Any]


class Keep(enum.Enum):
    """Marker for 'leave this field as stored'."""
    KEEP = "keep"


KEEP = Keep.KEEP
Size = int | None | Keep
CLEAR = ("none", "null", "unset", "-")  # what --min/--max/--daily/--monthly take to clear a value


def parse_size(raw: str) -> int | None:
    """argparse type for --min/--max: a positive integer, or `none` to clear the bound."""
    value = raw.strip().lower()
    if value in CLEAR:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"expected a whole number or 'none', got {raw!r}") from None
    if number < 1:
        raise ValueError(f"a bound must be >= 1, got {number}")
    return number


def _base(current: Json | None) -> Json:
    base = dict(current or {})
    if base.get("schema", keys.SCHEMA) != keys.SCHEMA:
        raise ValueError(f"settings have schema {base.get('schema')!r}, this inspect writes "
                         f"{keys.SCHEMA}: not overwriting")
    base.pop("schema", None)  # Store.put adds it
    return base


def merged(current: Json | None, *, now: float, by: str, paused: bool | Keep = KEEP,
           min_size: Size = KEEP, max_size: Size = KEEP) -> Json:
    """The new settings body; raises ValueError when the resulting bounds are invalid."""
    base = _base(current)
    # A malformed stored bound is dropped on write: the tick ignores it anyway.
    low = operator_size(base, "min_size") if min_size is KEEP else min_size
    high = operator_size(base, "max_size") if max_size is KEEP else max_size
    if low is not None and high is not None and low > high:
        raise ValueError(f"min {low} is greater than max {high}")
    was_paused = base.get("paused") is True
    base.update({"paused": was_paused if paused is KEEP else bool(paused),
                 "min_size": low, "max_size": high, "updated_at": now, "updated_by": by})
    return base


def bounds_warnings(settings: Json, hard_min: int, hard_max: int) -> list[str]:
    """What the operator should know when stored bounds fall outside the hard bounds."""
    low, high = settings.get("min_size"), settings.get("max_size")
    notes = []
    if isinstance(low, int) and not hard_min <= low <= hard_max:
        notes.append(f"min {low} is outside the hard bounds {hard_min}..{hard_max}")
    if isinstance(high, int) and not hard_min <= high <= hard_max:
        notes.append(f"max {high} is outside the hard bounds {hard_min}..{hard_max}")
    if not notes:
        return []
    eff_min, eff_max = effective_bounds(hard_min, hard_max, settings)
    return [f"{'; '.join(notes)} (SCALER_MIN_SIZE/SCALER_MAX_SIZE of this environment): "
            f"the tick will clamp them, effective bounds {eff_min}..{eff_max}"]


# --- budget ---------------------------------------------------------------------------------

Cap = float | None | Keep


def parse_cap(raw: str, name: str) -> float | None:
    """`--daily`/`--monthly`: an amount >= 0 in the price table's currency, or `none` (no cap)."""
    value = raw.strip().lower()
    if value in CLEAR:
        return None
    try:
        amount = float(value)
    except ValueError:
        raise ValueError(f"the {name} cap must be an amount like 5 or 12.50, or 'none', got {raw!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"the {name} cap must be a number >= 0, got {amount!r}")
    return amount


def with_budget(current: Json | None, *, now: float, by: str, daily: Cap = KEEP,
                monthly: Cap = KEEP, tz: str | Keep = KEEP) -> Json:
    """Settings with the budget changed; ValueError for a bad cap or zone (nothing is written)."""
    base = _base(current)
    try:
        stored = budget_mod.Budget.from_settings(base)
    except ValueError:
        stored = budget_mod.Budget()  # a hand-broken budget is replaced, not merged into
    zone = stored.tz if tz is KEEP else tzmod.known(tz)
    new = budget_mod.Budget(stored.daily if daily is KEEP else daily,
                            stored.monthly if monthly is KEEP else monthly, zone)
    base.update(budget=new.to_json(), updated_at=now, updated_by=by)
    return base


# --- schedule -------------------------------------------------------------------------------

def _stored_rules(base: Json) -> list[Any]:
    raw = base.get("schedule")
    return list(raw) if isinstance(raw, list) else []


def with_rule(current: Json | None, *, now: float, by: str, cron: str, min_size: int,
              max_size: int | None, duration: str, tz: str) -> tuple[Json, rules_mod.Rule]:
    """Settings with one more schedule rule (stored rules untouched); ValueError when it is bad."""
    base = _base(current)
    stored = _stored_rules(base)
    if len(stored) >= rules_mod.MAX_RULES:
        raise ValueError(f"the schedule already has {len(stored)} rules, the most it may have")
    ids = [str(r.get("id")) for r in stored if isinstance(r, dict)]
    rule = rules_mod.Rule(rules_mod.next_id(ids), rules_mod.parse_cron(cron), min_size, max_size,
                          rules_mod.parse_duration(duration), tzmod.known(tz))
    base.update(schedule=[*stored, rule.to_json()], updated_at=now, updated_by=by)
    return base, rule


def without_rule(current: Json | None, *, now: float, by: str, rule_id: str) -> tuple[Json, Any]:
    """Settings without the rule `rule_id` (found even when other rules are malformed)."""
    base = _base(current)
    stored = _stored_rules(base)
    kept = [r for r in stored if not (isinstance(r, dict) and r.get("id") == rule_id)]
    if len(kept) == len(stored):
        ids = ", ".join(str(r.get("id")) for r in stored if isinstance(r, dict)) or "none"
        raise ValueError(f"no schedule rule {rule_id!r} (rules: {ids})")
    removed = next(r for r in stored if isinstance(r, dict) and r.get("id") == rule_id)
    base.update(schedule=kept, updated_at=now, updated_by=by)
    return base, removed
