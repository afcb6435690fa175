"""The sandbox's outside-in figures (pure)."""
from __future__ import annotations

import pytest

from sandbox import measure
from sandbox.measure import (
    FLAP_WINDOW_S,
    CpuOverload,
    LatencySlo,
    Sample,
    ScalingCall,
    checker,
    duration_s,
    flaps,
    instance_seconds,
    lost_requests,
    reaction_down,
    reaction_up,
    slo_violation_s,
    summary,
    trailing_mean,
)
from sandbox.recorder import Delivery, scale_alerts
from sandbox.timings import FAST, REAL


def s(t: float, size: int = 1, serving: int = 1, p95: float | None = 0.3, errors: int = 0,
      ok: float = 4.0) -> Sample:
    return Sample(t, ok, ok, p95, errors, 0.5, size, serving, 0)


@pytest.mark.parametrize("moves, expected", [
    ([], 0),
    ([(0, 1, 2), (100, 2, 3)], 0),
    ([(0, 1, 2), (100, 2, 1)], 1),
    ([(0, 1, 2), (400, 2, 1)], 0),
    ([(0, 1, 2), (300, 2, 1)], 1),  # the window's end is inside it
    ([(0, 1, 2), (300.5, 2, 1)], 0),
    ([(0, 1, 2), (100, 2, 1), (200, 1, 2)], 2),
    ([(0, 1, 2), (50, 2, 2), (100, 2, 1)], 1),  # a no-op call is not a move
])
def test_flaps_in_the_report(moves: list[tuple[float, int, int]], expected: int) -> None:
    actions = [ScalingCall(t, "scale", a, b) for t, a, b in moves]
    summary = measure.summary([], actions, step_t=None, drop_t=None, overload=LatencySlo(2, 0.01),
                              requests_lost=0)
    assert summary["flaps"] == expected


def test_one_flap_window_for_the_sandbox_and_the_benchmark() -> None:
    assert flaps([(0, "up"), (300, "down"), (601, "up")]) == 1
    assert FAST.flap_window_s < REAL.flap_window_s == FLAP_WINDOW_S == 300


def test_reactions() -> None:
    samples = [s(0), s(10), s(20, 2, 1), s(30, 2, 2), s(40, 2, 2)]
    assert reaction_up(samples, 10) == 20
    assert reaction_up(samples, None) is None
    assert reaction_up([s(0), s(10)], 5) is None
    actions = [ScalingCall(5, "scale", 1, 2), ScalingCall(50, "evict", 2, 1)]
    assert reaction_down(actions, 30) == 20 and reaction_down(actions, 60) is None


def test_slo_and_cost() -> None:
    samples = [s(0), s(1, p95=3.0), s(2, errors=4, ok=0.0), s(3), s(5, size=3)]
    assert slo_violation_s(samples, 2.0, 0.01) == 2.0
    assert instance_seconds(samples) == 5.0


def test_lost_requests_matches_deliveries_to_stored_requests() -> None:
    deliveries = [Delivery(100.0, 202, (("a", "up"), ("b", "up"))),
                  Delivery(110.0, 503, (("a", "up"),)),  # not counted by the sender
                  Delivery(120.0, 202, (("a", "up"),))]
    assert lost_requests(deliveries, [("a", 100.2), ("b", 100.1), ("a", 120.3)]) == 0
    assert lost_requests(deliveries, [("a", 100.2), ("b", 100.1)]) == 1
    assert lost_requests(deliveries, [("a", 100.2), ("a", 100.3), ("b", 100.1)]) == 1


def test_scale_alerts_reads_firing_scale_alerts_only() -> None:
    body = (b'{"alerts": [{"status": "firing", "labels": {"scale": "up"}, "fingerprint": "x"},'
            b'{"status": "resolved", "labels": {"scale": "up"}, "fingerprint": "y"},'
            b'{"status": "firing", "labels": {}, "fingerprint": "z"}]}')
    assert scale_alerts(body) == (("x", "up"),)
    assert scale_alerts(b"not json") == ()


def c(t: float, cpu: float | None, in_flight: int = 0, members: int = 1) -> Sample:
    return Sample(t, 0.0, 0.0, None, 0, cpu, members, members, 0, in_flight, in_flight, members)


def test_trailing_mean_weighs_each_sample_by_the_time_it_covers() -> None:
    samples = [c(0, None), c(2, 1.0), c(4, 1.0), c(10, 0.0), c(12, None), c(14, 0.5)]
    assert trailing_mean(samples, 2, 60) == 1.0
    assert trailing_mean(samples, 3, 60) == pytest.approx(4 / 10)  # 4 s at 100 %, 6 s at 0 %
    assert trailing_mean(samples, 3, 7) == pytest.approx(1 / 7)  # only 1 s of (2, 4] is in (3, 10]
    assert trailing_mean(samples, 5, 4) == 0.5  # (10, 12] has no reading: left out, not counted as 0
    assert trailing_mean(samples, 0, 60) is None
    assert trailing_mean(samples, 3, 60, lambda s: s.pool_size) == 1.0  # any figure, not only CPU


def test_cpu_overload_counts_seconds_with_the_window_average_above_the_threshold() -> None:
    busy = [c(t, 1.0 if 10 <= t < 40 else 0.1) for t in range(0, 61)]
    overload = CpuOverload(threshold=0.8, window_s=10)
    # 100 % over (9, 39], 10 % elsewhere: the 10 s average is above 80 % once 8 of its 10 s are
    # busy, at the samples t = 17 … 41 (25 s); without smoothing, exactly the 30 busy seconds.
    assert overload.seconds(busy) == pytest.approx(25.0)
    assert CpuOverload(threshold=0.8, window_s=1).seconds(busy) == pytest.approx(30.0)
    assert CpuOverload(threshold=1.0, window_s=10).seconds(busy) == 0.0  # strictly above, as the rule
    assert "80%" in overload.definition() and "10 s" in overload.definition()


def test_summary_reports_the_apps_overload_figure() -> None:
    samples = [s(0), s(1, p95=3.0), s(2), s(3)]
    latency = summary(samples, [], step_t=None, drop_t=None, overload=LatencySlo(2.0, 0.01), requests_lost=0)
    assert latency["overload_s"] == 1.0
    cpu = summary(samples, [], step_t=None, drop_t=None, overload=CpuOverload(0.4, 60), requests_lost=0)
    assert cpu["overload_s"] == 3.0  # s() samples carry 50 % CPU
    assert c(0, 0.5, in_flight=6, members=3).in_flight_per_member == 2.0
    assert c(0, None, members=0).in_flight_per_member is None


@pytest.mark.parametrize("text, seconds", [("1m", 60), ("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200)])
def test_duration_s(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "1 m", "m1", "1d", "1m-"])
def test_duration_s_refuses_what_is_not_a_prometheus_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        duration_s(text)



A = ScalingCall


@pytest.mark.parametrize("actions, final, expected", [
    # up to 4 at 120 s, back to 1 at 480 s after the load stopped at 360 s: passes
    ([A(120, "scale", 1, 4), A(480, "evict", 4, 1)], 1, (True, 120, 120)),
    # reached 2 only at 310 s: too late for the checker's 300 s
    ([A(310, "scale", 1, 2), A(480, "evict", 2, 1)], 1, (False, 310, 120)),
    # 1 → 2 → 3: reaching 2 is the first action that crosses it
    ([A(100, "scale", 1, 2), A(200, "scale", 2, 3), A(500, "evict", 3, 1)], 1, (True, 100, 140)),
    # never back to its minimum after the load
    ([A(120, "scale", 1, 4), A(480, "evict", 4, 2)], 2, (False, 120, None)),
    # a scale-down during the load is not the return
    ([A(120, "scale", 1, 2), A(200, "evict", 2, 1), A(250, "scale", 1, 2)], 2, (False, 120, None)),
    # never scaled at all
    ([], 1, (False, None, None)),
])
def test_checker_verdict_from_the_operation_log(actions: list[ScalingCall], final: int,
                                                expected: tuple[bool, float | None, float | None]) -> None:
    verdict = checker(actions, reach=2, within_s=300, drop_t=360, minimum=1, final_size=final)
    assert (verdict["checker_passed"], verdict["checker_reached_2_s"], verdict["checker_back_to_min_s"]) == expected


def up(at: float, status: int = 200, n: int = 1, scale: str = "up") -> Delivery:
    return Delivery(1000.0 + at, status, tuple((f"f{i}", scale) for i in range(n)))


@pytest.mark.parametrize(("deliveries", "actions", "expected"), [
    ([up(10)], [ScalingCall(9.5, "scale-instance-pool", 1, 2)], 0),         # acted just before the answer
    ([up(10)], [], 1),                                                  # answered 2xx, nothing done
    ([up(10, status=503)], [], 0),                                      # not delivered: not lost
    ([up(10)], [ScalingCall(2.0, "scale-instance-pool", 1, 2)], 1),          # too early to be this one's
    ([up(10, n=2)], [ScalingCall(9.5, "scale-instance-pool", 1, 2)], 1),     # one action for two alerts
    ([up(10, scale="down")], [ScalingCall(2.0, "scale-instance-pool", 2, 1)], 0),  # at the minimum (1)
    ([up(10, scale="down")], [ScalingCall(9.5, "scale-instance-pool", 1, 2)], 1),  # an up is no down
    ([up(10, scale="down")], [], 0),                                    # at the minimum from the start
    ([up(30)], [ScalingCall(9.5, "scale-instance-pool", 2, 3)], 0),          # at the maximum (3)
    ([up(10, n=2)], [ScalingCall(9.0, "scale-instance-pool", 2, 3)], 0),     # second alert at the maximum
])
def test_lost_moves_are_deliveries_without_their_step(deliveries: list[Delivery], actions: list[ScalingCall],
                                                      expected: int) -> None:
    assert measure.lost_moves(deliveries, actions, t0=1000.0, low=1, high=3, initial_size=1) == expected


@pytest.mark.parametrize(("deliveries", "actions", "step_t", "expected"), [
    ([up(40), up(100)], [ScalingCall(40.5, "scale-instance-pool", 1, 2)], 10, (30.0, 0.5)),
    ([up(5), up(40)], [ScalingCall(41.0, "scale-instance-pool", 1, 2)], 10, (30.0, 1.0)),  # before the step: not it
    ([up(40, status=503), up(60)], [ScalingCall(60.2, "scale-instance-pool", 1, 3)], 10, (50.0, 0.2)),
    ([up(40, scale="down"), up(70)], [ScalingCall(70.0, "scale-instance-pool", 1, 2)], 10, (60.0, 0.0)),
    ([up(40)], [ScalingCall(39.8, "scale-instance-pool", 1, 2)], 10, (30.0, -0.2)),  # noted after the answer
    ([up(40)], [ScalingCall(50.0, "evict-instance-pool-members", 2, 1)], 10, (30.0, None)),
    ([], [], 10, (None, None)),
    ([up(40)], [], None, (None, None)),
])
def test_pipeline_split_times_the_alert_and_the_scaler(deliveries: list[Delivery], actions: list[ScalingCall],
                                                       step_t: float | None,
                                                       expected: tuple[float | None, float | None]) -> None:
    split = measure.pipeline_split(deliveries, actions, t0=1000.0, step_t=step_t)
    assert (split["step_to_first_up_delivery_s"], split["first_up_delivery_to_action_s"]) == expected


UP_THEN_DOWN = [ScalingCall(30.0, "scale-instance-pool", 1, 4), ScalingCall(100.0, "evict-instance-pool-members", 4, 1),
                ScalingCall(200.0, "scale-instance-pool", 2, 1)]


@pytest.mark.parametrize("failed_at, expected", [
    ([], 0),
    ([100.5, 104.0, 110.0], 3),             # cut by the eviction, up to its 503s and dropped connections
    ([97.9, 110.1], 0),                     # just outside the window around it
    ([98.0, 199.0], 2),                     # inside the span before (the two clocks); any scale-down counts
    ([30.5, 31.0, 150.0], 0),               # at a scale-up, or nowhere near a scale-down
])
def test_errors_at_scale_down_count_failures_around_each_member_removed(failed_at: list[float],
                                                                        expected: int) -> None:
    assert measure.errors_at_scale_down(failed_at, UP_THEN_DOWN) == expected


def test_a_failure_near_two_scale_downs_counts_once() -> None:
    downs = [ScalingCall(100.0, "evict-instance-pool-members", 3, 2),
             ScalingCall(105.0, "evict-instance-pool-members", 2, 1)]
    assert measure.errors_at_scale_down([104.0], downs) == 1
