"""The load generator: rate profiles and schedules (pure), rolling figures, and real runs on loopback."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from sandbox.apps import ProcessorSharing
from sandbox.load_figures import Record, format_figures, percentile, summarise, window_figures
from sandbox.loadgen import LoadGen, Profile, arrival_offsets
from sandbox.member import SimulatedVm
from tests.waiting import wait_for

# ---- profiles and schedules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "points, ramp, t, rate, expected",
    [
        (((0, 10),), False, 5, 10, 50),
        (((0, 10), (10, 20)), False, 15, 20, 200),  # step: 10/s for 10 s, then 20/s
        (((0, 10), (10, 20)), True, 5, 15, 62.5),  # ramp: linear 10 -> 20
        (((0, 10), (10, 20)), True, 10, 20, 150),
        (((2, 5), (4, 0)), False, 1, 0, 0),  # silent before the first point
        (((2, 5), (4, 0)), False, 100, 0, 10),  # and after a final zero
        (((0, 20), (10, 0)), True, 10, 0, 100),  # ramp down
    ],
)
def test_profile_rate_and_integral(points, ramp, t, rate, expected) -> None:  # type: ignore[no-untyped-def]
    p = Profile(points, ramp=ramp)
    assert p.rate(t) == pytest.approx(rate)
    assert p.expected(t) == pytest.approx(expected)
    if expected > 0:
        assert p.expected(p.time_at(expected / 2)) == pytest.approx(expected / 2)


@pytest.mark.parametrize(
    "points, ramp, duration, count",
    [
        (((0, 10),), False, 3, 29),  # arrivals at 0.1 .. 2.9 (3.0 is the end, excluded)
        (((0, 10), (10, 20)), True, 10, 149),
        (((2, 5), (4, 0)), False, 60, 10),  # a finite burst ends the schedule early
        (((0, 0),), False, 60, 0),
    ],
)
def test_arrival_offsets_follow_the_profile(points, ramp, duration, count) -> None:  # type: ignore[no-untyped-def]
    offsets = list(arrival_offsets(Profile(points, ramp=ramp), duration))
    assert len(offsets) == count
    assert offsets == sorted(offsets) and all(0 <= t < duration for t in offsets)


def test_poisson_arrivals_average_the_rate() -> None:
    offsets = list(arrival_offsets(Profile(((0, 50),)), 100, poisson=True, rng=random.Random(3)))
    assert 4700 < len(offsets) < 5300


def test_profile_rejects_bad_points() -> None:
    for points in [(), ((5, 1), (1, 1)), ((0, -1),)]:
        with pytest.raises(ValueError):
            Profile(points)


# ---- figures ----------------------------------------------------------------------------------


def test_window_figures() -> None:
    arrivals = [i * 0.5 for i in range(40)]  # 2/s for 20 s
    records = [Record(a, a + 0.1 * (1 + i % 10), 200 if i % 4 else 503, "" if i % 4 else "http")
               for i, a in enumerate(arrivals[:36])]
    records.sort(key=lambda r: r.end)
    f = window_figures(arrivals, records, now=19.75, window_s=10.0, in_flight=4)
    assert f.offered_rps == pytest.approx(2.0)
    in_window = [r for r in records if r.end > 9.75]
    assert f.achieved_rps == pytest.approx(sum(r.ok for r in in_window) / 10)
    assert f.errors == sum(not r.ok for r in in_window)
    assert f.p95_s == percentile(sorted(r.latency for r in in_window if r.ok), 95)
    assert (f.sent, f.ok, f.failed, f.in_flight) == (40, 27, 9, 4)
    early = window_figures(arrivals[:4], [], now=2.0, window_s=10.0, in_flight=0)
    assert early.window_s == 2.0 and early.offered_rps == pytest.approx(2.0) and early.p95_s is None
    assert "offered=" in format_figures(f)


def test_percentile_and_summary() -> None:
    assert percentile([], 95) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(list(range(1, 101)), 95) == 95
    s = summarise([Record(0, 1, 200, ""), Record(0, 2, 0, "timeout"), Record(1, 1, 0, "overflow")], 2.0)
    assert (s.offered, s.ok, s.errors, s.achieved_rps) == (3, 1, {"timeout": 1, "overflow": 1}, 0.5)


# ---- real runs --------------------------------------------------------------------------------


@pytest.fixture
def fast_member() -> Iterator[SimulatedVm]:
    m = SimulatedVm("127.0.1.121", app=ProcessorSharing(work_s=0.005), app_port=0, exporter_port=0, vcpus=4)
    m.start()
    yield m
    m.stop()


@pytest.fixture
def slow_member() -> Iterator[SimulatedVm]:
    m = SimulatedVm("127.0.1.122", app=ProcessorSharing(work_s=1.0, max_active=64), app_port=0, exporter_port=0)
    m.start()
    yield m
    m.stop()


def test_honours_rate_and_stops_by_itself(fast_member: SimulatedVm) -> None:
    gen = LoadGen(fast_member.ip, fast_member.app_port, [(0, 20), (1, 40)], duration_s=2.0, timeout_s=2.0)
    gen.start()
    assert gen.wait(timeout=60.0)  # only ends a hung test; the schedule, not the clock, is checked
    assert gen.done
    records = gen.records()
    assert len(records) == 59  # 20 in the first second, 40 in the next, the one at 2.0 s excluded
    assert all(r.ok for r in records)
    assert fast_member.snapshot().served == 59
    f = gen.figures(window_s=1.0)
    assert f.sent == 59 and f.in_flight == 0
    s = gen.summary()
    assert s.duration_s == 2.0 and s.ok == 59 and s.achieved_rps == pytest.approx(29.5)
    assert s.p95_s is not None and s.p95_s < 0.5


def test_in_flight_bound_and_timeouts(slow_member: SimulatedVm) -> None:
    # 1 vCPU doing 1 s per request cannot keep up with 20/s: at most 5 go out, the rest overflow
    gen = LoadGen(slow_member.ip, slow_member.app_port, [(0, 20)], duration_s=1.5, max_inflight=5, timeout_s=0.5)
    gen.start()
    peak = 0
    while not gen.wait(timeout=0.02):  # sample the in-flight count until the run ends by itself
        peak = max(peak, gen.figures().in_flight)
    assert gen.done
    assert peak <= 5
    kinds = {r.error for r in gen.records()}
    assert kinds == {"timeout", "overflow"}
    assert len(gen.records()) == 29  # every arrival is accounted for, sent or not


def test_stop_ends_a_long_run_promptly(fast_member: SimulatedVm) -> None:
    gen = LoadGen(fast_member.ip, fast_member.app_port, [(0, 10)], duration_s=3600, timeout_s=1.0)
    gen.start()
    wait_for("three requests answered", lambda: len(gen.records()) >= 3)
    gen.stop()
    assert gen.wait(timeout=60.0)  # an hour-long run ended: stop() worked
    count = len(gen.records())
    assert count >= 3
    time.sleep(0.3)  # not a synchronisation: a window in which nothing more may be sent
    assert len(gen.records()) == count


def test_loopback_only() -> None:
    with pytest.raises(ValueError):
        LoadGen("198.51.100.7", 80, [(0, 1)], duration_s=1)
    with pytest.raises(ValueError):
        LoadGen("localhost", 80, [(0, 1)], duration_s=1)
