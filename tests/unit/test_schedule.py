"""Scheduled bounds: rule parsing, the bounds in force at a moment (daylight-saving changes included),
how they combine with the hard and operator bounds, and the next change."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from functions.schedule import rules as rm
from functions.schedule.in_force import bounds_at, next_change
from functions.schedule.rules import Rule

VIE = "Europe/Vienna"


def vienna(*parts: int) -> float:
    return datetime(*parts, tzinfo=ZoneInfo(VIE)).timestamp()


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%MZ")


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, normal", [
    ("0 8 * * 1-5", "0 8 * * 1-5"),
    ("  0   8 * *   MON-FRI ", "0 8 * * MON-FRI"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("30 2 29 2 *", "30 2 29 2 *"),         # leap days only: rare, but it matches
])
def test_valid_cron(expr: str, normal: str) -> None:
    assert rm.parse_cron(expr) == normal


@pytest.mark.parametrize("expr, message", [
    ("0 8 * *", "must have five fields"),
    ("0 0 8 * * 1-5", "must have five fields"),    # seconds field: not standard cron
    ("@daily", "must have five fields"),
    ("61 * * * *", "invalid cron expression '61 \\* \\* \\* \\*': Bad minute"),
    ("0 25 * * *", "Bad hour"),
    ("0 8 * * funday", "Bad day-of-week"),
    ("0 0 31 2 *", "Bad day-of-month"),
    ("* * */20 * 1L", "never matches a date"),   # the 1st and 21st, if also the month's last Monday
    ("", "must have five fields"),
])
def test_invalid_cron_is_one_clear_error(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rm.parse_cron(expr)


@pytest.mark.parametrize("text, seconds", [
    ("10h", 36000), ("90m", 5400), ("1h30m", 5400), ("2d", 172800), ("1m", 60), ("31d", 31 * 86400),
    ("1w", 604800),
])
def test_durations(text: str, seconds: int) -> None:
    assert rm.parse_duration(text) == seconds
    assert rm.parse_duration(rm.duration_text(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten hours", "30s", "-1h", "1h 30m", "32d", "5x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration must be"):
        rm.parse_duration(text)


@pytest.mark.parametrize("fields, message", [
    (("r1", "0 8 * * *", 3, 2, 3600, "UTC"), "min 3 is greater than max 2"),
    (("r1", "0 8 * * *", 0, None, 3600, "UTC"), "min must be a whole number >= 1"),
    (("r1", "0 8 * * *", 2, None, 30, "UTC"), "duration must be"),
    (("r1", "0 8 * * *", 2, None, 3600, "Europe/Vienne"), "unknown time zone 'Europe/Vienne'"),
    (("R 1", "0 8 * * *", 2, None, 3600, "UTC"), "rule id"),
    (("r1", "0 8 * *", 2, None, 3600, "UTC"), "five fields"),
])
def test_a_bad_rule_is_refused(fields: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rule(*fields)


def test_rules_from_settings_round_trip_and_name_the_bad_one() -> None:
    rule = Rule("r1", "0 8 * * 1-5", 2, None, 36000, VIE)
    assert rm.from_settings({"schedule": [rule.to_json()]}) == (rule,)
    assert rm.from_settings({}) == () and rm.from_settings(None) == ()
    with pytest.raises(ValueError, match=r"schedule\[1\]: .*Bad hour"):
        rm.from_settings({"schedule": [rule.to_json(), {**rule.to_json(), "id": "r2", "cron": "0 99 * * *"}]})
    with pytest.raises(ValueError, match="unique"):
        rm.from_settings({"schedule": [rule.to_json(), rule.to_json()]})
    with pytest.raises(ValueError, match=r"^schedule\[0\]: unknown field\(s\) 'extra'$"):
        rm.from_settings({"schedule": [{**rule.to_json(), "extra": 1}]})
    with pytest.raises(ValueError, match=r"^schedule\[0\]: 'min' must be an integer, got '2'$"):
        rm.from_settings({"schedule": [{**rule.to_json(), "min": "2"}]})
    with pytest.raises(ValueError, match=r"^schedule\[0\]: missing 'tz'$"):
        rm.from_settings({"schedule": [{k: v for k, v in rule.to_json().items() if k != "tz"}]})
    assert rm.next_id(["r1", "r7", "night", "r"]) == "r8" and rm.next_id([]) == "r1"


# --- in force at a moment ------------------------------------------------------------------

WEEKDAYS = Rule("r1", "0 8 * * 1-5", 2, None, 10 * 3600, VIE)       # weekdays 08:00-18:00: at least 2
DAILY_8 = Rule("r2", "0 8 * * *", 3, None, 3600, VIE)
SPRING_230 = Rule("r3", "30 2 * * *", 4, None, 3600, VIE)            # 02:30 is skipped on 2026-03-29
NIGHT = Rule("r4", "0 22 * * *", 1, 2, 9 * 3600, VIE)               # nights: at most 2
HARD = (1, 10)


@pytest.mark.parametrize("case, rules, moment, expected, active", [
    ("Monday 07:59", [WEEKDAYS], vienna(2026, 11, 30, 7, 59), (1, 10), ()),
    ("Monday 08:00", [WEEKDAYS], vienna(2026, 11, 30, 8, 0), (2, 10), ("r1",)),
    ("Monday 17:59:59", [WEEKDAYS], vienna(2026, 11, 30, 17, 59) + 59, (2, 10), ("r1",)),
    ("Monday 18:00", [WEEKDAYS], vienna(2026, 11, 30, 18, 0), (1, 10), ()),
    ("Saturday noon", [WEEKDAYS], vienna(2026, 11, 28, 12, 0), (1, 10), ()),
    # the zone's 08:00 is 07:00 UTC in winter and 06:00 UTC in summer
    ("06:30 UTC on the day before the change", [DAILY_8], utc(2026, 3, 28, 6, 30), (1, 10), ()),
    ("06:30 UTC on the day after the change", [DAILY_8], utc(2026, 3, 30, 6, 30), (3, 10), ("r2",)),
    ("07:30 UTC on the fall-back day (08:30 local)", [DAILY_8], utc(2026, 10, 25, 7, 30), (3, 10), ("r2",)),
    # Debian cron: a start in the skipped hour happens when the clock jumps (03:00 local, 01:00 UTC)
    ("spring forward, 03:00 local", [SPRING_230], utc(2026, 3, 29, 1, 0), (4, 10), ("r3",)),
    ("spring forward, before the jump", [SPRING_230], utc(2026, 3, 29, 0, 59), (1, 10), ()),
    ("spring forward, 03:59 local", [SPRING_230], utc(2026, 3, 29, 1, 59), (4, 10), ("r3",)),
    ("spring forward, 04:00 local", [SPRING_230], utc(2026, 3, 29, 2, 0), (1, 10), ()),
    # a start in the repeated hour happens once, at its first occurrence (00:30 UTC)
    ("fall back, first 02:30", [SPRING_230], utc(2026, 10, 25, 0, 30), (4, 10), ("r3",)),
    ("fall back, an hour after the first 02:30", [SPRING_230], utc(2026, 10, 25, 1, 30), (1, 10), ()),
    ("a rule's max caps the night", [NIGHT], vienna(2026, 11, 28, 23, 0), (1, 2), ("r4",)),
    ("overlapping rules: the larger min, the larger max", [WEEKDAYS, DAILY_8], vienna(2026, 11, 30, 8, 30),
     (3, 10), ("r1", "r2")),
])
def test_bounds_in_force(case: str, rules: list[Rule], moment: float, expected: tuple[int, int],
                         active: tuple[str, ...]) -> None:
    now = bounds_at(HARD, None, rules, moment)
    assert (now.bounds, now.rules) == (expected, active), case


@pytest.mark.parametrize("case, hard, settings, rules, expected", [
    ("the operator's min above the rule's stays", (1, 10), {"min_size": 3}, [WEEKDAYS], (3, 10)),
    ("the rule raises the operator's min", (1, 10), {"min_size": 1, "max_size": 6}, [DAILY_8], (3, 6)),
    ("a rule min above the operator's max lifts the max", (1, 10), {"max_size": 2}, [DAILY_8], (3, 3)),
    ("a rule's max replaces the operator's", (1, 10), {"max_size": 4},
     [Rule("r5", "0 8 * * *", 2, 8, 3600, VIE)], (2, 8)),
    ("a rule's max below the operator's min is lifted to it", (1, 10), {"min_size": 3},
     [Rule("r7", "0 8 * * *", 1, 2, 3600, VIE)], (3, 3)),
    ("hard bounds clamp the rule", (2, 5), None, [Rule("r6", "0 8 * * *", 7, 9, 3600, VIE)], (5, 5)),
    ("no rule in force: operator bounds", (1, 10), {"min_size": 2, "max_size": 4}, [NIGHT], (2, 4)),
])
def test_how_the_schedule_combines_with_the_bounds(case: str, hard: tuple[int, int], settings: dict | None,
                                                   rules: list[Rule], expected: tuple[int, int]) -> None:
    assert bounds_at(hard, settings, rules, vienna(2026, 11, 30, 8, 15)).bounds == expected, case


@pytest.mark.parametrize("case, rules, moment, change_at, to", [
    ("in business hours: the end", [WEEKDAYS], vienna(2026, 11, 30, 12, 0), vienna(2026, 11, 30, 18, 0), (1, 10)),
    ("before: the start", [WEEKDAYS], vienna(2026, 11, 30, 6, 0), vienna(2026, 11, 30, 8, 0), (2, 10)),
    ("Friday evening: Monday morning", [WEEKDAYS], vienna(2026, 12, 4, 19, 0), vienna(2026, 12, 7, 8, 0), (2, 10)),
    ("across the spring-forward night", [DAILY_8], vienna(2026, 3, 28, 20, 0), utc(2026, 3, 29, 6, 0), (3, 10)),
    ("overlap: the change is when the larger min ends", [WEEKDAYS, DAILY_8], vienna(2026, 11, 30, 8, 30),
     vienna(2026, 11, 30, 9, 0), (2, 10)),
    ("yearly rule", [Rule("r8", "0 0 1 1 *", 5, None, 86400, "UTC")], utc(2026, 11, 30, 0, 0),
     utc(2027, 1, 1, 0, 0), (5, 10)),
])
def test_next_change(case: str, rules: list[Rule], moment: float, change_at: float, to: tuple[int, int]) -> None:
    change = next_change(HARD, None, rules, moment)
    assert change is not None, case
    assert (iso(change.at), change.to.bounds) == (iso(change_at), to), case


@pytest.mark.parametrize("case, settings, rules", [
    ("no rules", None, []),
    ("a rule that never changes the bounds", {"min_size": 5}, [WEEKDAYS]),
    ("always in force: every minute for an hour", None, [Rule("r9", "* * * * *", 2, None, 3600, "UTC")]),
])
def test_no_next_change(case: str, settings: dict | None, rules: list[Rule]) -> None:
    assert next_change(HARD, settings, rules, vienna(2026, 11, 30, 12, 0)) is None, case
