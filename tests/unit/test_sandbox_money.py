"""The sandbox's money figures: instance-seconds from the operation log, the ledger check, and the
budget story's controls (a zone with many hours left, a cap for N members, a whole-minute start)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common import tz as tzmod
from functions.money import budget as bm
from functions.money import ledger as lg
from sandbox.money import (
    SizeChange,
    apply_controls,
    budget_cap,
    budget_zone,
    cost_check,
    instance_seconds,
    schedule_start,
    schedule_window,
)

OPS = [SizeChange(100.0, 0, 1), SizeChange(200.0, 1, 4), SizeChange(260.0, 4, 2)]


@pytest.mark.parametrize("start, end, expected", [
    (0, 100, 0),                        # before the first member
    (100, 200, 100),
    (150, 230, 50 + 4 * 30),
    (0, 300, 100 + 4 * 60 + 2 * 40),
    (300, 400, 200),                    # the last size holds
    (250, 250, 0),
])
def test_instance_seconds_from_the_operation_log(start: float, end: float, expected: float) -> None:
    assert instance_seconds(OPS, start, end) == pytest.approx(expected)
    assert instance_seconds(list(reversed(OPS)), start, end) == pytest.approx(expected)   # order-free


def test_the_ledger_fed_at_the_same_moments_agrees_exactly() -> None:
    ledger = lg.start(150.0, 1, "UTC")
    for change in OPS[1:]:
        ledger = lg.accrue(ledger, change.time, change.size_after, "UTC")
    ledger = lg.accrue(ledger, 320.0, 2, "UTC")
    check = cost_check(ledger.to_json(), OPS, price_hourly=3.6)
    assert check["ledger_instance_s"] == check["measured_instance_s"] == 50 + 240 + 120
    assert check["difference_pct"] == 0 and check["ledger_cost"] == pytest.approx(0.41)


def test_a_ledger_a_second_late_on_each_change_is_off_by_that() -> None:
    ledger = lg.start(150.0, 1, "UTC")
    for change in OPS[1:]:
        ledger = lg.accrue(ledger, change.time + 1, change.size_after, "UTC")
    ledger = lg.accrue(ledger, 320.0, 2, "UTC")
    check = cost_check(ledger.to_json(), OPS, 1.0)
    assert check["ledger_instance_s"] - check["measured_instance_s"] == pytest.approx(1 * (1 - 4) + 1 * (4 - 2))


@pytest.mark.parametrize("utc_hour", range(24))
def test_budget_zone_puts_the_run_early_in_a_local_day(utc_hour: int) -> None:
    now = datetime(2026, 11, 28, utc_hour, 30, tzinfo=UTC).timestamp()
    zone = budget_zone(now)
    assert tzmod.local(now, zone).hour == 6
    _, end = tzmod.period_span(now, zone, "day")
    assert (end - now) / 3600 == pytest.approx(17.5)


def test_the_cap_fits_n_members_and_not_one_more() -> None:
    now = datetime(2026, 11, 28, 21, 0, tzinfo=UTC).timestamp()
    zone = budget_zone(now)
    cap = budget_cap(now, zone, 3, 0.0153)
    fresh = lg.start(now, 1, zone)
    budget = bm.Budget(daily=cap, tz=zone)
    assert bm.verdict(budget, fresh, now, 0.0153, current=1, wanted=6, minimum=1).allowed == 3
    # still 3 ten minutes later at 6 members' spend
    later = lg.accrue(fresh, now + 600, 6, zone)
    assert bm.verdict(budget, later, now + 600, 0.0153, current=2, wanted=6, minimum=1).allowed == 3


def test_schedule_start_is_a_whole_minute_far_enough_ahead() -> None:
    now = datetime(2026, 12, 31, 23, 59, 50, tzinfo=UTC).timestamp()
    cron, start = schedule_start(now, 20)
    assert cron == "1 0 1 1 *" and start == datetime(2027, 1, 1, 0, 1, tzinfo=UTC).timestamp()


def test_apply_controls_types_what_an_operator_would_and_stops_on_a_refusal() -> None:
    typed: list[tuple[str, ...]] = []

    def inspect(*argv: str) -> str:
        typed.append(argv)
        return "budget stored; ..." if argv[0] == "set-budget" else "schedule rule r1 stored: ..."
    now = datetime(2026, 11, 28, 21, 0, 10, tzinfo=UTC).timestamp()
    done = apply_controls(3, 2, 15, "3m", now, 0.0153, inspect)
    assert typed[0][:3] == ("set-budget", "--daily", str(done["budget"]["daily"]))
    assert typed[1] == ("schedule", "add", "1 21 28 11 *", "--min", "2", "--duration", "3m")
    assert done["schedule"]["starts_at"] == now + 50
    assert schedule_window(done, now) == (50, 50 + 180)
    with pytest.raises(RuntimeError, match=r"inspect set-budget .*: inspect: error: refused"):
        apply_controls(3, None, 0, "1m", now, 0.0153, lambda *a: "inspect: error: refused: ...\n")
