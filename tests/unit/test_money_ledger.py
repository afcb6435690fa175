"""Cost from the pool's sizes over time: calendar periods in a zone (daylight-saving days included),
the ledger's accrual against a direct integral of the size timeline, and the figures in money."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.common import tz as tzmod
from functions.common.fields import Fields, ShapeError
from functions.money import ledger as lg
from functions.money.ledger import Ledger, Spend

H = 3600.0


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def at(zone: str, *parts: int) -> float:
    return datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize("zone, moment, period, hours, start", [
    ("UTC", (2026, 11, 28, 13, 5), "day", 24, (2026, 11, 28)),
    ("UTC", (2026, 11, 28, 13, 5), "month", 30 * 24, (2026, 11, 1)),
    ("UTC", (2028, 2, 10, 0, 0), "month", 29 * 24, (2028, 2, 1)),             # leap February
    ("Europe/Vienna", (2026, 11, 28, 0, 30), "day", 24, (2026, 11, 28)),
    ("Europe/Vienna", (2026, 3, 29, 12, 0), "day", 23, (2026, 3, 29)),        # spring forward
    ("Europe/Vienna", (2026, 10, 25, 12, 0), "day", 25, (2026, 10, 25)),      # fall back
    ("Europe/Vienna", (2026, 3, 5, 9, 0), "month", 31 * 24 - 1, (2026, 3, 1)),
    ("Europe/Vienna", (2026, 10, 5, 9, 0), "month", 31 * 24 + 1, (2026, 10, 1)),
    ("Asia/Kolkata", (2026, 6, 1, 3, 0), "day", 24, (2026, 6, 1)),           # +05:30
    ("America/Santiago", (2026, 9, 6, 12, 0), "day", 23, (2026, 9, 6)),      # midnight skipped
])
def test_period_span_in_the_zones_calendar(zone: str, moment: tuple[int, ...], period: tzmod.Period,
                                           hours: int, start: tuple[int, int, int]) -> None:
    begin, end = tzmod.period_span(at(zone, *moment), zone, period)
    assert (end - begin) / H == hours
    assert datetime.fromtimestamp(begin, ZoneInfo(zone)).date() == datetime(*start).date()
    assert begin <= at(zone, *moment) < end


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe/"])
def test_an_unknown_zone_is_one_clear_error(name: str) -> None:
    with pytest.raises(tzmod.ZoneError, match="unknown time zone"):
        tzmod.zone(name)


def test_the_zone_database_comes_from_the_tzdata_package_without_a_system_one() -> None:
    # PYTHONTZPATH empty: zoneinfo searches no system directory, only the tzdata package
    env = {**os.environ, "PYTHONTZPATH": ""}
    code = ("import zoneinfo, functions.common.tz as t; assert zoneinfo.TZPATH == (); "
            "print(t.period_span(1774738800.0, 'Europe/Vienna', 'day'))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(1774738800.0, 1774821600.0)"   # 2026-03-29 Vienna: 23 hours


# --- the ledger ----------------------------------------------------------------------------

def steps(zone: str, start: float, *moves: tuple[float, int]) -> Ledger:
    """A ledger fed (time, size) observations, the first one starting it."""
    ledger = lg.start(start, moves[0][1], zone) if moves else None
    for when, size in moves[1:]:
        ledger = lg.accrue(ledger, when, size, zone)
    assert ledger is not None
    return ledger


T0 = utc(2026, 11, 28, 10, 0)


@pytest.mark.parametrize("case, zone, moves, day, day_s, month, month_s", [
    ("just started", "UTC", [(T0, 3)], "2026-11-28", 0, "2026-11", 0),
    ("one hour at 3", "UTC", [(T0, 3), (T0 + H, 3)], "2026-11-28", 3 * H, "2026-11", 3 * H),
    ("a scale-up is billed from its call", "UTC", [(T0, 1), (T0 + 600, 4), (T0 + 1200, 4)],
     "2026-11-28", 600 + 4 * 600, "2026-11", 600 + 4 * 600),
    ("booting members count: size, not serving", "UTC", [(T0, 2), (T0 + 60, 5), (T0 + 120, 5)],
     "2026-11-28", 2 * 60 + 5 * 60, "2026-11", 2 * 60 + 5 * 60),
    ("midnight splits the day, not the month", "UTC",
     [(utc(2026, 11, 28, 23, 0), 2), (utc(2026, 11, 29, 1, 0), 2)], "2026-11-29", 2 * H, "2026-11", 4 * H),
    ("month end", "UTC", [(utc(2026, 11, 30, 23, 30), 2), (utc(2026, 12, 1, 0, 30), 1)],
     "2026-12-01", 2 * 1800, "2026-12", 2 * 1800),
    ("a tick-less gap of days keeps the last size", "UTC",
     [(utc(2026, 11, 25, 12, 0), 1), (utc(2026, 11, 28, 12, 0), 1)], "2026-11-28", 12 * H, "2026-11", 72 * H),
    ("a clock step back accrues nothing", "UTC", [(T0, 2), (T0 + 600, 2), (T0 + 300, 3)],
     "2026-11-28", 1200, "2026-11", 1200),
    ("Vienna's day starts at 23:00 UTC", "Europe/Vienna",
     [(utc(2026, 11, 28, 22, 0), 1), (utc(2026, 11, 29, 0, 0), 1)], "2026-11-29", H, "2026-11", 2 * H),
    ("the fall-back day has 25 billed hours", "Europe/Vienna",
     [(at("Europe/Vienna", 2026, 10, 25, 0, 0), 2), (at("Europe/Vienna", 2026, 10, 26, 0, 0), 2)],
     "2026-10-26", 0, "2026-10", 50 * H),
    ("the spring-forward day has 23", "Europe/Vienna",
     [(at("Europe/Vienna", 2026, 3, 29, 0, 0), 1), (at("Europe/Vienna", 2026, 3, 29, 23, 59), 1)],
     "2026-03-29", 23 * H - 60, "2026-03", 23 * H - 60),
])
def test_accrue(case: str, zone: str, moves: list[tuple[float, int]], day: str, day_s: float, month: str,
                month_s: float) -> None:
    ledger = steps(zone, moves[0][0], *moves)
    assert (ledger.day, ledger.day_s, ledger.month, ledger.month_s) == (day, day_s, month, month_s), case
    assert ledger.size == moves[-1][1]


def test_a_change_of_zone_keeps_the_same_periods_totals_and_restarts_the_others() -> None:
    ledger = steps("UTC", T0, (T0, 2), (T0 + H, 2))                     # 10:00-11:00 UTC on the 28th
    moved = lg.accrue(ledger, T0 + 2 * H, 2, "Pacific/Kiritimati")    # +14: it is the 29th there
    assert (moved.tz, moved.day, moved.month) == ("Pacific/Kiritimati", "2026-11-29", "2026-11")
    assert moved.month_s == 4 * H and moved.day_s == 2 * H   # the month is kept, the day starts at the change


def integral(points: list[tuple[float, int]], begin: float, end: float) -> float:
    """The oracle: instance-seconds of a step timeline (size from each point to the next) in [begin, end)."""
    total = 0.0
    for (t, size), (t_next, _) in zip(points, [*points[1:], (end, 0)], strict=True):
        lo, hi = max(t, begin), min(t_next, end)
        total += size * max(hi - lo, 0.0)
    return total


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["UTC", "Europe/Vienna", "America/New_York", "Asia/Kolkata"]),
       st.lists(st.tuples(st.integers(1, 40 * 3600), st.integers(0, 12)), min_size=1, max_size=30))
def test_the_ledger_equals_the_integral_of_the_size_timeline(zone: str, moves: list[tuple[int, int]]) -> None:
    start = at(zone, 2026, 10, 24, 18, 0)     # crosses Europe's and (a week later) no other fall-back
    points = [(start, moves[0][1])]
    for gap, size in moves[1:]:
        points.append((points[-1][0] + gap, size))
    ledger = steps(zone, start, *points)
    end = points[-1][0]
    assert ledger.total_s == pytest.approx(integral(points, start, end), abs=1e-6)
    for period, total in (("day", ledger.day_s), ("month", ledger.month_s)):
        begin, _ = tzmod.period_span(end, zone, period)
        assert total == pytest.approx(integral(points, begin, end), abs=1e-6)


def test_spend_in_money_carries_the_last_size_to_now() -> None:
    ledger = steps("UTC", T0, (T0, 2), (T0 + H, 4))
    spend = Spend.of(ledger, T0 + 2 * H, price_hourly=0.5)
    assert (spend.size, spend.hourly) == (4, 2.0)
    assert spend.day == pytest.approx(2 * 0.5 + 4 * 0.5) and spend.month == spend.day
    assert spend.since == T0
    # asked for a moment before the last accrual, it does not go back
    assert Spend.of(ledger, T0, 0.5).day == pytest.approx(1.0)


def stored(body: object) -> Ledger | None:
    """The ledger read as the scaler state reads it."""
    return Fields({"ledger": body}, "state").obj("ledger", Ledger.read)


@pytest.mark.parametrize("body, message", [
    ({"schema": 2}, "ledger: schema 2, this code reads only 1"),
    ({**lg.start(T0, 2, "UTC").to_json(), "extra": 1}, "unknown field(s) 'extra'"),
    ({**lg.start(T0, 2, "UTC").to_json(), "size": -1}, "'size' must be an integer >= 0, got -1"),
    ({**lg.start(T0, 2, "UTC").to_json(), "size": 1.5}, "'size' must be an integer >= 0, got 1.5"),
    ({**lg.start(T0, 2, "UTC").to_json(), "day_s": True}, "'day_s' must be a finite number >= 0"),
    ({**lg.start(T0, 2, "UTC").to_json(), "day_s": -0.5}, "'day_s' must be a finite number >= 0"),
    ({**lg.start(T0, 2, "UTC").to_json(), "tz": 3}, "'tz' must be a string"),
    ({k: v for k, v in lg.start(T0, 2, "UTC").to_json().items() if k != "total_s"}, "missing 'total_s'"),
])
def test_a_malformed_stored_ledger_is_refused(body: dict, message: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(message)):
        stored(body)


def test_the_ledger_round_trips() -> None:
    ledger = steps("Europe/Vienna", T0, (T0, 2), (T0 + 90, 3))
    assert stored(ledger.to_json()) == ledger
