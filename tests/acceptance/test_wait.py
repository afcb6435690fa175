"""wait_for_size on an injected clock: seconds taken, timeout with the last size, errors tolerated."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from acceptance.wait import WaitTimeout, at_least, exactly, wait_for_size


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def reader(values: list[int | Exception]) -> Callable[[], int]:
    it = iter(values)

    def size() -> int:
        v = next(it)
        if isinstance(v, Exception):
            raise v
        return v
    return size


def test_returns_the_seconds_taken_to_reach_the_size() -> None:
    clock = Clock()
    seen: list[tuple[float, int]] = []
    taken = wait_for_size(reader([1, 1, 2]), at_least(2), timeout_s=300, poll_s=5, clock=clock, sleep=clock.sleep,
                          on_sample=lambda t, n: seen.append((t, n)))
    assert taken == 10 and clock.slept == [5, 5]
    assert seen == [(1000, 1), (1005, 1), (1010, 2)]


def test_immediately_true_takes_no_time_and_no_sleep() -> None:
    clock = Clock()
    assert wait_for_size(reader([1]), exactly(1), timeout_s=1, clock=clock, sleep=clock.sleep) == 0
    assert clock.slept == []


def test_times_out_with_the_last_size_and_never_sleeps_past_the_deadline() -> None:
    clock = Clock()
    with pytest.raises(WaitTimeout) as info:
        wait_for_size(reader([1] * 100), at_least(2), timeout_s=12, poll_s=5, clock=clock, sleep=clock.sleep)
    assert clock.slept == [5, 5, 2]
    assert info.value.last == 1 and info.value.waited_s == 12
    assert str(info.value) == "not reached within 12 s (last size 1)"


def test_errors_reading_the_size_are_not_yet_and_are_reported() -> None:
    clock = Clock()
    taken = wait_for_size(reader([OSError("reset"), 3]), at_least(2), timeout_s=60, poll_s=5, clock=clock,
                          sleep=clock.sleep)
    assert taken == 5
    with pytest.raises(WaitTimeout) as info:
        wait_for_size(reader([RuntimeError("503")] * 10), at_least(2), timeout_s=10, poll_s=5, clock=clock,
                      sleep=clock.sleep)
    assert info.value.last is None and len(info.value.errors) == 3
    assert "no size seen, 3 errors (last: RuntimeError: 503)" in str(info.value)
