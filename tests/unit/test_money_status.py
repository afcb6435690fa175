"""The cost, spend and budget lines of `inspect status`, pure: unknown before a recorded size, the
figures after, each cap's state at the current size, a malformed budget named."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.inspect.tables import money_rows
from functions.money import ledger as lg
from functions.views.controls import money_view

PRICE = 0.0153   # standard.tiny
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 11, 28, 0, 0, tzinfo=UTC).timestamp()


def rows(settings: dict | None, ledger: lg.Ledger | None, held: dict | None = None) -> dict[str, str]:
    view = money_view(settings, ledger, price_hourly=PRICE, currency="EUR", instance_type="standard.tiny",
                      now=NOW, held=held)
    return dict(money_rows(view))


@pytest.mark.parametrize("settings, ledger, cost, spend, budget", [
    (None, None, "unknown (no tick has recorded the pool's size yet)",
     "unknown (no tick has recorded the pool's size yet)", "no cap"),
    ({"budget": {"daily": 1.0, "monthly": None, "tz": "UTC"}}, None, "unknown", "unknown",
     "daily cap 1.00 EUR, projection unknown"),
    (None, lg.start(MIDNIGHT, 2, "UTC"), "0.0306 EUR/h now (2 × standard.tiny at 0.0153/h)",
     "today 0.3672 EUR, this month 0.3672 EUR (UTC; since 2026-11-28T00:00:00Z)", "no cap"),
    ({"budget": {"daily": 1.0, "monthly": 0.5, "tz": "UTC"}}, lg.start(MIDNIGHT, 2, "UTC"), "0.0306 EUR/h",
     "today 0.3672 EUR",
     "daily cap 1.00 EUR: projected 0.7344 at size 2, within; monthly cap 0.5000 EUR: projected 2.20 at size 2, "
     "over: no scale-up"),
    ({"budget": {"daily": -3}}, lg.start(MIDNIGHT, 1, "UTC"), "0.0153 EUR/h", "today 0.1836 EUR",
     "ignored by the tick: budget: 'daily' must be a finite number >= 0, got -3"),
    ({"budget": {"daily": None, "monthly": None, "tz": "Pacific/Kiritimati"}}, lg.start(MIDNIGHT, 1, "UTC"),
     "0.0153", "today 0.0306 EUR, this month 0.1836 EUR (Pacific/Kiritimati;", "no cap"),   # its day began at 10:00 UTC
])
def test_status_money_rows(settings: dict | None, ledger: lg.Ledger | None, cost: str, spend: str,
                           budget: str) -> None:
    got = rows(settings, ledger)
    assert list(got) == ["cost", "spend", "budget"]   # always shown
    assert got["cost"].startswith(cost) and got["spend"].startswith(spend)
    assert got["budget"] == budget


def test_the_last_hold_is_named() -> None:
    got = rows({"budget": {"daily": 0.5}}, lg.start(MIDNIGHT, 2, "UTC"),
               held={"at": "2026-11-28T11:58:00Z", "message": "budget refuses 2 -> 4"})
    assert got["budget"].endswith("; held a scale-up back at 2026-11-28T11:58:00Z: budget refuses 2 -> 4")
