"""The spend cap: its stored shape, projected spend (daylight-saving days included) and the verdict
on a scale-up: within, trimmed, refused, never below the minimum, never shrinking the pool."""
from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from functions.money import budget as bm
from functions.money import ledger as lg
from functions.money.budget import Budget

H = 3600.0
PRICE = 0.0278   # standard.small, EUR per hour (functions/common/prices.json)


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def vienna(*parts: int) -> float:
    return datetime(*parts, tzinfo=ZoneInfo("Europe/Vienna")).timestamp()


@pytest.mark.parametrize("body, expected", [
    ({"daily": 5, "monthly": None, "tz": "UTC"}, Budget(5.0, None, "UTC")),
    ({"daily": None, "monthly": 100.5, "tz": "Europe/Vienna"}, Budget(None, 100.5, "Europe/Vienna")),
    ({"daily": 0}, Budget(0.0, None, "UTC")),                 # a zero cap: never grow (but keep the minimum)
    ({}, Budget()),
])
def test_budget_from_json(body: dict, expected: Budget) -> None:
    assert Budget.from_json(body) == expected
    assert Budget.from_json(expected.to_json()) == expected


@pytest.mark.parametrize("body, message", [
    ({"daily": -1}, "budget: 'daily' must be a finite number >= 0, got -1"),
    ({"monthly": "100"}, "budget: 'monthly' must be a finite number >= 0, got '100'"),
    ({"daily": True}, "budget: 'daily' must be a finite number >= 0, got True"),
    ({"daily": math.nan}, "budget: 'daily' must be a finite number >= 0, got nan"),
    ({"daily": math.inf}, "budget: 'daily' must be a finite number >= 0, got inf"),
    ({"weekly": 3}, "budget: unknown field(s) 'weekly'"),
    ({"daily": 1, "tz": 3}, "budget: 'tz' must be a string, got 3"),
    ({"daily": 1, "tz": "Europe/Atlantis"}, "unknown time zone"),
    ([], "budget: not a JSON object"),
])
def test_a_malformed_budget_is_refused(body: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        Budget.from_json(body)
    assert str(err.value).startswith(message)


def test_no_budget_in_the_settings_is_no_cap() -> None:
    assert Budget.from_settings(None).caps() == () and Budget.from_settings({"budget": None}).caps() == ()


# --- projected spend -----------------------------------------------------------------------

def ledger_from(start: float, size: int, zone: str = "UTC") -> lg.Ledger:
    return lg.start(start, size, zone)


@pytest.mark.parametrize("case, budget, started, size, now, wanted, spent, hours_left", [
    ("UTC noon, daily", Budget(daily=2.0), utc(2026, 11, 28, 0, 0), 2, utc(2026, 11, 28, 12, 0), 4,
     2 * 12 * PRICE, 12),
    ("UTC noon, monthly", Budget(monthly=50.0), utc(2026, 11, 1, 0, 0), 1, utc(2026, 11, 28, 12, 0), 3,
     (27 * 24 + 12) * PRICE, 2 * 24 + 12),
    ("Vienna spring-forward day at 01:00: 22 hours left", Budget(daily=2.0, tz="Europe/Vienna"),
     vienna(2026, 3, 29, 0, 0), 1, vienna(2026, 3, 29, 1, 0), 2, PRICE, 22),
    ("Vienna fall-back day at 01:00: 24 hours left", Budget(daily=2.0, tz="Europe/Vienna"),
     vienna(2026, 10, 25, 0, 0), 1, vienna(2026, 10, 25, 1, 0), 2, PRICE, 24),
    ("Vienna, the UTC day would differ", Budget(daily=2.0, tz="Europe/Vienna"),
     vienna(2026, 11, 28, 0, 0), 3, utc(2026, 11, 28, 22, 0), 5, 3 * 23 * PRICE, 1),
])
def test_projected_spend(case: str, budget: Budget, started: float, size: int, now: float, wanted: int,
                         spent: float, hours_left: float) -> None:
    ledger = ledger_from(started, size, budget.tz)
    spend = lg.Spend.of(ledger, now, PRICE, budget.tz)
    (check,) = bm.checks(budget, spend, wanted, PRICE, now)
    assert check.spent == pytest.approx(spent), case
    assert check.hours_left == pytest.approx(hours_left), case
    assert check.projected == pytest.approx(spent + wanted * PRICE * hours_left), case


# --- the verdict on a scale-up -------------------------------------------------------------

NOON = utc(2026, 11, 28, 12, 0)
MIDNIGHT = utc(2026, 11, 28, 0, 0)
# 2 members since midnight: 12 h × 2 × 0.0278 = 0.6672 spent; each member for the 12 h left: 0.3336


@pytest.mark.parametrize("case, budget, current, wanted, minimum, allowed", [
    ("no cap", Budget(), 2, 6, 1, 6),
    ("well within", Budget(daily=10.0), 2, 6, 1, 6),
    ("exactly at the cap is within", Budget(daily=0.6672 + 6 * 0.3336), 2, 6, 1, 6),
    ("trimmed to what the cap allows", Budget(daily=0.6672 + 4 * 0.3336 + 0.01), 2, 6, 1, 4),
    ("refused: not even one more", Budget(daily=0.6672 + 2 * 0.3336 + 0.1), 2, 6, 1, 2),
    ("already over: no growth, no shrinking", Budget(daily=0.5), 2, 3, 1, 2),
    ("the minimum wins over the cap", Budget(daily=0.5), 2, 4, 4, 4),
    ("a zero cap still keeps the minimum", Budget(daily=0.0), 2, 3, 3, 3),
    ("the tighter of two caps", Budget(daily=10.0, monthly=0.6672 + 3 * 0.3336 + 0.01), 2, 6, 1, 3),
])
def test_verdict(case: str, budget: Budget, current: int, wanted: int, minimum: int, allowed: int) -> None:
    ledger = ledger_from(MIDNIGHT, 2)
    # the monthly projection runs to the month's end: make the table's figures about the day
    # by asking on the month's last day
    now = NOON if budget.monthly is None else utc(2026, 11, 30, 12, 0)
    if budget.monthly is not None:
        ledger = ledger_from(utc(2026, 11, 30, 0, 0), 2)
    result = bm.verdict(budget, ledger, now, PRICE, current=current, wanted=wanted, minimum=minimum)
    assert result.allowed == allowed, case
    assert result.limited == (allowed < wanted)
    assert result.refused == (allowed <= current < wanted)


def test_verdict_figures_and_text_name_the_cap() -> None:
    result = bm.verdict(Budget(daily=1.7), ledger_from(MIDNIGHT, 2), NOON, PRICE, current=2, wanted=5, minimum=1)
    assert (result.allowed, result.refused) == (3, False)
    (check,) = result.checks
    assert check.to_json() == {"period": "day", "cap": 1.7, "spent": 0.6672, "hours_left": 12.0, "size": 5,
                               "projected": pytest.approx(0.6672 + 5 * 12 * PRICE), "within": False}
    assert result.describe("EUR", PRICE) == (
        "budget trims 2 -> 5 to 3 (daily cap 1.70 EUR: spent 0.6672 + 5 × 0.0278/h × 12.0 h left = 2.34, over)")


def test_without_a_recorded_size_only_the_new_size_is_projected() -> None:
    result = bm.verdict(Budget(daily=0.5), None, NOON, PRICE, current=1, wanted=3, minimum=1)
    assert result.checks[0].spent == 0 and result.allowed == 1     # 12 h × 0.0278 = 0.33 a member


@pytest.mark.parametrize("value, text", [(0, "0.00"), (0.0022, "0.0022"), (0.94, "0.9400"), (1, "1.00"),
                                         (12.345, "12.35"), (-0.5, "-0.5000")])
def test_amounts_keep_small_spend_visible(value: float, text: str) -> None:
    assert bm.amount(value) == text


def test_a_free_price_never_binds() -> None:
    assert bm.verdict(Budget(daily=0.0), ledger_from(MIDNIGHT, 2), NOON, 0.0, current=2, wanted=9,
                      minimum=1).allowed == 9
