"""Table-driven tests of whom a scale-down evicts (functions/scaler/eviction.py)."""
from __future__ import annotations

import pytest

from functions.scaler import policy
from functions.scaler.policy import Member


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
