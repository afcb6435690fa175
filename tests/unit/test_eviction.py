"""Table-driven tests of whom a scale-down evicts (functions/scaler/tick/eviction.py)."""
from __future__ import annotations

import pytest

from functions.scaler.tick import eviction, policy
from functions.scaler.tick.policy import Member


def running(name: str, created_at: str) -> Member:
    return Member(name, "running", created_at)


@pytest.mark.parametrize("members, expected", [
    # the same second with and without a fraction: string order puts "...00Z" after "...00.5Z"
    ([running("whole", "2026-01-01T10:00:00Z"), running("half", "2026-01-01T10:00:00.5Z")],
     ("half", "whole")),
    ([running("ms", "2026-01-01T10:00:00.250Z"), running("us", "2026-01-01T10:00:00.000001Z"),
      running("whole", "2026-01-01T10:00:01Z")],
     ("whole", "ms", "us")),
    # offsets: 11:30+02:00 is 09:30 UTC, older than 10:00Z although its text sorts after it
    ([running("offset", "2026-01-01T11:30:00+02:00"), running("utc", "2026-01-01T10:00:00Z")],
     ("utc", "offset")),
    ([running("minus", "2026-01-01T05:00:00-06:00"), running("utc", "2026-01-01T10:00:00Z")],
     ("minus", "utc")),
    # no offset at all: read as UTC, as the API's times are
    ([running("naive", "2026-01-01T10:00:01"), running("utc", "2026-01-01T10:00:00Z")],
     ("naive", "utc")),
    # nanoseconds (more digits than datetime keeps) still order by their microseconds
    ([running("ns", "2026-01-01T10:00:00.000002999Z"), running("us", "2026-01-01T10:00:00.000001Z")],
     ("ns", "us")),
])
def test_newest_first_by_time_not_by_text(members: list[Member], expected: tuple[str, ...]) -> None:
    assert policy.evict_order(members, len(members)) == expected


@pytest.mark.parametrize("unknown", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z"])
def test_a_member_without_a_readable_creation_time_goes_last(unknown: str) -> None:
    """No creation time is no evidence of being new: it is evicted after every dated member
    (the API always sends one; an empty or garbled one must not make it the first choice)."""
    members = [running("x-unknown", unknown), running("old", "2020-01-01T00:00:00Z"),
               running("new", "2026-01-01T00:00:00Z")]
    assert policy.evict_order(members, 3) == ("new", "old", "x-unknown")
    assert policy.evict_order(members, 1) == ("new",)


def test_undated_members_fall_back_to_their_ids() -> None:
    members = [running("b", ""), running("a", "garbled"), running("c", "")]
    assert policy.evict_order(members, 3) == ("a", "b", "c")


def test_not_serving_comes_before_any_age() -> None:
    members = [running("new", "2026-01-01T00:05:00Z"),
               Member("booting-undated", "starting", ""),
               Member("booting", "starting", "2026-01-01T00:01:00Z")]
    assert policy.evict_order(members, 3) == ("booting", "booting-undated", "new")


def busy(name: str, in_flight: float | None, created_at: str = "2026-01-01T00:00:00Z",
         state: str = "running") -> Member:
    return Member(name, state, created_at, f"10.0.0.{len(name)}", in_flight)


@pytest.mark.parametrize("members, count, expected", [
    # fewest in flight before age: the newest holds two, the oldest none
    ([busy("old", 0, "2026-01-01T00:00:00Z"), busy("new", 2, "2026-01-01T00:05:00Z"),
      busy("mid", 1, "2026-01-01T00:03:00Z")], 2, ("old", "mid")),
    # equal figures: the newest first, as without figures
    ([busy("old", 0, "2026-01-01T00:00:00Z"), busy("new", 0, "2026-01-01T00:05:00Z")], 1, ("new",)),
    # not yet serving still goes first, even holding more (a booting member serves nobody for long)
    ([busy("idle", 0), busy("booting", 3, state="starting")], 1, ("booting",)),
    # a member without a figure may be busy: it goes after every member with one
    ([busy("unknown", None, "2026-01-01T00:09:00Z"), busy("busy", 4)], 1, ("busy",)),
    # no figures at all (no member answered): readiness, then newest
    ([busy("old", None, "2026-01-01T00:00:00Z"), busy("new", None, "2026-01-01T00:05:00Z"),
      busy("booting", None, "2025-01-01T00:00:00Z", "starting")], 2, ("booting", "new")),
    # fractions from a windowed figure order as numbers
    ([busy("a", 0.5), busy("b", 0.25), busy("c", 2)], 3, ("b", "a", "c")),
])
def test_fewest_in_flight_after_readiness_before_age(members: list[Member], count: int,
                                                      expected: tuple[str, ...]) -> None:
    assert policy.evict_order(members, count) == expected


def test_figures_are_matched_by_ip_and_missing_ones_stay_unknown() -> None:
    members = [Member("a", "running", ip="10.0.0.1"), Member("b", "running", ip="10.0.0.2"),
               Member("no-ip", "running")]
    got = eviction.with_in_flight(members, {"10.0.0.1": 3.0, "10.0.0.9": 1.0})
    assert [m.in_flight for m in got] == [3.0, None, None]
    assert eviction.with_in_flight(members, {}) == tuple(members)
