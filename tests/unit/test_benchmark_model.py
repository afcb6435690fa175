"""Checks of the benchmark's pipeline model itself (arithmetic and wiring), not of performance."""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from benchmarks import pipeline, traces
from benchmarks.apps import (
    CLOSED_LOOP,
    HTTP_LOAD_GENERATOR,
    PROCESSOR_SHARING,
    ModelApp,
    edge_per_member,
)
from benchmarks.exporters import Exporters, Reading
from benchmarks.pipeline import BaselineController, DecideController, Delays, Result, SimPool
from functions.scaler.tick.policy import Params
from sandbox import deployed

BOUNDS = (1, 10)


def test_floor_is_the_sum_of_the_delays() -> None:
    # deployed: scrape 5 s, rate window 30 s, eval 10 s, for 10 s, group_wait 10 s, tick 60 s
    fl = pipeline.floor(Delays(), kicked=False)
    assert fl.detection_s == pytest.approx(5 / 2 + 30 / 2 + 10 / 2)
    assert fl.total_s == pytest.approx(22.5 + 10 + 10 + 30 + 75)
    # the detection deployed before benchmarks.floor's search: scrape 15 s, 1 m window, eval 20 s, for 1 m
    before = pipeline.floor(Delays(scrape_s=15, rate_window_s=60, eval_s=20, for_s=60))
    assert before.total_s == pytest.approx(47.5 + 60 + 10 + 0 + 75)
    other = pipeline.floor(Delays(scrape_s=10, rate_window_s=120, eval_s=30, for_s=0, group_wait_s=30,
                                  tick_s=20, boot_min_s=100, boot_max_s=100), kicked=False)
    assert other.total_s == pytest.approx(5 + 60 + 15 + 0 + 30 + 10 + 100)


def test_kicked_floor_has_no_tick_wait() -> None:
    # Deployed: a stored delivery starts a tick, so the floor is the old one less tick/2.
    assert pipeline.floor(Delays()).tick_wait_s == 0
    assert pipeline.floor(Delays()).total_s == pytest.approx(22.5 + 10 + 10 + 0 + 75)


def test_kicked_tick_acts_in_the_second_of_the_first_delivery() -> None:
    for seed in range(5):
        kicked = pipeline.simulate(traces.step().demand, DecideController(
            "proportional", Params(), BOUNDS, kicked=True), seed=seed)
        timer = pipeline.simulate(traces.step().demand, DecideController(
            "proportional", Params(), BOUNDS), seed=seed)
        first_up = next(t for t, d, _ in kicked.deliveries if d == "up")
        assert kicked.actions[0] == (first_up, "up")
        # Same deliveries up to then; the timer-only run waits for its tick (0-59 s later).
        assert 0 <= timer.actions[0][0] - first_up < Delays().tick_s


@pytest.mark.parametrize("seed", range(8))
def test_sd_kick_decides_a_waiting_request_at_the_first_sd_cycle_after_the_boot(seed: int) -> None:
    # Fixed 80 s boots: the delivery 60 s after the first action finds the pool scaling-up; the
    # members serve at first action + 80, and sd (every 15 s) sees them by + 95 at the latest.
    delays = Delays(boot_min_s=80, boot_max_s=80)
    runs = {}
    for sd_kicked in (True, False):
        ctl = DecideController("proportional", Params(), BOUNDS, kicked=True,
                               sd_kicked=sd_kicked)
        result = pipeline.simulate(traces.step().demand, ctl, seed=seed, delays=delays)
        first = result.actions[0][0]
        waiting = next(t for t, _, reason, _ in ctl.log if t > first and "scaling-up" in reason)
        assert waiting < first + 80
        decided = next(e for e in ctl.log if e[0] >= first + 80)
        runs[sd_kicked] = decided[0] - first
        assert all(trigger != "sd kick" for *_, trigger in ctl.log) or sd_kicked
    assert 80 <= runs[True] < 80 + delays.sd_s
    assert 80 <= runs[False] < 80 + delays.tick_s  # the receiver's kick alone: the timer tick
    assert runs[True] <= runs[False]


def test_each_direction_waits_its_own_for() -> None:
    """The scale-down alert's `for` delays only the down deliveries, the scale-up's only the up ones."""
    demand = [0.1] * 600 + [4.0] * 600         # idle (down fires), then busy (up fires)

    def first(direction: str, delays: Delays) -> int:
        r = pipeline.simulate(demand, BaselineController(BOUNDS), seed=0, delays=delays)
        return next(t for t, d, _ in r.deliveries if d == direction)

    short, long_down = Delays(for_s=10, down_for_s=10), Delays(for_s=10, down_for_s=130)
    assert first("down", long_down) - first("down", short) == 120
    assert first("up", long_down) == first("up", short)


def test_the_models_delays_and_thresholds_are_the_deployments() -> None:
    delays, thresholds = pipeline.from_alert_spec()
    d = deployed.read()
    assert (delays.scrape_s, delays.rate_window_s, delays.eval_s, delays.for_s, delays.down_for_s) == (
        d.scrape_s, d.rate_window_s, d.eval_s, d.for_s, d.down_for_s)
    assert (delays.group_wait_s, delays.group_interval_s, delays.repeat_s) == (
        d.group_wait_s, d.group_interval_s, d.repeat_s)
    assert (delays.tick_s, delays.sd_s) == (d.tick_s, d.sd_s)
    assert (thresholds.up, thresholds.down) == (d.scale_up_cpu, d.scale_down_cpu)


def test_needed_capacity_keeps_cpu_at_or_under_the_threshold() -> None:
    # a CPU-bound app: CPU = demand per member
    assert PROCESSOR_SHARING.needed(4.0, 0.8, BOUNDS) == 5
    assert PROCESSOR_SHARING.needed(1.6, 0.8, BOUNDS) == 2
    assert PROCESSOR_SHARING.needed(1.61, 0.8, BOUNDS) == 3
    assert PROCESSOR_SHARING.needed(0.1, 0.8, BOUNDS) == 1
    assert PROCESSOR_SHARING.needed(50.0, 0.8, BOUNDS) == 10
    # http-load-generator, random arrivals: CPU 1 - e^(-x) stays under 80 % up to x = ln 5 = 1.609
    assert HTTP_LOAD_GENERATOR.needed(1.6, 0.8, BOUNDS) == 1
    assert HTTP_LOAD_GENERATOR.needed(1.7, 0.8, BOUNDS) == 2
    assert HTTP_LOAD_GENERATOR.needed(4.0, 0.8, BOUNDS) == 3
    assert edge_per_member(HTTP_LOAD_GENERATOR, 0.8) == pytest.approx(math.log(5))
    # closed-loop clients: CPU min(1, x), so 2 clients need 3 members and 8 need 10
    assert (CLOSED_LOOP.needed(2, 0.8, BOUNDS), CLOSED_LOOP.needed(8, 0.8, BOUNDS)) == (3, 10)


def test_baseline_moves_one_member_per_webhook_within_bounds() -> None:
    pool = SimPool(2, [60], destroy_s=10)
    base = BaselineController((1, 4))
    assert [base.webhook(0, "up", None, None, pool) for _ in range(3)] == ["up", "up", None]
    assert pool.size == 4
    assert base.webhook(1, "down", None, None, pool) == "down"
    assert pool.size == 3


def test_baseline_acts_on_every_delivery_in_the_pipeline() -> None:
    result = pipeline.simulate(traces.step().demand, BaselineController(BOUNDS), seed=3)
    ups = [d for d in result.deliveries if d[1] == "up"]
    assert ups and len(result.actions) == len(result.deliveries)
    assert [t for t, _ in result.actions] == [t for t, _, _ in result.deliveries]


@pytest.mark.parametrize("make", [
    lambda: DecideController("proportional", Params(), BOUNDS),
    lambda: BaselineController(BOUNDS)])
def test_flat_load_gives_no_alert_and_no_action(make) -> None:
    result = pipeline.simulate(traces.flat().demand, make(), seed=0)
    assert result.deliveries == [] and result.actions == []
    assert result.violation_s == 0 and result.instance_s == 2 * traces.flat().duration_s


def test_tick_policy_waits_for_its_tick_and_for_the_pool_to_run() -> None:
    delays = Delays()
    result = pipeline.simulate(traces.ramp().demand, DecideController("proportional", Params(), BOUNDS),
                               seed=1, delays=delays)
    times = [t for t, _ in result.actions]
    assert result.actions and all(d == "up" for _, d in result.actions)
    # One action per tick at most, and never again before the last one's members booted.
    assert all(b - a >= delays.boot_min_s for a, b in itertools.pairwise(times))
    assert all((t - times[0]) % delays.tick_s == 0 for t in times)


def test_pool_bills_booting_and_destroying_members() -> None:
    pool = SimPool(2, [60], destroy_s=10)
    pool.scale_to(0, 3)
    assert (pool.serving(59), pool.serving(60), pool.state(30), pool.billed(30)) == (2, 3, "scaling-up", 3)
    pool.evict(100, [pool.members[0].id])
    # Time only moves forward in the model: billed() forgets members that are gone.
    assert (pool.size, pool.state(105), pool.billed(105), pool.billed(110)) == (2, "scaling-down", 3, 2)


def test_flaps_are_reversals_within_300_s() -> None:
    assert Result("x", actions=[(0, "up"), (100, "down"), (500, "up")]).flaps == 1
    assert Result("x", actions=[(0, "up"), (60, "up"), (400, "down")]).flaps == 0


def test_same_seed_same_run() -> None:
    a = pipeline.simulate(traces.spike().demand, BaselineController(BOUNDS), seed=7)
    b = pipeline.simulate(traces.spike().demand, BaselineController(BOUNDS), seed=7)
    assert (a.actions, a.instance_s, a.episodes) == (b.actions, b.instance_s, b.episodes)


# ---- per-instance signals (what Prometheus computes from each target's own samples) -------
def _run(exporters: Exporters, members: list[pipeline.SimMember], demand: float,
         start: int, end: int, scrape_s: int = 15) -> None:
    """Advance the exporters second by second; scrape every `scrape_s` (phase 0)."""
    for t in range(start, end + 1):
        serving = [m for m in members if t >= m.running_at]
        exporters.second(t, demand, len(serving))
        if t % scrape_s == 0:
            exporters.scrape(t, serving)


def test_a_new_member_cpu_counts_only_over_its_own_samples() -> None:
    old = pipeline.SimMember("old", -10_000, -10_000)
    new = pipeline.SimMember("new", 0, 130)
    exporters = Exporters(60, app=PROCESSOR_SHARING, steady_share=3.0)
    # Demand 3 saturates old alone, then both from t=130 (1.5 each); it drops to 1 at t=140.
    _run(exporters, [old, new], 3.0, 0, 139)
    _run(exporters, [old, new], 1.0, 140, 150)
    reading = exporters.evaluate(150)
    assert reading is not None and reading.members == 2
    # Window (90, 150]: old's samples 105..150 span seconds 106..150 (34 s at 100 %, 11 s at
    # 50 %); new's first scrape after it began serving is 135, so 136..150 (4 s, 11 s).
    old_cpu, new_cpu = (34 + 11 * 0.5) / 45, (4 + 11 * 0.5) / 15
    assert reading.cpu == pytest.approx((old_cpu + new_cpu) / 2)
    # One pool-average counter would have said old_cpu for both (0.88 instead of 0.76).
    assert reading.cpu < old_cpu - 0.1


def test_members_counts_only_instances_with_two_samples_in_the_window() -> None:
    a = pipeline.SimMember("a", -10_000, -10_000)
    b = pipeline.SimMember("b", 0, 140)   # first scrape at 150: one sample at t=150
    exporters = Exporters(60, app=PROCESSOR_SHARING, steady_share=0.5)
    _run(exporters, [a, b], 1.0, 0, 150)
    reading = exporters.evaluate(150)
    assert reading is not None and reading.members == 1
    # a's counter over seconds 106..150: alone at 100 % until 139, then 50 % once b serves.
    assert reading.cpu == pytest.approx((34 * 1.0 + 11 * 0.5) / 45)
    _run(exporters, [a, b], 1.0, 151, 165)
    reading = exporters.evaluate(165)
    assert reading is not None and reading.members == 2


def test_a_removed_member_stays_in_the_rate_until_its_samples_age_out() -> None:
    a = pipeline.SimMember("a", -10_000, -10_000)
    b = pipeline.SimMember("b", -10_000, -10_000)
    exporters = Exporters(60, app=PROCESSOR_SHARING, steady_share=0.1)
    _run(exporters, [a, b], 0.2, 0, 60)
    _run(exporters, [a], 0.2, 61, 90)           # b removed at 61: no more samples
    reading = exporters.evaluate(90)
    assert reading is not None and reading.members == 2
    _run(exporters, [a], 0.2, 91, 120)
    reading = exporters.evaluate(120)          # b's last sample (60) is out of (60, 120]
    assert reading is not None and reading.members == 1 and reading.cpu == pytest.approx(0.2)


def test_load1_per_instance_starts_at_zero_and_follows_the_kernel_decay() -> None:
    old = pipeline.SimMember("old", -10_000, -10_000)
    new = pipeline.SimMember("new", 0, 0)
    exporters = Exporters(60, app=PROCESSOR_SHARING, steady_share=2.0)
    _run(exporters, [old, new], 4.0, 0, 60)   # 2.0 runnable per core each from t=0
    reading = exporters.evaluate(60)
    decay = math.exp(-5 / 60)
    assert reading is not None
    # old was at its steady 2.0 and stays there; new rose from 0 over 12 five-second updates.
    assert reading.load == pytest.approx((2.0 + 2.0 * (1 - decay ** 12)) / 2)


def test_load1_is_demand_only_once_cpu_saturates() -> None:
    assert Reading(cpu=0.9, load=3.0, members=2).value == 0.9
    assert Reading(cpu=0.96, load=3.0, members=2).value == 3.0
    assert Reading(cpu=0.96, load=0.5, members=2).value == 0.96


def test_requests_in_flight_are_the_demand_on_http_load_generator() -> None:
    assert Reading(cpu=0.9, load=0.9, members=2, in_flight=3.0, signal="demand").value == 3.0
    assert Reading(cpu=0.85, load=0.9, members=2, in_flight=0.0, signal="demand").value == 0.85


def test_http_load_generator_members_show_cpu_and_requests_in_flight_per_member() -> None:
    """Random arrivals: 3 members' worth on one member reads 95 % CPU, load1 per core towards the
    same, and 3 requests in flight; a second member halves the requests in flight per member."""
    a = pipeline.SimMember("a", -10_000, -10_000)
    b = pipeline.SimMember("b", 0, 60)
    exporters = Exporters(60, app=HTTP_LOAD_GENERATOR, steady_share=0.0)
    _run(exporters, [a, b], 3.0, 0, 59)
    reading = exporters.evaluate(59)
    assert reading is not None and reading.members == 1
    # a's counter over its samples 15..45 (30 s at 1 - e^(-3)); connections 3 at 0, 15, 30, 45
    assert reading.cpu == pytest.approx(1 - math.exp(-3))
    assert reading.in_flight == pytest.approx(3.0) and reading.value == pytest.approx(3.0)
    assert 0 < reading.load < 1 - math.exp(-3)  # rising from 0 towards CPU, never past one per core
    _run(exporters, [a, b], 3.0, 60, 120)
    reading = exporters.evaluate(120)
    # window (60, 120]: both members, 1.5 each
    assert reading is not None and reading.members == 2
    assert reading.in_flight == pytest.approx(1.5) and reading.cpu == pytest.approx(1 - math.exp(-1.5))


# ---- the scale-up alert's trend (deriv over a subquery of the pool's summed demand) ----------
def test_deriv_is_the_least_squares_slope() -> None:
    from benchmarks.exporters import deriv
    assert deriv([(0, 1.0)]) is None and deriv([]) is None
    assert deriv([(0, 1.0), (15, 1.3), (30, 1.6), (45, 1.9)]) == pytest.approx(0.02)
    assert deriv([(0, 5.0), (15, 3.0), (30, 5.0), (45, 3.0)]) == pytest.approx(-0.0267, abs=1e-3)


def _run_varying(exporters: Exporters, members: list[pipeline.SimMember],
                 demand: Callable[[int], float], start: int, end: int) -> None:
    for t in range(start, end + 1):
        serving = [m for m in members if t >= m.running_at]
        exporters.second(t, demand(t), len(serving))
        if t % 15 == 0:
            exporters.scrape(t, serving)


def test_the_trend_follows_the_pools_total_demand_not_the_members() -> None:
    old = pipeline.SimMember("old", -10_000, -10_000)
    new = pipeline.SimMember("new", 0, 100)   # joins mid-run and takes half the requests
    exporters = Exporters(60, steady_share=2.0, trend=(60, 15))
    _run_varying(exporters, [old, new], lambda t: 2.0 + 0.01 * t, 0, 180)
    reading = exporters.evaluate(180)
    assert reading is not None and reading.trend == pytest.approx(0.01, rel=1e-6)
    # the per-member figure halved when the member joined; the trend did not notice
    steady = Exporters(60, steady_share=2.0, trend=(60, 15))
    _run_varying(steady, [old, new], lambda t: 4.0, 0, 180)
    reading = steady.evaluate(180)
    assert reading is not None and reading.trend == pytest.approx(0.0, abs=1e-12)


def test_cpu_bound_trend_sums_cpu_and_stops_at_saturation() -> None:
    old = pipeline.SimMember("old", -10_000, -10_000)
    rising = Exporters(60, steady_share=0.2, app=PROCESSOR_SHARING, trend=(60, 15))
    _run_varying(rising, [old], lambda t: 0.2 + 0.002 * t, 0, 240)
    reading = rising.evaluate(240)
    assert reading is not None and reading.trend == pytest.approx(0.002, rel=0.05)
    saturated = Exporters(60, steady_share=2.0, app=PROCESSOR_SHARING, trend=(60, 15))
    _run_varying(saturated, [old], lambda t: 2.0 + 0.01 * t, 0, 240)
    reading = saturated.evaluate(240)
    assert reading is not None and reading.trend == pytest.approx(0.0, abs=1e-12)


def test_only_the_scale_up_delivery_carries_the_trend_and_decide_sees_it() -> None:
    ctl = DecideController("proportional", Params(), BOUNDS, kicked=True)
    seen: list[tuple[str, float | None]] = []
    webhook = ctl.webhook

    def spy(t: int, direction: str, value: float | None, members: int | None, pool: SimPool,
            trend: float | None = None, cpu: float | None = None) -> str | None:
        seen.append((direction, trend))
        return webhook(t, direction, value, members, pool, trend, cpu)

    ctl.webhook = spy  # type: ignore[method-assign]  # a spy on what the pipeline delivers
    # requests in flight at their mean: a clean ramp, whose slope stands out of no noise
    pipeline.simulate(traces.ramp().demand, ctl, seed=1, app=HTTP_LOAD_GENERATOR.without_noise())
    ups = [trend for direction, trend in seen if direction == "up"]
    assert ups and all(trend is not None for trend in ups) and max(ups) > 0.002
    assert all(trend is None for direction, trend in seen if direction == "down")
    assert any("expected by the trend" in reason for _, _, reason, _ in ctl.log)


@pytest.mark.parametrize("app, carried", [(HTTP_LOAD_GENERATOR, True), (PROCESSOR_SHARING, False)])
def test_the_scale_up_delivery_carries_the_alerts_cpu_beside_requests_in_flight(app: ModelApp,
                                                                               carried: bool) -> None:
    """scale_cpu is the alert's own CPU reading (what fires it, so above 80 %), on the scale-up
    alert only and only beside requests in flight; decide() then fits the spread of requests."""
    ctl = DecideController("proportional", Params(), BOUNDS, kicked=True)
    seen: list[tuple[str, float | None, float | None]] = []
    webhook = ctl.webhook

    def spy(t: int, direction: str, value: float | None, members: int | None, pool: SimPool,
            trend: float | None = None, cpu: float | None = None) -> str | None:
        seen.append((direction, value, cpu))
        return webhook(t, direction, value, members, pool, trend, cpu)

    ctl.webhook = spy  # type: ignore[method-assign]  # a spy on what the pipeline delivers
    pipeline.simulate(traces.step().demand, ctl, seed=1, app=app)
    ups = [(value, cpu) for direction, value, cpu in seen if direction == "up"]
    assert ups and all(cpu is None for direction, _, cpu in seen if direction == "down")
    if carried:
        assert all(cpu is not None and 0.8 < cpu <= value for value, cpu in ups if value is not None)
        assert any("random arrivals" in reason for _, _, reason, _ in ctl.log)
    else:
        assert all(cpu is None for _, cpu in ups)
        assert not any("occupancy fit" in reason or "random arrivals" in reason
                       for _, _, reason, _ in ctl.log)


def _up_values(resend_s: int) -> list[float]:
    """The values the scale-up deliveries carried on a clean ramp, the pool held at 2 members by
    its bounds so that the alert fires from its first delivery to the end."""
    result = pipeline.simulate(traces.ramp().demand, BaselineController((1, 2)), seed=3,
                               delays=Delays(resend_s=resend_s), bounds=(1, 2),
                               app=HTTP_LOAD_GENERATOR.without_noise())
    values = [value for _, direction, value in result.deliveries if direction == "up"]
    assert all(value is not None for value in values)
    return [value for value in values if value is not None]


def test_a_flush_carries_the_annotations_of_grafanas_last_send_to_its_alertmanager() -> None:
    """Grafana hands a still-firing alert to its Alertmanager again only `resend_s` (30 s) after its
    last send (ResendDelay): never re-sent, every flush repeats the first values; sent at every
    evaluation, each flush carries the latest."""
    never = _up_values(resend_s=10_000)
    assert len(never) > 10 and len(set(never)) == 1
    every = _up_values(resend_s=0)
    assert len(every) == len(never) and every == sorted(every) and every[-1] > every[0] + 1
    deployed = _up_values(resend_s=Delays().resend_s)
    # 30 s: each flush carries an evaluation up to 30 s older than the latest, so lower on a rise
    assert all(d <= e for d, e in zip(deployed, every, strict=True)) and deployed != every
